"""Key terms across languages on the labelled set; prints a markdown table.
Run: ``python tests/bench/bench_evidence.py``.

For every judged (challenge, group) pair of ``seed_data/`` whose two texts differ in language,
the evidence ``CandidateIndex.explain`` returns, without and with the German–English dictionary
(``make dictionary``): key terms per pair by relevance, pairs with no key term at all, and the
time to explain one pair. Evidence only helps a reviewer if relevant pairs have more of it than
irrelevant ones; a count that is the same at every relevance would say nothing.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402
from pathlib import Path  # noqa: E402

from matchmaker.config import Settings  # noqa: E402
from matchmaker.ranking.dictionary import open_dictionary  # noqa: E402
from matchmaker.ranking.evaluate import Evaluation  # noqa: E402
from matchmaker.ranking.seed import load_seed  # noqa: E402


def main() -> int:
    settings = Settings.from_env()
    dictionary = open_dictionary(settings.dictionary, Path(settings.encoder_cache))
    if dictionary is None:
        print(f"no dictionary at {settings.dictionary}: make dictionary", file=sys.stderr)
        return 1
    data = load_seed(Path(__file__).resolve().parents[2] / "seed_data")
    evaluation = Evaluation.prepare(data, settings.make_embedder())
    index = evaluation.index
    groups = {g.id: g for g in data.groups}
    pairs = [
        (i, q, gid, relevance)
        for i, q in enumerate(evaluation.queries)
        for gid, relevance in data.judgements[q.id].items()
        if q.language != groups[gid].language
    ]

    def run() -> tuple[dict[int, list[tuple[int, int]]], float]:
        counts: dict[int, list[tuple[int, int]]] = defaultdict(list)
        started = time.perf_counter()
        for i, q, gid, relevance in pairs:
            evidence = index.explain(q, gid, evaluation.query_vectors[i])
            counts[relevance].append((len(evidence.terms), len(evidence.translations)))
        return counts, (time.perf_counter() - started) / len(pairs) * 1000

    index.dictionary = None
    _, without_ms = run()
    index.dictionary = dictionary
    counts, with_ms = run()
    print(f"{len(pairs)} judged pairs whose challenge and group differ in language\n")
    print(
        "| Relevance | Pairs | Shared terms | Translated terms | No key term, shared only "
        "| No key term, with dictionary |"
    )
    print("|---|---|---|---|---|---|")
    for relevance in sorted(counts):
        rows = counts[relevance]
        shared = statistics.mean(s for s, _ in rows)
        translated = statistics.mean(t for _, t in rows)
        none_before = sum(s == 0 for s, _ in rows) / len(rows)
        none_after = sum(s + t == 0 for s, t in rows) / len(rows)
        print(
            f"| {relevance} | {len(rows)} | {shared:.2f} | {translated:.2f} "
            f"| {none_before:.0%} | {none_after:.0%} |"
        )
    print(
        f"\nexplain one pair: {without_ms:.1f} ms shared terms only, {with_ms:.1f} ms with "
        "the dictionary"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
