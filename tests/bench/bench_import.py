"""Bulk import throughput on PostgreSQL vs bare model encoding of the same passages.

Run: ``python tests/bench/bench_import.py [--groups 200] [--publications 5]``

Imports N synthetic groups with 5 publications each (realistic text lengths, see
``_synthetic.py``) through ``matchmaker.imports.run_import`` — parse, validate every row,
split into passages, encode what the store lacks, store vectors, write all rows in one
transaction — into an empty database, and encodes the same distinct passages with a bare
``SentenceTransformer.encode`` (same batch size, one torch thread). The bare encoding runs
before and after the import; the ratio uses their mean, so drift of a shared machine cancels
out as far as possible. Prints a markdown table.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from _pg import fresh_database  # noqa: E402
from _synthetic import groups_jsonl  # noqa: E402

from matchmaker import create_app, imports  # noqa: E402
from matchmaker.config import Settings  # noqa: E402
from matchmaker.ranking.embed import SentenceTransformerEmbedder  # noqa: E402
from matchmaker.ranking.passages import profile_passages  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=200)
    parser.add_argument("--publications", type=int, default=5)
    args = parser.parse_args()

    url = fresh_database()
    embedder = SentenceTransformerEmbedder(threads=1)
    data = groups_jsonl(args.groups, args.publications)
    kind, rows = imports.parse(data)
    passages = list(
        dict.fromkeys(
            p.text
            for prof in imports.profiles_of(kind, rows)
            for p in profile_passages(prof, embedder)
        )
    )
    n = len(passages)
    model = embedder.model
    model.encode(passages[:64], batch_size=32)  # warm the model up

    def bare() -> float:
        started = time.perf_counter()
        model.encode(
            passages,
            batch_size=32,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return time.perf_counter() - started

    bare_before = bare()
    app = create_app(
        Settings.from_env({}, database_url=url, secret_key="bench", rate_limit_api=""),
        embedder=embedder,
    )
    started = time.perf_counter()
    result = imports.run_import(app, data)
    imported = time.perf_counter() - started
    bare_after = bare()
    assert result["created"] == args.groups and result["passages_encoded"] == n, result
    bare_mean = (bare_before + bare_after) / 2

    print(
        f"\n### Bulk import on PostgreSQL: {args.groups} groups x {args.publications} publications"
        f" ({n} distinct passages)\n"
    )
    print("| Step | Seconds | Passages/s |")
    print("|---|---:|---:|")
    print(
        f"| bare `SentenceTransformer.encode` (before) | {bare_before:.1f} | {n / bare_before:.1f} |"
    )
    print(f"| `matchmaker import` end to end | {imported:.1f} | {n / imported:.1f} |")
    print(
        f"| bare `SentenceTransformer.encode` (after) | {bare_after:.1f} | {n / bare_after:.1f} |"
    )
    print(
        f"\nImport throughput / bare encoding (mean of before and after): "
        f"**{bare_mean / imported:.2f}** (target >= 0.9). Import: {result}"
    )
    estimate = 10_000 * (n / args.groups) / (n / imported)
    print(
        f"\nEstimate, not measured: 10,000 groups x 5 publications at this rate would take "
        f"~{estimate / 60:.0f} min on this machine."
    )
    app.extensions["matchmaker.engine"].dispose()


if __name__ == "__main__":
    main()
