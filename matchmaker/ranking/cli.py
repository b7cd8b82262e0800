"""Click commands of the ranking core: ``matchmaker rank`` and ``matchmaker evaluate``.

The lead registers them in the ``matchmaker`` console group.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from matchmaker.ranking.batch import InputError, rank_batch, read_profiles, write_jsonl_atomic
from matchmaker.ranking.embed import SentenceTransformerEmbedder


def _embedder() -> SentenceTransformerEmbedder:
    from matchmaker.config import Settings

    settings = Settings.from_env()
    return SentenceTransformerEmbedder(settings.embedding_model, threads=settings.torch_threads)


def _top(ctx: click.Context, param: click.Parameter, value: str) -> int | None:
    if value.lower() == "all":
        return None
    try:
        top = int(value)
    except ValueError:
        raise click.BadParameter("must be a positive whole number or 'all'") from None
    if top < 1:
        raise click.BadParameter("must be a positive whole number or 'all'")
    return top


def _strategy(
    ctx: click.Context, param: click.Parameter, value: tuple[str, ...]
) -> dict[str, float]:
    from matchmaker.fields import FIELD_KEYS

    weights: dict[str, float] = {}
    for item in value:
        key, _, weight = item.partition("=")
        if key not in FIELD_KEYS:
            raise click.BadParameter(f"unknown field of action {key!r}")
        try:
            weights[key] = float(weight)
        except ValueError:
            raise click.BadParameter(f"{item!r}: weight must be a number in [0, 1]") from None
        if not 0 <= weights[key] <= 1:
            raise click.BadParameter(f"{item!r}: weight must be in [0, 1]")
    return weights


_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.command("rank")
@click.option("--queries", required=True, type=_FILE, help="JSON lines: the profiles to rank for.")
@click.option("--candidates", required=True, type=_FILE, help="JSON lines: the profiles to rank.")
@click.option("--top", default="10", callback=_top, help="Matches per query: a number or 'all'.")
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), help="Output file (default stdout)."
)
@click.option(
    "--strategy",
    multiple=True,
    callback=_strategy,
    metavar="FIELD=WEIGHT",
    help="The office's weight of a field of action in [0, 1] (default 1); repeatable.",
)
def rank_command(
    queries: Path, candidates: Path, top: int | None, out: Path | None, strategy: dict[str, float]
) -> None:
    """Rank candidates for each query profile (JSON lines in, JSON lines out; no server)."""
    try:
        query_profiles = read_profiles(queries)
        candidate_profiles = read_profiles(candidates)
    except InputError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)
    embedder = _embedder()
    records = rank_batch(query_profiles, candidate_profiles, embedder, top=top, strategy=strategy)
    if out is None:
        for record in records:
            click.echo(json.dumps(record, ensure_ascii=False))
    else:
        count = write_jsonl_atomic(out, records)
        click.echo(f"{count} matches written to {out}", err=True)


@click.command("evaluate")
@click.option(
    "--data",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="Folder with challenges.jsonl, groups.jsonl, judgements.jsonl (default seed_data/).",
)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Also write here.")
def evaluate_command(data: Path | None, out: Path | None) -> None:
    """Print nDCG@5, nDCG@10, MRR and Recall@10 on the labelled set for each configuration."""
    from matchmaker.config import PROJECT_ROOT
    from matchmaker.ranking.evaluate import Evaluation, report
    from matchmaker.ranking.seed import load_seed

    folder = data or PROJECT_ROOT / "seed_data"
    if not (folder / "judgements.jsonl").exists():
        click.echo(f"Error: {folder / 'judgements.jsonl'} not found", err=True)
        sys.exit(2)
    seed = load_seed(folder)
    evaluation = Evaluation.prepare(seed, _embedder(), show_progress=sys.stderr.isatty())
    table = report(evaluation)
    click.echo(table, nl=False)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(table, encoding="utf-8")
