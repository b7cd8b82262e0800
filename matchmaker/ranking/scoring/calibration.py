"""The semantic component on one scale for every language pair (:class:`PairCalibration`) and
the candidates' hubness, fitted on the other side of the matching."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from matchmaker.ranking.embed import Embedder
from matchmaker.ranking.language import PairCalibration
from matchmaker.ranking.scoring.config import DEFAULT_CONFIG, ScoringConfig
from matchmaker.ranking.scoring.hubness import (
    _CHUNK,
    HUBNESS_MIN_TEXTS,
    _even_sample,
    _Nearest,
    _penalty,
    _top_mean,
)
from matchmaker.ranking.scoring.translation import TranslatingIndex
from matchmaker.ranking.types import Profile

#: At most this many queries (an even sample) are scored to fit a :class:`PairCalibration`.
CALIBRATION_SAMPLE = 256


class CalibratedIndex(TranslatingIndex):
    """A :class:`TranslatingIndex` whose semantic similarities are calibrated per language pair
    and corrected for hubness."""

    @property
    def calibration(self) -> PairCalibration | None:
        """The language-pair calibration of the semantic component (None: not calibrated)."""
        return self._calibration

    @calibration.setter
    def calibration(self, value: PairCalibration | None) -> None:
        self._calibration = value
        self._calibration_maps = {}

    def calibrated(
        self, semantic: NDArray[np.float32], languages: NDArray[Any]
    ) -> NDArray[np.float32]:
        """Semantic similarities of queries in ``languages`` on the common scale: one fused
        multiply-add per query language with per-candidate arrays computed once."""
        calibration = self._calibration
        if calibration is None or not calibration.active or not semantic.size:
            return semantic
        out = np.empty_like(semantic)
        for lang in np.unique(languages):
            key = str(lang)
            if key not in self._calibration_maps:
                self._calibration_maps[key] = calibration.affine(key, self._languages)
            scale, shift = self._calibration_maps[key]
            rows = languages == lang
            out[rows] = semantic[rows] * scale + shift
        return np.clip(out, 0.0, 1.0, out=out)

    def calibrate(
        self,
        queries: Sequence[Profile],
        query_vectors: Sequence[NDArray[Any]] | None = None,
        *,
        embedder: Embedder | None = None,
        config: ScoringConfig = DEFAULT_CONFIG,
    ) -> PairCalibration:
        """Fit, on ``queries`` (the other side of the matching) against every candidate, the
        :class:`PairCalibration` of the semantic component (on an even sample of at most
        :data:`CALIBRATION_SAMPLE` queries) and the candidates' :func:`hubness` (on all)."""
        pick = _even_sample(len(queries), CALIBRATION_SAMPLE)
        sample = [queries[i] for i in pick]
        vectors = None if query_vectors is None else [query_vectors[i] for i in pick]
        q = self._queries(sample, vectors, embedder)
        self.calibration = PairCalibration().fit(
            self.semantic(q.vectors, q.offsets, config),
            self.query_languages(sample, q),
            self._languages,
        )
        nearest = _Nearest(len(self), len(queries))
        for start in range(0, len(queries), _CHUNK):
            chunk = list(queries[start : start + _CHUNK])
            vs = None if query_vectors is None else list(query_vectors[start : start + _CHUNK])
            q = self._queries(chunk, vs, embedder)
            sims = self.semantic(q.vectors, q.offsets, config)
            nearest.add(self.calibrated(sims, self.query_languages(chunk, q)))
        self.hubness = nearest.columns()
        return self.calibration

    def calibrate_with(
        self, other: CalibratedIndex, config: ScoringConfig = DEFAULT_CONFIG
    ) -> PairCalibration:
        """Fit one :class:`PairCalibration` on ``other``'s candidates (a sample, as queries)
        against this index's, and give it to both indexes: the service's groups and challenges
        rank each other on the same scale. Both indexes' :func:`hubness` come from the same
        similarities (this index's candidates against all of ``other``'s, and back)."""
        pick = _even_sample(len(other), CALIBRATION_SAMPLE)
        vectors, offsets = other._rows_of(pick)
        similarities = self.semantic(vectors, offsets, config)
        calibration = PairCalibration().fit(similarities, other._languages[pick], self._languages)
        self.calibration = other.calibration = calibration
        nearest = _Nearest(len(self), len(other))
        row_hubs: list[NDArray[np.float32]] = []
        for start in range(0, len(other), _CHUNK):
            rows = np.arange(start, min(start + _CHUNK, len(other)))
            vectors, offsets = other._rows_of(rows)
            sims = self.calibrated(self.semantic(vectors, offsets, config), other._languages[rows])
            nearest.add(sims)
            row_hubs.append(_top_mean(sims, axis=1))
        self.hubness = nearest.columns()
        other.hubness = (
            _penalty(np.concatenate(row_hubs)) if row_hubs and len(self) >= HUBNESS_MIN_TEXTS
            else None
        )  # fmt: skip
        return calibration

    def _rows_of(
        self, candidates: NDArray[np.int64]
    ) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
        """The (centred) passage vectors of some candidates, stacked, and their offsets."""
        if not len(candidates):
            return np.zeros((0, self.matrix_t.shape[0]), np.float32), np.zeros(1, np.int64)
        rows = np.concatenate([np.arange(self.offsets[i], self.offsets[i + 1]) for i in candidates])
        offsets = np.concatenate([[0], np.cumsum(self.sizes[candidates])]).astype(np.int64)
        return np.ascontiguousarray(self.matrix_t[:, rows].T), offsets
