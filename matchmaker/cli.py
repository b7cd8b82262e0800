"""Console entry points: ``matchmaker <command>``."""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

import click

from matchmaker.config import PROJECT_ROOT, Settings


def _app() -> Any:
    """The app of a command: the environment's settings, but never the web workers' warm-up
    (a command that ends while a warm-up thread is inside the encoder runtime aborts)."""
    from dataclasses import replace

    from matchmaker import create_app

    return create_app(replace(Settings.from_env(), warm_up=False))


@click.group()
@click.version_option(package_name="matchmaker")
def main() -> None:
    """Matchmaker: industry–research matchmaking for Hamburg's climate-friendly production."""


def run_migrations(database_url: str, revision: str = "heads") -> None:
    """Apply Alembic migrations to ``database_url``."""
    from alembic import command
    from alembic.config import Config

    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    command.upgrade(cfg, revision)


@main.command()
def migrate() -> None:
    """Create or upgrade the database schema (Alembic ``upgrade head``)."""
    settings = Settings.from_env()
    if settings.database_url.startswith("sqlite:///"):
        Path(settings.database_url.removeprefix("sqlite:///")).parent.mkdir(
            parents=True, exist_ok=True
        )
    run_migrations(settings.database_url)
    click.echo("database is at the newest schema")


@main.command()
@click.option(
    "--demo-users/--no-demo-users",
    default=False,
    help="Also create one sign-in per role with a random password (local demo only).",
)
def seed(demo_users: bool) -> None:
    """Load the sample data (idempotent: records loaded before are skipped)."""
    from matchmaker.db import session_scope
    from matchmaker.seed import load_sample_data

    app = _app()
    with session_scope(app) as session:
        added = load_sample_data(session)
    click.echo("sample data: " + ", ".join(f"{v} {k} added" for k, v in added.items()))
    if demo_users:
        _demo_users(app)


