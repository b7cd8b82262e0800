"""Bulk import throughput on PostgreSQL vs bare model encoding of the same passages.

Run: ``python tests/bench/bench_import.py [--groups 200] [--publications 5]``

Imports N synthetic groups with 5 publications each (realistic text lengths, see
``_synthetic.py``) through ``matchmaker.imports.run_import`` — parse, validate every row,
split into passages, encode what the store lacks, store vectors, write all rows in one
transaction — into an empty database, and encodes the same distinct passages with the bare
encoder of the same backend (``Embedder.encode``: for ``torch`` that is
``SentenceTransformer.encode``; same batch size and threads). The bare encoding runs before and
after the import; the ratio uses their mean, so drift of a shared machine cancels out as far as
possible. ``--bare-sample N`` encodes a uniform random sample of N of those passages instead of
all of them (for 10,000 groups, where encoding everything three times would take an hour).
Prints a markdown table.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import argparse  # noqa: E402
import random  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from _pg import fresh_database  # noqa: E402
from _synthetic import groups_jsonl  # noqa: E402

from matchmaker import create_app, imports  # noqa: E402
from matchmaker.config import Settings  # noqa: E402
from matchmaker.ranking.passages import profile_passages  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=200)
    parser.add_argument("--publications", type=int, default=5)
    parser.add_argument("--backend", default=None, help="encoder backend (default: the setting)")
    parser.add_argument("--threads", type=int, default=2, help="encoder threads (default 2)")
    parser.add_argument("--bare-sample", type=int, default=0, help="bare-encode only N passages")
    args = parser.parse_args()

    url = fresh_database()
    settings = Settings.from_env()
    embedder = settings.make_embedder(backend=args.backend, threads=args.threads)
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
    sample = passages
    if 0 < args.bare_sample < n:
        sample = random.Random(3).sample(passages, args.bare_sample)
    embedder.encode(passages[:64], batch_size=32)  # warm the model up

    def bare() -> float:
        """Seconds per passage of the bare encoder on the sample."""
        started = time.perf_counter()
        embedder.encode(sample, batch_size=32)
        return (time.perf_counter() - started) / len(sample)

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
    bare_name = f"bare `{embedder.model_id}` encode"
    of = f"{len(sample)} of the passages" if len(sample) < n else "the same passages"

    print(
        f"\n### Bulk import on PostgreSQL: {args.groups} groups x {args.publications} publications"
        f" ({n} distinct passages), {args.threads} encoder threads\n"
    )
    print("| Step | Seconds | Passages/s |")
    print("|---|---:|---:|")
    print(
        f"| {bare_name}, {of} (before) | {bare_before * len(sample):.1f} | {1 / bare_before:.1f} |"
    )
    print(f"| `matchmaker import` end to end | {imported:.1f} | {n / imported:.1f} |")
    print(f"| {bare_name}, {of} (after) | {bare_after * len(sample):.1f} | {1 / bare_after:.1f} |")
    print(
        f"\nImport throughput / bare encoding (mean of before and after): "
        f"**{bare_mean * n / imported:.2f}** (target >= 0.9). Import: {result}. "
        f"Load average at the end: {os.getloadavg()[0]:.1f}."
    )
    estimate = 10_000 * (n / args.groups) / (n / imported)
    if args.groups < 10_000:
        print(
            f"\nEstimate, not measured: 10,000 groups x 5 publications at this rate would take "
            f"~{estimate / 60:.0f} min on this machine."
        )
    app.extensions["matchmaker.engine"].dispose()


if __name__ == "__main__":
    main()
