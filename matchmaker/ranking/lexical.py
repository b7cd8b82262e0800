"""Lexical similarity: TF-IDF over the candidate corpus, for German and English text.

The TF-IDF is computed here with numpy and scipy.sparse, not with scikit-learn: importing
scikit-learn costs ~0.85 s (it pulls in scipy.stats and pandas), and the lexical model is fitted
when a web worker starts. It computes what scikit-learn's ``TfidfVectorizer(sublinear_tf=True,
dtype=np.float32)`` computes (``tests/ranking/test_lexical.py`` compares the two).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from matchmaker.ranking.stop_words import ENGLISH_STOP_WORDS

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
        # Abbreviations and further function words, which say nothing as key terms.
        "bzw", "ggf", "usw", "inkl", "exkl", "evtl", "vgl", "bzgl", "bspw", "sog", "mind", "etc",
        "ca", "nr", "abs", "daß", "wurde", "wurden", "worden", "sowohl", "bereits",
        "dabei", "hierbei", "wobei", "jedoch", "zudem", "sodass", "derzeit", "aktuell",
        "heute", "rund", "mehrere", "einige", "viele", "weitere", "weiteren", "neue",
        "neuen", "neuer", "neues", "haben", "habe", "hatten", "sei", "seit", "seien", "werde",
        "wäre", "würde", "würden", "könnte", "könnten", "möchten", "wollen", "ihnen",
        "ihren", "ihrem", "ihrer", "unsere", "unserer", "unseren", "unserem", "beim",
        "bisher", "dafür", "darauf", "daraus", "darin", "davon", "dazu", "deren", "denen",
        "immer", "innerhalb", "keinen", "mittels", "möglich",
        "nun", "oft", "pro", "selbst", "sondern", "statt", "trotz", "während", "weiter",
        "wegen", "wieder", "ziel", "zwar", "z.b", "u.a", "d.h",
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


def _strip_accents(text: str) -> str:
    """Accents removed (NFKD, combining marks dropped), as scikit-learn's
    ``strip_accents="unicode"``; unlike :func:`_fold`, ``ß`` stays."""
    if text.isascii():
        return text
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def char_ngrams(text: str, low: int = 3, high: int = 5) -> list[str]:
    """Character ``low``–``high``-grams within words, as scikit-learn's ``analyzer="char_wb"``
    with ``strip_accents="unicode"``: lower-cased, accents stripped, each whitespace-separated
    word padded with one space on either side; a padded word not longer than ``n`` is one
    ``n``-gram (the whole padded word), and then no longer n-grams are taken from it."""
    grams: list[str] = []
    append = grams.append  # appending in a plain loop measured fastest
    for word in _strip_accents(text.lower()).split():
        w = f" {word} "
        size = len(w)
        for n in range(low, high + 1):
            if size <= n:
                append(w)
                break
            for i in range(size - n + 1):
                append(w[i : i + n])
    return grams


class Tfidf:
    """TF-IDF of documents that ``analyze`` turns into terms, as scikit-learn's
    ``TfidfVectorizer(sublinear_tf=True, dtype=np.float32)`` with its other defaults: term
    counts ``tf``, weight ``(1 + ln tf) * idf`` with the smoothed ``idf = ln((1 + n) /
    (1 + df)) + 1`` of the ``n`` fitted documents, rows L2-normalised, float32.

    The vocabulary is every term of the fitted documents, sorted (the column order of
    scikit-learn's ``get_feature_names_out``); terms not in it are ignored by :meth:`transform`.
    """

    def __init__(self, analyze: Callable[[Any], Sequence[str]]) -> None:
        self.analyze = analyze

    def fit_transform(self, docs: Sequence[Any]) -> sparse.csr_matrix:
        """Fit the vocabulary and IDF on ``docs`` and return their TF-IDF rows; raises
        ``ValueError`` when the documents have no term at all (as scikit-learn does)."""
        counted = [Counter(self.analyze(d)) for d in docs]
        terms = sorted(set().union(*counted))
        if not terms:
            raise ValueError("empty vocabulary; perhaps the documents only contain stop words")
        self.vocabulary_ = {t: j for j, t in enumerate(terms)}
        x = self._counts(counted)
        df = np.bincount(x.indices, minlength=len(terms)).astype(np.float32)
        df += 1.0
        self.idf_ = np.full_like(df, len(docs) + 1)
        self.idf_ /= df
        np.log(self.idf_, out=self.idf_)
        self.idf_ += 1.0
        return self._weigh(x)

    def fit(self, docs: Sequence[Any]) -> Tfidf:
        """Fit the vocabulary and IDF on ``docs``."""
        self.fit_transform(docs)
        return self

    def transform(self, docs: Sequence[Any]) -> sparse.csr_matrix:
        """TF-IDF rows of ``docs`` in the fitted vocabulary."""
        return self._weigh(self._counts([Counter(self.analyze(d)) for d in docs]))

    def get_feature_names_out(self) -> NDArray[Any]:
        """The vocabulary in column order, as an object array (as scikit-learn's)."""
        return np.array(list(self.vocabulary_), dtype=object)

    def _counts(self, counted: Sequence[Counter[str]]) -> sparse.csr_matrix:
        vocabulary = self.vocabulary_
        indices: list[int] = []
        values: list[int] = []
        indptr = [0]
        for counts in counted:
            try:
                indices.extend(map(vocabulary.__getitem__, counts))
                values.extend(counts.values())
            except KeyError:  # a term the fitted documents do not have: ignored
                del indices[indptr[-1] :]
                for t, n in counts.items():
                    j = vocabulary.get(t)
                    if j is not None:
                        indices.append(j)
                        values.append(n)
            indptr.append(len(indices))
        index = np.int32 if len(indices) <= np.iinfo(np.int32).max else np.int64
        x = sparse.csr_matrix(
            (
                np.array(values, dtype=np.float32),
                np.array(indices, dtype=index),
                np.array(indptr, dtype=index),
            ),
            shape=(len(counted), len(vocabulary)),
        )
        x.sort_indices()
        return x

    def _weigh(self, x: sparse.csr_matrix) -> sparse.csr_matrix:
        """Counts to L2-normalised ``(1 + ln tf) * idf``, in place."""
        np.log(x.data, out=x.data)
        x.data += 1.0
        x.data *= self.idf_[x.indices]
        # As scikit-learn: float32 squares summed in float64, division in float64.
        rows = np.repeat(np.arange(x.shape[0]), np.diff(x.indptr))
        norms = np.sqrt(np.bincount(rows, weights=x.data * x.data, minlength=x.shape[0]))
        norms[norms == 0.0] = 1.0
        x.data = (x.data / norms[rows]).astype(np.float32)
        return x


def _fit(vectorizer: Tfidf, docs: list[Any], placeholder: Any) -> sparse.csr_matrix:
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
        #: The last :meth:`word_vectors` call: (texts, rows); valid for the current fit only.
        self._last_words: tuple[tuple[str, ...], sparse.csr_matrix] | None = None

    def fit(self, texts: Sequence[str]) -> LexicalModel:
        """Fit the vocabulary and IDF on the candidate corpus; keep the candidates' matrices."""
        self._last_words = None  # rows of the previous vocabulary
        tokens = [words(t) for t in texts]
        counts: Counter[str] = Counter()
        for ws in tokens:
            counts.update(ws)
        self.words_ = Tfidf(_identity)
        self.word_matrix_ = _fit(
            self.words_, [[term(w) for w in ws] for ws in tokens], ["\x00"]
        ).tocsr()
        self.terms_ = self.words_.get_feature_names_out()
        #: IDF of each term, and the largest (that of a term the corpus lacks).
        self.idf_by_term_ = dict(
            zip(self.words_.vocabulary_, self.words_.idf_.tolist(), strict=True)
        )
        self.max_idf_ = float(self.words_.idf_.max()) if len(self.words_.idf_) else 1.0
        # Show a stem as the word it most often stands for in the corpus.
        self.surface_: dict[str, str] = {}
        best: dict[str, int] = {}
        for w, n in counts.items():
            t = term(w)
            if n > best.get(t, 0):
                best[t], self.surface_[t] = n, w
        if self.analyzer == "char":
            self.chars_ = Tfidf(char_ngrams)
            self.matrix_ = _fit(self.chars_, list(texts), "\x00\x00\x00").tocsc()
        else:
            self.matrix_ = self.word_matrix_.tocsc()
        return self

    def bag_vectors(self, bags: Sequence[Mapping[str, float]]) -> sparse.csr_matrix:
        """TF-IDF rows (sublinear tf, L2-normalised, as :meth:`word_vectors`) of bags of terms
        with possibly fractional counts (a translated text); terms outside the vocabulary are
        ignored. A count below 1 is its own weight, so the weight grows with the count."""
        vocabulary, idf = self.words_.vocabulary_, self.words_.idf_
        indptr, indices, data = [0], [], []
        for bag in bags:
            row = sorted((vocabulary[t], c) for t, c in bag.items() if t in vocabulary and c > 0)
            weights = np.array(
                [(1.0 + np.log(c) if c >= 1 else c) * idf[j] for j, c in row], np.float32
            )
            norm = float(np.linalg.norm(weights)) if len(weights) else 0.0
            indices += [j for j, _ in row]
            data += list(weights / norm) if norm else [0.0] * len(row)
            indptr.append(len(indices))
        return sparse.csr_matrix(
            (np.array(data, np.float32), np.array(indices, np.int32), np.array(indptr)),
            shape=(len(bags), len(vocabulary)),
        )

    def word_vectors(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """TF-IDF rows of texts in the word model (the space of key terms). The last result is
        kept: a ranking request asks for the same query's rows to score and then to explain."""
        key = tuple(texts)
        last = self._last_words
        if last is not None and last[0] == key:
            return last[1]
        rows = self.words_.transform([analyse(t) for t in texts]).tocsr()
        self._last_words = (key, rows)
        return rows

    def transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """TF-IDF rows of query texts in the scoring model's space."""
        if self.analyzer == "char":
            return self.chars_.transform(texts).tocsr()
        return self.word_vectors(texts)

    def similarity(self, queries: sparse.csr_matrix) -> NDArray[Any]:
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
