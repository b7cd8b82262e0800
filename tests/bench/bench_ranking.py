"""Speed of the ranking core; prints a markdown table. Run: ``python tests/bench/bench_ranking.py``.

1. Rank one challenge against 10,000 groups (~100,000 stored passages, random unit vectors, the
   challenge's own text already embedded), one thread: median ms, with evidence for the top 10.
2. Encoding throughput of ``encode_cached`` (cold store) vs bare ``SentenceTransformer.encode``
   on the same ~500 passages with the same batch size.
3. Portfolio matching, 500 challenges x 2,000 groups (random scores, k=5, capacities 1-5,
   ~200 institutions, at most 2 per institution): seconds.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402

import numpy as np  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from matchmaker.fields import FIELD_KEYS  # noqa: E402
from matchmaker.ranking.assign import assign_portfolio, top_k_unconstrained  # noqa: E402
from matchmaker.ranking.embed import SentenceTransformerEmbedder  # noqa: E402
from matchmaker.ranking.passages import split_passages  # noqa: E402
from matchmaker.ranking.scoring import DEFAULT_CONFIG, CandidateIndex  # noqa: E402
from matchmaker.ranking.store import MemoryVectorStore, encode_cached  # noqa: E402
from matchmaker.ranking.types import Passage, Profile  # noqa: E402

WORDS = [
    "heat",
    "pump",
    "steam",
    "waste",
    "process",
    "temperature",
    "battery",
    "storage",
    "grid",
    "load",
    "peak",
    "charging",
    "truck",
    "port",
    "container",
    "fleet",
    "building",
    "ventilation",
    "control",
    "sensor",
    "anomaly",
    "maintenance",
    "hydrogen",
    "electrolyser",
    "compressor",
    "motor",
    "drive",
    "efficiency",
    "insulation",
    "furnace",
    "kiln",
    "cement",
    "steel",
    "aluminium",
    "chemical",
    "refinery",
    "forecasting",
    "optimisation",
    "simulation",
    "digital",
    "twin",
    "machine",
    "learning",
    "model",
    "network",
    "demand",
    "response",
    "flexibility",
    "tariff",
    "photovoltaic",
    "wind",
    "turbine",
]


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    """Wall times of ``repeat`` calls in milliseconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return times


