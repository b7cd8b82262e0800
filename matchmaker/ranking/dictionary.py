"""German–English key terms: which words of a German text and an English text translate each
other, by a bilingual dictionary.

TF-IDF cannot see that *Abwärme* is *waste heat*; the evidence of a German challenge and an
English group would show no key term. The dictionary is the Ding German–English dictionary of
TU Chemnitz (GPL 2 or later; Debian package ``trans-de-en``, ``/usr/share/trans/de-en``): it is
read where it is installed, never copied into this repository. Its lines are compiled once into
an SQLite file beside the exported encoders (a few seconds; read-only afterwards, shared by
workers, a few kB of memory per process), so a lookup is an indexed query.

The Ding format, one entry per line: ``German :: English``; ``|`` separates an entry's senses
(the same number on both sides, in the same order), ``;`` synonyms of one sense, ``{f}``,
``[techn.]`` and ``(...)`` are annotations. Each German single word of a sense maps to the
English phrases (one to three words) of the same sense.
"""

from __future__ import annotations

import logging
import math
import os
import re
import sqlite3
import threading
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import lru_cache
from pathlib import Path

from matchmaker.ranking.files import exclusive_lock
from matchmaker.ranking.lexical import analyse, term, words
from matchmaker.ranking.types import Passage, TermPair

log = logging.getLogger("matchmaker.ranking")

#: Where Debian's ``trans-de-en`` puts the Ding dictionary.
DEFAULT_PATH = Path("/usr/share/trans/de-en")
#: Changes whenever the compiled form changes (the file is rebuilt).
FORMAT = 3
#: English phrases of at most this many words are kept.
MAX_PHRASE_WORDS = 3
#: Translations looked at per German word (the dictionary lists the common senses first).
MAX_TRANSLATIONS = 40
#: German words of a text looked up, the heaviest first.
MAX_LOOKUPS = 30

# A noun's gender or plural mark: {f}, {m}, {n}, {pl}, {m,f}, {f; n} ...
_NOUN = re.compile(r"\{(?:[fmn](?:[,;] ?[fmn])*|pl)\}")
_ANNOTATION = re.compile(r"\{[^}]*\}|\[[^\]]*\]|\([^)]*\)|<[^>]*>")
_PHRASE = re.compile(r"[^\W_][\w' -]*[^\W_]")
_SINGLE_WORD = re.compile(r"[^\W\d_][\w-]*[^\W_]")
# Placeholders of the dictionary's usage examples ("jdm. etw. geben", "to give sb. sth.").
_PLACEHOLDERS = re.compile(r"\b(?:sth|sb|etw|jdm|jdn|jds|jd|so|something|somebody)\b\.?|\.\.\.|/")


def _clean(text: str) -> str:
    return " ".join(_ANNOTATION.sub(" ", text).split())


def parse_line(line: str) -> Iterator[tuple[str, str]]:
    """(German noun, English phrase) pairs of one Ding line. Only nouns (marked with their
    gender or ``{pl}``) that are one word: key terms are things and methods, and a verb or an
    adjective translated out of context (*laufen* → *runner*) says more about the dictionary than
    about the two texts."""
    if line.startswith("#") or " :: " not in line:
        return
    german, english = line.rstrip("\n").split(" :: ", 1)
    de_senses, en_senses = german.split(" | "), english.split(" | ")
    if len(de_senses) != len(en_senses):
        # Senses that do not line up: only the first sense of each side is trusted.
        de_senses, en_senses = de_senses[:1], en_senses[:1]
    for de, en in zip(de_senses, en_senses, strict=True):
        phrases = []
        for synonym in en.split(";"):
            phrase = _clean(synonym).lower()
            if phrase.startswith("to "):
                phrase = phrase[3:]
            if not _PHRASE.fullmatch(phrase) or _PLACEHOLDERS.search(phrase):
                continue
            if len(phrase.split()) <= MAX_PHRASE_WORDS:
                phrases.append(phrase)
        if not phrases:
            continue
        for synonym in de.split(";"):
            word = _clean(synonym)
            if _NOUN.search(synonym) and _SINGLE_WORD.fullmatch(word):
                for phrase in phrases:
                    yield word, phrase


