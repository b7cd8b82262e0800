"""Lexical similarity: TF-IDF over the candidate corpus, for German and English text."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer

GERMAN_STOP_WORDS = frozenset(
    {
        "aber", "alle", "allem", "allen", "aller", "alles", "als", "also", "am", "an", "ander",
        "andere", "anderen", "auch", "auf", "aus", "bei", "bin", "bis", "bist", "da", "damit",
        "dann", "das", "dass", "dein", "deine", "dem", "den", "der", "des", "dessen", "die",
        "dies", "diese", "diesem", "diesen", "dieser", "dieses", "doch", "dort", "du", "durch",
        "ein", "eine", "einem", "einen", "einer", "eines", "er", "es", "etwa", "euer", "für",
        "gegen", "hat", "hatte", "hier", "ihr", "ihre", "im", "in", "ist", "ja", "jede", "jedem",
        "jeden", "jeder", "jedes", "kann", "kein", "keine", "können", "man", "mehr", "mit", "muss",
        "nach", "nicht", "noch", "nur", "ob", "oder", "ohne", "sehr", "sein", "seine", "sich",
        "sie", "sind", "so", "solche", "soll", "sollen", "sowie", "über", "um", "und", "uns",
        "unser", "unter", "vom", "von", "vor", "wann", "war", "waren", "was", "weil", "welche",
        "welchem", "welchen", "welcher", "wenn", "wer", "werden", "wie", "wir", "wird", "wo", "zu",
        "zum", "zur", "zwischen",
    }
)  # fmt: skip
STOP_WORDS = frozenset(ENGLISH_STOP_WORDS) | GERMAN_STOP_WORDS

_WORD = re.compile(r"[^\W\d_][\w-]*[^\W_]|[^\W\d_]{2,}")
# Longest first; a suffix is stripped only if at least four letters stay.
_SUFFIXES = (
    "ationen", "ungen", "ations", "ation", "ierung", "ungen", "ities", "ness", "ings", "heit",
    "keit", "ing", "ies", "ity", "ung", "ern", "ies", "ed", "en", "er", "es", "ly", "e", "s",
)  # fmt: skip


def _fold(text: str) -> str:
    text = text.lower().replace("ß", "ss")
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def stem(word: str) -> str:
    """A light stemmer for English and German: strips one common inflection suffix."""
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def words(text: str) -> list[str]:
    """Lower-cased, accent-folded words of ``text`` without stop words (not yet stemmed)."""
    return [w for w in _WORD.findall(text.lower()) if w not in STOP_WORDS and len(w) > 2]


@lru_cache(maxsize=200_000)
def term(word: str) -> str:
    """The indexed term of a word from :func:`words`: accent-folded and stemmed."""
    return stem(_fold(word))


def analyse(text: str) -> list[str]:
    """The terms the word-level model indexes: stems of :func:`words`, accent-folded."""
    return [term(w) for w in words(text)]


def _identity(tokens: list[str]) -> list[str]:
    return tokens


def _fit(vectorizer: TfidfVectorizer, docs: list[Any], placeholder: Any) -> sparse.csr_matrix:
    """``fit_transform`` that also works on a corpus without a single term (no candidates yet,
    or only stop words): the vocabulary is then a placeholder no text contains, so every
    similarity is 0 instead of an error."""
    try:
        return vectorizer.fit_transform(docs)
    except ValueError:  # "empty vocabulary"
        vectorizer.fit([placeholder])
        if not docs:
            return sparse.csr_matrix((0, len(vectorizer.vocabulary_)), dtype=np.float32)
        return vectorizer.transform(docs)


class LexicalModel:
    """TF-IDF (sublinear tf, L2-normalised rows) fitted on the candidates' texts.

    ``analyzer="word"`` indexes light stems of words; ``"char"`` indexes character 3–5-grams
    within words (robust to German compounds and inflection). Key terms for evidence always come
    from the word model. Follows scikit-learn's convention: fitted state ends in ``_``.
    """

    def __init__(self, analyzer: str = "word") -> None:
        if analyzer not in {"word", "char"}:
            raise ValueError(f"unknown lexical analyzer {analyzer!r}")
        self.analyzer = analyzer

    def fit(self, texts: Sequence[str]) -> LexicalModel:
        """Fit the vocabulary and IDF on the candidate corpus; keep the candidates' matrices."""
        tokens = [words(t) for t in texts]
        counts: Counter[str] = Counter()
        for ws in tokens:
            counts.update(ws)
        self.words_ = TfidfVectorizer(analyzer=_identity, sublinear_tf=True, dtype=np.float32)
        self.word_matrix_ = _fit(
            self.words_, [[term(w) for w in ws] for ws in tokens], ["\x00"]
        ).tocsr()
        self.terms_ = self.words_.get_feature_names_out()
        # Show a stem as the word it most often stands for in the corpus.
        self.surface_: dict[str, str] = {}
        best: dict[str, int] = {}
        for w, n in counts.items():
            t = term(w)
            if n > best.get(t, 0):
                best[t], self.surface_[t] = n, w
        if self.analyzer == "char":
            self.chars_ = TfidfVectorizer(
                analyzer="char_wb",
                ngram_range=(3, 5),
                sublinear_tf=True,
                strip_accents="unicode",
                dtype=np.float32,
            )
            self.matrix_ = _fit(self.chars_, list(texts), "\x00\x00\x00").tocsc()
        else:
            self.matrix_ = self.word_matrix_.tocsc()
        return self

    def word_vectors(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """TF-IDF rows of texts in the word model (the space of key terms)."""
        return self.words_.transform([analyse(t) for t in texts]).tocsr()

    def transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """TF-IDF rows of query texts in the scoring model's space."""
        if self.analyzer == "char":
            return self.chars_.transform(texts).tocsr()
        return self.word_vectors(texts)

    def similarity(self, queries: sparse.csr_matrix) -> np.ndarray:
        """Cosine of each query row to every candidate: ``(n_queries, n_candidates)`` in [0, 1]."""
        out = np.zeros((queries.shape[0], self.matrix_.shape[0]), dtype=np.float32)
        for i in range(queries.shape[0]):
            row = queries.getrow(i)
            if row.nnz:
                # Touch only the posting lists of the query's terms (an inverted index).
                out[i] = (self.matrix_[:, row.indices] @ row.data).ravel()
        return np.clip(out, 0.0, 1.0, out=out)

    def key_terms(self, query: sparse.csr_matrix, candidate: int, n: int = 6) -> list[str]:
        """Terms a query (a one-row :meth:`word_vectors` matrix) shares with a candidate,
        heaviest (tf-idf product) first, shown as words."""
        m = self.word_matrix_
        lo, hi = m.indptr[candidate], m.indptr[candidate + 1]
        shared, qi, ci = np.intersect1d(
            query.indices, m.indices[lo:hi], assume_unique=True, return_indices=True
        )
        weight = query.data[qi] * m.data[lo:hi][ci]
        order = np.argsort(-weight, kind="stable")[:n]
        return [self.surface_.get(str(self.terms_[j]), str(self.terms_[j])) for j in shared[order]]
