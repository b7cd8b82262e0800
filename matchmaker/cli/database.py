"""Commands for the database: its schema, the sample data, dumps and erasure."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from matchmaker.cli.common import command_app
from matchmaker.cli.users import write_demo_users
from matchmaker.config import PROJECT_ROOT, Settings


def run_migrations(database_url: str, revision: str = "heads") -> None:
    """Apply Alembic migrations to ``database_url``."""
    from alembic import command
    from alembic.config import Config

    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    command.upgrade(cfg, revision)


@click.command()
def migrate() -> None:
    """Create or upgrade the database schema (Alembic ``upgrade head``)."""
    settings = Settings.from_env()
    if settings.database_url.startswith("sqlite:///"):
        Path(settings.database_url.removeprefix("sqlite:///")).parent.mkdir(
            parents=True, exist_ok=True
        )
    run_migrations(settings.database_url)
    click.echo("database is at the newest schema")


@click.command()
@click.option(
    "--demo-users/--no-demo-users",
    default=False,
    help="Also create one sign-in per role with a random password (local demo only).",
)
def seed(demo_users: bool) -> None:
    """Load the sample data (idempotent: records loaded before are skipped)."""
    from matchmaker.db import session_scope
    from matchmaker.seed import load_sample_data

    app = command_app()
    with session_scope(app) as session:
        added = load_sample_data(session)
    click.echo("sample data: " + ", ".join(f"{v} {k} added" for k, v in added.items()))
    if demo_users:
        write_demo_users(app)


# --- data ownership: export, import, erase (matchmaker/dump.py) --------------------------------


@click.command("export")
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


@click.command("import-dump")
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


@click.command("erase-organisation")
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

    app = command_app()
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
