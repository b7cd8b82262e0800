"""Offline evaluation on the labelled set: nDCG@5, nDCG@10, MRR and Recall@10 per configuration.

Each judged challenge ranks ALL groups; an unjudged group counts as relevance 0. nDCG averages
over challenges with at least one group judged ≥ 1, MRR and Recall over those with one ≥ 2.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from matchmaker.ranking.dictionary import Dictionary
from matchmaker.ranking.embed import Embedder
from matchmaker.ranking.scoring import (
    AGGREGATIONS,
    COMPONENTS,
    DEFAULT_CONFIG,
    CandidateIndex,
    ScoringConfig,
)
from matchmaker.ranking.seed import SeedData
from matchmaker.ranking.store import VectorStore

RELEVANT = 2  # relevance at or above which a group counts as a hit for MRR and Recall
METRICS: tuple[str, ...] = ("nDCG@5", "nDCG@10", "MRR", "Recall@10")
#: Weight tried for a component whose default weight is zero.
TRIAL_WEIGHT = 0.05


def dcg(relevances: Sequence[int], k: int) -> float:
    """Discounted cumulative gain with gain ``2**rel - 1`` over the first ``k`` positions."""
    return sum((2**r - 1) / math.log2(i + 2) for i, r in enumerate(relevances[:k]))


def ndcg_at_k(ranked: Sequence[int], judged: Sequence[int], k: int) -> float:
    """nDCG@k of relevances in ranked order against the ideal order of all judged ones."""
    ideal = dcg(sorted(judged, reverse=True), k)
    return dcg(ranked, k) / ideal if ideal > 0 else 0.0


def reciprocal_rank(ranked: Sequence[int], threshold: int = RELEVANT) -> float:
    """1 / position of the first result with relevance ≥ ``threshold`` (0 if none)."""
    for i, r in enumerate(ranked):
        if r >= threshold:
            return 1.0 / (i + 1)
    return 0.0


def recall_at_k(
    ranked: Sequence[int], judged: Sequence[int], k: int, threshold: int = RELEVANT
) -> float:
    """Share of the results with relevance ≥ ``threshold`` that are in the first ``k``."""
    total = sum(1 for r in judged if r >= threshold)
    return sum(1 for r in ranked[:k] if r >= threshold) / total if total else 0.0


def metrics_for_scores(
    scores: NDArray[Any],
    query_ids: Sequence[str],
    candidate_ids: Sequence[str],
    judgements: Mapping[str, Mapping[str, int]],
) -> dict[str, float]:
    """Mean metrics of a ``(n_queries, n_candidates)`` score matrix (ties broken by id order)."""
    values: dict[str, list[float]] = {m: [] for m in METRICS}
    for row, qid in zip(scores, query_ids, strict=True):
        judged = judgements.get(qid, {})
        order = np.lexsort((np.arange(len(row)), -row))
        ranked = [judged.get(candidate_ids[j], 0) for j in order]
        grades = list(judged.values())
        if max(grades, default=0) >= 1:
            values["nDCG@5"].append(ndcg_at_k(ranked, grades, 5))
            values["nDCG@10"].append(ndcg_at_k(ranked, grades, 10))
        if max(grades, default=0) >= RELEVANT:
            values["MRR"].append(reciprocal_rank(ranked))
            values["Recall@10"].append(recall_at_k(ranked, grades, 10))
    return {m: float(np.mean(v)) if v else 0.0 for m, v in values.items()}


@dataclass
class Evaluation:
    """Embedded labelled set, ready to score under any configuration."""

    data: SeedData
    index: CandidateIndex
    queries: list
    query_vectors: list[NDArray[Any]]
    #: The groups' passage vectors as the model gave them (the index holds centred ones).
    group_vectors: NDArray[Any]

    @classmethod
    def prepare(
        cls,
        data: SeedData,
        embedder: Embedder,
        store: VectorStore | None = None,
        show_progress: bool = False,
        dictionary: Dictionary | None = None,
    ) -> Evaluation:
        """Embed the groups (the candidates) and the judged challenges (the queries); language
        centring is fitted on both sides, as the service does; ``dictionary`` measures the
        lexical overlap of German and English texts, as the service does where it is installed."""
        queries = [c for c in data.challenges if c.id in data.judgements]
        index, vectors, group_vectors = CandidateIndex.build_for(
            data.groups, queries, embedder, store, show_progress, dictionary
        )
        return cls(data, index, queries, vectors, group_vectors)

    def score(self, config: ScoringConfig, index: CandidateIndex | None = None) -> dict[str, float]:
        """Metrics of one configuration."""
        scores, _ = (index or self.index).score_matrix(
            self.queries, self.query_vectors, config=config
        )
        ids = [q.id for q in self.queries]
        return metrics_for_scores(scores, ids, self.index.candidate_ids, self.data.judgements)

    def all_vectors(self) -> NDArray[Any]:
        """Every real passage vector of the set: the groups' (in index order), then the
        judged challenges'; rows of two evaluations of the same data correspond."""
        return np.concatenate([self.group_vectors, *self.query_vectors]).astype(np.float32)

    def _variant(
        self,
        *,
        analyzer: str | None = None,
        centre: bool = True,
        calibrate: bool = True,
        hubness: bool = True,
    ) -> CandidateIndex:
        """The same index (no re-embedding) with another lexical analyzer, or with the
        hubness correction, the calibration or the centring left out (each implies the next)."""
        ix = self.index
        options: dict[str, Any] = {"lexical_analyzer": analyzer} if analyzer else {}
        if centre:
            options |= {"centring": ix.centring, "centre": ix.centring is not None}
            if calibrate:
                options["calibration"] = ix.calibration
        else:
            options["centre"] = False
        index = CandidateIndex(
            ix.candidates, ix.passages, self.group_vectors, embedder=ix.embedder, **options
        )
        if centre and calibrate and hubness:
            index.hubness = ix.hubness
        index.dictionary = ix.dictionary
        return index

    def with_lexical(self, analyzer: str) -> CandidateIndex:
        """The same index with another lexical analyzer (no re-embedding)."""
        return self._variant(analyzer=analyzer)

    def without_hubness(self) -> CandidateIndex:
        """The same (centred, calibrated) index without the hubness correction."""
        return self._variant(hubness=False)

    def without_calibration(self) -> CandidateIndex:
        """The same (centred) index without the language-pair calibration or hubness."""
        return self._variant(calibrate=False)

    def without_centring(self) -> CandidateIndex:
        """The same index without language centring (for the comparison in the report)."""
        return self._variant(centre=False)

    def languages(self) -> tuple[list[str], list[str]]:
        """The language of each judged challenge and of each group (its own text's)."""
        return (
            [q.language or "en" for q in self.queries],
            [g.language or "en" for g in self.data.groups],
        )

    def by_language(
        self, config: ScoringConfig, index: CandidateIndex | None = None
    ) -> tuple[dict[str, dict[str, float]], dict[str, tuple[float, int]]]:
        """Metrics per challenge language, and the median rank of the groups judged ≥ 2 per
        (challenge language → group language) with how many such pairs there are."""
        ix = index or self.index
        scores, _ = ix.score_matrix(self.queries, self.query_vectors, config=config)
        query_langs, group_langs = self.languages()
        ids = [q.id for q in self.queries]
        per_language: dict[str, dict[str, float]] = {}
        for lang in sorted(set(query_langs)):
            rows = [i for i, ql in enumerate(query_langs) if ql == lang]
            per_language[f"{lang} ({len(rows)})"] = metrics_for_scores(
                scores[rows], [ids[i] for i in rows], ix.candidate_ids, self.data.judgements
            )
        ranks: dict[str, list[int]] = {}
        position = {cid: j for j, cid in enumerate(ix.candidate_ids)}
        for row, q in enumerate(self.queries):
            order = np.lexsort((np.arange(scores.shape[1]), -scores[row]))
            rank_of = np.empty(len(order), dtype=np.int64)
            rank_of[order] = np.arange(1, len(order) + 1)
            for gid, rel in self.data.judgements.get(q.id, {}).items():
                if rel >= RELEVANT and gid in position:
                    pair = f"{query_langs[row]}→{group_langs[position[gid]]}"
                    ranks.setdefault(pair, []).append(int(rank_of[position[gid]]))
        medians = {k: (float(np.median(v)), len(v)) for k, v in sorted(ranks.items())}
        return per_language, medians

    def score_levels(
        self, config: ScoringConfig, index: CandidateIndex | None = None
    ) -> dict[str, dict[str, float]]:
        """How high scores run per challenge language: the mean score of each challenge's best
        match and of its five best, and the mean score of the groups judged ≥ 2 per language
        pair. Comparable scores mean close figures across languages."""
        ix = index or self.index
        scores, _ = ix.score_matrix(self.queries, self.query_vectors, config=config)
        query_langs, group_langs = self.languages()
        out: dict[str, dict[str, float]] = {}
        position = {cid: j for j, cid in enumerate(ix.candidate_ids)}
        for lang in sorted(set(query_langs)):
            rows = [i for i, ql in enumerate(query_langs) if ql == lang]
            ordered = -np.sort(-scores[rows], axis=1)
            relevant: dict[str, list[float]] = {}
            for i in rows:
                for gid, rel in self.data.judgements.get(self.queries[i].id, {}).items():
                    if rel >= RELEVANT and gid in position:
                        j = position[gid]
                        relevant.setdefault(group_langs[j], []).append(float(scores[i, j]))
            out[lang] = {
                "best": float(ordered[:, 0].mean()),
                "best 5": float(ordered[:, :5].mean()),
                **{f"judged ≥ 2, {g}": float(np.mean(v)) for g, v in sorted(relevant.items())},
            }
        return out


