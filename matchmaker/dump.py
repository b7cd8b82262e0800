"""Data ownership: the whole database as one JSON file and back, and erasing an organisation.

The dump covers every table the migrations made (read from the database itself, so a table
added later is included without a change here), in an order that satisfies foreign keys. It
holds personal data, password hashes and confidential details: treat the file like the database.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import json
from collections.abc import Iterable
from typing import IO, Any

from sqlalchemy import (
    JSON,
    Connection,
    Date,
    DateTime,
    Engine,
    LargeBinary,
    MetaData,
    Table,
    delete,
    func,
    inspect,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

FORMAT = "matchmaker-dump"
VERSION = 1
#: Alembic's bookkeeping is the schema, not data: it is checked, never copied.
SKIP_TABLES = frozenset({"alembic_version"})
#: A database with rows in any of these holds someone's data: an import never overwrites it
#: unless told to (``--replace``). Other tables may hold what migrations put there.
USER_DATA = frozenset(
    {"organisations", "users", "challenges", "research_groups", "proposals", "audit_events"}
)


class DumpError(ValueError):
    """The dump cannot be imported here; the message says why and what to do."""


def _tables(conn: Connection) -> list[Table]:
    meta = MetaData()
    meta.reflect(bind=conn)
    return [t for t in meta.sorted_tables if t.name not in SKIP_TABLES]


def _revisions(conn: Connection) -> list[str]:
    if not inspect(conn).has_table("alembic_version"):
        return []
    return sorted(r[0] for r in conn.execute(text("SELECT version_num FROM alembic_version")))


def _to_json(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.isoformat()  # always UTC, without an offset
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return {"base64": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, decimal.Decimal):
        return float(value)
    return value


def export_database(engine: Engine, out: IO[str]) -> dict[str, int]:
    """Write every table's rows to ``out`` as JSON; returns the row count per table."""
    counts: dict[str, int] = {}
    with engine.connect() as conn:
        tables = _tables(conn)
        header = {
            "format": FORMAT,
            "version": VERSION,
            "schema_revisions": _revisions(conn),
            "exported_at": dt.datetime.now(dt.UTC).isoformat(),
        }
        out.write("{\n")
        for key, value in header.items():
            out.write(f"{json.dumps(key)}: {json.dumps(value)},\n")
        out.write('"tables": {')
        for i, table in enumerate(tables):
            columns = [c.name for c in table.columns]
            order = [table.c[c.name] for c in table.primary_key.columns] or [table.c[columns[0]]]
            out.write(("," if i else "") + f"\n{json.dumps(table.name)}: ")
            out.write(f'{{"columns": {json.dumps(columns)}, "rows": [')
            n = 0
            # Streamed: memory stays flat however large the database is.
            result = conn.execution_options(stream_results=True, yield_per=1000).execute(
                select(table).order_by(*order)
            )
            for row in result:
                out.write(("," if n else "") + "\n" + json.dumps([_to_json(v) for v in row]))
                n += 1
            out.write("]}")
            counts[table.name] = n
        out.write("\n}\n}\n")
    return counts


def _from_json(value: Any, column_type: Any, sqlite: bool) -> Any:
    if value is None:
        return None
    if isinstance(column_type, DateTime) and isinstance(value, str):
        parsed = dt.datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=dt.UTC)
        return parsed.astimezone(dt.UTC).replace(tzinfo=None) if sqlite else parsed
    if isinstance(column_type, Date) and isinstance(value, str):
        return dt.date.fromisoformat(value)
    if isinstance(column_type, LargeBinary) and isinstance(value, dict):
        return base64.b64decode(value["base64"])
    if isinstance(column_type, JSON):
        return value
    return value


def read_dump(source: IO[str]) -> dict[str, Any]:
    """Parse and check a dump file."""
    try:
        dump = json.load(source)
    except ValueError as exc:
        raise DumpError(f"not a JSON file: {exc}") from None
    if not isinstance(dump, dict) or dump.get("format") != FORMAT:
        raise DumpError("not a Matchmaker dump (made by `matchmaker export`)")
    if dump.get("version") != VERSION:
        raise DumpError(f"dump version {dump.get('version')} cannot be read (expected {VERSION})")
    return dump


