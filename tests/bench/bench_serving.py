"""Match latency over HTTP under gunicorn (2 workers) at 1k / 10k / 50k groups, and how latency,
warm-up and worker memory grow with the number of groups.

Run: ``python tests/bench/bench_serving.py [--sizes 1000,10000,50000] [--duration 20]``

For each size: a fresh PostgreSQL database gets N synthetic groups with 5 publications each
(realistic text lengths, ``_synthetic.py``) and 20 open challenges; their passage vectors are
*random unit vectors stored directly in passage_embeddings* (encoding 350k passages is not what
this measures). gunicorn starts with ``deploy/gunicorn.conf.py`` (2 workers x 1 thread,
``MATCHMAKER_WARM_UP=1``); once ``/readyz`` answers 200, ``wrk`` (a separate process, 1 thread,
2 connections, keep-alive) requests ``GET /api/v1/challenges/{id}/matches`` (top 10, with
evidence) round-robin over the 20 challenges for ``--duration`` seconds after a 5 s warm-up.
Prints a markdown table and writes ``docs/benchmarks-serving.png``.
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import argparse
import json
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))

import _gunicorn  # noqa: E402
import numpy as np  # noqa: E402
from _pg import fresh_database  # noqa: E402
from _synthetic import challenge, group  # noqa: E402
from sqlalchemy import create_engine, insert, text, update  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from matchmaker.accounts.models import Role  # noqa: E402
from matchmaker.accounts.service import create_user, issue_token  # noqa: E402
from matchmaker.challenges.models import Challenge  # noqa: E402
from matchmaker.config import Settings  # noqa: E402
from matchmaker.groups.models import Publication, ResearchGroup  # noqa: E402
from matchmaker.matching.models import IndexState, PassageEmbedding  # noqa: E402
from matchmaker.organisations.models import Organisation  # noqa: E402
from matchmaker.ranking.passages import _titled, profile_passages, split_sentences, text_hash  # noqa: E402
from matchmaker.ranking.seed import challenge_profile, group_profile  # noqa: E402
from matchmaker.strategy import service as strategy  # noqa: E402

PORT = 8791
WRK_SCRIPT = """
paths = {PATHS}
i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i % #paths) + 1], {{["Authorization"] = "Bearer {TOKEN}"}})
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %d %d %.3f %.3f %.3f\\n", summary.requests,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.timeout,
    summary.duration, latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000))