def _stems(phrase: str) -> str:
    """The indexed terms of a phrase, space-separated (empty for a phrase of stop words)."""
    return " ".join(term(w) for w in words(phrase))


def _stamp(source: Path) -> str:
    st = source.stat()
    return f"{FORMAT}:{st.st_size}:{st.st_mtime_ns}"


def _current(target: Path, stamp: str) -> bool:
    if not target.exists():
        return False
    try:
        with sqlite3.connect(f"file:{target}?mode=ro", uri=True) as db:
            row = db.execute("SELECT value FROM meta WHERE key = 'source'").fetchone()
    except sqlite3.Error:
        return False
    return row is not None and row[0] == stamp


def compile_dictionary(source: Path, target: Path) -> Path:
    """Compile the Ding file ``source`` into the SQLite file ``target`` unless it is current
    (same source size and mtime, same format); safe when several processes start at once."""
    stamp = _stamp(source)
    if _current(target, stamp):
        return target
    with exclusive_lock(target.with_suffix(".lock")):
        if _current(target, stamp):
            return target
        tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
        tmp.unlink(missing_ok=True)
        db = sqlite3.connect(tmp)
        try:
            db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
            db.execute("CREATE TABLE entry (key TEXT, phrase TEXT, stems TEXT)")
            seen: set[tuple[str, str]] = set()

            def rows() -> Iterator[tuple[str, str, str]]:
                with open(source, encoding="utf-8", errors="replace") as lines:
                    for line in lines:
                        for word, phrase in parse_line(line):
                            key = term(word.lower())
                            stems = _stems(phrase)
                            if stems and (key, stems) not in seen:
                                seen.add((key, stems))
                                yield key, phrase, stems

            db.executemany("INSERT INTO entry VALUES (?, ?, ?)", rows())
            db.execute("CREATE INDEX entry_key ON entry (key)")
            db.execute("INSERT INTO meta VALUES ('source', ?)", (stamp,))
            db.commit()
        finally:
            db.close()
        os.replace(tmp, target)
    log.info("compiled the German-English dictionary %s into %s", source, target)
    return target


