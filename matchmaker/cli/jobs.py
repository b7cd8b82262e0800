"""Commands for the background work: bulk import, re-embedding, the job worker."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from matchmaker.cli.common import command_app


def _follow(app: Any, job_id: int, label: str, background: bool) -> dict[str, Any]:
    """Run a job here with a progress bar, or queue it and draw its progress until it ends."""
    import contextlib
    import time

    from matchmaker import jobs

    with click.progressbar(length=1, label=label, show_pos=True) as bar:

        def draw(done: int, total: int) -> None:
            bar.length = max(total, 1)
            bar.update(done - bar.pos)

        if not background or not app.extensions["matchmaker.settings"].redis_url:
            with contextlib.suppress(Exception):  # recorded on the job; reported below
                jobs.run_job(app, job_id, progress=draw)
        else:
            jobs.submit(app, job_id)
            while True:
                with app.extensions["matchmaker.sessionmaker"]() as session:
                    out = jobs.job_out(session.get(jobs.Job, job_id))
                if out["total"]:
                    draw(out["done"], out["total"])
                if out["status"] in ("finished", "failed"):
                    break
                time.sleep(0.5)
    with app.extensions["matchmaker.sessionmaker"]() as session:
        return jobs.job_out(session.get(jobs.Job, job_id))


def _report(out: dict[str, Any]) -> None:
    if out["status"] == "finished":
        click.echo(", ".join(f"{k} {v}" for k, v in out["result"].items()))
        return
    click.echo(f"job {out['id']} failed: {out['error']}", err=True)
    for error in out["result"].get("errors", [])[:20]:
        click.echo(f"  line {error['line']}: {error['field']}: {error['message']}", err=True)
    sys.exit(1)


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--kind",
    type=click.Choice(["groups", "challenges", "publications"]),
    default=None,
    help="What the file holds (detected from its first row if absent).",
)
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default=None)
@click.option(
    "--background",
    is_flag=True,
    help="Queue it for `matchmaker worker` (needs MATCHMAKER_REDIS_URL) and follow its progress.",
)
def import_command(file: Path, kind: str | None, fmt: str | None, background: bool) -> None:
    """Import research groups, publications or challenges from a CSV or JSONL FILE.

    All or nothing: an invalid row imports nothing. Rows are keyed by their `key` column, so
    importing the file again updates instead of duplicating.
    """
    from matchmaker import imports, jobs
    from matchmaker.db import session_scope

    text = file.read_text(encoding="utf-8")
    try:
        import_kind, rows = imports.parse(text, kind, fmt, file.name)
    except imports.ImportInvalid as exc:
        click.echo(f"{file.name}: {exc}", err=True)
        for error in exc.errors[:20]:
            click.echo(f"  line {error['line']}: {error['field']}: {error['message']}", err=True)
        sys.exit(1)
    app = command_app()
    with session_scope(app) as session:
        job = jobs.create_job(
            session,
            jobs.JobKind.IMPORT,
            {
                "kind": import_kind.value,
                "format": fmt or imports.detect_format(text, file.name),
                "filename": file.name,
                "rows": len(rows),
            },
            payload=text,
        )
        job_id = job.id
    click.echo(f"job {job_id}: importing {len(rows)} {import_kind.value} from {file.name}")
    _report(_follow(app, job_id, "encoding passages", background))


@click.command("reembed")
@click.option("--prune", is_flag=True, help="Also delete stored vectors of other models.")
@click.option("--background", is_flag=True, help="Queue it for `matchmaker worker`.")
def reembed_command(prune: bool, background: bool) -> None:
    """Encode every passage the store lacks for the configured model (after a model change)."""
    from matchmaker import jobs
    from matchmaker.db import session_scope

    app = command_app()
    with session_scope(app) as session:
        job_id = jobs.create_job(session, jobs.JobKind.REEMBED, {"prune": prune}).id
    _report(_follow(app, job_id, "encoding passages", background))


@click.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
def worker_command(burst: bool) -> None:
    """Run background jobs from Redis (MATCHMAKER_REDIS_URL) until stopped."""
    from matchmaker import worker

    app = command_app()
    if not app.extensions["matchmaker.settings"].redis_url:
        click.echo("MATCHMAKER_REDIS_URL is not set: jobs run in the web process", err=True)
        sys.exit(2)
    worker.run_worker(app, burst=burst)
