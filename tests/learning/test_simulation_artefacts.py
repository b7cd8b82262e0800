"""The replay's artefacts say what docs/ranking.md says: the learned scorer ends above the formula."""

from __future__ import annotations

import json

from matchmaker.config import PROJECT_ROOT
from matchmaker.ranking import learn

SIMULATION = PROJECT_ROOT / "models" / "simulation"


def test_the_committed_learning_curve_rises_above_the_formula() -> None:
    curve = json.loads((SIMULATION / "learning-curve.json").read_text())["reaches_target"]
    points = curve["points"]
    assert points[0]["decisions"] == 0 and points[0]["learned"] is None
    assert all(p["decisions"] % curve["step"] == 0 for p in points)
    last = points[-1]
    assert last["learned"] > last["formula"] and last["service"] > last["formula"]
    assert last["learned"] <= curve["ceiling"]


def test_the_simulation_model_has_its_metadata_and_loads() -> None:
    meta = learn.read_metadata(SIMULATION)
    assert meta is not None
    assert {"trained_at", "decisions", "features", "cv_metrics", "beats_formula"} <= set(meta)
    assert meta["features"] == list(learn.FEATURES)
    model = learn.load(SIMULATION)
    assert model.kind_ == meta["model"]


def test_the_ranking_guide_shows_the_curve() -> None:
    guide = (PROJECT_ROOT / "docs" / "ranking.md").read_text()
    section = guide.split("## Learning from decisions", 1)[1]
    assert "learning-curve.png" in section and "| Decisions |" in section
    assert (PROJECT_ROOT / "docs" / "learning-curve.png").stat().st_size > 10_000
