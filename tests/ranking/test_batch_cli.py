from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from matchmaker.ranking import cli
from matchmaker.ranking.embed import SentenceTransformerEmbedder
from matchmaker.ranking.scoring import COMPONENTS

from .conftest import DATA


@pytest.fixture(autouse=True)
def _one_model(monkeypatch: pytest.MonkeyPatch, embedder: SentenceTransformerEmbedder) -> None:
    # The command builds its embedder from settings; reuse the session's model instead of
    # loading the same files a second time.
    monkeypatch.setattr(cli, "_embedder", lambda: embedder)


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli.rank_command, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_rank_writes_ranked_matches_to_stdout() -> None:
    code, out, _ = run(
        "--queries", str(DATA / "challenges.jsonl"), "--candidates", str(DATA / "groups.jsonl"),
        "--top", "2",
    )  # fmt: skip
    assert code == 0
    lines = [json.loads(line) for line in out.splitlines()]
    assert len(lines) == 3 * 2
    first = lines[0]
    assert set(first) == {"query_id", "candidate_id", "rank", "score", "components"}
    assert set(first["components"]) == set(COMPONENTS)
    best = {r["query_id"]: r["candidate_id"] for r in lines if r["rank"] == 1}
    assert best == {"c-steam": "g-heatpump", "c-storage": "g-battery", "c-fleet": "g-mobility"}
    for query in best:
        rows = [r for r in lines if r["query_id"] == query]
        assert [r["rank"] for r in rows] == [1, 2]
        assert rows[0]["score"] >= rows[1]["score"]


def test_top_all_writes_every_candidate_to_the_out_file(tmp_path: Path) -> None:
    out = tmp_path / "matches.jsonl"
    code, stdout, _ = run(
        "--queries", str(DATA / "groups.jsonl"), "--candidates", str(DATA / "challenges.jsonl"),
        "--top", "all", "--out", str(out),
    )  # fmt: skip
    assert code == 0
    assert stdout == ""
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(lines) == 5 * 3
    heat = [r["candidate_id"] for r in lines if r["query_id"] == "g-heatpump"]
    assert heat[0] == "c-steam"
    assert list(tmp_path.iterdir()) == [out]


def test_a_file_ranked_against_itself_leaves_out_the_query(tmp_path: Path) -> None:
    code, out, _ = run(
        "--queries", str(DATA / "groups.jsonl"), "--candidates", str(DATA / "groups.jsonl"),
        "--top", "all",
    )  # fmt: skip
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == 5 * 4
    assert all(r["query_id"] != r["candidate_id"] for r in rows)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            {"id": "x", "documents": [{"text": 5}]},
            'candidates.jsonl line 3: field "documents[0].text": must be a string',
        ),
        ({"id": "x", "fields": ["heat"]}, 'line 3: field "fields[0]": unknown field of action'),
        ({"id": "x", "trl": "5"}, 'line 3: field "trl": must be an integer'),
        ({"id": "x", "trl": 12}, 'line 3: field "trl"'),
        ({"title": "no id"}, 'line 3: field "id": is required'),
        ({"id": "x", "colour": "red"}, 'line 3: field "colour": is not part of the format'),
        ({"id": "g-ml"}, 'line 3: field "id": duplicate id'),
    ],
)
def test_a_bad_line_exits_2_names_line_and_field_and_writes_nothing(
    tmp_path: Path, line: dict, message: str
) -> None:
    good = (DATA / "groups.jsonl").read_text().splitlines()
    candidates = tmp_path / "candidates.jsonl"
    candidates.write_text("\n".join([good[0], good[4], json.dumps(line), good[1]]) + "\n")
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(
        cli.rank_command,
        ["--queries", str(DATA / "challenges.jsonl"), "--candidates", str(candidates),
         "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 2
    assert message in result.stderr
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["candidates.jsonl"]


def test_a_line_that_is_not_json_is_named(tmp_path: Path) -> None:
    queries = tmp_path / "q.jsonl"
    queries.write_text('{"id": "a"}\n{"id": \n')
    code, _, err = run("--queries", str(queries), "--candidates", str(DATA / "groups.jsonl"))
    assert code == 2
    assert "q.jsonl line 2: not valid JSON" in err


def test_top_must_be_a_number_or_all() -> None:
    code, _, err = run(
        "--queries", str(DATA / "challenges.jsonl"), "--candidates", str(DATA / "groups.jsonl"),
        "--top", "many",
    )  # fmt: skip
    assert code == 2
    assert "--top" in err