end
"""


def predicted_passages(profile) -> list[str]:  # type: ignore[no-untyped-def]
    """Passages of a profile whose every document fits one window (checked on a sample)."""
    parts = [_titled(profile.title, profile.text)] + [
        _titled(d.title, d.text) for d in profile.documents
    ]
    return [" ".join(split_sentences(p)) for p in parts if split_sentences(p)]


def load(url: str, n: int, embedder) -> tuple[str, list[int], int]:  # type: ignore[no-untyped-def]
    """Fill the database; return an office token, the challenge ids and the passage count."""
    rng = random.Random(11)
    vec_rng = np.random.default_rng(5)
    engine = create_engine(url)
    groups = [group(i, rng) for i in range(n)]
    challenges = [challenge(i, rng) for i in range(20)]
    model_id = embedder.model_id
    institutions = sorted({g["institution"] for g in groups})
    inst_id = {name: i + 1 for i, name in enumerate(institutions)}
    texts: dict[str, None] = {}
    for i, g in enumerate(groups):
        record = {**g, "key": str(i + 1), "publications": g["publications"]}
        profile = group_profile(record)
        passages = predicted_passages(profile)
        if i < 50:  # the prediction must be exactly what the workers will compute
            assert passages == [p.text for p in profile_passages(profile, embedder)], i
        texts.update(dict.fromkeys(passages))
    for c in challenges:
        profile = challenge_profile(c)
        assert predicted_passages(profile) == [p.text for p in profile_passages(profile, embedder)]
        texts.update(dict.fromkeys(predicted_passages(profile)))
    with engine.begin() as conn:
        conn.execute(
            insert(Organisation),
            [
                {"id": i, "name": name, "kind": "institution", "city": "", "website": ""}
                for name, i in inst_id.items()
            ]
            + [
                {
                    "id": len(inst_id) + 1,
                    "name": "Bench Company",
                    "kind": "company",
                    "city": "",
                    "website": "",
                }
            ],
        )
        company = len(inst_id) + 1
        for start in range(0, n, 5000):
            chunk = groups[start : start + 5000]
            conn.execute(
                insert(ResearchGroup),
                [
                    {
                        "id": start + k + 1,
                        "institution_id": inst_id[g["institution"]],
                        "name": g["name"],
                        "head": "",
                        "capabilities": g["capabilities"],
                        "methods": g["methods"],
                        "keywords": g["keywords"],
                        "fields": g["fields"],
                        "trl_min": g["trl_min"],
                        "trl_max": g["trl_max"],
                        "capacity": g["capacity"],
                        "contact": "",
                        "language": "en",
                    }
                    for k, g in enumerate(chunk)
                ],
            )
            conn.execute(
                insert(Publication),
                [
                    {
                        "group_id": start + k + 1,
                        "title": p["title"],
                        "abstract": p["abstract"],
                        "year": p["year"],
                        "doi": "",
                    }
                    for k, g in enumerate(chunk)
                    for p in g["publications"]
                ],
            )
        conn.execute(
            insert(Challenge),
            [
                {
                    "organisation_id": company,
                    "title": c["title"],
                    "summary": c["summary"],
                    "confidential": "",
                    "fields": c["fields"],
                    "trl_now": c["trl_now"],
                    "trl_target": c["trl_target"],
                    "budget_band": c["budget_band"],
                    "status": "open",
                    "language": "en",
                }
                for c in challenges
            ],
        )
        all_texts = list(texts)
        for start in range(0, len(all_texts), 20000):
            chunk = all_texts[start : start + 20000]
            vectors = vec_rng.standard_normal((len(chunk), embedder.dim)).astype(np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            conn.execute(
                insert(PassageEmbedding),
                [
                    {"model_id": model_id, "text_hash": text_hash(t), "vector": v.tobytes()}
                    for t, v in zip(chunk, vectors, strict=True)
                ],
            )
        # Migration 0005 creates the index-state row; new rows make a new version.
        conn.execute(update(IndexState).values(version=IndexState.version + 1))
        for table in ("organisations", "research_groups"):
            conn.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
                )
            )
    with Session(engine) as session:
        user = create_user(session, email="office@bench.example", role=Role.OFFICE)
        token = issue_token(session, user, "bench")
        # Version 1 of the strategy, as `matchmaker seed` makes it: without a stored version,
        # every GET of matches inserts one in its (never committed) transaction, and concurrent
        # requests then wait on each other's uncommitted row.
        strategy.current(session)
        ids = [r[0] for r in session.execute(text("SELECT id FROM challenges ORDER BY id"))]
        session.commit()
    engine.dispose()
    return token, ids, len(all_texts)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def workers_of(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [int(c) for c in children]


def serve_and_measure(url: str, token: str, ids: list[int], duration: int) -> dict[str, float]:
    tmp = Path(tempfile.mkdtemp(prefix="mm-bench-"))
    env = {
        **os.environ,
        "MATCHMAKER_DATABASE_URL": url,
        "MATCHMAKER_SECRET_KEY": "bench",
        "MATCHMAKER_WARM_UP": "1",
        "MATCHMAKER_RATE_LIMIT_API": "",
        "MATCHMAKER_RATE_LIMIT_WRITES": "",
        "MATCHMAKER_LOG_LEVEL": "WARNING",
        "MATCHMAKER_INSTANCE_DIR": str(tmp),
        # The built encoder model, as in production (built once, outside the measurement).
        "MATCHMAKER_ENCODER_CACHE": Settings.from_env().encoder_cache,
        "PROMETHEUS_MULTIPROC_DIR": str(tmp / "metrics"),
        "BIND": f"127.0.0.1:{PORT}",
        "WEB_CONCURRENCY": "2",
        "GUNICORN_THREADS": "1",
        "GUNICORN_TIMEOUT": "600",
    }
    started = time.perf_counter()
    server = _gunicorn.start(env, stderr=open(tmp / "gunicorn.log", "w"))  # noqa: SIM115
    try:
        try:
            _, ready = _gunicorn.wait_ready(
                server, f"http://127.0.0.1:{PORT}/readyz", started=started, poll=1.0, limit=3600
            )
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}; see {tmp / 'gunicorn.log'}") from exc
        script = tmp / "matches.lua"
        paths = "{" + ", ".join(f'"/api/v1/challenges/{i}/matches?top=10"' for i in ids) + "}"
        script.write_text(WRK_SCRIPT.format(PATHS=paths, TOKEN=token))
        base = [
            "wrk",
            "-t1",
            "-c2",
            "--timeout",
            "10s",
            "-s",
            str(script),
            f"http://127.0.0.1:{PORT}",
        ]
        subprocess.run([*base[:1], "-d5s", *base[1:]], capture_output=True, check=True)
        out = subprocess.run(
            [*base[:1], f"-d{duration}s", *base[1:]], capture_output=True, text=True, check=True
        ).stdout
        line = next(x for x in out.splitlines() if x.startswith("RESULT"))
        requests, errors, micros, p50, p95, p99 = line.split()[1:]
        rss = [rss_mb(pid) for pid in workers_of(server.pid)]
        return {
            "ready_s": ready,
            "requests": int(requests),
            "errors": int(errors),
            "rps": int(requests) / (int(micros) / 1e6),
            "p50": float(p50),
            "p95": float(p95),
            "p99": float(p99),
            "rss_mb": max(rss) if rss else 0.0,
        }
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(tmp, ignore_errors=True)


def plot(rows: list[dict[str, float]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = [r["groups"] for r in rows]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    for key in ("p50", "p95", "p99"):
        ax1.plot(sizes, [r[key] for r in rows], marker="o", label=key)
    ax1.axhline(50, color="grey", linestyle="--", linewidth=0.8, label="50 ms target")
    ax1.set(xscale="log", xlabel="research groups", ylabel="ms", title="GET matches latency")
    ax1.legend()
    ax2.plot(sizes, [r["rss_mb"] for r in rows], marker="o", label="RSS per worker (MB)")
    ax2.plot(sizes, [r["ready_s"] for r in rows], marker="s", label="start to ready (s)")
    ax2.set(xscale="log", xlabel="research groups", title="memory and warm-up per worker")
    ax2.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,50000")
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument("--plot", default=str(ROOT / "docs" / "benchmarks-serving.png"))
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install wrk")
    settings = Settings.from_env()
    # The service's encoder backend: its model id is the one the workers look vectors up by.
    embedder = settings.make_embedder(threads=1)
    rows = []
    for n in (int(s) for s in args.sizes.split(",")):
        url = fresh_database()
        t = time.perf_counter()
        token, ids, passages = load(url, n, embedder)
        print(f"# {n} groups, {passages} passages loaded in {time.perf_counter() - t:.0f} s",
              file=sys.stderr, flush=True)  # fmt: skip
        result = serve_and_measure(url, token, ids, args.duration)
        rows.append({"groups": n, "passages": passages, **result})
        print(f"# {json.dumps(rows[-1])}", file=sys.stderr, flush=True)
    load_avg = os.getloadavg()
    print(
        f"\n### Match latency over HTTP, gunicorn 2 workers x 1 thread, wrk 2 connections, "
        f"{args.duration} s (load average at the end: {load_avg[0]:.1f})\n"
    )
    print("| Groups | Passages | p50 ms | p95 ms | p99 ms | Requests/s | Errors | "
          "Start to ready s | RSS per worker MB |")  # fmt: skip
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['groups']:,} | {r['passages']:,} | {r['p50']:.1f} | {r['p95']:.1f} | "
            f"{r['p99']:.1f} | {r['rps']:.1f} | {r['errors']} | {r['ready_s']:.0f} | "
            f"{r['rss_mb']:.0f} |"
        )
    if len(rows) > 1:
        plot(rows, Path(args.plot))
        print(f"\nPlot: {Path(args.plot).relative_to(ROOT)}")


if __name__ == "__main__":
    main()
