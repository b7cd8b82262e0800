"""Splitting profiles into passages that fit the embedding model's window, without losing words."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable

from matchmaker.ranking.embed import Embedder
from matchmaker.ranking.language import detect_language
from matchmaker.ranking.types import Passage, Profile

# A sentence ends at . ! ? or ; followed by white space, or at a line break.
_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+|\s*\n\s*")
#: Abbreviations after which a full stop does not end the sentence (German and English),
#: lower-case, without their final full stop; "z. B." ends in "b", "u. a." in "a".
ABBREVIATIONS = frozenset(
    {
        "bzw", "ca", "nr", "z", "b", "zb", "u", "a", "ua", "d", "h", "dh", "usw", "ggf", "inkl",
        "exkl", "evtl", "vgl", "bzgl", "sog", "max", "min", "mind", "abs", "abb", "tab", "kap",
        "bspw", "etc", "dr", "prof", "ing", "dipl", "st", "str", "mio", "mrd", "tsd", "jh",
        "e", "g", "i", "eg", "ie", "vs", "approx", "fig", "no", "resp", "cf", "al", "mr", "ms",
    }
)  # fmt: skip
_LAST_WORD = re.compile(r"(?:^|[\s(/-])([^\W\d_]{1,6})\.$")


def text_hash(text: str) -> str:
    """SHA-256 hex digest of a passage's text (the key of its stored embedding)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _ends_with_abbreviation(piece: str) -> bool:
    match = _LAST_WORD.search(piece)
    return match is not None and match.group(1).lower() in ABBREVIATIONS


def split_sentences(text: str) -> list[str]:
    """Split ``text`` into sentences with whitespace normalised; empty pieces are dropped.

    A full stop after a known abbreviation (``bzw.``, ``z. B.``, ``ca.``, ``Nr.``, ``e.g.``)
    does not end a sentence, nor one followed by a lower-case word or a digit.
    """
    sentences: list[str] = []
    glue = False
    for raw in _SENTENCE_END.split(text):
        piece = " ".join(raw.split()) if raw else ""
        if not piece:
            glue = False
            continue
        starts_low = piece[0].islower() or piece[0].isdigit()
        if sentences and glue and (starts_low or _ends_with_abbreviation(sentences[-1])):
            sentences[-1] = f"{sentences[-1]} {piece}"
        else:
            sentences.append(piece)
        glue = piece.endswith(".") and "\n" not in raw[-1:]
    return sentences


def _split_word(word: str, count_tokens: Callable[[str], int], max_tokens: int) -> list[str]:
    # A single "word" longer than the window (a pasted hash, a URL): cut it into character chunks.
    pieces: list[str] = []
    rest = word
    while rest:
        size = len(rest)
        while size > 1 and count_tokens(rest[:size]) > max_tokens:
            size //= 2
        pieces.append(rest[:size])
        rest = rest[size:]
    return pieces


def _pack(
    units: list[str],
    count_tokens: Callable[[str], int],
    max_tokens: int,
    split_unit: Callable[[str], list[str]],
) -> list[str]:
    """Join consecutive ``units`` with spaces into chunks of at most ``max_tokens`` word pieces;
    a unit longer than the window alone is cut by ``split_unit``."""
    chunks: list[str] = []
    current: list[str] = []
    used = 0
    for unit in units:
        # Word pieces (BERT-style tokenizers) never span white space, so the count of a join is
        # the sum of the counts: one tokenizer call per unit, none per candidate chunk.
        n = count_tokens(unit)
        if n > max_tokens:
            if current:
                chunks.append(" ".join(current))
                current, used = [], 0
            chunks.extend(split_unit(unit))
            continue
        if current and used + n > max_tokens:
            chunks.append(" ".join(current))
            current, used = [], 0
        current.append(unit)
        used += n
    if current:
        chunks.append(" ".join(current))
    return chunks


def _split_long_sentence(
    sentence: str, count_tokens: Callable[[str], int], max_tokens: int
) -> list[str]:
    return _pack(
        sentence.split(),
        count_tokens,
        max_tokens,
        lambda word: _split_word(word, count_tokens, max_tokens),
    )


def split_passages(text: str, count_tokens: Callable[[str], int], max_tokens: int) -> list[str]:
    """Pack whole sentences into passages of at most ``max_tokens`` word pieces.

    A sentence longer than the window is split at word boundaries (a word longer than the window
    into character chunks), so every word of ``text`` is in exactly one passage, in order.
    """
    if max_tokens < 1:
        raise ValueError("max_tokens must be positive")
    return _pack(
        split_sentences(text),
        count_tokens,
        max_tokens,
        lambda sentence: _split_long_sentence(sentence, count_tokens, max_tokens),
    )


def _titled(title: str, text: str) -> str:
    title, text = title.strip(), text.strip()
    if not title:
        return text
    if not text:
        return title
    return f"{title}{'' if title[-1] in '.!?:' else '.'} {text}"


def profile_passages(
    profile: Profile, embedder: Embedder, max_tokens: int | None = None
) -> list[Passage]:
    """The passages of a profile: its own title/text first, then each document (title + text).

    ``max_tokens`` defaults to the embedder's window.
    """
    window = max_tokens or embedder.max_tokens
    own = _titled(profile.title, profile.text)
    parts = [(profile.id, profile.title, own, profile.language)]
    parts += [
        (d.id, d.title or d.id, _titled(d.title, d.text), d.language or profile.language)
        for d in profile.documents
    ]
    passages: list[Passage] = []
    for doc_id, doc_title, body, language in parts:
        lang = language or detect_language(body)
        for piece in split_passages(body, embedder.count_tokens, window):
            passages.append(Passage(doc_id, doc_title, piece, lang))
    return passages


def profile_text(profile: Profile) -> str:
    """All text of a profile in one string (the lexical model's view of it)."""
    parts = [_titled(profile.title, profile.text)]
    parts += [_titled(d.title, d.text) for d in profile.documents]
    return "\n".join(p for p in parts if p)
