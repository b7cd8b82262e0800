"""The README's configuration table is the one the code declares."""

from pathlib import Path

from matchmaker.config import settings_table


def test_readme_lists_every_setting() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    block = readme.split("<!-- settings:begin -->\n", 1)[1].split("<!-- settings:end -->", 1)[0]
    assert block.strip() == settings_table().strip()
