"""Which language a text is in (German, English or other), and language centring of vectors.

Detection uses ``py3langid`` (langid.py's model, 97 languages, shipped inside the package, no
download). Only German and English are told apart for matching; a text whose most likely
language is neither is ``other``. Very short or empty texts say too little: they get
``default``.

Language centring (Libovický et al., 2020, "On the Language Neutrality of Pre-trained
Multilingual Representations"): a multilingual encoder puts texts of one language near each
other, so a German challenge finds German texts before English texts on the same topic.
Subtracting each language's mean vector removes that shared language component and leaves the
topic; rows are normalised again afterwards.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import NDArray

#: Language codes, one per text: a list, or a numpy array of strings.
Languages = Sequence[str] | NDArray[Any]

#: Languages a text may be stored with; the first two are the ones the service is written for.
LANGUAGES: tuple[str, ...] = ("de", "en", "other")
#: Texts shorter than this many letters are not detected.
MIN_LETTERS = 12


@lru_cache(maxsize=1)
def _identifier() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect_language(text: str, default: str = "en") -> str:
    """``de``, ``en`` or ``other`` for ``text``; ``default`` when it is too short to tell."""
    if sum(c.isalpha() for c in text) < MIN_LETTERS:
        return default
    lang, _ = _identifier().classify(text)
    return lang if lang in ("de", "en") else "other"


@dataclass
class LanguageCentring:
    """Per-language mean vectors, estimated on a corpus and subtracted from its vectors.

    ``fit`` takes unit vectors and their languages. A language with few vectors has a noisy mean
    (one vector's "mean" is the vector itself, and subtracting it would erase its topic), so each
    mean is shrunk towards no correction with ``prior`` pseudo-vectors at zero:
    ``sum of the language's vectors / (n + prior)``. With hundreds of passages of a language this
    is its mean; with a handful it barely moves the vectors. A language absent from the corpus is
    not corrected.
    """

    prior: float = 16.0
    means_: dict[str, NDArray[Any]] = field(default_factory=dict)
    overall_: NDArray[Any] | None = None

    def fit(self, vectors: NDArray[Any], languages: Languages) -> LanguageCentring:
        """Estimate the means from ``vectors`` (rows) in ``languages`` (one per row)."""
        vectors = np.asarray(vectors, dtype=np.float32)
        if len(vectors) != len(languages):
            raise ValueError("one language per vector is needed")
        if not len(vectors):
            self.overall_, self.means_ = None, {}
            return self
        self.overall_ = np.zeros(vectors.shape[1], np.float32)
        langs = np.asarray(languages)
        self.means_ = {}
        for lang in sorted(set(languages)):
            rows = vectors[langs == lang]
            self.means_[lang] = rows.sum(axis=0) / (len(rows) + self.prior)
        return self

    def mean(self, language: str) -> NDArray[Any] | None:
        """The mean subtracted from vectors of ``language`` (None before fitting)."""
        return self.means_.get(language, self.overall_)

    def transform(self, vectors: NDArray[Any], languages: Languages) -> NDArray[Any]:
        """``vectors`` minus their language's mean, normalised to unit length again."""
        vectors = np.asarray(vectors, dtype=np.float32)
        if self.overall_ is None or not len(vectors):
            return vectors
        overall = self.overall_
        means = np.stack([self.means_.get(lang, overall) for lang in languages])
        out = vectors - means
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return (out / np.maximum(norms, 1e-12)).astype(np.float32)

    def describe(self) -> Mapping[str, float]:
        """Norm of each language's mean (how much language signal was removed)."""
        return {lang: float(np.linalg.norm(m)) for lang, m in self.means_.items()}


def pair_key(a: str, b: str) -> str:
    """The unordered language pair of two texts, e.g. ``de|en`` for a German and an English one
    in either order (passage similarity is symmetric, so is its calibration)."""
    return f"{a}|{b}" if a <= b else f"{b}|{a}"


def _pair_masks(rows: Languages, columns: Languages) -> list[tuple[str, NDArray[Any]]]:
    """Each unordered language pair present in ``rows`` × ``columns`` with its boolean mask."""
    r, c = np.asarray(list(rows), dtype=str), np.asarray(list(columns), dtype=str)
    masks: dict[str, NDArray[Any]] = {}
    for a in np.unique(r):
        in_row = (r == a)[:, None]
        for b in np.unique(c):
            mask = in_row & (c == b)[None, :]
            key = pair_key(str(a), str(b))
            masks[key] = masks[key] | mask if key in masks else mask
    return list(masks.items())


@dataclass
class PairCalibration:
    """Semantic similarities of each language pair mapped onto one common scale.

    Even after centring, the similarities of a German and an English text are spread around a
    lower mean than those of two English texts, so a German challenge's best English group
    scores below an English challenge's best English group although both fit as well. ``fit``
    takes the semantic similarities of every (query, candidate) pair of a corpus with their
    languages and estimates, per unordered language pair (``de|de``, ``de|en``, ``en|en``, ...),
    their mean and standard deviation; ``transform`` moves each pair's similarity to the same
    standing within the pooled distribution of all pairs:
    ``pooled_mean + (s - mean[pair]) * pooled_std / std[pair]``.

    Nothing is fitted to labels: the statistics are those of all pairs, related or not. A pair of
    languages seen in few pairs is shrunk towards the pooled statistics with ``prior``
    pseudo-pairs, so it is barely changed; a corpus of one language is not changed at all.
    """

    prior: float = 100.0
    pooled_: tuple[float, float] | None = None
    pairs_: dict[str, tuple[float, float, int]] = field(default_factory=dict)

    def fit(
        self, similarities: NDArray[Any], rows: Languages, columns: Languages
    ) -> PairCalibration:
        """Estimate the statistics from ``similarities`` ``(len(rows), len(columns))`` whose rows
        and columns are texts in the languages ``rows`` and ``columns``."""
        sims = np.asarray(similarities, dtype=np.float64)
        if sims.shape != (len(rows), len(columns)):
            raise ValueError("one language per row and per column is needed")
        self.pairs_ = {}
        if not sims.size:
            self.pooled_ = None
            return self
        mean, var = float(sims.mean()), float(sims.var())
        self.pooled_ = (mean, var**0.5)
        for key, mask in _pair_masks(rows, columns):
            values = sims[mask]
            n = len(values)
            m = (values.sum() + self.prior * mean) / (n + self.prior)
            # Spread about the shrunk mean, pooled with the prior's variance the same way.
            v = (((values - m) ** 2).sum() + self.prior * var) / (n + self.prior)
            self.pairs_[key] = (float(m), float(v**0.5), n)
        return self

    @property
    def active(self) -> bool:
        """Whether :meth:`transform` changes anything (fitted on two or more language pairs)."""
        return self.pooled_ is not None and len(self.pairs_) >= 2

    def affine(self, row: str, columns: Languages) -> tuple[NDArray[Any], NDArray[Any]]:
        """``(scale, shift)`` per column for a text in language ``row`` against texts in
        ``columns``: the calibrated similarity is ``s * scale + shift`` (then clipped). A pair of
        languages not seen when fitting gets ``(1, 0)``, i.e. stays as it is."""
        cols = np.asarray(list(columns), dtype=str)
        scale = np.ones(len(cols), np.float32)
        shift = np.zeros(len(cols), np.float32)
        if not self.active:
            return scale, shift
        assert self.pooled_ is not None
        mean, std = self.pooled_
        for b in np.unique(cols):
            stats = self.pairs_.get(pair_key(row, str(b)))
            if stats is None or stats[1] <= 0:
                continue
            mask = cols == b
            scale[mask] = std / stats[1]
            shift[mask] = mean - stats[0] * std / stats[1]
        return scale, shift

    def transform(
        self, similarities: NDArray[Any], rows: Languages, columns: Languages
    ) -> NDArray[Any]:
        """``similarities`` of texts in ``rows`` × ``columns`` languages on the pooled scale
        (clipped to [0, 1]); unchanged before fitting or for a corpus of one language pair."""
        sims = np.asarray(similarities, dtype=np.float32)
        if not self.active or not sims.size:
            return sims
        out = np.empty_like(sims)
        row_langs = np.asarray(list(rows), dtype=str)
        for a in np.unique(row_langs):
            scale, shift = self.affine(str(a), columns)
            mask = row_langs == a
            out[mask] = sims[mask] * scale + shift
        return np.clip(out, 0.0, 1.0, out=out)

    def describe(self) -> Mapping[str, Any]:
        """Mean, standard deviation and number of pairs per language pair, and pooled."""
        out: dict[str, Any] = {
            key: {"mean": round(m, 4), "std": round(s, 4), "pairs": n}
            for key, (m, s, n) in self.pairs_.items()
        }
        if self.pooled_ is not None:
            out["pooled"] = {"mean": round(self.pooled_[0], 4), "std": round(self.pooled_[1], 4)}
        return out
