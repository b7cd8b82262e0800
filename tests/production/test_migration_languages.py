"""Migration 0007 detects the language of publications stored before it."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, text

from matchmaker.cli import run_migrations


def test_publications_stored_before_0007_get_their_detected_language(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    run_migrations(url, "0006")
    engine = create_engine(url)
    rows = [
        (1, "Abwärmenutzung in Molkereien", "Wir untersuchen, wie sich die Abwärme von "
         "Kälteanlagen für die Reinigung und die Hallenheizung nutzen lässt."),
        (2, "Heat recovery in dairies", "We study how waste heat from refrigeration plants "
         "can clean equipment and heat production halls."),
    ]  # fmt: skip
    with engine.begin() as conn:
        for pub_id, title, abstract in rows:
            conn.execute(
                text(
                    "INSERT INTO publications (id, group_id, title, abstract, doi, created_at) "
                    "VALUES (:id, 1, :title, :abstract, '', '2026-01-01 00:00:00')"
                ),
                {"id": pub_id, "title": title, "abstract": abstract},
            )
    run_migrations(url)
    with engine.connect() as conn:
        stored = dict(conn.execute(text("SELECT id, language FROM publications")).all())
    engine.dispose()
    assert stored == {1: "de", 2: "en"}
