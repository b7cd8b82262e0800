from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from matchmaker.ranking import cli
from matchmaker.ranking.embed import SentenceTransformerEmbedder
from matchmaker.ranking.evaluate import (
    metrics_for_scores,
    ndcg_at_k,
    recall_at_k,
    reciprocal_rank,
)
from matchmaker.ranking.seed import load_seed, load_translated

from .conftest import DATA

SEED = DATA / "seed"


def test_ndcg_is_one_for_the_ideal_order_and_lower_otherwise() -> None:
    assert ndcg_at_k([3, 2, 0], [3, 2, 0], 5) == pytest.approx(1.0)
    assert ndcg_at_k([0, 2, 3], [3, 2, 0], 5) < ndcg_at_k([2, 3, 0], [3, 2, 0], 5) < 1.0
    assert ndcg_at_k([0, 0, 0, 0, 0, 3], [3], 5) == 0.0
    # (2**3 - 1) / log2(3) against the ideal 7 / log2(2).
    assert ndcg_at_k([0, 3], [3], 5) == pytest.approx(1 / np.log2(3))


def test_mrr_and_recall_count_relevance_two_and_above() -> None:
    assert reciprocal_rank([1, 0, 2, 3]) == pytest.approx(1 / 3)
    assert reciprocal_rank([1, 1]) == 0.0
    assert recall_at_k([3, 0, 2], [3, 2, 2, 1], 2) == pytest.approx(1 / 3)


def test_unjudged_groups_count_as_irrelevant() -> None:
    scores = np.array([[0.9, 0.8, 0.1]])
    m = metrics_for_scores(scores, ["c"], ["unjudged", "g2", "g3"], {"c": {"g2": 3, "g3": 0}})
    assert m["MRR"] == pytest.approx(0.5)


def test_seed_records_become_profiles_without_confidential_text() -> None:
    data = load_seed(SEED)
    steam = next(c for c in data.challenges if c.id == "ch-steam")
    assert "SECRET" not in steam.title + steam.text
    assert (steam.trl, steam.trl_target, steam.fields) == (5, 7, ("energy_efficiency",))
    heat = next(g for g in data.groups if g.id == "gr-heat")
    assert heat.text.startswith("We design industrial heat pumps")
    titles = [d.title for d in heat.documents]
    assert titles == ["Methods and keywords", "High-temperature heat pumps for steam supply"]
    assert "Keywords: heat pump, steam, waste heat." in heat.documents[0].text
    assert (heat.trl_min, heat.trl_max, heat.capacity, heat.institution) == (4, 7, 2, "tuhh")
    assert data.judgements["ch-steam"] == {"gr-heat": 3, "gr-ml": 1}


def test_evaluate_prints_the_table_and_writes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, embedder: SentenceTransformerEmbedder
) -> None:
    monkeypatch.setattr(cli, "_embedder", lambda backend=None: embedder)
    out = tmp_path / "evaluation.md"
    result = CliRunner().invoke(cli.evaluate_command, ["--data", str(SEED), "--out", str(out)])
    assert result.exit_code == 0, result.output
    table = result.stdout
    assert out.read_text() == table
    assert "| Configuration | nDCG@5 | nDCG@10 | MRR | Recall@10 |" in table
    for row in ("lexical only", "semantic only", "full formula (default)", "full − semantic"):
        assert f"| {row} |" in table
    assert "3 judged challenges, 4 groups, 6 judged pairs" in table
    # Each challenge of this tiny set has an obvious best group.
    full = next(line for line in table.splitlines() if line.startswith("| full formula"))
    assert full.split("|")[4].strip() == "1.000"  # MRR


