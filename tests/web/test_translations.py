"""Every text of the pages has its German translation."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]


def test_every_page_text_is_translated_to_german() -> None:
    method_map = [("matchmaker/web/**.py", "python"), ("matchmaker/templates/**.html", "jinja2")]
    options = {"matchmaker/templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT),
        method_map,
        options,
        keywords={"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None},
    ):
        found.add(message if isinstance(message, str) else message[0])
    with (ROOT / "matchmaker/translations/de/LC_MESSAGES/messages.po").open("rb") as handle:
        catalog = read_po(handle, locale="de")
    translated = {
        (m.id if isinstance(m.id, str) else m.id[0])
        for m in catalog
        if m.id and (m.string if isinstance(m.string, str) else all(m.string))
    }
    missing = sorted(found - translated)
    assert not missing, f"untranslated: {missing}"


def test_every_email_text_is_translated_to_german() -> None:
    found = {
        message if isinstance(message, str) else message[0]
        for _line, _fn, message, _comments in _extract(ROOT / "matchmaker/review/mails.py")
    }
    assert found, "no texts found in the e-mails"
    with (ROOT / "matchmaker/translations/de/LC_MESSAGES/messages.po").open("rb") as handle:
        catalog = read_po(handle, locale="de")
    translated = {
        (m.id if isinstance(m.id, str) else m.id[0]) for m in catalog if m.id and m.string
    }
    assert not sorted(found - translated), sorted(found - translated)


def _extract(path: Path) -> list[tuple[int, str, object, list[str]]]:
    from babel.messages.extract import extract_python

    with path.open("rb") as handle:
        return list(extract_python(handle, ["gettext", "ngettext"], [], {}))
