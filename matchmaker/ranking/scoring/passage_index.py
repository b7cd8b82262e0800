"""The candidates' passage matrix, the queries' passage vectors and their semantic similarity."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from matchmaker.ranking.dictionary import Dictionary
from matchmaker.ranking.embed import Embedder
from matchmaker.ranking.language import LanguageCentring, PairCalibration
from matchmaker.ranking.lexical import LexicalModel
from matchmaker.ranking.passages import profile_passages, profile_text
from matchmaker.ranking.scoring.components import capacity_score, field_matrix, trl_intervals
from matchmaker.ranking.scoring.config import ScoringConfig
from matchmaker.ranking.store import VectorStore, encode_cached
from matchmaker.ranking.types import Passage, Profile


@dataclass
class _Queries:
    texts: list[str]  # all text of each query, for the lexical model
    passages: list[list[Passage]]
    vectors: NDArray[np.float32]  # all query passages stacked
    offsets: NDArray[np.int64]  # start row of each query in ``vectors``, plus the end


class PassageIndex:
    """Candidates' passages as a pre-normalised float32 matrix (candidates' passages contiguous),
    their attributes and lexical model, and the semantic similarity of queries' passages to them:
    the base of :class:`~matchmaker.ranking.scoring.CandidateIndex`."""

    def __init__(
        self,
        candidates: Sequence[Profile],
        passages: Sequence[Sequence[Passage]],
        vectors: NDArray[Any],
        *,
        embedder: Embedder | None = None,
        lexical_analyzer: str = "word",
        centring: LanguageCentring | None = None,
        centre: bool = True,
        calibration: PairCalibration | None = None,
    ) -> None:
        """Index ``candidates`` whose passages (in order) have the rows of ``vectors``.

        With ``centre`` (the default), passage vectors and query vectors are language-centred
        (:class:`~matchmaker.ranking.language.LanguageCentring`): by ``centring`` when given
        (fitted on both sides of the matching), else by one fitted on the candidates' passages.
        ``calibration`` (see :meth:`calibrate`) puts the semantic similarity of every language
        pair on one scale; without it similarities are used as they are.
        """
        if len(passages) != len(candidates):
            raise ValueError("one passage list per candidate is needed")
        counts = np.array([len(p) for p in passages])
        if counts.sum() != len(vectors):
            raise ValueError("vectors must have one row per passage")
        self.candidates = list(candidates)
        self.candidate_ids = [c.id for c in candidates]
        self.embedder = embedder
        self.passages = [list(p) for p in passages]
        dim = vectors.shape[1] if vectors.ndim == 2 else (embedder.dim if embedder else 0)
        languages = [ps.language for p in passages for ps in p]
        if centre and centring is None:
            centring = LanguageCentring().fit(vectors, languages)
        self.centring = centring if centre else None
        if self.centring is not None and len(vectors):
            vectors = self.centring.transform(vectors, languages)
        # A candidate without text gets one zero row, so every candidate owns at least one row.
        rows: list[NDArray[Any]] = []
        start = 0
        for n in counts:
            rows.append(vectors[start : start + n] if n else np.zeros((1, dim), np.float32))
            start += n
        # Stored transposed: one query passage against all passages is then a single pass
        # over contiguous memory (measured ~2x faster than rows @ q for a handful of queries).
        self.matrix_t = np.ascontiguousarray(
            (np.concatenate(rows) if rows else np.zeros((0, dim))).T, dtype=np.float32
        )
        sizes = np.maximum(counts, 1)
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        self.sizes = sizes
        self.fields = field_matrix(candidates)
        self.trl = trl_intervals(candidates)
        self.capacity = np.array([capacity_score(c.capacity) for c in candidates], np.float32)
        self.institutions = [c.institution for c in candidates]
        # Each candidate's language (of its own text, its first passage), compared with the
        # query's on every request: kept as an array rather than rebuilt per request.
        self._languages = np.array([p[0].language if p else "en" for p in self.passages])
        self._position = {cid: i for i, cid in enumerate(self.candidate_ids)}
        self.lexical = LexicalModel(lexical_analyzer).fit([profile_text(c) for c in candidates])
        self._calibration = calibration
        #: Subtracted from each candidate's semantic similarity (see :func:`hubness`); None: not
        #: estimated (too few texts on the other side, or never fitted).
        self.hubness: NDArray[np.float32] | None = None
        #: (scale, shift) per candidate for each query language, under the current calibration.
        self._calibration_maps: dict[str, tuple[NDArray[Any], NDArray[Any]]] = {}
        self._pad: NDArray[np.int64] | None = None
        self._dictionary: Dictionary | None = None
        #: German candidates' texts as English terms (rows of ``lexical.bag_vectors``; empty rows
        #: for the others), under :attr:`dictionary`.
        self._translated: sparse.csr_matrix | None = None
        self._english = self._german = np.zeros(0, np.int64)
        self._english_rows: sparse.csr_matrix | None = None

    def __len__(self) -> int:
        return len(self.candidate_ids)

    @property
    def vectors(self) -> NDArray[np.float32]:
        """The passage matrix, one unit row per stored passage (a view)."""
        return self.matrix_t.T

    def position(self, candidate_id: str) -> int:
        """Column of a candidate in score arrays."""
        return self._position[candidate_id]

    # -- queries ---------------------------------------------------------------------------

    def query_passages(self, query: Profile, embedder: Embedder | None = None) -> list[Passage]:
        """The passages of a query, in the order its vectors must be given."""
        model = embedder or self.embedder
        if model is None:
            raise ValueError("an embedder is needed to split the query into passages")
        return profile_passages(query, model)

    def encode_query(
        self, query: Profile, embedder: Embedder | None = None, store: VectorStore | None = None
    ) -> NDArray[np.float32]:
        """Vectors of the query's passages (cached in ``store`` when given)."""
        model = embedder or self.embedder
        if model is None:
            raise ValueError("an embedder is needed to encode the query")
        texts = [p.text for p in self.query_passages(query, model)]
        return encode_cached(model, texts, store)

    def _queries(
        self,
        queries: Sequence[Profile],
        query_vectors: Sequence[NDArray[Any]] | None,
        embedder: Embedder | None,
    ) -> _Queries:
        model = embedder or self.embedder
        passages = [profile_passages(q, model) if model else [] for q in queries]
        if query_vectors is None:
            if model is None:
                raise ValueError("query_vectors or an embedder is needed")
            texts = [p.text for ps in passages for p in ps]
            flat = encode_cached(model, texts, None)
            cuts = np.cumsum([len(ps) for ps in passages])[:-1]
            query_vectors = np.split(flat, cuts)
        blocks: list[NDArray[Any]] = []
        for q, ps, v in zip(queries, passages, query_vectors, strict=True):
            v = np.asarray(v, dtype=np.float32).reshape(-1, self.matrix_t.shape[0])
            if model is not None and len(ps) != len(v):
                raise ValueError(f"query {q.id}: {len(v)} vectors for {len(ps)} passages")
            if self.centring is not None and len(v):
                langs = [p.language for p in ps] if ps else [q.language or "en"] * len(v)
                v = self.centring.transform(v, langs)
            blocks.append(v if len(v) else np.zeros((1, self.matrix_t.shape[0]), np.float32))
        counts = [len(b) for b in blocks]
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        stacked = np.concatenate(blocks) if blocks else np.zeros((0, self.matrix_t.shape[0]))
        texts = [profile_text(q) for q in queries]
        return _Queries(texts, passages, np.ascontiguousarray(stacked, np.float32), offsets)

    # -- scoring ---------------------------------------------------------------------------

    def _padded(self) -> NDArray[np.int64]:
        if self._pad is None:
            width = int(self.sizes.max()) if len(self.sizes) else 1
            pad = self.offsets[:-1, None] + np.arange(width)[None, :]
            self._pad = np.where(np.arange(width)[None, :] < self.sizes[:, None], pad, -1)
        return self._pad

    def semantic(
        self, qv: NDArray[Any], qoff: NDArray[np.int64], config: ScoringConfig
    ) -> NDArray[np.float32]:
        """Aggregated passage cosine, ``(n_queries, n_candidates)``, clipped to [0, 1]."""
        n_q = len(qoff) - 1
        if not len(self):
            return np.zeros((n_q, 0), np.float32)
        qv = np.ascontiguousarray(qv, dtype=np.float32)
        sims = qv @ self.matrix_t  # (query passages, candidate passages)
        if config.aggregation == "topk_mean":
            best = np.maximum.reduceat(sims, qoff[:-1], axis=0)  # (n_q, candidate passages)
            pad = self._padded()
            gathered = np.where(pad >= 0, best[:, np.maximum(pad, 0)], -np.inf)
            k = min(config.top_k, pad.shape[1])
            top = -np.partition(-gathered, k - 1, axis=2)[:, :, :k]
            out = np.where(np.isfinite(top), top, 0.0).sum(axis=2) / np.minimum(self.sizes, k)
        else:
            per_cand = np.maximum.reduceat(sims, self.offsets[:-1], axis=1)  # (query passages, n_c)
            if config.aggregation == "max":
                out = np.maximum.reduceat(per_cand, qoff[:-1], axis=0)
            else:
                out = np.add.reduceat(per_cand, qoff[:-1], axis=0) / np.diff(qoff)[:, None]
        return np.clip(out, 0.0, 1.0).astype(np.float32)

    @staticmethod
    def query_languages(queries: Sequence[Profile], q: _Queries) -> NDArray[np.str_]:
        """The language of each query's own text (its first passage's)."""
        return np.array(
            [
                ps[0].language if ps else (p.language or "en")
                for p, ps in zip(queries, q.passages, strict=True)
            ]
        )
