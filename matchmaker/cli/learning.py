"""Commands for learning from the office's decisions (issue 7): training and the replay."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from matchmaker.cli.common import command_app
from matchmaker.ranking.cli import data_option, folder_option


@click.command("learn")
@folder_option("--out", "Folder for reranker.joblib and reranker.json (default models/).")
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

    app = command_app()
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


@click.command("simulate")
@data_option()
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
@folder_option(
    "--out", "Folder for the curve (JSON) and the final model (default models/simulation/)."
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
