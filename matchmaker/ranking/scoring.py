"""The scoring formula and the in-memory candidate index that ranks queries against candidates.

``score = sum(w[c] * component[c]) / sum(w)`` over the components ``semantic``, ``lexical``,
``fields``, ``strategy``, ``trl`` and ``capacity``, each in [0, 1]; see ``docs/ranking.md``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

import numpy as np
from scipy import sparse

from matchmaker.fields import FIELD_KEYS
from matchmaker.ranking.dictionary import Dictionary
from matchmaker.ranking.embed import Embedder
from matchmaker.ranking.explain import explain
from matchmaker.ranking.language import LanguageCentring, PairCalibration
from matchmaker.ranking.lexical import LexicalModel
from matchmaker.ranking.passages import profile_passages, profile_text
from matchmaker.ranking.store import VectorStore, encode_cached
from matchmaker.ranking.types import Evidence, Match, Passage, Profile, TermPair

#: At most this many queries (an even sample) are scored to fit a :class:`PairCalibration`.
CALIBRATION_SAMPLE = 256
COMPONENTS: tuple[str, ...] = ("semantic", "lexical", "fields", "strategy", "trl", "capacity")
AGGREGATIONS: tuple[str, ...] = ("max", "mean_max", "topk_mean")
#: Value of the ``fields``, ``trl`` and ``capacity`` components when a side does not say.
NEUTRAL = 0.5


@dataclass(frozen=True)
class ScoringConfig:
    """Weights and choices of the scoring formula (defaults chosen on the labelled set)."""

    weights: Mapping[str, float] = field(
        default_factory=lambda: MappingProxyType(
            {
                "semantic": 0.60,
                "lexical": 0.10,
                "fields": 0.15,
                "strategy": 0.10,
                "trl": 0.05,
                "capacity": 0.0,
            }
        )
    )
    #: How passage-pair cosines become one semantic score per (query, candidate):
    #: ``max`` (best pair), ``mean_max`` (mean over query passages of their best candidate
    #: passage), ``topk_mean`` (mean of the ``top_k`` candidate passages' best cosines).
    aggregation: str = "max"
    top_k: int = 3
    #: ``jaccard`` (|shared| / |union|) or ``overlap`` (|shared| / min(|query|, |candidate|)).
    fields_overlap: str = "jaccard"
    evidence_pairs: int = 3
    evidence_terms: int = 6
    #: Word overlap cannot be measured between a German and an English text: for such a pair
    #: the lexical component is left out of the weighted mean (its weight too) instead of
    #: counting as "no overlap". False counts it as it is, as before multilingual matching.
    lexical_same_language_only: bool = True
    #: Measure the lexical overlap of a German and an English text through the index's
    #: German–English dictionary (the German text's words replaced by their translations) instead
    #: of leaving it out. Off by default: on the labelled set it lifted German challenges
    #: (nDCG@10 +0.022) but put relevant cross-language groups lower in mixed lists and widened
    #: the score gap between German and English challenges (docs/ranking.md).
    lexical_translated: bool = False

    def __post_init__(self) -> None:
        unknown = set(self.weights) - set(COMPONENTS)
        if unknown:
            raise ValueError(f"unknown score components: {sorted(unknown)}")
        if any(w < 0 for w in self.weights.values()) or not any(self.weights.values()):
            raise ValueError("weights must be non-negative and not all zero")
        if self.aggregation not in AGGREGATIONS:
            raise ValueError(f"aggregation must be one of {AGGREGATIONS}")
        if self.fields_overlap not in {"jaccard", "overlap"}:
            raise ValueError("fields_overlap must be 'jaccard' or 'overlap'")
        object.__setattr__(self, "weights", MappingProxyType(dict(self.weights)))

    def with_weights(self, **weights: float) -> ScoringConfig:
        """A copy with only the given weights (others zero), e.g. ``with_weights(lexical=1)``."""
        return replace(self, weights={c: float(weights.get(c, 0.0)) for c in COMPONENTS})

    def without(self, component: str) -> ScoringConfig:
        """A copy with one component's weight set to zero."""
        return replace(self, weights={**self.weights, component: 0.0})


DEFAULT_CONFIG = ScoringConfig()