def configurations(base: ScoringConfig = DEFAULT_CONFIG) -> dict[str, ScoringConfig]:
    """The rows of the main table: lexical only, semantic only, the full formula, and the full
    formula without each weighted component (with each zero-weighted one added at 0.05)."""
    rows = {
        "lexical only": base.with_weights(lexical=1),
        "semantic only": base.with_weights(semantic=1),
        "full formula (default)": base,
    }
    for c in COMPONENTS:
        if base.weights.get(c):
            rows[f"full − {c}"] = base.without(c)
        else:
            rows[f"full + {c} ({TRIAL_WEIGHT})"] = replace(
                base, weights={**base.weights, c: TRIAL_WEIGHT}
            )
    return rows


def markdown_table(rows: Mapping[str, Mapping[str, float]], first: str = "Configuration") -> str:
    """Rows of metrics as a markdown table with three decimals."""
    lines = [f"| {first} | " + " | ".join(METRICS) + " |", "|---|" + "---:|" * len(METRICS)]
    for name, m in rows.items():
        lines.append(f"| {name} | " + " | ".join(f"{m[k]:.3f}" for k in METRICS) + " |")
    return "\n".join(lines)


def report(evaluation: Evaluation, base: ScoringConfig = DEFAULT_CONFIG) -> str:
    """The evaluation as markdown: configurations, semantic aggregations, lexical analyzers."""
    d = evaluation.data
    n_pairs = sum(len(v) for v in d.judgements.values())
    out = [
        f"Labelled set: {len(evaluation.queries)} judged challenges, {len(d.groups)} groups, "
        f"{n_pairs} judged pairs; each challenge ranks all groups (unjudged = 0).",
        "",
        markdown_table({n: evaluation.score(c) for n, c in configurations(base).items()}),
        "",
        "Semantic aggregation over passage pairs (semantic only / full formula):",
        "",
    ]
    agg_rows: dict[str, dict[str, float]] = {}
    for agg in AGGREGATIONS:
        label = f"{agg} (k={base.top_k})" if agg == "topk_mean" else agg
        agg_rows[f"semantic only, {label}"] = evaluation.score(
            replace(base.with_weights(semantic=1), aggregation=agg)
        )
        agg_rows[f"full, {label}"] = evaluation.score(replace(base, aggregation=agg))
    out += [markdown_table(agg_rows), "", "Lexical analyzer (lexical only / full formula):", ""]
    lex_rows: dict[str, dict[str, float]] = {}
    for analyzer in ("word", "char"):
        index = evaluation.with_lexical(analyzer)
        lex_rows[f"lexical only, {analyzer}"] = evaluation.score(
            base.with_weights(lexical=1), index
        )
        lex_rows[f"full, {analyzer}"] = evaluation.score(base, index)
    out += [markdown_table(lex_rows), "", language_report(evaluation, base)]
    return "\n".join(out) + "\n"


