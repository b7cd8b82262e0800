"""Languages of the pages: German by default, English on request, chosen by a cookie; without
one, the browser's ``Accept-Language`` decides between the two.

The catalogues are the ``.po`` files under ``matchmaker/translations``; they are compiled in memory
when the app starts. Nothing is written to disk and no compiled ``.mo`` is committed, so a changed
``.po`` can never be served stale and a read-only installation works.
"""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from flask import Flask, Response, request
from flask_babel import Babel, get_locale

TRANSLATIONS_DIR = Path(__file__).resolve().parent.parent / "translations"
LANGUAGES = ("de", "en")
DEFAULT_LANGUAGE = "de"
COOKIE = "lang"


def select_locale() -> str:
    """The language of this request: the ``lang`` cookie (an explicit choice), else the
    browser's preferred language among ours (``Accept-Language``), else German."""
    lang = request.cookies.get(COOKIE, "")
    if lang in LANGUAGES:
        return lang
    return request.accept_languages.best_match(LANGUAGES, default=DEFAULT_LANGUAGE) or (
        DEFAULT_LANGUAGE
    )


def _vary(response: Response) -> Response:
    """Pages depend on the browser's language: a shared cache must keep them apart."""
    if not request.path.startswith(("/api/", "/static/")):
        response.vary.add("Accept-Language")
    return response


def current_language() -> str:
    """``"de"`` or ``"en"``."""
    locale = get_locale()
    return (
        locale.language if locale is not None and locale.language in LANGUAGES else DEFAULT_LANGUAGE
    )


def compile_catalogue(po_path: Path) -> Translations:
    """Compile one ``.po`` file into a gettext catalogue in memory."""
    with po_path.open("rb") as handle:
        catalog = read_po(handle)
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer, domain="messages")


def init_app(app: Flask) -> Babel:
    """Set up Flask-Babel and load every catalogue from its ``.po`` file."""
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LANGUAGE)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS_DIR))
    babel = Babel(app, locale_selector=select_locale)
    app.after_request(_vary)
    with app.app_context():
        cache = babel.domain_instance.cache
    for lang in LANGUAGES:
        po = TRANSLATIONS_DIR / lang / "LC_MESSAGES" / "messages.po"
        cache[(lang, "messages")] = compile_catalogue(po) if po.exists() else Translations()
    return babel
