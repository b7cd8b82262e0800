"""The in-memory candidate index that ranks queries against candidates."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from matchmaker.ranking.dictionary import Dictionary
from matchmaker.ranking.embed import Embedder
from matchmaker.ranking.explain import explain
from matchmaker.ranking.language import LanguageCentring
from matchmaker.ranking.passages import profile_passages
from matchmaker.ranking.scoring.calibration import CalibratedIndex
from matchmaker.ranking.scoring.components import (
    field_matrix,
    fields_component,
    strategy_component,
    strategy_vector,
    trl_component,
    trl_intervals,
)
from matchmaker.ranking.scoring.config import COMPONENTS, DEFAULT_CONFIG, ScoringConfig
from matchmaker.ranking.scoring.passage_index import _Queries
from matchmaker.ranking.store import VectorStore, encode_cached
from matchmaker.ranking.types import Evidence, Match, Passage, Profile


class CandidateIndex(CalibratedIndex):
    """Candidates' passage vectors and attributes, built once and searched many times.

    Holds a pre-normalised float32 passage matrix (candidates' passages contiguous), the lexical
    model fitted on the candidates, and their fields, TRL, capacity and institution arrays.
    """

    @classmethod
    def build_for(
        cls,
        candidates: Sequence[Profile],
        queries: Sequence[Profile],
        embedder: Embedder,
        store: VectorStore | None = None,
        show_progress: bool = False,
        dictionary: Dictionary | None = None,
    ) -> tuple[CandidateIndex, list[NDArray[np.float32]], NDArray[np.float32]]:
        """Index ``candidates`` for ``queries`` known in advance (a batch, an evaluation): the
        language centring is fitted on both sides, so queries in a language the candidates lack
        get their own mean. Returns the index, each query's passage vectors and the candidates'
        passage vectors as the model gave them (the index holds centred ones). ``dictionary``:
        see :attr:`dictionary`."""
        passages = [profile_passages(c, embedder) for c in candidates]
        texts = [p.text for ps in passages for p in ps]
        candidate_vectors = encode_cached(embedder, texts, store, 32, show_progress)
        query_passages = [profile_passages(q, embedder) for q in queries]
        query_vectors = [
            encode_cached(embedder, [p.text for p in ps], store) for ps in query_passages
        ]
        centring = LanguageCentring().fit(
            np.concatenate([candidate_vectors, *query_vectors]),
            [p.language for ps in (*passages, *query_passages) for p in ps],
        )
        index = cls(candidates, passages, candidate_vectors, embedder=embedder, centring=centring)
        index.dictionary = dictionary
        index.calibrate(queries, query_vectors)
        return index, query_vectors, candidate_vectors

    @classmethod
    def build(
        cls,
        candidates: Sequence[Profile],
        embedder: Embedder,
        store: VectorStore | None = None,
        show_progress: bool = False,
        *,
        lexical_analyzer: str = "word",
        batch_size: int = 32,
        centring: LanguageCentring | None = None,
        centre: bool = True,
    ) -> CandidateIndex:
        """Split candidates into passages, embed them (only what ``store`` lacks) and index them."""
        passages = [profile_passages(c, embedder) for c in candidates]
        texts = [p.text for ps in passages for p in ps]
        vectors = encode_cached(embedder, texts, store, batch_size, show_progress)
        return cls(
            candidates,
            passages,
            vectors,
            embedder=embedder,
            lexical_analyzer=lexical_analyzer,
            centring=centring,
            centre=centre,
        )

    def components(
        self,
        queries: Sequence[Profile],
        q: _Queries,
        strategy: Mapping[str, float] | None,
        config: ScoringConfig,
        lexical_vectors: Any = None,
    ) -> dict[str, NDArray[np.float32]]:
        """Every component as an ``(n_queries, n_candidates)`` array; ``lexical_vectors`` are
        the queries' rows of ``lexical.transform`` when already computed."""
        qf = field_matrix(queries)
        if lexical_vectors is None:
            lexical_vectors = self.lexical.transform(q.texts)
        lex = self.lexical.similarity(lexical_vectors)
        if config.lexical_translated and self.translated is not None:
            lex = self.translated_lexical(
                lex, q.passages, self.query_languages(queries, q), lexical_vectors
            )
        semantic = self.semantic(q.vectors, q.offsets, config)
        if self._calibration is not None:
            semantic = self.calibrated(semantic, self.query_languages(queries, q))
        if self.hubness is not None and semantic.size:
            semantic = np.clip(semantic - self.hubness[None, :], 0.0, 1.0)
        return {
            "semantic": semantic,
            "lexical": lex,
            "fields": fields_component(qf, self.fields, config.fields_overlap),
            "strategy": strategy_component(qf, self.fields, strategy_vector(strategy)),
            "trl": trl_component(trl_intervals(queries), self.trl),
            "capacity": np.broadcast_to(self.capacity, (len(queries), len(self))).copy(),
        }

    @staticmethod
    def combine(
        components: Mapping[str, NDArray[np.float32]],
        config: ScoringConfig,
        same_language: NDArray[np.bool_] | None = None,
    ) -> NDArray[np.float32]:
        """The final score: weighted mean of the components with ``config.weights``; where
        ``same_language`` is False (and ``config.lexical_same_language_only``) the lexical
        component and its weight are left out of that pair's mean."""
        total = sum(config.weights.values())
        first = next(iter(components.values()))
        score = np.zeros(first.shape, dtype=np.float32)
        skip = (
            same_language is not None
            and config.lexical_same_language_only
            and bool(config.weights.get("lexical"))
            and not same_language.all()
        )
        for name, weight in config.weights.items():
            if weight and not (skip and name == "lexical"):
                score += np.float32(weight) * components[name]
        if not skip:
            return score / np.float32(total)
        lexical = np.float32(config.weights["lexical"])
        assert same_language is not None
        score += np.where(same_language, lexical * components["lexical"], 0)
        # A pair whose only weighted component is the unmeasurable one scores 0.
        denominator = np.where(same_language, total, total - lexical)
        out = np.divide(score, denominator, out=np.zeros_like(score), where=denominator > 0)
        return out.astype(np.float32)

    def score_matrix(
        self,
        queries: Sequence[Profile],
        query_vectors: Sequence[NDArray[Any]] | None = None,
        *,
        embedder: Embedder | None = None,
        strategy: Mapping[str, float] | None = None,
        config: ScoringConfig = DEFAULT_CONFIG,
    ) -> tuple[NDArray[np.float32], dict[str, NDArray[np.float32]]]:
        """Scores of many queries at once (one matrix product): ``(n_queries, n_candidates)``
        total score and the per-component arrays of the same shape."""
        q = self._queries(queries, query_vectors, embedder)
        parts = self.components(queries, q, strategy, config)
        return self.combine(parts, config, self.same_language(queries, q, config)), parts

    def rank(
        self,
        query: Profile,
        query_vectors: NDArray[Any] | None = None,
        *,
        embedder: Embedder | None = None,
        strategy: Mapping[str, float] | None = None,
        config: ScoringConfig = DEFAULT_CONFIG,
        top: int | None = 10,
        exclude: Collection[str] = (),
        explain: bool = True,
    ) -> list[Match]:
        """Rank every candidate for ``query``, best first (``top=None`` returns all).

        ``query_vectors`` are the vectors of :meth:`query_passages` (encoded here when absent).
        Candidates whose id is in ``exclude`` never appear. Evidence is computed for the
        returned matches only, and only when ``explain`` is true.
        """
        vectors = None if query_vectors is None else [query_vectors]
        q = self._queries([query], vectors, embedder)
        terms = self.lexical.word_vectors(q.texts)
        lexical = terms if self.lexical.analyzer == "word" else None
        parts = self.components([query], q, strategy, config, lexical)
        scores = self.combine(parts, config, self.same_language([query], q, config))[0]
        order = self.top_indices(scores, top, exclude)
        if not explain:
            terms = None
        return [
            Match(
                query_id=query.id,
                candidate_id=self.candidate_ids[j],
                rank=r,
                score=float(scores[j]),
                components={name: float(parts[name][0, j]) for name in COMPONENTS},
                evidence=None
                if terms is None
                else self.explain_one(q.passages[0], q.vectors, terms, j, config),
            )
            for r, j in enumerate(order, start=1)
        ]

    def top_indices(
        self, scores: NDArray[Any], top: int | None, exclude: Collection[str] = ()
    ) -> NDArray[np.int64]:
        """Candidate columns of the ``top`` best scores (all when None), best first; ties by id
        order."""
        scores = scores.astype(np.float64, copy=True)
        for cid in exclude:
            j = self._position.get(cid)
            if j is not None:
                scores[j] = -np.inf
        allowed = int(np.isfinite(scores).sum())
        n = allowed if top is None else min(top, allowed)
        if n <= 0:
            return np.zeros(0, dtype=np.int64)
        if n < len(scores):
            # Every score tied with the n-th is kept before sorting: argpartition picks among
            # ties at random, and a longer list must begin with the shorter one (pages).
            cutoff = scores[np.argpartition(-scores, n - 1)[n - 1]]
            part = np.flatnonzero(scores >= cutoff)
        else:
            part = np.arange(len(scores))
        part = part[np.isfinite(scores[part])]
        return part[np.lexsort((part, -scores[part]))][:n]

    def explain_one(
        self,
        query_passages: Sequence[Passage],
        query_vectors: NDArray[Any],
        query_terms: Any,
        column: int,
        config: ScoringConfig = DEFAULT_CONFIG,
    ) -> Evidence:
        """Evidence for a query (its passages, their vectors, its row of
        ``lexical.word_vectors``) and the candidate in ``column``."""
        lo = self.offsets[column]
        evidence = explain(
            query_passages,
            query_vectors[: len(query_passages)],
            self.passages[column],
            self.matrix_t[:, lo : lo + len(self.passages[column])].T,
            terms=self.lexical.key_terms(query_terms, column, config.evidence_terms),
            pairs=config.evidence_pairs,
        )
        if self.dictionary is not None:
            evidence.translations = self.translated_terms(
                query_passages, self.passages[column], config.evidence_terms
            )
        return evidence

    def explain(
        self,
        query: Profile,
        candidate_id: str,
        query_vectors: NDArray[Any] | None = None,
        *,
        embedder: Embedder | None = None,
        config: ScoringConfig = DEFAULT_CONFIG,
    ) -> Evidence:
        """Evidence for one (query, candidate) pair."""
        return self.explain_many(
            query, [candidate_id], query_vectors, embedder=embedder, config=config
        )[0]

    def explain_many(
        self,
        query: Profile,
        candidate_ids: Sequence[str],
        query_vectors: NDArray[Any] | None = None,
        *,
        embedder: Embedder | None = None,
        config: ScoringConfig = DEFAULT_CONFIG,
    ) -> list[Evidence]:
        """Evidence for a query and each of ``candidate_ids``, in that order; the query is split
        into passages and analysed lexically once for all of them."""
        vectors = None if query_vectors is None else [query_vectors]
        q = self._queries([query], vectors, embedder)
        terms = self.lexical.word_vectors(q.texts)
        return [
            self.explain_one(q.passages[0], q.vectors, terms, self.position(c), config)
            for c in candidate_ids
        ]

    def describe(self) -> dict[str, Any]:
        """Sizes of the index, for logs and health checks."""
        return {
            "candidates": len(self),
            "passages": int(self.matrix_t.shape[1]),
            "dim": int(self.matrix_t.shape[0]),
            "model_id": getattr(self.embedder, "model_id", None),
            "calibration": dict(self.calibration.describe()) if self.calibration else None,
        }
