"""Every API endpoint × every role: allowed or denied, as the rules say.

A new endpoint without a row here fails ``test_every_endpoint_is_in_the_matrix``.
"""

from __future__ import annotations

from typing import Any

import pytest

from matchmaker.api.spec import OPERATIONS
from matchmaker.matching.models import ProposalStatus
from tests import factories
from tests.factories import challenge_body, group_body

# Each test starts a matching run and an import (their heartbeat threads).
pytestmark = pytest.mark.committed

ROLES = ("anonymous", "company_a", "company_b", "group", "office", "admin")
OK = "ok"  # any 2xx


def _ids(world: Any) -> dict[str, Any]:
    cid = world.company_a.post("/api/v1/challenges", challenge_body()).json["id"]
    pub = world.group.post(
        f"/api/v1/groups/{world.group_id}/publications", {"title": "A paper"}
    ).json["id"]
    pid = factories.proposal(
        world.app, challenge_id=cid, group_id=world.group_id, status=ProposalStatus.SHORTLISTED
    )
    run = world.office.post("/api/v1/matching/runs", {"k": 1, "wait": True}).json["id"]
    uid = world.admin.get("/api/v1/users?q=b@stahl").json["items"][0]["id"]
    job = world.office.post("/api/v1/imports", IMPORT).json["id"]
    token_id = world.company_b.post("/api/v1/tokens", {"name": "second"}).json["id"]
    return {
        "c": cid,
        "g": world.group_id,
        "pub": pub,
        "p": pid,
        "run": run,
        "o": world.company_b_id,
        "i": world.institution_id,
        "u": uid,
        "job_id": job,
        "token_id": token_id,
    }


IMPORT = {
    "data": '{"key": "c-1", "organisation": "Imported Kupfer AG", "title": "Heat", '
    '"summary": "Waste heat.", "fields": ["energy_efficiency"], "trl_now": 3, '
    '"trl_target": 5, "budget_band": "lt_50k"}',
    "kind": "challenges",
    "wait": True,
}


# (method, path template, body, {role: expected}) — expected is OK or a status code.
A, B, G, OF, AD, AN = "company_a", "company_b", "group", "office", "admin", "anonymous"


def deny(**codes: int) -> dict[str, Any]:
    base = {AN: 401, A: OK, B: OK, G: OK, OF: OK, AD: OK}
    base.update({k.replace("anon", AN): v for k, v in codes.items()})
    return base


