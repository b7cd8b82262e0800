"""Console entry points: ``matchmaker <command>``."""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

import click

from matchmaker.config import PROJECT_ROOT, Settings


def _app():  # type: ignore[no-untyped-def]
    from matchmaker import create_app

    return create_app(Settings.from_env())


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


def _demo_users(app) -> None:  # type: ignore[no-untyped-def]
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
    try:
        from matchmaker.ranking.cli import evaluate_command, rank_command
    except ImportError:  # the ranking CLI is optional while it is being built
        return
    main.add_command(rank_command, "rank")
    main.add_command(evaluate_command, "evaluate")


_register_ranking_commands()
