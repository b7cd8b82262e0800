"""Click commands of the ranking core: ``matchmaker rank`` and ``matchmaker evaluate``.

The lead registers them in the ``matchmaker`` console group.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from matchmaker.ranking.batch import InputError, rank_batch, read_profiles, write_jsonl_atomic
from matchmaker.ranking.dictionary import Dictionary, open_dictionary
from matchmaker.ranking.embed import Embedder

#: Largest |nDCG@10 - torch fp32| and smallest mean cosine to torch fp32 a default backend may have.
GATE_NDCG = 0.005
GATE_COSINE = 0.999

F = TypeVar("F", bound=Callable[..., Any])


def _embedder(backend: str | None = None) -> Embedder:
    """The configured model run by ``backend`` (default ``MATCHMAKER_ENCODER_BACKEND``), exactly
    as the service runs it: exported backends come from the cache under ``instance/encoders``."""
    from matchmaker.config import Settings

    return Settings.from_env().make_embedder(backend=backend)


def _dictionary() -> Dictionary | None:
    """The German–English dictionary as the service opens it (None where not installed)."""
    from matchmaker.config import Settings

    settings = Settings.from_env()
    return open_dictionary(settings.dictionary, Path(settings.encoder_cache))


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
    records = rank_batch(
        query_profiles,
        candidate_profiles,
        embedder,
        top=top,
        strategy=strategy,
        dictionary=_dictionary(),
    )
    if out is None:
        for record in records:
            click.echo(json.dumps(record, ensure_ascii=False))
    else:
        count = write_jsonl_atomic(out, records)
        click.echo(f"{count} matches written to {out}", err=True)


def _backends(
    ctx: click.Context, param: click.Parameter, value: tuple[str, ...]
) -> list[str | None]:
    from matchmaker.ranking.encoders import BACKENDS

    chosen: list[str | None] = []
    for item in value:
        for name in item.split(","):
            name = name.strip()
            if name == "all":
                chosen += [b for b in BACKENDS if b not in chosen]
            elif name not in BACKENDS:
                raise click.BadParameter(
                    f"unknown encoder backend {name!r}; valid: {', '.join(BACKENDS)}, all"
                )
            elif name not in chosen:
                chosen.append(name)
    return chosen or [None]


def data_option() -> Callable[[F], F]:
    """``--data``: the folder of a labelled set (default ``seed_data/``)."""
    return click.option(
        "--data",
        type=click.Path(exists=True, file_okay=False, path_type=Path),
        default=None,
        help="Folder with challenges.jsonl, groups.jsonl, judgements.jsonl (default seed_data/).",
    )


def folder_option(name: str, help: str) -> Callable[[F], F]:
    """An optional output folder ``name`` (``--out``)."""
    return click.option(
        name, type=click.Path(file_okay=False, path_type=Path), default=None, help=help
    )


@click.command("evaluate")
@data_option()
@click.option(
    "--backend",
    "backends",
    multiple=True,
    callback=_backends,
    metavar="NAME",
    help="Encoder backend(s) to evaluate, repeatable or comma-separated, or 'all' "
    "(default: MATCHMAKER_ENCODER_BACKEND alone). Naming a backend other than torch adds torch "
    "fp32 as the reference and the quality gate table.",
)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Also write here.")
def evaluate_command(data: Path | None, backends: list[str | None], out: Path | None) -> None:
    """Print nDCG@5, nDCG@10, MRR and Recall@10 on the labelled set for each configuration
    (and, for several encoder backends, each backend's table and the quality gate)."""
    from matchmaker.config import PROJECT_ROOT
    from matchmaker.ranking.evaluate import Evaluation, gate_table, report, translation_report
    from matchmaker.ranking.seed import load_seed, load_translated
    from matchmaker.ranking.store import MemoryVectorStore

    folder = data or PROJECT_ROOT / "seed_data"
    if not (folder / "judgements.jsonl").exists():
        click.echo(f"Error: {folder / 'judgements.jsonl'} not found", err=True)
        sys.exit(2)
    seed = load_seed(folder)
    try:
        translated = load_translated(folder, seed)
    except ValueError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)
    if backends != [None] and "torch" not in backends:
        backends = ["torch", *backends]  # the reference of the quality gate
    evaluations: dict[str, Evaluation] = {}
    parts: list[str] = []
    for backend in backends:
        try:
            embedder = _embedder(backend)
        except ImportError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(2)
        store = MemoryVectorStore()  # the groups are embedded once for both sets
        progress = sys.stderr.isatty()
        dictionary = _dictionary()
        evaluation = Evaluation.prepare(seed, embedder, store, progress, dictionary)
        evaluations[backend or embedder.model_id] = evaluation
        heading = "" if len(backends) == 1 else f"## Encoder backend `{backend}`\n\n"
        parts.append(heading + f"Model: `{embedder.model_id}`. " + report(evaluation))
        if translated is not None:
            other = Evaluation.prepare(translated[0], embedder, store, progress, dictionary)
            parts.append("\n" + translation_report(evaluation, other, translated[1]) + "\n")
    if len(backends) > 1:
        parts.append(
            "## Quality gate (default backend: |Δ nDCG@10| ≤ "
            f"{GATE_NDCG} and mean cosine ≥ {GATE_COSINE} against torch fp32)\n\n"
            + gate_table(evaluations, "torch", GATE_NDCG, GATE_COSINE)
        )
    table = "\n".join(parts)
    click.echo(table, nl=False)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(table, encoding="utf-8")
