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
    means_: dict[str, np.ndarray] = field(default_factory=dict)
    overall_: np.ndarray | None = None

    def fit(self, vectors: np.ndarray, languages: Sequence[str]) -> LanguageCentring:
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

    def mean(self, language: str) -> np.ndarray | None:
        """The mean subtracted from vectors of ``language`` (None before fitting)."""
        return self.means_.get(language, self.overall_)

    def transform(self, vectors: np.ndarray, languages: Sequence[str]) -> np.ndarray:
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
