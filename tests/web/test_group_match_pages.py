"""A group's matches in pages of ten, as far as the ranker has candidates, in one stable order."""

from __future__ import annotations

import re

from tests.web.conftest import challenge_form

TOPICS = [
    "heat pumps for process steam",
    "waste heat from compressors",
    "district heating from a smelter",
    "drying with heat pumps",
    "steam from solar heat",
    "heat storage in molten salt",
    "demand response of furnaces",
    "hydrogen burners for kilns",
    "electric boilers for peak loads",
    "cooling water heat recovery",
    "battery storage for a depot",
    "heat recovery in a bakery",
]
CARD = re.compile(
    r'<li class="card match">\s*<div class="card-head">\s*<h2><a href="/challenges/(\d+)"'
)


def _post_challenges(world, n: int) -> list[int]:
    company = world.browser("a@elbwerk.example")
    ids = []
    for i in range(n):
        topic = TOPICS[i % len(TOPICS)]
        response = company.post(
            "/challenges/new",
            challenge_form(
                title=f"Challenge {i + 1}: {topic}",
                summary=f"We look for a research partner on {topic} at our site number {i + 1}.",
            ),
            form_url="/challenges/new",
        )
        assert response.status_code == 302, response.get_data(as_text=True)
        ids.append(int(response.headers["Location"].rstrip("/").split("/")[-1]))
    return ids


def test_a_group_pages_through_all_its_matches(world) -> None:
    posted = _post_challenges(world, 23)
    group = world.browser("lab@hs.example")
    pages = []
    for n in (1, 2, 3):
        html = group.text(f"/group/matches?page={n}")
        pages.append([int(c) for c in CARD.findall(html)])
        assert "23 passende Herausforderungen" in html
        assert f"Seite {n} von 3" in html
        assert (f'rel="prev" href="/group/matches?page={n - 1}"' in html) == (n > 1)
        assert (f'rel="next" href="/group/matches?page={n + 1}"' in html) == (n < 3)
        assert ('rel="prev"' in html) == (n > 1)
    assert [len(p) for p in pages] == [10, 10, 3]
    assert "angezeigt: 11–20" in group.text("/group/matches?page=2")
    shown = [c for p in pages for c in p]
    assert sorted(shown) == sorted(posted)  # every candidate once, none twice
    # One order: the pages are slices of the ranking the API gives for the whole list.
    from matchmaker.db import get_session
    from matchmaker.groups.models import ResearchGroup
    from matchmaker.web import matching

    with world.app.test_request_context():
        session = get_session()
        ranked = matching.matches_for_group(
            session, session.get(ResearchGroup, world.group_id), top=30
        )
    assert [m["challenge_id"] for m in ranked] == shown
    assert [m["rank"] for m in ranked] == list(range(1, 24))

    # Past the last page: a word and a way back, not an empty list.
    html = group.text("/group/matches?page=7")
    assert "Auf dieser Seite gibt es keine Treffer mehr." in html
    assert 'href="/group/matches?page=3"' in html
    group.get("/lang/en")
    html = group.text("/group/matches?page=2")
    assert "23 matching challenges" in html and "Page 2 of 3" in html


def test_the_search_pages_too_and_the_links_keep_it(world) -> None:
    _post_challenges(world, 24)  # "heat" is in 16 of them, "heating" included
    group = world.browser("lab@hs.example")
    html = group.text("/group/matches?q=heat")
    assert "16 passende Herausforderungen nennen „heat“" in html
    assert len(CARD.findall(html)) == 10
    assert 'rel="next" href="/group/matches?page=2&amp;q=heat"' in html
    html = group.text("/group/matches?q=heat&page=2")
    assert len(CARD.findall(html)) == 6 and 'rel="next"' not in html
    assert 'rel="prev" href="/group/matches?page=1&amp;q=heat"' in html
    titles = re.findall(r'<h2><a href="/challenges/\d+">([^<]+)</a>', html)
    assert len(titles) == 6 and all("heat" in t.lower() for t in titles), titles
