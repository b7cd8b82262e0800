"""Loading the sample data from ``seed_data/``, idempotently (keyed by each record's ``key``).

Languages: a challenge's or group's record states its language (stored as confirmed, as if its
owner had chosen it; a record without one gets the detected language). Publications carry no
language in the records — a German group may publish in English — so each one's is detected
from its title and abstract; a rerun also detects it for sample publications stored before
publications had a language.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from matchmaker import languages
from matchmaker.challenges.models import BudgetBand, Challenge, ChallengeStatus
from matchmaker.groups.models import Publication, ResearchGroup
from matchmaker.matching import index_state
from matchmaker.organisations.models import Organisation, OrganisationKind
from matchmaker.strategy import service as strategy

SEED_DIR = Path(__file__).resolve().parent.parent / "seed_data"


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """Records of a JSON Lines file, with the line number in any error."""
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if line.strip():
                try:
                    yield json.loads(line)
                except ValueError as exc:
                    raise ValueError(f"{path.name} line {number}: {exc}") from None


def load_sample_data(session: Session, seed_dir: Path = SEED_DIR) -> dict[str, int]:
    """Insert the organisations, challenges and groups not loaded before; return counts added."""
    added = {"organisations": 0, "challenges": 0, "groups": 0, "publications": 0}
    orgs: dict[str, Organisation] = {
        o.seed_key: o
        for o in session.scalars(select(Organisation).where(Organisation.seed_key.is_not(None)))
        if o.seed_key
    }
    for rec in read_jsonl(seed_dir / "organisations.jsonl"):
        if rec["key"] in orgs:
            continue
        org = Organisation(
            seed_key=rec["key"],
            name=rec["name"],
            kind=OrganisationKind(rec["kind"]),
            city=rec.get("city", ""),
            website=rec.get("website", ""),
        )
        session.add(org)
        orgs[rec["key"]] = org
        added["organisations"] += 1
    session.flush()

    known = set(session.scalars(select(Challenge.seed_key).where(Challenge.seed_key.is_not(None))))
    for rec in read_jsonl(seed_dir / "challenges.jsonl"):
        if rec["key"] in known:
            continue
        session.add(
            Challenge(
                seed_key=rec["key"],
                organisation=orgs[rec["organisation"]],
                title=rec["title"],
                summary=rec["summary"],
                confidential=rec.get("confidential", ""),
                fields=rec["fields"],
                trl_now=rec["trl_now"],
                trl_target=rec["trl_target"],
                budget_band=BudgetBand(rec["budget_band"]),
                deadline=dt.date.fromisoformat(rec["deadline"]) if rec.get("deadline") else None,
                co2_saving_t=rec.get("co2_saving_t"),
                status=ChallengeStatus(rec.get("status", "open")),
                **_language(rec, rec["title"], rec["summary"]),
            )
        )
        added["challenges"] += 1

    stored = {
        g.seed_key: g
        for g in session.scalars(select(ResearchGroup).where(ResearchGroup.seed_key.is_not(None)))
    }
    redetected = 0
    for rec in read_jsonl(seed_dir / "groups.jsonl"):
        if rec["key"] in stored:
            redetected += _detect_stored_publications(stored[rec["key"]])
            continue
        group = ResearchGroup(
            seed_key=rec["key"],
            institution=orgs[rec["institution"]],
            name=rec["name"],
            head=rec.get("head", ""),
            capabilities=rec["capabilities"],
            methods=rec.get("methods", ""),
            keywords=rec.get("keywords", []),
            fields=rec["fields"],
            trl_min=rec["trl_min"],
            trl_max=rec["trl_max"],
            capacity=rec.get("capacity", 1),
            contact=rec.get("contact", ""),
            **_language(rec, rec["name"], rec["capabilities"]),
        )
        for pub in rec.get("publications", []):
            group.publications.append(
                Publication(
                    title=pub["title"],
                    abstract=pub.get("abstract", ""),
                    year=pub.get("year"),
                    doi=pub.get("doi", ""),
                    authors=list(pub.get("authors", [])),
                    **_language(pub, pub["title"], pub.get("abstract", "")),
                )
            )
            added["publications"] += 1
        session.add(group)
        added["groups"] += 1
    strategy.current(session)
    if any(added.values()) or redetected:
        index_state.bump(session)
    session.flush()
    return added


def _language(rec: dict[str, Any], *texts: str) -> dict[str, Any]:
    """The record's language (confirmed) or, without one, the detected language."""
    language, confirmed = languages.for_new(rec.get("language"), *texts)
    return {"language": language, "language_confirmed": confirmed}


def _detect_stored_publications(group: ResearchGroup) -> int:
    """Detect the language of a stored sample group's publications that were never detected
    (stored before publications had a language); how many changed."""
    changed = 0
    for pub in group.publications:
        if pub.language_confirmed:
            continue
        language = languages.detect(pub.title, pub.abstract)
        if language != pub.language:
            pub.language = language
            changed += 1
    return changed
