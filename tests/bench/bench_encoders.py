"""Encoder backends side by side: ``python tests/bench/bench_encoders.py [--rounds 3]``.

Every backend is measured in a fresh subprocess (so load time and resident memory are its own):
one process with 2 threads encodes the same passages (throughput, cosine to torch fp32, load time,
RSS delta), one with 1 thread encodes short queries one at a time (latency, as a web worker does).
All backends run once per round; ratios are taken within a round and the medians over rounds are
printed as a markdown table. Exported backends are built into the cache before the first round.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

N_PASSAGES = 300
N_QUERIES = 100
PASSAGE_SEED = 7
QUERY_SEED = 8
THROUGHPUT_THREADS = 2
QUERY_THREADS = 1


def evaluate_ndcg(embedder: Any) -> float:
    """nDCG@10 of the default formula on the labelled set (``seed_data/``) with ``embedder``:
    the figure ``matchmaker evaluate --backend`` prints for the full formula."""
    from matchmaker.ranking.evaluate import Evaluation
    from matchmaker.ranking.scoring import DEFAULT_CONFIG
    from matchmaker.ranking.seed import load_seed

    evaluation = Evaluation.prepare(load_seed(ROOT / "seed_data"), embedder)
    return evaluation.score(DEFAULT_CONFIG)["nDCG@10"]


def labelled_challenge_passages(embedder: Any) -> list[list[str]]:
    """The passage texts of each challenge of the labelled set (``seed_data/``), split for
    ``embedder`` as the service splits a challenge it saves."""
    from matchmaker.ranking.passages import profile_passages
    from matchmaker.ranking.seed import load_seed

    challenges = load_seed(ROOT / "seed_data").challenges
    return [[p.text for p in profile_passages(c, embedder)] for c in challenges]


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _worker(backend: str, mode: str, cache_dir: str, out: str) -> None:
    """Runs in a fresh process: measure one backend, write a JSON result (and vectors)."""
    import numpy as np

    from matchmaker.ranking import encoders

    passages = encoders.sample_texts(N_PASSAGES, seed=PASSAGE_SEED)
    queries = encoders.sample_texts(N_QUERIES, seed=QUERY_SEED, sentences=(1, 1))
    threads = THROUGHPUT_THREADS if mode == "throughput" else QUERY_THREADS
    rss0 = _rss_mb()
    t0 = time.perf_counter()
    emb = encoders.make_embedder(backend=backend, cache_dir=Path(cache_dir), threads=threads)
    emb.encode(["warm-up"])  # first inference compiles kernels: count it as loading
    load_s = time.perf_counter() - t0
    result: dict[str, Any] = {"backend": backend, "mode": mode, "model_id": emb.model_id}
    result["load_s"] = load_s
    if mode == "throughput":
        emb.encode(passages[:32])
        t, cpu0 = time.perf_counter(), time.process_time()
        vectors = emb.encode(passages, batch_size=32)
        result["passages_per_s"] = N_PASSAGES / (time.perf_counter() - t)
        # CPU time is the figure that survives other processes sharing the cores.
        result["passages_per_cpu_s"] = N_PASSAGES / (time.process_time() - cpu0)
        result["rss_mb"] = _rss_mb() - rss0
        result["tokens_mean"] = float(np.mean([emb.count_tokens(p) for p in passages]))
        np.save(out + ".npy", vectors)
        ndcg = evaluate_ndcg(emb)
        result["ndcg10"] = ndcg
    else:
        # As a web worker's warm-up does once its index is built (OpenVINO backends only).
        warm_shapes = getattr(emb, "warm_shapes", None)
        t = time.perf_counter()
        result["shapes"] = warm_shapes() if warm_shapes is not None else 0
        result["shapes_s"] = time.perf_counter() - t
        for q in queries[:5]:
            emb.encode([q])
        lat = []
        cpu = []
        for q in queries:
            t, c = time.perf_counter(), time.thread_time()
            emb.encode([q])
            lat.append((time.perf_counter() - t) * 1000)
            cpu.append((time.thread_time() - c) * 1000)
        challenge = []
        for i in range(0, N_QUERIES, 3):
            t = time.perf_counter()
            emb.encode(queries[i : i + 3])
            challenge.append((time.perf_counter() - t) * 1000)
        # A new challenge's text as the service encodes it (saving it, or a draft in "similar
        # challenges"): the passages of each labelled challenge, one call per challenge.
        drafts = labelled_challenge_passages(emb)
        for texts in drafts[:5]:
            emb.encode(texts)
        real = []
        for texts in drafts:
            t = time.perf_counter()
            emb.encode(texts)
            real.append((time.perf_counter() - t) * 1000)
        real.sort()
        result["real_p50_ms"] = statistics.median(real)
        result["real_p95_ms"] = real[int(0.95 * (len(real) - 1))]
        result["real_passages"] = sum(len(t) for t in drafts) / len(drafts)
        result["real_tokens_mean"] = float(
            np.mean([emb.count_tokens(x) + 2 for t in drafts for x in t])
        )
        lat.sort()
        result["query_p50_ms"] = statistics.median(lat)
        result["query_p95_ms"] = lat[int(0.95 * (len(lat) - 1))]
        result["query_cpu_p50_ms"] = statistics.median(cpu)
        result["challenge_p50_ms"] = statistics.median(challenge)
        result["query_tokens_mean"] = float(np.mean([emb.count_tokens(q) for q in queries]))
    Path(out).write_text(json.dumps(result), encoding="utf-8")


def _run(backend: str, mode: str, cache_dir: Path, work: Path) -> dict[str, Any] | None:
    out = work / f"{backend}-{mode}.json"
    cmd = [sys.executable, __file__, "--worker", backend, mode, str(cache_dir), str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-1:] or ["?"]
        print(f"  {backend} {mode}: failed: {tail[0]}", file=sys.stderr)
        return None
    return json.loads(out.read_text(encoding="utf-8"))


def _fmt(value: float | None, spec: str) -> str:
    return "–" if value is None else format(value, spec)


def bench(backends: list[str], rounds: int, cache_dir: Path) -> str:
    import numpy as np

    from matchmaker.ranking import encoders

    for backend in backends:  # build (or validate) exported models outside the measurements
        if backend in ("openvino", "openvino-int8", "onnx"):
            try:
                encoders.make_embedder(backend=backend, cache_dir=cache_dir, threads=2)
            except ImportError as exc:
                print(f"skipping {backend}: {exc}", file=sys.stderr)
                backends = [b for b in backends if b != backend]
    per: dict[str, list[dict[str, Any]]] = {b: [] for b in backends}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for r in range(rounds):
            print(f"round {r + 1}/{rounds}", file=sys.stderr)
            vectors: dict[str, np.ndarray] = {}
            found: dict[str, dict[str, Any]] = {}
            for backend in backends:
                tp = _run(backend, "throughput", cache_dir, work)
                q = _run(backend, "query", cache_dir, work)
                if tp is None or q is None:
                    continue
                vectors[backend] = np.load(work / f"{backend}-throughput.json.npy")
                found[backend] = {**tp, **{k: v for k, v in q.items() if k != "load_s"}}
                found[backend]["query_load_s"] = q["load_s"]
            ref = found.get("torch")
            for backend, row in found.items():
                if ref is not None:
                    cos = (vectors[backend] * vectors["torch"]).sum(axis=1)
                    row["ratio"] = row["passages_per_s"] / ref["passages_per_s"]
                    row["cpu_ratio"] = row["passages_per_cpu_s"] / ref["passages_per_cpu_s"]
                    row["cos_mean"] = float(cos.mean())
                    row["cos_min"] = float(cos.min())
                per[backend].append(row)

    def med(rows: list[dict[str, Any]], key: str) -> float | None:
        values = [r[key] for r in rows if r.get(key) is not None]
        return statistics.median(values) if values else None

    header = (
        "| backend | model id | passages/s | × torch fp32 | passages/CPU-s | × torch fp32 (CPU) "
        "| query p50 ms | query p95 ms | query CPU p50 ms | challenge (3 queries) p50 ms "
        "| labelled challenge p50 / p95 ms "
        "| load s (2 thr / 1 thr) | shape warm-up s | RSS MB | cosine mean | cosine min "
        "| nDCG@10 |\n"
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    )
    lines = []
    for backend, rows in per.items():
        if not rows:
            continue
        lines.append(
            f"| {backend} | `{rows[0]['model_id']}` | {_fmt(med(rows, 'passages_per_s'), '.1f')} "
            f"| {_fmt(med(rows, 'ratio'), '.2f')} | {_fmt(med(rows, 'passages_per_cpu_s'), '.1f')} "
            f"| {_fmt(med(rows, 'cpu_ratio'), '.2f')} | {_fmt(med(rows, 'query_p50_ms'), '.1f')} "
            f"| {_fmt(med(rows, 'query_p95_ms'), '.1f')} "
            f"| {_fmt(med(rows, 'query_cpu_p50_ms'), '.1f')} "
            f"| {_fmt(med(rows, 'challenge_p50_ms'), '.1f')} "
            f"| {_fmt(med(rows, 'real_p50_ms'), '.1f')} / {_fmt(med(rows, 'real_p95_ms'), '.1f')} "
            f"| {_fmt(med(rows, 'load_s'), '.2f')} / {_fmt(med(rows, 'query_load_s'), '.2f')} "
            f"| {_fmt(med(rows, 'shapes_s'), '.2f')} "
            f"| {_fmt(med(rows, 'rss_mb'), '.0f')} | {_fmt(med(rows, 'cos_mean'), '.6f')} "
            f"| {_fmt(med(rows, 'cos_min'), '.6f')} | {_fmt(med(rows, 'ndcg10'), '.4f')} |"
        )
    first = next((rows[0] for rows in per.values() if rows), {})
    note = (
        f"\n{N_PASSAGES} passages (mean {first.get('tokens_mean', 0):.0f} word pieces, batch 32, "
        f"{THROUGHPUT_THREADS} threads); {N_QUERIES} queries (mean "
        f"{first.get('query_tokens_mean', 0):.0f} word pieces, one per call, {QUERY_THREADS} "
        f"thread); labelled challenges: the {first.get('real_passages', 0):.1f} passages "
        f"(mean {first.get('real_tokens_mean', 0):.0f} word pieces) of each of the 50 labelled "
        "challenges in one call, as the service encodes a challenge it saves or a draft; "
        f"medians of {rounds} rounds, each backend in fresh processes. Load = "
        "make_embedder + first encode in a fresh process, cache built; shape warm-up = "
        "`warm_shapes()` before the queries, as a web worker runs it after its index (OpenVINO "
        "compiles kernels per input shape; inputs are padded to multiples of "
        "`encoders.SHAPE_STEP` word pieces); RSS = resident-memory growth over load and "
        "encoding the passages. "
        f"Load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs.\n"
    )
    return header + "\n".join(lines) + "\n" + note


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--backends", default=None, help="comma-separated (default: all)")
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=ROOT / "instance" / "encoders",
        help="where exported models are cached (default: instance/encoders)",
    )
    args = parser.parse_args(argv)
    if args.worker:
        _worker(*args.worker)
        return 0
    from matchmaker.ranking.encoders import BACKENDS

    backends = args.backends.split(",") if args.backends else list(BACKENDS)
    print(bench(backends, args.rounds, args.cache_dir))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
