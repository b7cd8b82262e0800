"""The multilingual default against the English model, side by side in one run:
``python tests/bench/bench_multilingual.py [--rounds 3] [--threads 1]``.

Three encoders, each measured in a fresh process per round (so load time and memory are its own):

- ``bare ST MiniLM fp32``: ``SentenceTransformer.encode`` of the bundled all-MiniLM-L6-v2 on
  torch fp32, the yardstick of issue 13;
- ``MiniLM openvino-bf16``: the previous default, as the service runs it;
- ``e5 openvino-bf16``: multilingual-e5-small as the service runs it now (the default).

All three encode the same passages: the labelled set's groups and challenges split for
all-MiniLM-L6-v2's window (the shorter one), so both models see identical texts. Throughput is
passages per second with ``--threads`` runtime threads (the service's job worker default is 1);
latency is one short query at a time on one thread (a web worker); load is ``make_embedder`` plus
the first vector in a fresh process; RSS is the process's resident memory after loading and its
peak (VmHWM) after encoding. Ratios are taken within a round; medians over rounds are printed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
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

ENCODERS = ("bare ST MiniLM fp32", "MiniLM openvino-bf16", "e5 openvino-bf16")
QUERIES = [
    "Abwärmenutzung aus Druckluftkompressoren für die Hallenheizung",
    "waste heat recovery from industrial off-gases",
    "Batteriespeicher für Lastspitzenkappung im Werk",
    "forecasting passenger demand for electric buses",
    "Wasserstoff statt Erdgas im Anodenofen",
]


def _status(key: str) -> float:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1]) / 1024
    return float("nan")


def passages() -> list[str]:
    """The labelled set's passages, split for all-MiniLM-L6-v2's window."""
    from matchmaker.ranking.embed import SentenceTransformerEmbedder
    from matchmaker.ranking.passages import profile_passages
    from matchmaker.ranking.seed import load_seed

    data = load_seed(ROOT / "seed_data")
    splitter = SentenceTransformerEmbedder(threads=1)
    return [p.text for prof in (*data.groups, *data.challenges) for p in profile_passages(prof, splitter)]  # fmt: skip


def _worker(name: str, threads: int, cache_dir: str, texts_file: str, out: str) -> None:
    texts = json.loads(Path(texts_file).read_text(encoding="utf-8"))
    t0 = time.perf_counter()
    if name == "bare ST MiniLM fp32":
        import torch
        from sentence_transformers import SentenceTransformer

        from matchmaker.ranking.embed import bundled_model_path

        torch.set_num_threads(threads)
        model = SentenceTransformer(bundled_model_path(), device="cpu")

        def encode(batch: list[str]) -> Any:
            return model.encode(batch, batch_size=32, normalize_embeddings=True)
    else:
        from matchmaker.ranking.encoders import make_embedder

        model_name = "multilingual-e5-small" if name.startswith("e5") else ""
        emb = make_embedder(model_name, "openvino-bf16", cache_dir=Path(cache_dir), threads=threads)

        def encode(batch: list[str]) -> Any:
            return emb.encode(batch, batch_size=32)

    encode(["warm-up"])
    load_s = time.perf_counter() - t0
    rss_loaded = _status("VmRSS:")
    t1 = time.perf_counter()
    encode(texts)
    throughput = len(texts) / (time.perf_counter() - t1)
    latencies = []
    for _ in range(20):
        for q in QUERIES:
            t = time.perf_counter()
            encode([q])
            latencies.append((time.perf_counter() - t) * 1000)
    latencies.sort()
    result = {
        "throughput": throughput,
        "p50_ms": statistics.median(latencies),
        "p95_ms": latencies[int(0.95 * len(latencies))],
        "load_s": load_s,
        "rss_loaded_mb": rss_loaded,
        "rss_peak_mb": _status("VmHWM:"),
    }
    Path(out).write_text(json.dumps(result), encoding="utf-8")


def _run(name: str, threads: int, cache_dir: Path, texts_file: Path, work: Path) -> dict[str, Any]:
    out = work / f"{name.replace(' ', '_')}.json"
    cmd = [sys.executable, __file__, "--worker", name, str(threads), str(cache_dir), str(texts_file), str(out)]  # fmt: skip
    subprocess.run(cmd, check=True, env={**os.environ, "OMP_NUM_THREADS": str(threads)})
    return dict(json.loads(out.read_text(encoding="utf-8")))


def cpu() -> str:
    """The CPU model and whether it has AMX / native bf16 (figures name the machine)."""
    model, flags = platform.processor() or "unknown", ""
    with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
        for line in f:
            if line.startswith("model name") and model in {"", "unknown", "x86_64"}:
                model = line.split(":", 1)[1].strip()
            if line.startswith("flags"):
                flags = line
                break
    amx = "AMX" if "amx_bf16" in flags else "no AMX"
    bf16 = "AVX512_BF16" if "avx512_bf16" in flags else "no AVX512_BF16"
    return f"{model}, {amx}, {bf16}, {os.cpu_count()} cores"


def bench(rounds: int, threads: int, cache_dir: Path) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        texts = passages()
        texts_file = work / "texts.json"
        texts_file.write_text(json.dumps(texts), encoding="utf-8")
        for name in ENCODERS[1:]:  # build the exports before timing anything
            _run(name, threads, cache_dir, texts_file, work)
        results: dict[str, list[dict[str, Any]]] = {n: [] for n in ENCODERS}
        for _ in range(rounds):
            for name in ENCODERS:
                results[name].append(_run(name, threads, cache_dir, texts_file, work))
    base = results[ENCODERS[0]]
    lines = [
        f"CPU: {cpu()}. {len(texts)} passages (the labelled set, split for MiniLM's window), "
        f"{threads} runtime thread(s) for throughput, 1 for latency; medians of {rounds} rounds.",
        "",
        "| Encoder | passages/s | × bare ST MiniLM fp32 | query p50 ms | query p95 ms "
        "| load s | RSS loaded MB | RSS peak MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in ENCODERS:
        rows = results[name]
        ratio = statistics.median(
            r["throughput"] / b["throughput"] for r, b in zip(rows, base, strict=True)
        )

        def med(key: str, rows: list[dict[str, Any]] = rows) -> float:
            return statistics.median(r[key] for r in rows)

        lines.append(
            f"| {name} | {med('throughput'):.1f} | {ratio:.2f} | {med('p50_ms'):.1f} "
            f"| {med('p95_ms'):.1f} | {med('load_s'):.2f} | {med('rss_loaded_mb'):.0f} "
            f"| {med('rss_peak_mb'):.0f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", nargs=5, help=argparse.SUPPRESS)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--cache", default=str(ROOT / "instance" / "encoders"))
    args = parser.parse_args(argv)
    if args.worker:
        name, threads, cache_dir, texts_file, out = args.worker
        # threads for throughput; latency is measured in the same process (a web worker has 1)
        _worker(name, int(threads), cache_dir, texts_file, out)
        return 0
    print(bench(args.rounds, args.threads, Path(args.cache)), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
