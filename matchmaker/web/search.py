"""The text search of the list pages: the ``q`` a search box sends."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: The longest search text (the API's limit on ``q``); a longer one is cut, as the box does.
SEARCH_MAX = 200


def search_text(args: Mapping[str, Any]) -> str:
    """The ``q`` of a page's arguments: one line of single spaces, at most :data:`SEARCH_MAX`
    characters."""
    return " ".join(str(args.get("q", "")).split())[:SEARCH_MAX]