class Dictionary:
    """German word → English phrases, from a compiled dictionary file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)
            self._local.db = db
        return db

    @lru_cache(maxsize=20_000)  # noqa: B019 - one dictionary per process
    def translations(self, german_term: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """English (phrase, its terms) for a German term (as :func:`lexical.term` makes it), in
        the dictionary's order."""
        rows = self._db().execute(
            "SELECT phrase, stems FROM entry WHERE key = ? ORDER BY rowid LIMIT ?",
            (german_term, MAX_TRANSLATIONS),
        )
        return tuple((phrase, tuple(stems.split())) for phrase, stems in rows)

    def english_terms(self, text: str) -> dict[str, float]:
        """A German text as English terms, for lexical overlap with English texts: each word's
        translations share its count equally (the dictionary cannot tell which sense the text
        means, so none is preferred); a word the dictionary lacks — most often a name, an
        acronym or a loanword, spelt alike in both languages — stays as it is."""
        bag: defaultdict[str, float] = defaultdict(float)
        for w in words(text):
            t = term(w)
            found = self.translations(t)
            if not found:
                bag[t] += 1.0
                continue
            share = 1.0 / len(found)
            for _, stems in found:
                for stem in stems:
                    bag[stem] += share
        return dict(bag)

    def english_bag(self, passages: Sequence[Passage]) -> dict[str, float]:
        """A profile's passages as English terms: the German ones translated
        (:meth:`english_terms`), the others as they are (a German group's English publications
        need no dictionary)."""
        bag: defaultdict[str, float] = defaultdict(float)
        for p in passages:
            if p.language == "de":
                for t, c in self.english_terms(p.text).items():
                    bag[t] += c
            else:
                for t in analyse(p.text):
                    bag[t] += 1.0
        return dict(bag)

    def term_pairs(
        self,
        german: Sequence[str],
        english: Sequence[str],
        weight: Mapping[str, float],
        rarest: float,
        n: int,
        *,
        german_is_query: bool,
    ) -> list[TermPair]:
        """Up to ``n`` words of the ``german`` texts whose translation occurs in the ``english``
        texts, heaviest first. ``weight`` gives a term's IDF (a term it lacks counts as
        ``rarest``). A word spelt the same in both texts is a shared term, not a translation."""
        g_words = [w for text in german for w in words(text)]
        e_words = [w for text in english for w in words(text)]
        e_terms = [term(w) for w in e_words]
        if not g_words or not e_terms:
            return []
        # Each run of one to three terms of the English texts, as first written there.
        present: dict[tuple[str, ...], str] = {}
        for size in range(1, MAX_PHRASE_WORDS + 1):
            for i in range(len(e_terms) - size + 1):
                present.setdefault(tuple(e_terms[i : i + size]), " ".join(e_words[i : i + size]))
        e_counts = Counter(e_terms)
        g_counts = Counter(term(w) for w in g_words)
        nouns = _nouns(german)
        surface: dict[str, str] = {}
        for w in g_words:
            if w in nouns:
                surface.setdefault(term(w), nouns[w])
        e_set = set(e_terms)
        found: dict[str, tuple[float, TermPair]] = {}
        heaviest = sorted(
            (t for t in g_counts if t in surface and t not in e_set),
            key=lambda t: -(_tf(g_counts[t]) * weight.get(t, rarest)),
        )
        for g in heaviest[:MAX_LOOKUPS]:
            matches = [
                (phrase, stems) for phrase, stems in self.translations(g) if stems in present
            ]
            if not matches:
                continue
            phrase, stems = max(matches, key=lambda m: len(m[1]))  # the longest, then the first
            if len(phrase.split()) == len(stems):
                phrase = present[stems]  # as the text writes it ("heat pumps", not "heat pump")
            e_weight = sum(_tf(e_counts[s]) * weight.get(s, rarest) for s in stems) / len(stems)
            score = _tf(g_counts[g]) * weight.get(g, rarest) * e_weight
            word = surface[g]
            pair = TermPair(word, phrase) if german_is_query else TermPair(phrase, word)
            key = " ".join(stems)
            if key not in found or score > found[key][0]:
                found[key] = (score, pair)
        ranked = sorted(found.values(), key=lambda sp: -sp[0])
        return [pair for _, pair in ranked[:n]]


def _tf(count: int) -> float:
    return 1.0 + math.log(count)


def _nouns(texts: Iterable[str]) -> dict[str, str]:
    """Words written with a capital inside a sentence (German nouns; not the first word of a
    sentence, which is capitalised whatever it is), lower-cased → as first written."""
    out: dict[str, str] = {}
    for text in texts:
        for match in _SINGLE_WORD.finditer(text):
            w = match.group()
            if not w[0].isupper():
                continue
            before = text[: match.start()].rstrip()
            if before and before[-1] not in '.!?:;\n"„“(':
                out.setdefault(w.lower(), w)
    return out


_opened: dict[tuple[str, str], Dictionary | None] = {}
_opened_lock = threading.Lock()


def open_dictionary(source: str | Path | None, cache_dir: Path) -> Dictionary | None:
    """The dictionary of the Ding file ``source`` (None: :data:`DEFAULT_PATH`; empty: none),
    compiled into ``cache_dir`` on first use; None when the file is not installed or cannot be
    compiled (key terms are then the shared words only)."""
    path = DEFAULT_PATH if source is None else Path(source) if str(source) else None
    if path is None:
        return None
    key = (str(path), str(cache_dir))
    with _opened_lock:
        if key in _opened:
            return _opened[key]
        result: Dictionary | None = None
        if path.is_file():
            try:
                result = Dictionary(compile_dictionary(path, Path(cache_dir) / "de-en.sqlite"))
            except (OSError, sqlite3.Error) as exc:
                log.warning("German-English dictionary %s not usable: %s", path, exc)
        else:
            log.info("no German-English dictionary at %s: key terms are shared words only", path)
        _opened[key] = result
        return result