# --- profile attributes as arrays -------------------------------------------------------------


def field_matrix(profiles: Sequence[Profile]) -> np.ndarray:
    """``(n, 6)`` boolean matrix: which fields of action each profile names."""
    index = {k: i for i, k in enumerate(FIELD_KEYS)}
    out = np.zeros((len(profiles), len(FIELD_KEYS)), dtype=bool)
    for row, p in enumerate(profiles):
        for f in p.fields:
            out[row, index[f]] = True
    return out


def trl_intervals(profiles: Sequence[Profile]) -> np.ndarray:
    """``(n, 3)`` float array ``lo, hi, kind``: kind 0 = need (challenge now→target),
    1 = capability (group range); NaN where the profile has no TRL."""
    out = np.full((len(profiles), 3), np.nan)
    for row, p in enumerate(profiles):
        if p.trl_min is not None or p.trl_max is not None:
            lo = p.trl_min if p.trl_min is not None else p.trl_max
            hi = p.trl_max if p.trl_max is not None else p.trl_min
            out[row] = (min(lo, hi), max(lo, hi), 1)  # type: ignore[type-var]
        elif p.trl is not None:
            target = p.trl_target if p.trl_target is not None else p.trl
            out[row] = (min(p.trl, target), max(p.trl, target), 0)
    return out


def capacity_score(capacity: int | None) -> float:
    """Remaining capacity as a score: 0 → 0, 1 → 0.5, 2 → 0.75, … saturating at 1; None → 0.5."""
    if capacity is None:
        return NEUTRAL
    return 0.0 if capacity <= 0 else 1.0 - 0.5**capacity


def strategy_vector(strategy: Mapping[str, float] | None) -> np.ndarray:
    """The office's weight per field of action in ``FIELD_KEYS`` order (default 1.0 each)."""
    weights = dict(strategy or {})
    unknown = set(weights) - set(FIELD_KEYS)
    if unknown:
        raise ValueError(f"unknown fields of action in strategy: {sorted(unknown)}")
    vector = np.array([float(weights.get(k, 1.0)) for k in FIELD_KEYS])
    if (vector < 0).any() or (vector > 1).any():
        raise ValueError("strategy weights must be in [0, 1]")
    return vector


def fields_component(q: np.ndarray, c: np.ndarray, how: str) -> np.ndarray:
    """Overlap of fields of action, ``(n_q, n_c)``; NEUTRAL where a side names none."""
    qf, cf = q.astype(np.float32), c.astype(np.float32)
    shared = qf @ cf.T
    nq, nc = qf.sum(1)[:, None], cf.sum(1)[None, :]
    denom = np.minimum(nq, nc) if how == "overlap" else nq + nc - shared
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where((nq > 0) & (nc > 0), shared / np.maximum(denom, 1), NEUTRAL)
    return out.astype(np.float32)