def test_evaluate_several_backends_adds_the_quality_gate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, embedder: SentenceTransformerEmbedder
) -> None:
    pytest.importorskip("openvino")
    from matchmaker.ranking.encoders import make_embedder

    # Both backends of one model (the English one: its export builds in seconds).
    openvino = make_embedder(backend="openvino", cache_dir=tmp_path / "encoders", threads=1)
    torch = make_embedder(backend="torch", cache_dir=tmp_path / "encoders", threads=1)
    chosen = {"torch": torch, "openvino": openvino}
    monkeypatch.setattr(cli, "_embedder", lambda backend=None: chosen[backend])
    # torch, the gate's reference, is added when not asked for.
    result = CliRunner().invoke(
        cli.evaluate_command, ["--data", str(SEED), "--backend", "openvino"]
    )
    assert result.exit_code == 0, result.output
    table = result.stdout
    assert "## Encoder backend `torch`" in table and "## Encoder backend `openvino`" in table
    assert "Model: `all-MiniLM-L6-v2:384:openvino`." in table
    gate = table[table.index("## Quality gate") :].splitlines()
    rows = {line.split("|")[1].strip(): line.split("|") for line in gate if line.startswith("| ")}
    assert rows["torch"][3].strip() == "+0.0000" and rows["torch"][7].strip() == "pass"
    assert float(rows["openvino"][4]) >= 0.999  # cosine mean to torch fp32
    assert int(rows["openvino"][6]) == int(rows["torch"][6]) > 0  # same passages compared


def test_evaluate_rejects_an_unknown_backend() -> None:
    result = CliRunner().invoke(cli.evaluate_command, ["--data", str(SEED), "--backend", "cuda"])
    assert result.exit_code == 2
    assert "--backend" in result.output and "unknown encoder backend 'cuda'" in result.output


def _seed_with_translations(tmp_path: Path, lines: list[str]) -> Path:
    folder = tmp_path / "seed"
    folder.mkdir()
    for name in ("challenges.jsonl", "groups.jsonl", "judgements.jsonl"):
        (folder / name).write_text((SEED / name).read_text(encoding="utf-8"), encoding="utf-8")
    (folder / "translations.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def test_evaluate_ranks_translated_challenges_as_written_and_in_translation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, embedder: SentenceTransformerEmbedder
) -> None:
    monkeypatch.setattr(cli, "_embedder", lambda backend=None: embedder)
    english = (
        '{"key": "ch-storage", "language": "en", "title": "Battery storage for load peaks", '
        '"summary": "We are looking for a partner who designs and operates a stationary battery '
        'storage system to cap our grid load peaks."}'
    )
    folder = _seed_with_translations(tmp_path, [english])
    result = CliRunner().invoke(cli.evaluate_command, ["--data", str(folder)])
    assert result.exit_code == 0, result.output
    table = result.stdout
    section = table[table.index("The translated challenges as written") :].splitlines()
    rows = {line.split("|")[1].strip(): line for line in section if line.startswith("| ")}
    assert set(rows) == {
        "Challenges",
        "1 challenges as written (de)",
        "the same 1 in translation (en)",
        "the other 2 (en)",
    }
    # The loaded translation really replaced the German text (and only for that challenge).
    data = load_seed(folder)
    loaded = load_translated(folder, data)
    assert loaded is not None
    translated, keys = loaded
    storage = next(c for c in translated.challenges if c.id == "ch-storage")
    assert (keys, storage.language, storage.title) == (
        {"ch-storage"},
        "en",
        "Battery storage for load peaks",
    )
    assert [c.text for c in translated.challenges if c.id != "ch-storage"] == [
        c.text for c in data.challenges if c.id != "ch-storage"
    ]


def test_evaluate_rejects_a_translation_of_no_challenge(tmp_path: Path) -> None:
    folder = _seed_with_translations(
        tmp_path,
        [
            '{"key": "ch-steam", "language": "de", "title": "Dampf", "summary": "Text."}',
            '{"key": "nope", "language": "en", "title": "T", "summary": "S"}',
        ],
    )
    result = CliRunner().invoke(cli.evaluate_command, ["--data", str(folder)])
    assert result.exit_code == 2
    assert "translations.jsonl line 2: no challenge 'nope'" in result.output