def language_report(evaluation: Evaluation, base: ScoringConfig = DEFAULT_CONFIG) -> str:
    """Per challenge language, and median ranks per language pair, with and without centring."""
    out = ["By challenge language (full formula):", ""]
    ix = evaluation.index
    variants: dict[str, tuple[CandidateIndex, ScoringConfig]] = {"default": (ix, base)}
    if ix.dictionary is not None and not base.lexical_translated:
        variants["lexical via dictionary"] = (ix, replace(base, lexical_translated=True))
    if ix.hubness is not None:
        variants["no hubness correction"] = (evaluation.without_hubness(), base)
    if ix.calibration is not None and ix.calibration.active:
        variants["centred only"] = (evaluation.without_calibration(), base)
    if ix.centring is not None:
        variants["not centred"] = (evaluation.without_centring(), base)
    rows: dict[str, dict[str, float]] = {}
    pair_lines = [
        "| Pair (challenge → group) | " + " | ".join(variants) + " | judged ≥ 2 |",
        "|---|" + "---:|" * (len(variants) + 1),
    ]
    pair_values: dict[str, list[str]] = {}
    counts: dict[str, int] = {}
    for name, (index, config) in variants.items():
        per_language, medians = evaluation.by_language(config, index)
        for lang, metrics in per_language.items():
            rows[f"{lang}, {name}"] = metrics
        for pair, (median, n) in medians.items():
            pair_values.setdefault(pair, []).append(f"{median:g}")
            counts[pair] = n
    out += [markdown_table(rows, "Challenge language"), ""]
    out += ["Median rank of the groups judged ≥ 2, per language pair (full formula):", ""]
    for pair, values in pair_values.items():
        pair_lines.append(f"| {pair} | " + " | ".join(values) + f" | {counts[pair]} |")
    level_lines = [
        "",
        "",
        "Score levels per challenge language (full formula; mean score of the best match, of the",
        "five best, and of the groups judged ≥ 2 by group language):",
        "",
        "| Challenge language | variant | best | best 5 | judged ≥ 2, de | judged ≥ 2, en |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for name, (index, config) in variants.items():
        for lang, levels in evaluation.score_levels(config, index).items():
            cells = [levels.get(k) for k in ("best", "best 5", "judged ≥ 2, de", "judged ≥ 2, en")]
            shown = " | ".join("–" if v is None else f"{v:.3f}" for v in cells)
            level_lines.append(f"| {lang} | {name} | {shown} |")
    return "\n".join(out + pair_lines + level_lines)


def translation_report(
    evaluation: Evaluation,
    translated: Evaluation,
    keys: set[str],
    base: ScoringConfig = DEFAULT_CONFIG,
) -> str:
    """The challenges of ``keys`` ranked as written and read in their translation
    (``translated``: the same set with those challenges' texts translated, embedded and fitted
    as the default is), beside the other challenges: how much of a gap between languages is the
    language, and how much the challenges themselves."""

    def scores_of(ev: Evaluation) -> NDArray[np.float32]:
        return ev.index.score_matrix(ev.queries, ev.query_vectors, config=base)[0]

    def rows_of(ev: Evaluation, scores: NDArray[Any], wanted: set[str]) -> dict[str, float]:
        picked = [i for i, q in enumerate(ev.queries) if q.id in wanted]
        ids = [ev.queries[i].id for i in picked]
        return metrics_for_scores(scores[picked], ids, ev.index.candidate_ids, ev.data.judgements)

    def languages(ev: Evaluation, wanted: set[str]) -> str:
        return "/".join(sorted({q.language or "en" for q in ev.queries if q.id in wanted}))

    written, read = scores_of(evaluation), scores_of(translated)  # each set scored once
    chosen = {q.id for q in evaluation.queries if q.id in keys}
    others = {q.id for q in evaluation.queries} - chosen
    n = len(chosen)
    rows = {
        f"{n} challenges as written ({languages(evaluation, chosen)})": rows_of(
            evaluation, written, chosen
        ),
        f"the same {n} in translation ({languages(translated, chosen)})": rows_of(
            translated, read, chosen
        ),
    }
    if others:
        rows[f"the other {len(others)} ({languages(evaluation, others)})"] = rows_of(
            evaluation, written, others
        )
    return "\n".join(
        [
            "The translated challenges as written and in translation (full formula; the same "
            "judgements, groups and method):",
            "",
            markdown_table(rows, "Challenges"),
        ]
    )


def gate_table(
    evaluations: Mapping[str, Evaluation], reference: str, max_ndcg_drop: float, min_cosine: float
) -> str:
    """Markdown table comparing each backend's evaluation to ``reference``'s: nDCG@10 of the
    full formula and its difference, and the cosine of every passage vector of the labelled set
    (groups and judged challenges) to the reference's vector of the same passage."""
    ref = evaluations[reference]
    ref_ndcg = ref.score(DEFAULT_CONFIG)["nDCG@10"]
    ref_vectors = ref.all_vectors()
    lines = [
        "| backend | nDCG@10 | Δ to torch fp32 | cosine mean | cosine min | passages | gate |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for name, evaluation in evaluations.items():
        ndcg = evaluation.score(DEFAULT_CONFIG)["nDCG@10"]
        vectors = evaluation.all_vectors()
        cos = (vectors * ref_vectors).sum(axis=1) if len(vectors) else np.ones(1)
        ok = abs(ndcg - ref_ndcg) <= max_ndcg_drop and float(cos.mean()) >= min_cosine
        lines.append(
            f"| {name} | {ndcg:.4f} | {ndcg - ref_ndcg:+.4f} | {cos.mean():.6f} | {cos.min():.6f} "
            f"| {len(vectors)} | {'pass' if ok else 'fail'} |"
        )
    return "\n".join(lines) + "\n"
