"""A challenge its company withdraws (back to draft) or removes leaves the groups' match lists
at once, on every worker: not after the next index check, nor after a background rebuild."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import challenge_body
from tests.security.conftest import Site

TITLE = "Waste heat from the copper furnace into district heating"


def _post(site: Site) -> int:
    body = challenge_body(title=TITLE, status="open")
    response = site.api("company_a").post("/api/v1/challenges", body)
    assert response.status_code == 201
    return int(response.json["id"])


def _matched_ids(site: Site) -> list[int]:
    response = site.api("group").get(f"/api/v1/groups/{site.group_id}/matches")
    assert response.status_code == 200
    return [m["challenge_id"] for m in response.json["items"]]


def _page(site: Site) -> str:
    response = site.browser("group").get("/group/matches")
    assert response.status_code == 200
    return str(response.get_data(as_text=True))


@pytest.mark.settings(index_check_seconds=3600)
@pytest.mark.parametrize("how", ["draft", "archive"])
def test_withdrawn_challenge_leaves_the_match_list_at_once(site: Site, how: str) -> None:
    cid = _post(site)
    assert cid in _matched_ids(site)  # the index now holds it
    assert TITLE in _page(site)
    company = site.api("company_a")
    if how == "draft":
        assert company.patch(f"/api/v1/challenges/{cid}", {"status": "draft"}).status_code == 200
    else:
        assert company.delete(f"/api/v1/challenges/{cid}").status_code in (200, 204)
    assert cid not in _matched_ids(site)
    assert TITLE not in _page(site)
    # Open again, it is back as soon as it is.
    if how == "draft":
        assert company.patch(f"/api/v1/challenges/{cid}", {"status": "open"}).status_code == 200
        assert cid in _matched_ids(site)


@pytest.mark.settings(index_check_seconds=3600)
def test_the_worker_that_made_a_change_sees_it_on_the_next_request(site: Site) -> None:
    assert _matched_ids(site) == []  # the index is built, and will not be checked for an hour
    cid = _post(site)
    assert cid in _matched_ids(site)


@pytest.mark.settings(index_check_seconds=3600)
@pytest.mark.committed  # a second app (worker) reads the change
def test_another_worker_with_an_old_index_does_not_show_it(site: Site, embedder: Any) -> None:
    """A second app on the same database stands for another gunicorn worker: its index was
    built before the withdrawal and it will not check the version for an hour."""
    from matchmaker import create_app

    cid = _post(site)
    settings = site.app.extensions["matchmaker.settings"]
    other = create_app(settings, embedder=embedder, TESTING=True)
    try:
        from tests.conftest import Api

        group = Api(other.test_client(), site.tokens["group"])
        url = f"/api/v1/groups/{site.group_id}/matches"
        assert cid in [m["challenge_id"] for m in group.get(url).json["items"]]
        patch = site.api("company_a").patch(f"/api/v1/challenges/{cid}", {"status": "draft"})
        assert patch.status_code == 200
        assert cid not in [m["challenge_id"] for m in group.get(url).json["items"]]
    finally:
        other.extensions["matchmaker.engine"].dispose()
