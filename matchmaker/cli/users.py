"""Commands for the people who sign in: creating users, the demo sign-ins."""

from __future__ import annotations

import secrets
import sys
from typing import Any

import click

from matchmaker.cli.common import command_app


@click.command("create-user")
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
    from matchmaker.db import session_scope
    from matchmaker.errors import DomainError

    app = command_app()
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
    except DomainError as exc:
        click.echo(f"error: {exc.detail}", err=True)
        sys.exit(2)
    click.echo(f"created {role} user {user.email} (id {user.id})")
    click.echo(token)


def write_demo_users(app: Any) -> None:
    """One sign-in per role with a random password, written to the instance folder."""
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