def _demo_users(app: Any) -> None:
    from sqlalchemy import select

    from matchmaker.accounts.models import Role, User
    from matchmaker.accounts.service import create_user, issue_token
    from matchmaker.config import INSTANCE_DIR
    from matchmaker.db import session_scope
    from matchmaker.groups.models import ResearchGroup
    from matchmaker.organisations.models import Organisation, OrganisationKind

    path = INSTANCE_DIR / "demo-credentials.txt"
    with session_scope(app) as session:
        if session.scalar(select(User).where(User.email == "office@demo.example")) is not None:
            click.echo(f"demo users exist already; credentials in {path}")
            return
        company = session.scalar(
            select(Organisation)
            .where(Organisation.kind == OrganisationKind.COMPANY)
            .order_by(Organisation.id)
        )
        group = session.scalar(select(ResearchGroup).order_by(ResearchGroup.id))
        lines = [
            "# Local demo sign-ins, made by `matchmaker seed --demo-users`. Not for production.\n"
        ]
        for email, role, org, group_id in [
            ("office@demo.example", Role.OFFICE, None, None),
            ("admin@demo.example", Role.ADMIN, None, None),
            ("company@demo.example", Role.COMPANY, company.name if company else None, None),
            (
                "group@demo.example",
                Role.GROUP,
                group.institution.name if group else None,
                group.id if group else None,
            ),
        ]:
            password = secrets.token_urlsafe(9)
            user = create_user(
                session,
                email=email,
                role=role,
                organisation=org,
                password=password,
                group_id=group_id,
            )
            token = issue_token(session, user, "demo")
            lines.append(f"{role.value:8} {email:24} password {password}  token {token}\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(lines))
    path.chmod(0o600)
    click.echo(f"demo sign-ins written to {path}")


@main.command("create-user")
@click.option("--email", required=True)
@click.option("--role", required=True, type=click.Choice(["company", "group", "office", "admin"]))
@click.option(
    "--organisation", default=None, help="Company or institution name (company and group users)."
)
@click.option("--password", default=None, help="Password for signing in to the pages (optional).")
@click.option("--group-id", type=int, default=None, help="The research group a group user edits.")
def create_user_command(
    email: str, role: str, organisation: str | None, password: str | None, group_id: int | None
) -> None:
    """Create a user; prints a new API token on the last line."""
    from matchmaker.accounts.models import Role
    from matchmaker.accounts.service import create_user, issue_token
    from matchmaker.api.problems import Problem
    from matchmaker.db import session_scope

    app = _app()
    try:
        with session_scope(app) as session:
            user = create_user(
                session,
                email=email,
                role=Role(role),
                organisation=organisation,
                password=password,
                group_id=group_id,
            )
            token = issue_token(session, user, "created by create-user")
    except Problem as exc:
        click.echo(f"error: {exc.detail or exc.title}", err=True)
        sys.exit(2)
    click.echo(f"created {role} user {user.email} (id {user.id})")
    click.echo(token)


def _register_ranking_commands() -> None:
    from matchmaker.ranking.cli import evaluate_command, rank_command

    main.add_command(rank_command, "rank")
    main.add_command(evaluate_command, "evaluate")


_register_ranking_commands()


# --- production: bulk import, re-embedding, the job worker -----------------------------------

from typing import Any  # noqa: E402


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


@main.command("import")
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
    app = _app()
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


@main.command("reembed")
@click.option("--prune", is_flag=True, help="Also delete stored vectors of other models.")
@click.option("--background", is_flag=True, help="Queue it for `matchmaker worker`.")
def reembed_command(prune: bool, background: bool) -> None:
    """Encode every passage the store lacks for the configured model (after a model change)."""
    from matchmaker import jobs
    from matchmaker.db import session_scope

    app = _app()
    with session_scope(app) as session:
        job_id = jobs.create_job(session, jobs.JobKind.REEMBED, {"prune": prune}).id
    _report(_follow(app, job_id, "encoding passages", background))


@main.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
def worker_command(burst: bool) -> None:
    """Run background jobs from Redis (MATCHMAKER_REDIS_URL) until stopped."""
    from matchmaker import worker

    app = _app()
    if not app.extensions["matchmaker.settings"].redis_url:
        click.echo("MATCHMAKER_REDIS_URL is not set: jobs run in the web process", err=True)
        sys.exit(2)
    worker.run_worker(app, burst=burst)


# --- learning from decisions (issue 7) ----------------------------------------------------------


@main.command("learn")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for reranker.joblib and reranker.json (default models/).",
)
@click.option(
    "--min-decisions",
    type=click.IntRange(min=1),
    default=None,
    help="Labelled decisions needed before the model may replace the formula (default 50).",
)
def learn_command(out: Path | None, min_decisions: int | None) -> None:
    """Train the re-ranker on the office's decisions; it is used only if it beats the formula."""
    from matchmaker.db import session_scope
    from matchmaker.learning import service as learning
    from matchmaker.ranking import learn

    app = _app()
    directory = out or learning.models_dir(app.extensions["matchmaker.settings"])
    try:
        with session_scope(app) as session:
            model = learning.train(
                session, directory, min_decisions=min_decisions or learn.MIN_DECISIONS
            )
    except learn.NotEnoughDecisions as exc:
        click.echo(f"error: {exc}; the formula stands", err=True)
        sys.exit(2)
    meta = model.metadata()
    click.echo(
        f"trained on {meta['examples']} decided pairs ({meta['decisions']} decisions, "
        f"{meta['taken_forward']} taken forward, {meta['challenges']} challenges)"
    )
    click.echo("cross-validated on held-out challenges (ROC AUC / average precision):")
    for name, m in meta["cv_metrics"].items():
        mark = "  <- chosen" if name == meta["model"] else ""
        click.echo(f"  {name:22} {m['roc_auc']:.3f} / {m['average_precision']:.3f}{mark}")
    click.echo(f"the learned model {meta['verdict']}")
    click.echo(f"saved to {directory / learn.MODEL_FILE} and {directory / learn.METADATA_FILE}")


