"""Every page × every role: shown, sent to sign-in, or refused, as the rules say.

The API has its own matrix (tests/api/test_role_matrix.py). A new page without a row here fails
``test_every_page_is_in_the_matrix``.
"""

from __future__ import annotations

from typing import Any

import pytest

from matchmaker.matching.models import ProposalStatus
from tests import factories
from tests.factories import challenge_body
from tests.security.conftest import ROLES, Site

# Each test starts a matching run (its heartbeat thread).
pytestmark = pytest.mark.committed

OK = "ok"  # 200, or a redirect that is not to the sign-in page
LOGIN = "login"  # a redirect to the sign-in page
ANY = "any"  # not a role question (readiness may be 503); never 401/403/404
A, B, G, OF, AD, AN = "company_a", "company_b", "group", "office", "admin", "anonymous"


def everyone(value: Any = OK) -> dict[str, Any]:
    return dict.fromkeys(ROLES, value)


def signed_in(**codes: Any) -> dict[str, Any]:
    base = {AN: LOGIN, A: OK, B: OK, G: OK, OF: OK, AD: OK}
    base.update(codes)
    return base


POSTERS = signed_in(group=403)
GROUP_ONLY = signed_in(company_a=403, company_b=403, office=403, admin=403)
OFFICE_ONLY = signed_in(company_a=403, company_b=403, group=403)
ADMIN_ONLY = signed_in(company_a=403, company_b=403, group=403, office=403)

# (method, url template, form, {role: expected})
MATRIX: list[tuple[str, str, dict[str, Any] | None, dict[str, Any]]] = [
    ("get", "/", None, everyone()),
    ("get", "/login", None, everyone()),
    ("post", "/login", {"email": "nobody@example.org", "password": "x"}, everyone(401)),
    ("get", "/lang/en", None, everyone()),
    ("get", "/healthz", None, everyone()),
    ("get", "/readyz", None, everyone(ANY)),
    ("get", "/metrics", None, everyone()),
    ("get", "/api/docs", None, everyone()),
    ("get", "/api/openapi.json", None, everyone()),
    ("get", "/static/app.css", None, everyone()),
    ("get", "/challenges", None, POSTERS),
    ("get", "/challenges/new", None, POSTERS),
    ("post", "/challenges/new", {"title": ""}, POSTERS),
    ("get", "/challenges/similar?q=waste+heat+district", None, POSTERS),
    ("get", "/challenges/{c}", None, signed_in(company_b=404)),
    ("get", "/challenges/{draft}", None, signed_in(company_b=404, group=404)),
    ("get", "/challenges/{c}/edit", None, signed_in(company_b=404, group=403)),
    ("post", "/challenges/{c}/edit", {"title": ""}, signed_in(company_b=404, group=403)),
    ("get", "/group/matches", None, GROUP_ONLY),
    ("get", "/group/introductions", None, GROUP_ONLY),
    ("get", "/group/profile", None, GROUP_ONLY),
    ("post", "/group/profile", {"name": ""}, GROUP_ONLY),
    ("get", "/group/publications", None, GROUP_ONLY),
    ("post", "/group/publications/add", {"title": "A paper"}, GROUP_ONLY),
    ("post", "/group/publications/import", {"bib_text": ""}, GROUP_ONLY),
    ("post", "/group/publications/{pub}/language", {"language": "de"}, GROUP_ONLY),
    ("post", "/group/publications/{pub}/edit", {"title": ""}, GROUP_ONLY),
    ("get", "/office/proposals", None, OFFICE_ONLY),
    ("get", "/office/proposals.csv", None, OFFICE_ONLY),
    ("get", "/office/proposals/{p}", None, OFFICE_ONLY),
    ("post", "/office/proposals/{p}/decide", {"to_status": "", "reason_code": ""}, OFFICE_ONLY),
    # A party reports steps on its own introductions only ({p} is shortlisted: not yet).
    (
        "post",
        "/proposals/{p}/step",
        {"to_status": "in_talks"},
        signed_in(**dict.fromkeys((A, B, G, OF, AD), 403)),
    ),
    ("post", "/group/challenges/{c}/interest", {"value": "x"}, GROUP_ONLY),
    (
        "post",
        "/challenges/{c}/groups/{g}/interest",
        {"value": "x"},
        signed_in(company_b=404, group=403, office=403, admin=403),
    ),
    ("get", "/office/strategy", None, OFFICE_ONLY),
    ("post", "/office/strategy", {"action": "preview"}, OFFICE_ONLY),
    ("get", "/office/matching", None, OFFICE_ONLY),
    ("post", "/office/matching", {"k": "x"}, OFFICE_ONLY),
    ("get", "/office/matching/runs/{run}", None, OFFICE_ONLY),
    ("get", "/office/dashboard", None, OFFICE_ONLY),
    ("get", "/office/dashboard/funnel.csv", None, OFFICE_ONLY),
    ("get", "/office/groups?q=heat", None, OFFICE_ONLY),
    ("get", "/office/groups/{g}", None, OFFICE_ONLY),
    ("get", "/office/challenges/{c}/candidates", None, OFFICE_ONLY),
    ("get", "/account/tokens", None, signed_in()),
    ("post", "/account/tokens", {"expires_in_days": "x"}, signed_in()),
    ("get", "/account/password", None, signed_in()),
    ("post", "/account/password", {"current_password": ""}, signed_in()),
    ("get", "/account/reset", None, everyone()),
    ("post", "/account/reset", {"email": "nobody@example.org"}, everyone()),
    ("get", "/account/reset/{rt}", None, everyone(404)),
    ("post", "/account/reset/{rt}", {"new_password": "x"}, everyone(404)),
    ("get", "/admin/users", None, ADMIN_ONLY),
    ("post", "/admin/users", {"email": ""}, ADMIN_ONLY),
    ("get", "/admin/users/{u}", None, ADMIN_ONLY),
    ("post", "/admin/users/{u}/role", {"role": "x"}, ADMIN_ONLY),
    ("post", "/admin/users/{u}/active", {"active": "x"}, ADMIN_ONLY),
    # Last: they change what the rows above use.
    ("get", "/challenges/{c}/close", None, signed_in(company_b=404, group=403)),
    ("post", "/challenges/{c}/close", {"confirm": "yes"}, signed_in(company_b=404, group=403)),
    ("post", "/challenges/{c}/reopen", {}, signed_in(company_b=404, group=403)),
    ("get", "/challenges/{c}/archive", None, signed_in(company_b=404, group=403)),
    ("post", "/challenges/{c}/archive", {"confirm": "yes"}, signed_in(company_b=404, group=403)),
    ("post", "/group/publications/{pub}/delete", {}, GROUP_ONLY),
    # company_a's second token: its owner and an admin revoke it; to anyone else it is not there.
    (
        "post",
        "/account/tokens/{tok}/revoke",
        {},
        signed_in(company_b=404, group=404, office=404),
    ),
    ("post", "/logout", {}, everyone()),
]