def strategy_component(q: np.ndarray, c: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Mean strategy weight over the shared fields (over the pair's fields if none are shared;
    the mean of all weights if neither side names a field), ``(n_q, n_c)``."""
    qf, cf = q.astype(np.float64), c.astype(np.float64)
    shared_n = qf @ cf.T
    shared_w = (qf * weights) @ cf.T
    union_n = qf.sum(1)[:, None] + cf.sum(1)[None, :] - shared_n
    union_w = (qf @ weights)[:, None] + (cf @ weights)[None, :] - shared_w
    out = np.full(shared_n.shape, weights.mean())
    np.divide(union_w, union_n, out=out, where=union_n > 0)
    np.divide(shared_w, shared_n, out=out, where=shared_n > 0)
    return out.astype(np.float32)


def trl_component(q: np.ndarray, c: np.ndarray) -> np.ndarray:
    """TRL fit ``2 ** (-d / 2)``, ``(n_q, n_c)``, NEUTRAL where a side has no TRL.

    ``d`` counts the TRL steps of the need (challenge now→target) outside the capability (group
    range); between two needs or two capabilities it is the gap between the intervals.
    """
    qlo, qhi, qk = (q[:, i, None] for i in range(3))
    clo, chi, ck = (c[None, :, i] for i in range(3))
    need_q = np.maximum(0, clo - qlo) + np.maximum(0, qhi - chi)  # query needs, candidate can
    need_c = np.maximum(0, qlo - clo) + np.maximum(0, chi - qhi)  # candidate needs, query can
    gap = np.maximum(0, np.maximum(qlo - chi, clo - qhi))
    d = np.where(qk == ck, gap, np.where(qk == 0, need_q, need_c))
    out = np.where(np.isnan(d), NEUTRAL, 2.0 ** (-np.nan_to_num(d) / 2))
    return out.astype(np.float32)


# --- the index --------------------------------------------------------------------------------


#: Neighbours whose mean similarity measures a text's hubness: CSLS's K (Conneau et al. 2018).
HUBNESS_NEIGHBOURS = 10
#: Hubness is estimated only against at least this many texts on the other side: the 10 nearest
#: of fewer than 50 texts are a fifth of the corpus or more, not a neighbourhood.
HUBNESS_MIN_TEXTS = 5 * HUBNESS_NEIGHBOURS
#: Queries scored at once when fitting (bounds the passage-by-passage similarity matrix).
_CHUNK = 64


def _top_mean(similarities: np.ndarray, axis: int, k: int = HUBNESS_NEIGHBOURS) -> np.ndarray:
    """Mean of the ``k`` largest values along ``axis`` (all when there are fewer)."""
    n = similarities.shape[axis]
    if n == 0:
        return np.zeros(similarities.shape[1 - axis], np.float32)
    k = min(k, n)
    top = np.partition(similarities, n - k, axis=axis)
    top = top[n - k :] if axis == 0 else top[:, n - k :]
    return top.mean(axis=axis).astype(np.float32)


def _penalty(r: np.ndarray) -> np.ndarray:
    """CSLS's hubness term for texts with mean neighbour similarity ``r``: half of it, centred
    so that the scores of the whole corpus keep their level."""
    return (0.5 * (r - r.mean())).astype(np.float32)


class _Nearest:
    """The ``k`` largest similarities per column, kept while rows arrive in chunks."""

    def __init__(self, columns: int, rows: int, k: int = HUBNESS_NEIGHBOURS) -> None:
        self.k, self.rows = k, rows
        self.top = np.zeros((0, columns), np.float32)

    def add(self, sims: np.ndarray) -> None:
        both = np.concatenate([self.top, sims.astype(np.float32)])
        if len(both) > self.k:
            both = np.partition(both, len(both) - self.k, axis=0)[len(both) - self.k :]
        self.top = both

    def columns(self) -> np.ndarray | None:
        """Each column's hubness penalty, or None with fewer than HUBNESS_MIN_TEXTS rows."""
        if self.rows < HUBNESS_MIN_TEXTS or not self.top.shape[1]:
            return None
        return _penalty(self.top.mean(axis=0))


def _even_sample(n: int, limit: int) -> np.ndarray:
    """Up to ``limit`` evenly spaced indices of ``range(n)`` (all when ``n <= limit``)."""
    if n <= limit:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, limit).round().astype(np.int64))


@dataclass
class _Queries:
    texts: list[str]  # all text of each query, for the lexical model
    passages: list[list[Passage]]
    vectors: np.ndarray  # all query passages stacked
    offsets: np.ndarray  # start row of each query in ``vectors``, plus the end


