"""The admins' user pages: list, create, change role, (de)activate; only for admins."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from matchmaker.accounts.models import Role, User
from matchmaker.accounts.service import create_user, issue_token
from matchmaker.audit.models import AuditEvent
from matchmaker.db import session_scope
from tests import factories
from tests.conftest import Api
from tests.web.conftest import PASSWORD, Browser

ADMIN = "admin@hamburg.example"


@pytest.fixture
def admin(world) -> Browser:
    with session_scope(world.app) as s:
        create_user(s, email=ADMIN, role=Role.ADMIN, password=PASSWORD, name="Admin")
    return world.browser(ADMIN)


def _user(world, email: str) -> User:
    with session_scope(world.app) as s:
        user = s.scalar(select(User).where(User.email == email))
        assert user is not None
        s.expunge(user)
        return user


def _events(world, user_id: int) -> list[tuple[str, dict]]:
    with session_scope(world.app) as s:
        rows = s.scalars(
            select(AuditEvent)
            .where(AuditEvent.entity == "user", AuditEvent.entity_id == user_id)
            .order_by(AuditEvent.id)
        )
        return [(e.action, dict(e.changes)) for e in rows]


def _new_user(**overrides: str) -> dict[str, str]:
    form = {
        "email": "neu@elbwerk.example",
        "name": "Nina Neu",
        "role": "company",
        "language": "en",
        "organisation": "Elbwerk Kupfer GmbH",
        "group_id": "",
        "password": "",
    }
    form.update(overrides)
    return form


def _error(html: str, field: str) -> str:
    match = re.search(rf'id="{field}-error"><span aria-hidden="true">⚠ </span>([^<]+)<', html)
    assert match, f"no error beside {field}"
    return match.group(1)


def test_only_admins_see_the_pages_and_the_menu_entry(world, admin) -> None:
    page = admin.get("/admin/users")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert '<a href="/admin/users" aria-current="page">Benutzer</a>' in html
    for address in ("office@hamburg.example", "a@elbwerk.example", "lab@hs.example"):
        browser = world.browser(address)
        assert 'href="/admin/users"' not in browser.get("/account/tokens").get_data(as_text=True)
        refused = browser.get("/admin/users")
        assert refused.status_code == 403
        assert "Nicht erlaubt" in refused.get_data(as_text=True)
        created = browser.post("/admin/users", _new_user(), form_url="/account/tokens")
        assert created.status_code == 403
    with session_scope(world.app) as s:
        assert s.scalar(select(User).where(User.email == "neu@elbwerk.example")) is None
    anonymous = world.app.test_client().get("/admin/users")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]


def test_the_list_shows_role_organisation_group_state_and_last_sign_in(world, admin) -> None:
    html = admin.get("/admin/users").get_data(as_text=True)
    for text in ("a@elbwerk.example", "Elbwerk Kupfer GmbH", "Hochschule Altona", "Thermal Lab"):
        assert text in html
    assert "Unternehmen" in html and "Forschungsgruppe" in html and "Innovationsstelle" in html
    assert "Letzte Anmeldung" in html and "Aktiv" in html
    row = html.split("lab@hs.example</a>", 1)[1].split("</tr>", 1)[0]
    assert "Thermal Lab" in row and "–" in row  # the group user never signed in
    world.browser("lab@hs.example")
    row = admin.get("/admin/users").get_data(as_text=True).split("lab@hs.example</a>", 1)[1]
    assert re.search(r'data-label="Letzte Anmeldung">\d', row.split("</tr>", 1)[0])
    found = admin.get("/admin/users?q=stahl").get_data(as_text=True)
    assert "b@stahl.example" in found and "a@elbwerk.example" not in found
    admin.get("/lang/en")
    html = admin.get("/admin/users").get_data(as_text=True)
    assert "Last sign-in" in html and "Research group" in html and "Create user" in html


def test_creating_a_user_with_the_apis_checks(world, admin) -> None:
    missing = admin.post("/admin/users", _new_user(organisation=""))
    assert missing.status_code == 422
    assert "braucht eine Organisation" in _error(missing.get_data(as_text=True), "organisation")
    wrong_kind = admin.post("/admin/users", _new_user(organisation="Hochschule Altona"))
    assert "gehört zu einem Unternehmen" in _error(wrong_kind.get_data(True), "organisation")
    taken = admin.post("/admin/users", _new_user(email="b@stahl.example"))
    assert "gibt es schon" in _error(taken.get_data(as_text=True), "email")
    bad = admin.post("/admin/users", _new_user(email="nope", password="short"))
    html = bad.get_data(as_text=True)
    assert _error(html, "email") and "mindestens 10 Zeichen" in _error(html, "password")
    assert 'value="Nina Neu"' in html  # what was typed stays
    assert not admin.get("/admin/users").get_data(as_text=True).count("neu@elbwerk.example")

    created = admin.post("/admin/users", _new_user())
    assert created.status_code == 302
    user = _user(world, "neu@elbwerk.example")
    assert created.headers["Location"] == f"/admin/users/{user.id}"
    assert (user.role, user.language, user.name, user.password_hash) == (
        Role.COMPANY,
        "en",
        "Nina Neu",
        None,
    )
    page = admin.get(created.headers["Location"]).get_data(as_text=True)
    assert "Der Benutzer neu@elbwerk.example ist angelegt." in page
    assert "Passwort vergessen?" in page
    admin_id = _user(world, ADMIN).id
    assert _events(world, user.id) == [
        ("create", {"email": "neu@elbwerk.example", "role": "company"})
    ]
    with session_scope(world.app) as s:
        event = s.scalar(select(AuditEvent).where(AuditEvent.entity_id == user.id))
        assert event is not None and event.actor_id == admin_id


def test_a_group_user_gets_a_group_of_their_institution(world, admin) -> None:
    other = factories.organisation(world.app, "TU Harburg", "institution")
    foreign_id = factories.research_group(
        world.app,
        institution_id=other,
        name="Foreign Lab",
        capabilities="Electrolysis.",
        keywords=[],
        fields=["hydrogen"],
        trl_min=1,
        trl_max=4,
    )
    form = _new_user(
        email="neu@hs.example",
        role="group",
        organisation="Hochschule Altona",
        group_id=str(foreign_id),
        password=PASSWORD,
    )
    refused = admin.post("/admin/users", form)
    assert "anderen Einrichtung" in _error(refused.get_data(as_text=True), "group_id")
    not_a_group_user = admin.post("/admin/users", _new_user(group_id=str(world.group_id)))
    assert "Nur ein Gruppenbenutzer" in _error(not_a_group_user.get_data(True), "group_id")
    # The group alone says the institution.
    ok = admin.post("/admin/users", {**form, "organisation": "", "group_id": str(world.group_id)})
    assert ok.status_code == 302
    user = _user(world, "neu@hs.example")
    assert user.group_id == world.group_id and user.organisation_id == world.institution_id
    assert world.browser("neu@hs.example").get("/group/profile").status_code == 200


def test_deactivating_ends_sessions_and_tokens_and_reactivating_lets_sign_in(world, admin) -> None:
    company = world.browser("a@elbwerk.example")
    user = _user(world, "a@elbwerk.example")
    with session_scope(world.app) as s:
        token = issue_token(s, s.get(User, user.id))
    api = Api(world.app.test_client(), token)
    html = admin.get("/admin/users").get_data(as_text=True)
    assert 'aria-label="a@elbwerk.example deaktivieren"' in html
    off = admin.post(
        f"/admin/users/{user.id}/active",
        {"active": "0", "next": "/admin/users"},
        form_url="/admin/users",
    )
    assert off.status_code == 302 and off.headers["Location"] == "/admin/users"
    page = admin.get("/admin/users").get_data(as_text=True)
    assert "a@elbwerk.example ist deaktiviert" in page
    assert 'aria-label="a@elbwerk.example reaktivieren"' in page
    assert company.get("/challenges").status_code == 302
    assert api.get("/api/v1/me").status_code == 401
    assert Browser(world.app.test_client()).login("a@elbwerk.example").status_code == 401
    on = admin.post(f"/admin/users/{user.id}/active", {"active": "1"}, form_url="/admin/users")
    assert on.headers["Location"] == f"/admin/users/{user.id}"
    assert "wieder aktiv" in admin.get(on.headers["Location"]).get_data(as_text=True)
    assert api.get("/api/v1/me").status_code == 401  # the token stays revoked
    assert world.browser("a@elbwerk.example").get("/challenges").status_code == 200
    assert _events(world, user.id) == [
        ("update", {"active": False}),
        ("update", {"active": True}),
    ]
    bad = admin.post(f"/admin/users/{user.id}/active", {"active": "x"}, form_url="/admin/users")
    assert bad.status_code == 422


def test_an_admin_cannot_deactivate_or_re_role_themselves(world, admin) -> None:
    me = _user(world, ADMIN)
    html = admin.get("/admin/users").get_data(as_text=True)
    assert f'action="/admin/users/{me.id}/active"' not in html
    off = admin.post(f"/admin/users/{me.id}/active", {"active": "0"}, form_url="/admin/users")
    assert off.status_code == 422
    assert "eigenen Konto nicht" in off.get_data(as_text=True)
    role = admin.post(
        f"/admin/users/{me.id}/role",
        {"role": "office", "organisation": "", "group_id": ""},
        form_url="/admin/users",
    )
    assert role.status_code == 422 and "eigenen Konto nicht" in role.get_data(as_text=True)
    assert _user(world, ADMIN).active and _user(world, ADMIN).role == Role.ADMIN


def test_changing_a_role_is_checked_and_applies_at_once(world, admin) -> None:
    grid = _user(world, "grid@hs.example")
    browser = world.browser("grid@hs.example")
    assert browser.get("/group/profile").status_code == 200
    url = f"/admin/users/{grid.id}"
    page = admin.get(url).get_data(as_text=True)
    assert "Rolle ändern" in page and '<option value="group" selected>' in page
    to_company = admin.post(
        f"{url}/role", {"role": "company", "organisation": "", "group_id": ""}, form_url=url
    )
    # Its institution is no company: the role needs one named.
    assert to_company.status_code == 422
    assert "braucht eine Organisation" in _error(to_company.get_data(True), "organisation")
    with_group = admin.post(
        f"{url}/role",
        {"role": "company", "organisation": "Elbwerk Kupfer GmbH", "group_id": str(world.group_id)},
        form_url=url,
    )
    assert "Nur ein Gruppenbenutzer" in _error(with_group.get_data(True), "group_id")
    assert _user(world, "grid@hs.example").role == Role.GROUP
    done = admin.post(
        f"{url}/role",
        {"role": "company", "organisation": "Elbwerk Kupfer GmbH", "group_id": ""},
        form_url=url,
    )
    assert done.status_code == 302
    assert "grid@hs.example ist jetzt: Unternehmen." in admin.get(url).get_data(as_text=True)
    changed = _user(world, "grid@hs.example")
    assert (changed.role, changed.organisation_id, changed.group_id) == (
        Role.COMPANY,
        world.company_a_id,
        None,
    )
    assert browser.get("/group/profile").status_code == 403  # the same session, the new role
    assert browser.get("/challenges").status_code == 200
    to_office = admin.post(
        f"{url}/role", {"role": "office", "organisation": "", "group_id": ""}, form_url=url
    )
    assert to_office.status_code == 302
    assert _user(world, "grid@hs.example").organisation_id is None
    assert [c for a, c in _events(world, grid.id)] == [
        {"role": "company", "organisation": "Elbwerk Kupfer GmbH", "group_id": None},
        {"role": "office", "organisation": None, "group_id": None},
    ]
    bad = admin.post(f"{url}/role", {"role": "king", "organisation": ""}, form_url=url)
    assert bad.status_code == 422 and _error(bad.get_data(as_text=True), "role")


def test_forms_need_their_csrf_token(world, admin) -> None:
    uid = _user(world, "b@stahl.example").id
    response = admin.client.post(f"/admin/users/{uid}/active", data={"active": "0"})
    assert response.status_code == 400
    assert _user(world, "b@stahl.example").active


def test_the_api_changes_roles_and_creates_users_with_language_and_group(world, admin) -> None:
    with session_scope(world.app) as s:
        token = issue_token(s, s.scalar(select(User).where(User.email == ADMIN)))
    api = Api(world.app.test_client(), token)
    created = api.post(
        "/api/v1/users",
        {"email": "api@hs.example", "role": "group", "group_id": world.group_id, "language": "en"},
    )
    assert created.status_code == 201, created.json
    user = _user(world, "api@hs.example")
    assert (user.group_id, user.organisation_id, user.language) == (
        world.group_id,
        world.institution_id,
        "en",
    )
    bad = api.patch(f"/api/v1/users/{user.id}", {"role": "company"})
    assert bad.status_code == 422 and bad.json["errors"][0]["field"] == "organisation"
    ok = api.patch(
        f"/api/v1/users/{user.id}", {"role": "company", "organisation": "Harburger Stahl AG"}
    )
    assert ok.status_code == 200 and ok.json["role"] == "company" and ok.json["group_id"] is None
    own = _user(world, ADMIN).id
    assert api.patch(f"/api/v1/users/{own}", {"active": False}).status_code == 409
    assert api.patch(f"/api/v1/users/{own}", {"role": "office"}).status_code == 409
