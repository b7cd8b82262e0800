"""Authors of publications in the files publications come from and go to: import files (JSON
Lines and CSV), the sample data, and the database dump."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from matchmaker.cli import run_migrations
from matchmaker.db import session_scope
from matchmaker.dump import export_database, import_database, read_dump
from matchmaker.groups.models import Publication
from matchmaker.imports import run_import
from matchmaker.seed import SEED_DIR, load_sample_data
from tests.production.conftest import group_rows, jsonl

# Imports run as jobs; the dump reads through a connection of its own.
pytestmark = pytest.mark.committed


def _authors(app) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    with session_scope(app) as s:
        return {p.title: list(p.authors) for p in s.scalars(select(Publication))}


def test_import_files_carry_authors(app) -> None:
    rows = group_rows(1, publications=1)
    rows[0]["publications"][0]["authors"] = ["Petersen, Jana", "Ole Hansen"]
    run_import(app, jsonl(rows))
    title = rows[0]["publications"][0]["title"]
    assert _authors(app)[title] == ["Petersen, Jana", "Ole Hansen"]
    csv_text = (
        "key,group,title,year,authors\n"
        'p1,g-0,Heat pumps in copper smelters,2024,"Petersen, Jana; Hansen, Ole"\n'
        "p2,g-0,Batteries,2023,\n"
    )
    assert run_import(app, csv_text, kind="publications", fmt="csv")["created"] == 2
    authors = _authors(app)
    assert authors["Heat pumps in copper smelters"] == ["Petersen, Jana", "Hansen, Ole"]
    assert authors["Batteries"] == []
    # The file changes a publication's authors by its key.
    csv_text = csv_text.replace("Petersen, Jana; Hansen, Ole", "Hansen, Ole")
    assert run_import(app, csv_text, kind="publications", fmt="csv")["updated"] == 1
    assert _authors(app)["Heat pumps in copper smelters"] == ["Hansen, Ole"]


def test_sample_data_with_authors(app, tmp_path: Path) -> None:
    seed = tmp_path / "seed"
    shutil.copytree(SEED_DIR, seed)
    lines = (seed / "groups.jsonl").read_text(encoding="utf-8").splitlines()
    first = json.loads(lines[0])
    first["publications"][0]["authors"] = ["Petersen, Jana", "Hansen, Ole"]
    lines[0] = json.dumps(first, ensure_ascii=False)
    (seed / "groups.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with session_scope(app) as s:
        load_sample_data(s, seed)
    authors = _authors(app)
    assert authors[first["publications"][0]["title"]] == ["Petersen, Jana", "Hansen, Ole"]
    assert authors[first["publications"][1]["title"]] == []  # a record without authors


def test_the_dump_keeps_authors(app, tmp_path: Path) -> None:
    rows = group_rows(1, publications=1)
    rows[0]["publications"][0]["authors"] = ["Müller, Jana"]
    run_import(app, jsonl(rows))
    out = io.StringIO()
    export_database(app.extensions["matchmaker.engine"], out)
    dump = read_dump(io.StringIO(out.getvalue()))
    table = dump["tables"]["publications"]
    column = table["columns"].index("authors")
    assert [r[column] for r in table["rows"]] == [["Müller, Jana"]]
    target = f"sqlite:///{tmp_path / 'restored.sqlite3'}"
    run_migrations(target)
    engine = create_engine(target)
    import_database(engine, dump)
    with engine.connect() as conn:
        stored = conn.execute(select(Publication.__table__.c.authors)).scalars().all()
    engine.dispose()
    assert [json.loads(a) if isinstance(a, str) else a for a in stored] == [["Müller, Jana"]]


def test_publications_stored_before_0013_have_no_authors(tmp_path: Path) -> None:
    from sqlalchemy import text

    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    run_migrations(url, "0012")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO publications (id, group_id, title, abstract, doi, language, "
                "language_confirmed, created_at) "
                "VALUES (1, 1, 'Heat pumps', '', '', 'en', 0, '2026-01-01 00:00:00')"
            )
        )
    run_migrations(url)
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT authors FROM publications")).scalar_one()
    engine.dispose()
    assert json.loads(stored) == []
