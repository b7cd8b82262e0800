"""Console entry points: ``matchmaker <command>``.

The group lives here; each area's commands live in their own module and are registered below.
"""

from __future__ import annotations

import click

from matchmaker.cli import database, jobs, learning, users
from matchmaker.cli.database import run_migrations
from matchmaker.ranking.cli import evaluate_command, rank_command

__all__ = ["main", "run_migrations"]


@click.group()
@click.version_option(package_name="matchmaker")
def main() -> None:
    """Matchmaker: industry–research matchmaking for Hamburg's climate-friendly production."""


for command in (
    database.migrate,
    database.seed,
    users.create_user_command,
    rank_command,
    evaluate_command,
    jobs.import_command,
    jobs.reembed_command,
    jobs.worker_command,
    learning.learn_command,
    learning.simulate_command,
    database.export_command,
    database.import_dump_command,
    database.erase_organisation_command,
):
    main.add_command(command)