class CandidateIndex:
    """Candidates' passage vectors and attributes, built once and searched many times.

    Holds a pre-normalised float32 passage matrix (candidates' passages contiguous), the lexical
    model fitted on the candidates, and their fields, TRL, capacity and institution arrays.
    """

    def __init__(
        self,
        candidates: Sequence[Profile],
        passages: Sequence[Sequence[Passage]],
        vectors: np.ndarray,
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
        rows: list[np.ndarray] = []
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
        self.hubness: np.ndarray | None = None
        #: (scale, shift) per candidate for each query language, under the current calibration.
        self._calibration_maps: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._pad: np.ndarray | None = None
        self._dictionary: Dictionary | None = None
        #: German candidates' texts as English terms (rows of ``lexical.bag_vectors``; empty rows
        #: for the others), under :attr:`dictionary`.
        self._translated: sparse.csr_matrix | None = None
        self._english = self._german = np.zeros(0, np.int64)
        self._english_rows: sparse.csr_matrix | None = None

    @classmethod
    def build_for(
        cls,
        candidates: Sequence[Profile],
        queries: Sequence[Profile],
        embedder: Embedder,
        store: VectorStore | None = None,
        show_progress: bool = False,
        dictionary: Dictionary | None = None,
    ) -> tuple[CandidateIndex, list[np.ndarray], np.ndarray]:
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

    def __len__(self) -> int:
        return len(self.candidate_ids)

    @property
    def vectors(self) -> np.ndarray:
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
    ) -> np.ndarray:
        """Vectors of the query's passages (cached in ``store`` when given)."""
        model = embedder or self.embedder
        if model is None:
            raise ValueError("an embedder is needed to encode the query")
        texts = [p.text for p in self.query_passages(query, model)]
        return encode_cached(model, texts, store)

    def _queries(
        self,
        queries: Sequence[Profile],
        query_vectors: Sequence[np.ndarray] | None,
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
        blocks: list[np.ndarray] = []
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

    def _padded(self) -> np.ndarray:
        if self._pad is None:
            width = int(self.sizes.max()) if len(self.sizes) else 1
            pad = self.offsets[:-1, None] + np.arange(width)[None, :]
            self._pad = np.where(np.arange(width)[None, :] < self.sizes[:, None], pad, -1)
        return self._pad

    def semantic(self, qv: np.ndarray, qoff: np.ndarray, config: ScoringConfig) -> np.ndarray:
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

    def components(
        self,
        queries: Sequence[Profile],
        q: _Queries,
        strategy: Mapping[str, float] | None,
        config: ScoringConfig,
        lexical_vectors: Any = None,
    ) -> dict[str, np.ndarray]:
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

    @property
    def dictionary(self) -> Dictionary | None:
        """The German–English dictionary (None: none). With it, the lexical component of a German
        and an English text is measured, on the German text translated into English terms
        (:meth:`Dictionary.english_terms`), and the evidence names key terms in both languages."""
        return self._dictionary

    @dictionary.setter
    def dictionary(self, value: Dictionary | None) -> None:
        self._dictionary = value
        self._translated = None

    @property
    def translated(self) -> sparse.csr_matrix | None:
        """The German candidates' passages as English terms (``lexical.bag_vectors`` rows), for
        ``ScoringConfig.lexical_translated``; built on first use. None without a dictionary or
        with the character analyzer."""
        value = self._dictionary
        if self._translated is None and value is not None and self.lexical.analyzer == "word":
            self._english = np.flatnonzero(self._languages == "en")
            self._german = np.flatnonzero(self._languages == "de")
            # Row blocks kept, so a request multiplies rather than slices a sparse matrix.
            self._english_rows = self.lexical.word_matrix_[self._english]
            self._translated = self.lexical.bag_vectors(
                [value.english_bag(self.passages[j]) for j in self._german]
            )
        return self._translated

    def translated_lexical(
        self,
        lex: np.ndarray,
        passages: Sequence[Sequence[Passage]],
        languages: np.ndarray,
        rows: Any,
    ) -> np.ndarray:
        """``lex`` with the German–English pairs measured through :attr:`dictionary`: a German
        query's English terms against English candidates, an English query (its ``rows`` of
        ``lexical.word_vectors``) against German candidates' English terms."""
        dictionary, translated = self._dictionary, self.translated
        if dictionary is None or translated is None or not lex.size:
            return lex
        for i, lang in enumerate(languages):
            if lang == "de" and len(self._english):
                bag = self.lexical.bag_vectors([dictionary.english_bag(passages[i])])
                lex[i, self._english] = (self._english_rows @ bag.T).toarray().ravel()
            elif lang == "en" and len(self._german):
                lex[i, self._german] = (translated @ rows[i].T).toarray().ravel()
        return np.clip(lex, 0.0, 1.0, out=lex)

    @property
    def calibration(self) -> PairCalibration | None:
        """The language-pair calibration of the semantic component (None: not calibrated)."""
        return self._calibration

    @calibration.setter
    def calibration(self, value: PairCalibration | None) -> None:
        self._calibration = value
        self._calibration_maps = {}

    def calibrated(self, semantic: np.ndarray, languages: np.ndarray) -> np.ndarray:
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

    @staticmethod
    def query_languages(queries: Sequence[Profile], q: _Queries) -> np.ndarray:
        """The language of each query's own text (its first passage's)."""
        return np.array(
            [
                ps[0].language if ps else (p.language or "en")
                for p, ps in zip(queries, q.passages, strict=True)
            ]
        )

    def same_language(
        self, queries: Sequence[Profile], q: _Queries, config: ScoringConfig = DEFAULT_CONFIG
    ) -> np.ndarray:
        """``(n_queries, n_candidates)`` booleans: the lexical overlap of the query's and the
        candidate's own texts can be measured — they are in the same language, or (with
        ``config.lexical_translated``) one is German, the other English and the
        :attr:`dictionary` translates between them."""
        rows = self.query_languages(queries, q)[:, None]
        columns = self._languages[None, :]
        same = rows == columns
        if config.lexical_translated and self.translated is not None:
            same |= ((rows == "de") & (columns == "en")) | ((rows == "en") & (columns == "de"))
        return same

    def calibrate(
        self,
        queries: Sequence[Profile],
        query_vectors: Sequence[np.ndarray] | None = None,
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
        self, other: CandidateIndex, config: ScoringConfig = DEFAULT_CONFIG
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
        row_hubs: list[np.ndarray] = []
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

    def _rows_of(self, candidates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The (centred) passage vectors of some candidates, stacked, and their offsets."""
        if not len(candidates):
            return np.zeros((0, self.matrix_t.shape[0]), np.float32), np.zeros(1, np.int64)
        rows = np.concatenate([np.arange(self.offsets[i], self.offsets[i + 1]) for i in candidates])
        offsets = np.concatenate([[0], np.cumsum(self.sizes[candidates])]).astype(np.int64)
        return np.ascontiguousarray(self.matrix_t[:, rows].T), offsets

    @staticmethod
    def combine(
        components: Mapping[str, np.ndarray],
        config: ScoringConfig,
        same_language: np.ndarray | None = None,
    ) -> np.ndarray:
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
        query_vectors: Sequence[np.ndarray] | None = None,
        *,
        embedder: Embedder | None = None,
        strategy: Mapping[str, float] | None = None,
        config: ScoringConfig = DEFAULT_CONFIG,
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Scores of many queries at once (one matrix product): ``(n_queries, n_candidates)``
        total score and the per-component arrays of the same shape."""
        q = self._queries(queries, query_vectors, embedder)
        parts = self.components(queries, q, strategy, config)
        return self.combine(parts, config, self.same_language(queries, q, config)), parts

    def rank(
        self,
        query: Profile,
        query_vectors: np.ndarray | None = None,
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
        self, scores: np.ndarray, top: int | None, exclude: Collection[str] = ()
    ) -> np.ndarray:
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
        everything = np.arange(len(scores))
        part = np.argpartition(-scores, n - 1)[:n] if n < len(scores) else everything
        part = part[np.isfinite(scores[part])]
        return part[np.lexsort((part, -scores[part]))]

    def explain_one(
        self,
        query_passages: Sequence[Passage],
        query_vectors: np.ndarray,
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

    def translated_terms(
        self, query: Sequence[Passage], candidate: Sequence[Passage], n: int
    ) -> list[TermPair]:
        """Up to ``n`` words of the query's German passages translated in the candidate's English
        ones, and the other way round, by :attr:`dictionary` (heaviest first)."""
        assert self.dictionary is not None
        found: list[TermPair] = []
        for german, english, german_is_query in (
            (query, candidate, True),
            (candidate, query, False),
        ):
            de = [p.text for p in german if p.language == "de"]
            en = [p.text for p in english if p.language == "en"]
            if de and en:
                found += self.dictionary.term_pairs(
                    de,
                    en,
                    self.lexical.idf_by_term_,
                    self.lexical.max_idf_,
                    n,
                    german_is_query=german_is_query,
                )
        return found[:n]

    def explain(
        self,
        query: Profile,
        candidate_id: str,
        query_vectors: np.ndarray | None = None,
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
        query_vectors: np.ndarray | None = None,
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