def import_database(
    engine: Engine, dump: dict[str, Any], *, replace: bool = False
) -> dict[str, int]:
    """Load ``dump`` into the (migrated) database in one transaction; returns rows per table.

    The database must be empty, or ``replace`` deletes what is there first. Its schema must be
    the dump's: run ``matchmaker migrate`` on a database of the same version.
    """
    counts: dict[str, int] = {}
    with engine.begin() as conn:
        tables = {t.name: t for t in _tables(conn)}
        revisions = _revisions(conn)
        if revisions != dump.get("schema_revisions"):
            raise DumpError(
                f"the dump is of schema {dump.get('schema_revisions')}, this database is at "
                f"{revisions}; migrate a database to the dump's version first"
            )
        unknown = sorted(set(dump["tables"]) - set(tables))
        if unknown:
            raise DumpError(f"tables in the dump this database does not have: {unknown}")
        ordered = list(tables.values())
        if replace:
            for table in reversed(ordered):
                conn.execute(delete(table))
        else:
            filled = [t for t in ordered if conn.scalar(select(func.count()).select_from(t))]
            own = [t.name for t in filled if t.name in USER_DATA]
            if own:
                raise DumpError(
                    f"the database is not empty ({', '.join(own)}); import into a new, "
                    "migrated database or pass --replace"
                )
            # Rows the migrations created (such as the initial strategy) make way for the dump's.
            for table in reversed(filled):
                conn.execute(delete(table))
        sqlite = conn.dialect.name == "sqlite"
        for table in ordered:
            data = dump["tables"].get(table.name)
            if data is None:
                counts[table.name] = 0
                continue
            columns = data["columns"]
            missing = [c for c in columns if c not in table.c]
            if missing:
                raise DumpError(f"{table.name}: columns this database does not have: {missing}")
            types = [table.c[c].type for c in columns]
            rows = [
                {c: _from_json(v, t, sqlite) for c, v, t in zip(columns, row, types, strict=True)}
                for row in data["rows"]
            ]
            for start in range(0, len(rows), 1000):
                conn.execute(table.insert(), rows[start : start + 1000])
            counts[table.name] = len(rows)
        if conn.dialect.name == "postgresql":
            _reset_sequences(conn, ordered)
    return counts


def _reset_sequences(conn: Connection, tables: Iterable[Table]) -> None:
    """New rows after an import get ids after the imported ones."""
    for table in tables:
        if "id" not in table.c or table.c.id.type.python_type is not int:
            continue
        sequence = conn.scalar(text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table.name})
        if sequence:
            conn.execute(
                text(
                    f"SELECT setval(:s, COALESCE((SELECT MAX(id) FROM {table.name}), 0) + 1, false)"
                ),
                {"s": sequence},
            )


# --- erasing an organisation (GDPR) ----------------------------------------------------------

ERASED = {"erased": True}


