"""Text search on the list pages: the review queue, the challenge list and a group's matches."""

from __future__ import annotations

import html as html_lib

from tests import factories
from tests.conftest import Api
from tests.web.conftest import add_proposal, post_challenge


def _queue_world(world) -> dict[str, int]:
    heat = post_challenge(world)
    mill = post_challenge(
        world,
        "b@stahl.example",
        title="Demand response for the rolling mill",
        summary="Our rolling mill could shift its load to hours with cheap wind power.",
        fields=["smart_grids"],
    )
    oil = post_challenge(
        world,
        "b@stahl.example",
        title="Ölkühler der Walzstraße mit Abwärmenutzung",
        summary="Die Ölkühler der Walzstraße geben Wärme ab, die wir nutzen wollen.",
        language="de",
    )
    return {
        "heat": add_proposal(world.app, heat, world.group_id, score=0.91),
        "mill": add_proposal(world.app, mill, world.other_group_id, score=0.42),
        "oil": add_proposal(world.app, oil, world.group_id, score=0.55, status="shortlisted"),
    }


def _shown(html: str, ids: dict[str, int]) -> set[str]:
    return {name for name, pid in ids.items() if f'href="/office/proposals/{pid}"' in html}


def test_the_queue_searches_challenge_company_group_and_institution(world) -> None:
    ids = _queue_world(world)
    office = world.browser("office@hamburg.example")
    assert _shown(office.text("/office/proposals"), ids) == {"heat", "mill", "oil"}
    for q, expected in [
        ("rolling", {"mill"}),  # a word of the challenge's title
        ("GRID lab", {"mill"}),  # the group's name, any case
        ("thermal", {"heat", "oil"}),
        ("altona", {"heat", "mill", "oil"}),  # the institution
        ("harburger", {"mill", "oil"}),  # the company
        ("ÖLKÜHLER", {"oil"}),  # umlauts fold on SQLite as on PostgreSQL
        ("thermal copper", {"heat"}),  # every word, in any of the columns
        ("100%", set()),  # LIKE's wildcards are text
    ]:
        html = office.text(f"/office/proposals?q={q}")
        assert _shown(html, ids) == expected, q
    html = office.text("/office/proposals?q=rolling")
    assert 'name="q" type="search" value="rolling"' in html  # kept in the box
    # The search combines with the filters, and the status filter still applies.
    html = office.text("/office/proposals?q=thermal&status=shortlisted")
    assert _shown(html, ids) == {"oil"}


def test_an_empty_queue_search_says_so_and_links_to_clearing_it(world) -> None:
    _queue_world(world)
    office = world.browser("office@hamburg.example")
    html = office.text("/office/proposals?q=hydrogen+electrolyser&status=proposed")
    assert "Nichts gefunden für „hydrogen electrolyser“." in html
    # Clearing the search keeps the other filters.
    assert 'href="/office/proposals?status=proposed">Suche aufheben</a>' in html
    office.get("/lang/en")
    html = office.text("/office/proposals?q=hydrogen")
    assert "Nothing found for “hydrogen”." in html and ">Clear the search</a>" in html


def test_queue_pages_keep_the_search(world) -> None:
    from tests.web.conftest import _group

    cid = post_challenge(world)
    for n in range(27):
        gid = _group(world.app, world.institution_id, f"Lab {n}", "Heat pumps for industry.")
        add_proposal(world.app, cid, gid, score=0.5 + n / 100)
    office = world.browser("office@hamburg.example")
    html = office.text("/office/proposals?q=copper")
    assert "Seite 1 von 2" in html
    assert 'href="/office/proposals?page=2&amp;q=copper"' in html
    html = office.text("/office/proposals?q=copper&page=2")
    assert html.count('href="/office/proposals/') == 2
    assert 'href="/office/proposals?page=1&amp;q=copper"' in html


def test_the_api_list_of_proposals_takes_the_same_search(world) -> None:
    ids = _queue_world(world)
    api = Api(world.app.test_client(), factories.user(world.app, "admin@hamburg.example", "admin"))
    body = api.get("/api/v1/proposals?q=rolling+mill").get_json()
    assert [p["id"] for p in body["items"]] == [ids["mill"]] and body["total"] == 1
    body = api.get("/api/v1/proposals?q=altona").get_json()
    assert [p["id"] for p in body["items"]] == [ids["heat"], ids["oil"], ids["mill"]]


def test_the_challenge_list_searches_title_and_summary_of_what_the_user_may_see(world) -> None:
    heat = post_challenge(world)
    cool = post_challenge(
        world,
        title="Cooling water for the casting line",
        summary="The casting line needs cooling water at 25 °C all year.",
    )
    mill = post_challenge(
        world,
        "b@stahl.example",
        title="Demand response for the rolling mill",
        summary="Our rolling mill could shift its load to cheap wind power hours.",
    )
    company = world.browser("a@elbwerk.example")

    def shown(html: str) -> set[int]:
        return {c for c in (heat, cool, mill) if f'href="/challenges/{c}"' in html}

    assert shown(company.text("/challenges")) == {heat, cool}
    assert shown(company.text("/challenges?q=district+HEATING")) == {heat}  # the summary
    assert shown(company.text("/challenges?q=casting")) == {cool}  # the title
    html = company.text("/challenges?q=rolling")  # another company's challenge stays hidden
    assert shown(html) == set()
    assert "Nichts gefunden für „rolling“." in html
    assert 'href="/challenges">Suche aufheben</a>' in html
    assert 'value="rolling"' in html
    html = company.text("/challenges?q=casting&status=draft")
    assert shown(html) == set() and 'href="/challenges?status=draft">Suche aufheben' in html
    office = world.browser("office@hamburg.example")
    assert shown(office.text("/challenges?q=rolling")) == {mill}
    office.get("/lang/en")
    html = office.text("/challenges?q=nothing-like-this")
    assert "Nothing found for “nothing-like-this”." in html


def test_a_group_searches_its_matches(world) -> None:
    heat = post_challenge(world)
    mill = post_challenge(
        world,
        "b@stahl.example",
        title="Demand response for the rolling mill",
        summary="Our rolling mill could shift its load to cheap wind power hours.",
    )
    group = world.browser("lab@hs.example")
    html = group.text("/group/matches")
    assert f'/challenges/{heat}"' in html and f'/challenges/{mill}"' in html
    html = group.text("/group/matches?q=Rolling+mill")
    assert f'/challenges/{mill}"' in html and f'/challenges/{heat}"' not in html
    assert "1 passende Herausforderung nennt „Rolling mill“" in html
    assert 'value="Rolling mill"' in html
    html = group.text("/group/matches?q=hydrogen")
    assert "Nichts gefunden für „hydrogen“." in html
    assert 'href="/group/matches">Suche aufheben</a>' in html
    group.get("/lang/en")
    html = html_lib.unescape(group.text("/group/matches?q=district+heating"))
    assert "1 matching challenge mentions “district heating”" in html


def test_the_search_text_is_shown_escaped(world) -> None:
    office = world.browser("office@hamburg.example")
    for url in ("/office/proposals", "/challenges"):
        html = office.text(f"{url}?q=%3Cscript%3Ealert(1)%3C/script%3E")
        assert "<script>alert(1)" not in html, url
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, url
    group = world.browser("lab@hs.example")
    html = group.text("/group/matches?q=%3Cb%3Ex")
    assert "<b>x" not in html and "&lt;b&gt;x" in html