def _ids(site: Site) -> dict[str, Any]:
    api = site.api("company_a")
    cid = api.post("/api/v1/challenges", challenge_body()).json["id"]
    draft = api.post("/api/v1/challenges", challenge_body(status="draft")).json["id"]
    pub = (
        site.api("group")
        .post(f"/api/v1/groups/{site.group_id}/publications", {"title": "Heat pumps, a review"})
        .json["id"]
    )
    pid = factories.proposal(
        site.app, challenge_id=cid, group_id=site.group_id, status=ProposalStatus.SHORTLISTED
    )
    run = site.api("office").post("/api/v1/matching/runs", {"k": 1, "wait": True}).json["id"]
    tok = api.post("/api/v1/tokens", {"name": "second"}).json["id"]
    uid = site.api("admin").get("/api/v1/users?q=b@stahl").json["items"][0]["id"]
    return {
        "c": cid,
        "g": site.group_id,
        "draft": draft,
        "pub": pub,
        "p": pid,
        "run": run,
        "tok": tok,
        "u": uid,
        "rt": "not-a-reset-token",
    }


def _verdict(response: Any) -> Any:
    if response.status_code in (301, 302, 303):
        return LOGIN if "/login" in response.headers["Location"].split("?")[0] else OK
    if response.status_code == 200:
        return OK
    return response.status_code


def _csrf_page(role: str) -> str:
    return "/login" if role == AN else "/lang/en?next=/"


@pytest.mark.parametrize("role", ROLES)
def test_page_matrix(site: Site, role: str) -> None:
    ids = _ids(site)
    browser = site.browser(role)
    failures = []
    for method, template, form, expected in MATRIX:
        url = template.format(**ids)
        if method == "get":
            response = browser.get(url)
        else:
            data = dict(form or {})
            # Any page a signed-in user reaches carries the sign-out form and so a CSRF token.
            page = browser.client.get(_csrf_page(role), follow_redirects=True)
            token = page.get_data(as_text=True).split('name="csrf_token" value="', 1)
            data["csrf_token"] = token[1].split('"', 1)[0] if len(token) == 2 else ""
            response = browser.client.post(url, data=data)
        want, got = expected[role], _verdict(response)
        if want == ANY:
            ok = response.status_code not in (401, 403, 404) and response.status_code < 500
        elif want == OK and method == "post":
            # An allowed form post may show the form again with messages (400/422) — never deny.
            ok = got == OK or response.status_code in (400, 422)
        else:
            ok = got == want
        if not ok:
            failures.append(
                f"{method.upper()} {url} as {role}: {response.status_code} "
                f"{response.headers.get('Location', '')} (want {want})"
            )
        assert response.status_code < 500, (url, response.get_data(as_text=True)[:300])
    assert not failures, "\n".join(failures)


def test_every_page_is_in_the_matrix(app: Any) -> None:
    covered = {(m, t.split("?")[0]) for m, t, _, _ in MATRIX}
    names = {
        "challenge_id": "c",
        "group_id": "g",
        "publication_id": "pub",
        "proposal_id": "p",
        "run_id": "run",
        "token_id": "tok",
        "user_id": "u",
    }
    missing = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1") or rule.endpoint == "static":
            continue
        path = rule.rule
        for arg, short in names.items():
            path = path.replace(f"<int:{arg}>", "{" + short + "}")
        path = path.replace("<code>", "en").replace("<key>", "funnel").replace("<token>", "{rt}")
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            if (method.lower(), path) not in covered and not (
                method == "GET" and (method.lower(), path.replace("{c}", "{draft}")) in covered
            ):
                missing.append(f"{method} {rule.rule}")
    assert not missing, f"pages without a row in the page matrix: {missing}"