MATRIX: list[tuple[str, str, Any, dict[str, Any]]] = [
    ("get", "/api/v1/me", None, deny()),
    ("patch", "/api/v1/me", {"language": "en"}, deny()),
    ("post", "/api/v1/tokens", {}, {**deny(), AN: 401}),
    ("get", "/api/v1/tokens", None, deny()),
    # company_b's second token: its owner and an admin revoke it; to anyone else it is not there.
    ("delete", "/api/v1/tokens/{token_id}", None, deny(company_a=404, group=404, office=404)),
    (
        "get",
        "/api/v1/users/{u}/tokens",
        None,
        deny(company_a=403, company_b=403, group=403, office=403),
    ),
    ("get", "/api/v1/users", None, deny(company_a=403, company_b=403, group=403, office=403)),
    (
        "post",
        "/api/v1/users",
        {"email": "{role}@new.example", "role": "office"},
        deny(company_a=403, company_b=403, group=403, office=403),
    ),
    (
        "patch",
        "/api/v1/users/{u}",
        {"name": "B"},
        deny(company_a=403, company_b=403, group=403, office=403),
    ),
    ("get", "/api/v1/organisations", None, deny()),
    (
        "post",
        "/api/v1/organisations",
        {"name": "Org {role}", "kind": "company"},
        deny(company_a=403, company_b=403, group=403),
    ),
    ("get", "/api/v1/organisations/{o}", None, deny()),
    (
        "patch",
        "/api/v1/organisations/{o}",
        {"city": "Hamburg"},
        deny(company_a=403, company_b=403, group=403),
    ),
    ("get", "/api/v1/challenges", None, deny()),
    ("post", "/api/v1/challenges", challenge_body(), deny(group=403, office=422, admin=422)),
    ("get", "/api/v1/challenges/{c}", None, deny(company_b=404)),
    ("patch", "/api/v1/challenges/{c}", {"trl_now": 5}, deny(company_b=404, group=403)),
    ("get", "/api/v1/challenges/{c}/matches", None, deny(company_b=404, group=403)),
    ("get", "/api/v1/challenges/similar?text=waste+heat", None, deny(group=403)),
    ("get", "/api/v1/groups", None, deny()),
    (
        "post",
        "/api/v1/groups",
        group_body(),
        deny(company_a=403, company_b=403, group=409, office=422, admin=422),
    ),
    ("get", "/api/v1/groups/{g}", None, deny()),
    ("patch", "/api/v1/groups/{g}", {"capacity": 3}, deny(company_a=403, company_b=403)),
    ("get", "/api/v1/groups/{g}/matches", None, deny(company_a=403, company_b=403)),
    ("get", "/api/v1/groups/{g}/publications", None, deny()),
    ("post", "/api/v1/groups/{g}/publications", {"title": "T"}, deny(company_a=403, company_b=403)),
    ("get", "/api/v1/groups/{g}/publications/{pub}", None, deny()),
    (
        "patch",
        "/api/v1/groups/{g}/publications/{pub}",
        {"year": 2020},
        deny(company_a=403, company_b=403),
    ),
    ("get", "/api/v1/strategy", None, deny()),
    (
        "put",
        "/api/v1/strategy",
        {"weights": {"smart_grids": 0.5}},
        deny(company_a=403, company_b=403, group=403),
    ),
    ("get", "/api/v1/strategy/versions", None, deny()),
    ("get", "/api/v1/proposals", None, deny()),
    ("get", "/api/v1/proposals/{p}", None, deny(company_a=404, company_b=404, group=404)),
    ("get", "/api/v1/proposals/{p}/decisions", None, deny(company_a=404, company_b=404, group=404)),
    (
        "post",
        "/api/v1/proposals/{p}/decisions",
        {"to_status": "declined", "reason_code": "other"},
        deny(company_a=403, company_b=403, group=403),
    ),
    (
        "post",
        "/api/v1/exclusions",
        {"challenge_id": "{c}", "group_id": "{g}"},
        deny(company_a=403, company_b=403, group=403),
    ),
    (
        "post",
        "/api/v1/matching/runs",
        {"k": 1, "wait": True},
        deny(company_a=403, company_b=403, group=403),
    ),
    ("get", "/api/v1/matching/runs/{run}", None, deny(company_a=403, company_b=403, group=403)),
    # The file's braces doubled: row bodies go through str.format.
    (
        "post",
        "/api/v1/imports",
        {**IMPORT, "data": IMPORT["data"].replace("{", "{{").replace("}", "}}")},
        deny(company_a=403, company_b=403, group=403),
    ),
    ("get", "/api/v1/jobs/{job_id}", None, deny(company_a=403, company_b=403, group=403)),
    (
        "put",
        "/api/v1/challenges/{c}/interest",
        {"value": "interested"},
        deny(company_a=403, company_b=403, office=403, admin=403),
    ),
    (
        "put",
        "/api/v1/groups/{g}/interest",
        {"challenge_id": "{c}", "value": "interested"},
        deny(company_b=404, group=403, office=403, admin=403),
    ),
    ("get", "/api/v1/scorer", None, deny(company_a=403, company_b=403, group=403)),
    (
        "put",
        "/api/v1/scorer",
        {"scorer": "formula"},
        deny(company_a=403, company_b=403, group=403),
    ),
    (
        "get",
        "/api/v1/proposals/{p}/explanation",
        None,
        deny(company_a=403, company_b=403, group=403),
    ),
    # Deletions last: they archive what the rows above use.
    ("delete", "/api/v1/groups/{g}/publications/{pub}", None, deny(company_a=403, company_b=403)),
    ("delete", "/api/v1/challenges/{c}", None, deny(company_b=404, group=403)),
    ("delete", "/api/v1/groups/{g}", None, deny(company_a=403, company_b=403)),
    ("delete", "/api/v1/organisations/{o}", None, deny(company_a=403, company_b=403, group=403)),
]


def _fill(value: Any, ids: dict[str, Any], role: str) -> Any:
    if isinstance(value, str):
        if value.startswith("{") and value.endswith("}") and value[1:-1] in ids:
            return ids[value[1:-1]]
        return value.format(role=role, **ids)
    if isinstance(value, dict):
        return {k: _fill(v, ids, role) for k, v in value.items()}
    return value


@pytest.mark.parametrize("role", ROLES)
def test_role_matrix(world, role: str) -> None:
    ids = _ids(world)
    api = world.as_(role)
    failures = []
    for method, path, body, expected in MATRIX:
        url = _fill(path, ids, role)
        kwargs = {} if body is None else {"json": _fill(body, ids, role)}
        r = getattr(api, method)(url, **kwargs)
        want = expected[role]
        ok = 200 <= r.status_code < 300 if want == OK else r.status_code == want
        if not ok:
            failures.append(
                f"{method.upper()} {url} as {role}: {r.status_code} (want {want}) {r.get_data(as_text=True)[:200]}"
            )
        if r.status_code >= 400:
            assert r.mimetype == "application/problem+json"
    assert not failures, "\n".join(failures)


def test_every_endpoint_is_in_the_matrix() -> None:
    covered = {(m, p.split("?")[0]) for m, p, _, _ in MATRIX}
    missing = []
    for op in OPERATIONS:
        path = op.path
        for name in (
            "challenge_id",
            "group_id",
            "publication_id",
            "proposal_id",
            "run_id",
            "organisation_id",
            "user_id",
        ):
            short = {
                "challenge_id": "c",
                "group_id": "g",
                "publication_id": "pub",
                "proposal_id": "p",
                "run_id": "run",
                "organisation_id": "o",
                "user_id": "u",
            }[name]
            path = path.replace("{" + name + "}", "{" + short + "}")
        if (op.method, path) not in covered:
            missing.append(f"{op.method.upper()} {op.path}")
    assert not missing, f"endpoints without a role-matrix row: {missing}"
