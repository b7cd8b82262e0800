"""Evidence on the pages: the passages and key terms that drove a match, marked in the texts
(the ``highlight``, ``mark_terms`` and ``evidence_terms`` template filters)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from markupsafe import Markup, escape

_SENTENCES = re.compile(r"(?<=[.!?])\s+|\n+")


def highlight(text: str, passages: Iterable[str] = (), terms: Iterable[str] = ()) -> Markup:
    """``text`` escaped, with the evidence passages and matched terms wrapped in ``<mark>``."""
    spans: list[tuple[int, int, str]] = []
    lowered = text.lower()
    for passage in passages:
        # A passage may join several texts (title + summary); mark each of its sentences that
        # appears in this text.
        for sentence in _SENTENCES.split((passage or "").strip()):
            sentence = sentence.strip()
            if len(sentence) < 12:
                continue
            start = lowered.find(sentence.lower())
            if start >= 0:
                spans.append((start, start + len(sentence), "passage"))
    for term in terms:
        term = (term or "").strip()
        if len(term) < 3:
            continue
        for match in re.finditer(r"(?<!\w)" + re.escape(term.lower()) + r"(?!\w)", lowered):
            spans.append((match.start(), match.end(), "term"))
    spans.sort(key=lambda s: (s[0], -(s[1] - s[0])))
    out: list[str] = []
    pos = 0
    for start, end, kind in spans:
        if start < pos:
            continue  # overlaps a span already marked
        out.append(str(escape(text[pos:start])))
        out.append(f'<mark class="ev-{kind}">{escape(text[start:end])}</mark>')
        pos = end
    out.append(str(escape(text[pos:])))
    return Markup("".join(out))


def mark_terms(text: str, terms: Iterable[str]) -> Markup:
    return highlight(text, (), terms)


def translated(evidence: Any, side: str) -> list[str]:
    """The ``side`` ("query" or "candidate") of each translated key-term pair of ``evidence``
    (a dict as ``matching.evidence.evidence_out`` makes it, or an object with ``translations``)."""
    pairs = evidence.get("translations") if isinstance(evidence, dict) else None
    if pairs is None:
        pairs = getattr(evidence, "translations", None) or []
    return [str(p.get(side, "") if isinstance(p, dict) else getattr(p, side, "")) for p in pairs]


def evidence_terms(evidence: Any, side: str) -> list[str]:
    """Every key term of ``evidence`` found in the ``side`` text: the shared terms and that
    side's half of each translated pair."""
    terms = evidence.get("terms") if isinstance(evidence, dict) else None
    if terms is None:
        terms = getattr(evidence, "terms", None) or []
    return [*terms, *translated(evidence, side)]


__all__ = ["evidence_terms", "highlight", "mark_terms", "translated"]