def unit_rows(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    """Random unit vectors as float32 rows."""
    x = rng.standard_normal((n, dim), dtype=np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def synthetic_groups(rng: np.random.Generator, n: int, passages: int) -> list[Profile]:
    """Groups with Zipf-distributed made-up vocabulary, fields, TRL, capacity, institution."""
    vocab = np.array([f"{w}{i}" if i else w for i in range(400) for w in WORDS])
    p = 1.0 / np.arange(1, len(vocab) + 1)
    p /= p.sum()
    groups = []
    for g in range(n):
        text = " ".join(rng.choice(vocab, size=30 * passages, p=p))
        fields = tuple(rng.choice(FIELD_KEYS, size=int(rng.integers(1, 4)), replace=False))
        lo = int(rng.integers(1, 7))
        groups.append(
            Profile(
                id=f"g{g}",
                title=f"Group {g}",
                text=text,
                fields=fields,
                trl_min=lo,
                trl_max=lo + int(rng.integers(0, 3)),
                capacity=int(rng.integers(0, 6)),
                institution=f"inst{int(rng.integers(0, 200))}",
            )
        )
    return groups


def bench_rank(embedder: SentenceTransformerEmbedder, rows: list[tuple[str, str]]) -> None:
    rng = np.random.default_rng(0)
    n_groups, per_group = 10_000, 10
    groups = synthetic_groups(rng, n_groups, per_group)
    # A quarter of the groups write German: the language-pair calibration has pairs to fit.
    passages = [
        [
            Passage(g.id, f"doc {i}", f"passage {i} of {g.id}", "de" if n % 4 == 0 else "en")
            for i in range(per_group)
        ]
        for n, g in enumerate(groups)
    ]
    vectors = unit_rows(rng, n_groups * per_group, embedder.dim)
    start = time.perf_counter()
    index = CandidateIndex(groups, passages, vectors, embedder=embedder)
    build_s = time.perf_counter() - start
    others = [Profile(id=f"c{i}", title=f"Challenge {i}", text="") for i in range(500)]
    other_passages = [[Passage(c.id, "", c.title, "de" if i % 2 else "en")] for i, c in
                      enumerate(others)]  # fmt: skip
    other_index = CandidateIndex(others, other_passages, unit_rows(rng, 500, embedder.dim))
    start = time.perf_counter()
    index.calibrate_with(other_index)
    calibrate_s = time.perf_counter() - start
    query = Profile(
        id="challenge",
        title="Steam from waste heat",
        text="Our dairy needs low-pressure steam and burns natural gas today. We want a "
        "high-temperature heat pump that uses the waste heat of our cooling system and "
        "fits our grid connection and peak load.",
        fields=("energy_efficiency",),
        trl=5,
        trl_target=7,
    )
    q_vectors = unit_rows(rng, len(index.query_passages(query)), embedder.dim)
    with threadpool_limits(1):
        index.rank(query, q_vectors)  # warm caches
        full = timed(lambda: index.rank(query, q_vectors, top=10), 50)
        bare = timed(lambda: index.rank(query, q_vectors, top=10, explain=False), 50)
        q = index._queries([query], [q_vectors], embedder)
        sem = timed(lambda: index.semantic(q.vectors, q.offsets, DEFAULT_CONFIG), 50)
        lex_q = index.lexical.transform([query.title + " " + query.text])
        lex = timed(lambda: index.lexical.similarity(lex_q), 50)
    label = f"{n_groups:,} groups, {index.vectors.shape[0]:,} passages"
    rows += [
        (f"rank 1 challenge vs {label}, top 10 with evidence (median, 1 thread)",
         f"{statistics.median(full):.1f} ms (p90 {np.percentile(full, 90):.1f})"),
        ("… the same without evidence", f"{statistics.median(bare):.1f} ms"),
        ("… of which semantic (X @ q + per-group aggregation)", f"{statistics.median(sem):.1f} ms"),
        ("… of which lexical (TF-IDF, inverted index)", f"{statistics.median(lex):.1f} ms"),
        ("index build (lexical fit, arrays), vectors given", f"{build_s:.1f} s"),
        ("language-pair calibration fitted on 500 challenges (256 sampled) x these groups",
         f"{calibrate_s:.2f} s"),
    ]  # fmt: skip
    subset = groups[:2_000]
    sub_index = CandidateIndex(subset, passages[:2_000], vectors[: 2_000 * per_group])
    challenges = [query] * 500
    qv = [q_vectors] * 500
    with threadpool_limits(1):
        t = timed(lambda: sub_index.score_matrix(challenges, qv, embedder=embedder), 3)
    rows.append(("score matrix 500 challenges x 2,000 groups (1 thread)", f"{min(t) / 1000:.2f} s"))


def bench_encode(embedder: SentenceTransformerEmbedder, rows: list[tuple[str, str]]) -> None:
    rng = np.random.default_rng(1)
    from pathlib import Path

    source = Path(__file__).resolve().parents[2] / "seed" / "hamburg-industry-alliance-2019.txt"
    seed = Path(__file__).resolve().parents[3] / "shared" / "seed"
    text = ""
    for candidate in (source, *seed.glob("*.txt")):
        if candidate.exists():
            text = candidate.read_text(encoding="utf-8")
            break
    sentences = [s for s in text.replace("\n", " ").split(". ") if len(s.split()) > 4] or [
        " ".join(rng.choice(WORDS, 20)) for _ in range(200)
    ]
    texts = []
    for i in range(500):
        picked = rng.choice(len(sentences), size=int(rng.integers(3, 8)))
        texts.append(f"[{i}] " + ". ".join(sentences[j] for j in picked) + ".")
    texts = [split_passages(t, embedder.count_tokens, embedder.max_tokens)[0] for t in texts]
    tokens = statistics.mean(embedder.count_tokens(t) for t in texts)
    batch = 32

    def bare() -> None:
        embedder.model.encode(
            texts, batch_size=batch, convert_to_numpy=True, normalize_embeddings=True
        )

    def cached() -> None:
        encode_cached(embedder, texts, MemoryVectorStore(), batch_size=batch)

    bare()  # warm-up
    b, c = [], []
    for _ in range(3):  # interleaved, so drift hits both alike
        b += timed(bare, 1)
        c += timed(cached, 1)
    b_s, c_s = min(b) / 1000, min(c) / 1000
    rows += [
        (f"bare SentenceTransformer.encode, {len(texts)} passages (~{tokens:.0f} tokens), "
         f"batch {batch}", f"{len(texts) / b_s:.1f} passages/s"),
        ("encode_cached (cold store), same passages and batch",
         f"{len(texts) / c_s:.1f} passages/s ({(c_s / b_s - 1) * 100:+.1f} % time)"),
    ]  # fmt: skip
    store = MemoryVectorStore()
    encode_cached(embedder, texts, store, batch_size=batch)
    warm = timed(lambda: encode_cached(embedder, texts, store, batch_size=batch), 5)
    rows.append(("encode_cached, all passages already stored", f"{statistics.median(warm):.1f} ms"))


def bench_assign(rows: list[tuple[str, str]]) -> None:
    rng = np.random.default_rng(2)
    scores = rng.random((500, 2_000))
    capacity = rng.integers(1, 6, 2_000)
    institution = [f"inst{i}" for i in rng.integers(0, 200, 2_000)]
    start = time.perf_counter()
    chosen = assign_portfolio(
        scores, k=5, capacity=capacity, institution=institution, max_per_institution=2
    )
    seconds = time.perf_counter() - start
    start = time.perf_counter()
    top_k_unconstrained(scores, 5)
    free = time.perf_counter() - start
    rows += [
        ("portfolio matching 500 x 2,000, k=5, capacity 1-5, 200 institutions, m=2",
         f"{seconds:.2f} s ({sum(map(len, chosen))} proposals)"),
        ("unconstrained top-5 beside it", f"{free:.2f} s"),
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-encode", action="store_true", help="skip the encoding benchmark")
    parser.add_argument("--encode-threads", type=int, default=2, help="torch threads for (2)")
    args = parser.parse_args()
    embedder = SentenceTransformerEmbedder(threads=1)
    rows: list[tuple[str, str]] = []
    bench_rank(embedder, rows)
    if not args.skip_encode:
        import torch

        torch.set_num_threads(args.encode_threads)
        bench_encode(embedder, rows)
    bench_assign(rows)
    print("| Benchmark | Result |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")


if __name__ == "__main__":
    main()