def erase_organisation(
    session: Session, organisation_id: int, actor_id: int | None = None
) -> dict[str, int]:
    """Erase an organisation's personal data and texts; keep anonymised statistics.

    Kept: that challenges and groups existed, their fields of action, TRLs, budget bands,
    statuses and CO2 figures, the proposals' scores and pipeline steps, and who-did-what in the
    audit log as ids. Erased: names, e-mails, sign-ins and tokens of its people, every text its
    challenges or groups hold (titles, summaries, confidential details, capabilities,
    publications), evidence and notes that quote them, and the values in its audit events.
    The caller commits.
    """
    from matchmaker.accounts.models import ApiToken, User
    from matchmaker.accounts.service import forget_sign_in_failures
    from matchmaker.api.models import IdempotencyKey
    from matchmaker.audit.models import AuditEvent
    from matchmaker.audit.service import record
    from matchmaker.challenges.models import Challenge
    from matchmaker.db import utcnow
    from matchmaker.groups.models import Publication, ResearchGroup
    from matchmaker.matching import index_state
    from matchmaker.matching.models import Exclusion, Proposal
    from matchmaker.organisations.models import Organisation
    from matchmaker.review.models import Decision

    org = session.get(Organisation, organisation_id)
    if org is None:
        raise LookupError(f"organisation {organisation_id} does not exist")
    now = utcnow()
    challenge_ids = list(
        session.scalars(select(Challenge.id).where(Challenge.organisation_id == org.id))
    )
    group_ids = list(
        session.scalars(select(ResearchGroup.id).where(ResearchGroup.institution_id == org.id))
    )
    user_ids = list(
        session.scalars(
            select(User.id).where(
                or_(User.organisation_id == org.id, User.group_id.in_(group_ids or [-1]))
            )
        )
    )
    publication_ids = list(
        session.scalars(select(Publication.id).where(Publication.group_id.in_(group_ids or [-1])))
    )
    touches = or_(
        Proposal.challenge_id.in_(challenge_ids or [-1]), Proposal.group_id.in_(group_ids or [-1])
    )
    proposal_ids = list(session.scalars(select(Proposal.id).where(touches)))
    decision_ids = list(
        session.scalars(select(Decision.id).where(Decision.proposal_id.in_(proposal_ids or [-1])))
    )
    exclusion_ids = list(
        session.scalars(
            select(Exclusion.id).where(
                or_(
                    Exclusion.challenge_id.in_(challenge_ids or [-1]),
                    Exclusion.group_id.in_(group_ids or [-1]),
                )
            )
        )
    )

    for user in _rows(session, User, user_ids):
        forget_sign_in_failures(session, user.email)
        user.email = f"erased-user-{user.id}@erased.invalid"
        user.name = ""
        user.password_hash = None
        user.active = False
        user.session_version += 1  # signed-in sessions end
    session.execute(delete(ApiToken).where(ApiToken.user_id.in_(user_ids or [-1])))
    # Stored responses of their requests hold the texts they sent.
    session.execute(delete(IdempotencyKey).where(IdempotencyKey.user_id.in_(user_ids or [-1])))

    for challenge in _rows(session, Challenge, challenge_ids):
        _erase(challenge, now, ("title", "Erased challenge"), "summary", "confidential")
    session.execute(delete(Publication).where(Publication.id.in_(publication_ids or [-1])))
    for group in _rows(session, ResearchGroup, group_ids):
        _erase(group, now, ("name", "Erased group"), "head", "capabilities", "methods", "contact")
        group.keywords = []
    session.execute(
        update(Proposal)
        .where(Proposal.id.in_(proposal_ids or [-1]))
        .values(evidence={"pairs": [], "terms": []})
    )
    session.execute(update(Decision).where(Decision.id.in_(decision_ids or [-1])).values(note=""))
    session.execute(
        update(Exclusion).where(Exclusion.id.in_(exclusion_ids or [-1])).values(reason="")
    )
    _erase_in_optional_tables(session, challenge_ids, group_ids)

    about = {
        "organisation": [org.id],
        "user": user_ids,
        "challenge": challenge_ids,
        "group": group_ids,
        "publication": publication_ids,
        "decision": decision_ids,
        "exclusion": exclusion_ids,
    }
    audit_rows = 0
    for entity, ids in about.items():
        if ids:
            result = session.execute(
                update(AuditEvent)
                .where(AuditEvent.entity == entity, AuditEvent.entity_id.in_(ids))
                .values(changes=ERASED)
            )
            audit_rows += result.rowcount or 0  # type: ignore[attr-defined]

    _erase(org, now, ("name", "Erased organisation"), "city", "website")
    counts = {
        "users": len(user_ids),
        "challenges": len(challenge_ids),
        "groups": len(group_ids),
        "publications": len(publication_ids),
        "proposals": len(proposal_ids),
        "decisions": len(decision_ids),
        "audit_events": audit_rows,
    }
    session.flush()
    index_state.bump(session)
    record(session, actor_id, "organisation", org.id, "erase", counts)
    return counts


def _rows(session: Session, model: Any, ids: list[int]) -> Iterable[Any]:
    """The rows of ``model`` with these ids."""
    return session.scalars(select(model).where(model.id.in_(ids or [-1])))


def _erase(row: Any, now: dt.datetime, name: tuple[str, str], *emptied: str) -> None:
    """Name ``row`` after its id (``name``: the column and the words before the id), empty its
    ``emptied`` text columns and archive it (unless it is archived already)."""
    column, words = name
    setattr(row, column, f"{words} {row.id}")
    for text_column in emptied:
        setattr(row, text_column, "")
    row.archived_at = row.archived_at or now


def _erase_in_optional_tables(
    session: Session, challenge_ids: list[int], group_ids: list[int]
) -> None:
    """Texts other features keep about the erased challenges and groups."""
    names = set(inspect(session.connection()).get_table_names())
    params = {"c": challenge_ids or [-1], "g": group_ids or [-1]}
    if "stated_interests" in names:
        from sqlalchemy import bindparam

        session.execute(
            text(
                "UPDATE stated_interests SET reason = '' WHERE challenge_id IN :c OR group_id IN :g"
            ).bindparams(bindparam("c", expanding=True), bindparam("g", expanding=True)),
            params,
        )
    if "jobs" in names:
        # An import job's file may name the organisation; finished jobs need it no more.
        session.execute(
            text("UPDATE jobs SET payload = NULL WHERE status IN ('finished', 'failed')")
        )