@main.command("simulate")
@click.option(
    "--data",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="Folder with challenges.jsonl, groups.jsonl, judgements.jsonl (default seed_data/).",
)
@click.option(
    "--preference",
    type=click.Choice(["reaches_target", "relevance_only"]),
    default="reaches_target",
    help="The hidden office's preference (relevance_only is the control).",
)
@click.option("--step", type=click.IntRange(min=5), default=25, help="Retrain every N decisions.")
@click.option("--k", type=click.IntRange(min=1), default=5, help="Proposals per challenge; P@k.")
@click.option("--rounds", type=click.IntRange(min=1), default=2, help="Review rounds.")
@click.option("--splits", type=click.IntRange(min=1), default=3, help="Random held-out splits.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for the curve (JSON) and the final model (default models/simulation/).",
)
@click.option(
    "--plot",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also draw the learning curve as a PNG here.",
)
@click.option(
    "--control/--no-control",
    default=False,
    help="Also replay the control office (relevance only) and draw it.",
)
def simulate_command(
    data: Path | None,
    preference: str,
    step: int,
    k: int,
    rounds: int,
    splits: int,
    out: Path | None,
    plot: Path | None,
    control: bool,
) -> None:
    """Replay an office with a hidden preference over the sample data and print the learning
    curve: precision@k on held-out challenges, formula vs learned, retraining every N decisions."""
    import json

    from matchmaker.config import PROJECT_ROOT
    from matchmaker.ranking import learn
    from matchmaker.ranking.cli import _embedder
    from matchmaker.ranking.seed import load_seed

    folder = data or PROJECT_ROOT / "seed_data"
    if not (folder / "judgements.jsonl").exists():
        click.echo(f"Error: {folder / 'judgements.jsonl'} not found", err=True)
        sys.exit(2)
    seed = load_seed(folder)
    click.echo("embedding the sample data ...", err=True)
    X = learn.seed_features(seed.challenges, seed.groups, _embedder())
    preferences = [preference] + (
        ["relevance_only"] if control and preference != "relevance_only" else []
    )
    results: dict[str, learn.Replay] = {}
    for name in preferences:
        accept = learn.hidden_office(seed.judgements, seed.challenges, seed.groups, name)
        click.echo(f"replaying the office that accepts: {learn.HIDDEN_PREFERENCES[name]}", err=True)
        results[name] = learn.replay(X, accept, step=step, k=k, rounds=rounds, splits=splits)
    folder_out = out or PROJECT_ROOT / "models" / "simulation"
    folder_out.mkdir(parents=True, exist_ok=True)
    report = {
        name: {
            "preference": learn.HIDDEN_PREFERENCES[name],
            "step": step,
            "k": k,
            "rounds": rounds,
            "splits": splits,
            "held_out_challenges": r.held_out,
            "train_challenges": r.train,
            "ceiling": round(r.ceiling, 4),
            "points": [
                {
                    "decisions": p.decisions,
                    "formula": round(p.formula, 4),
                    "learned": None if p.learned is None else round(p.learned, 4),
                    "service": round(p.active, 4),
                    "switched_on": round(p.eligible, 4),
                    "model": p.model,
                }
                for p in r.points
            ],
        }
        for name, r in results.items()
    }
    (folder_out / "learning-curve.json").write_text(
        json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    main_result = results[preference]
    if main_result.final_model is not None:
        learn.save(main_result.final_model, folder_out)
    for name, r in results.items():
        click.echo(f"\nHidden office: {learn.HIDDEN_PREFERENCES[name]}")
        click.echo(
            f"{r.train} challenges decided on, {r.held_out} held out, {r.splits} splits; "
            f"a perfect ranker reaches P@{k} = {r.ceiling:.3f}\n"
        )
        click.echo(learn.curve_table(r, k))
    if plot is not None:
        _plot_curve(results, preference, k, plot)
        click.echo(f"\nplot written to {plot}", err=True)
    click.echo(f"curve and final model written to {folder_out}", err=True)


def _plot_curve(results: dict, preference: str, k: int, path: Path) -> None:
    """One panel per hidden office: formula, learned re-ranker, the gated service, the ceiling."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [preference, *(n for n in results if n != preference)]
    fig, axes = plt.subplots(1, len(names), figsize=(5.5 * len(names), 4), dpi=110, squeeze=False)
    for ax, name in zip(axes[0], names, strict=True):
        r = results[name]
        xs = [p.decisions for p in r.points]
        learned = [(p.decisions, p.learned) for p in r.points if p.learned is not None]
        ax.plot(xs, [p.formula for p in r.points], "k--", label="formula")
        ax.plot(*zip(*learned, strict=True), "o-", color="tab:blue", label="learned re-ranker")
        ax.plot(xs, [p.active for p in r.points], ":", color="tab:green", lw=2, label="service")
        ax.axhline(r.ceiling, color="grey", lw=0.8, label="perfect ranker")
        ax.set_title(
            "hidden preference: TRL range reaches target"
            if name == "reaches_target"
            else "control: topic only (no hidden preference)",
            fontsize=10,
        )
        ax.set_xlabel("decisions by the office")
        ax.set_ylabel(f"precision@{k}, held-out challenges")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


# --- data ownership: export, import, erase (matchmaker/dump.py) --------------------------------


@main.command("export")
@click.argument("path", type=click.Path(dir_okay=False, allow_dash=True))
def export_command(path: str) -> None:
    """Write the whole database as JSON to PATH ('-' for standard output)."""
    from matchmaker.db import make_engine
    from matchmaker.dump import export_database

    engine = make_engine(Settings.from_env())
    try:
        if path == "-":
            counts = export_database(engine, sys.stdout)
        else:
            target = Path(path)
            partial = target.with_name(target.name + ".partial")
            with partial.open("w", encoding="utf-8") as out:
                counts = export_database(engine, out)
            partial.chmod(0o600)  # it holds personal data and confidential details
            partial.replace(target)  # a finished file or none: never half a dump
    finally:
        engine.dispose()
    click.echo(f"exported {sum(counts.values())} rows of {len(counts)} tables", err=path == "-")


@main.command("import-dump")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("--replace", is_flag=True, help="Delete everything in the database first.")
def import_dump_command(path: str, replace: bool) -> None:
    """Load a dump made by `matchmaker export` into a migrated database (all or nothing)."""
    from matchmaker.db import make_engine
    from matchmaker.dump import DumpError, import_database, read_dump

    engine = make_engine(Settings.from_env())
    try:
        with click.open_file(path, encoding="utf-8") as source:
            dump = read_dump(source)
        counts = import_database(engine, dump, replace=replace)
    except DumpError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    finally:
        engine.dispose()
    click.echo(f"imported {sum(counts.values())} rows of {len(counts)} tables")


@main.command("erase-organisation")
@click.argument("organisation_id", type=int)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option(
    "--keep-embeddings",
    is_flag=True,
    help="Skip pruning stored embeddings of the erased texts (prune later with a re-embedding).",
)
def erase_organisation_command(organisation_id: int, yes: bool, keep_embeddings: bool) -> None:
    """Erase an organisation's personal data and texts (GDPR), keeping anonymised statistics."""
    from matchmaker.db import session_scope
    from matchmaker.dump import erase_organisation
    from matchmaker.organisations.models import Organisation

    app = _app()
    with session_scope(app) as session:
        org = session.get(Organisation, organisation_id)
        if org is None:
            click.echo(f"error: organisation {organisation_id} does not exist", err=True)
            sys.exit(2)
        name = org.name
    if not yes:
        click.confirm(f"Erase {name!r} (id {organisation_id}) for good?", abort=True)
    with session_scope(app) as session:
        counts = erase_organisation(session, organisation_id)
    click.echo(
        f"erased organisation {organisation_id}: "
        + ", ".join(f"{n} {what}" for what, n in counts.items())
    )
    if not keep_embeddings:
        from matchmaker.matching.background import reembed

        result = reembed(app, prune=True)
        click.echo(f"embeddings pruned: {result}")
