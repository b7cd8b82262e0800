"""Office journey: the review queue, a proposal with evidence, decisions and introductions."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.factories import challenge_body
from tests.web.conftest import add_proposal, post_challenge


def _world_with_proposals(world) -> tuple[int, int, int]:
    cid = post_challenge(world)
    other = post_challenge(
        world,
        "b@stahl.example",
        title="Demand response for the rolling mill",
        fields=["smart_grids"],
        co2_saving_t="3000",
    )
    best = add_proposal(world.app, cid, world.group_id, score=0.91)
    low = add_proposal(world.app, other, world.other_group_id, score=0.42)
    return cid, best, low


def test_queue_is_sorted_by_score_and_filters(world) -> None:
    _cid, best, low = _world_with_proposals(world)
    office = world.browser("office@hamburg.example")
    html = office.text("/office/proposals")
    assert html.index(f"/office/proposals/{best}") < html.index(f"/office/proposals/{low}")
    html = office.text("/office/proposals?field=smart_grids")
    assert f'/office/proposals/{low}"' in html and f'/office/proposals/{best}"' not in html
    html = office.text("/office/proposals?status=shortlisted")
    assert "Keine Vorschläge passen" in html
    html = office.text(f"/office/proposals?institution={world.institution_id}&status=proposed")
    assert f'/office/proposals/{best}"' in html
    assert (
        office.get("/office/proposals?field=nonsense&status=x&institution=abc").status_code == 200
    )


def test_proposal_page_shows_both_texts_score_parts_and_highlighted_evidence(world) -> None:
    _cid, best, _low = _world_with_proposals(world)
    html = world.browser("office@hamburg.example").text(f"/office/proposals/{best}")
    assert "Our smelter releases" in html and "Site Peute" in html  # public and confidential
    assert (
        'We design <mark class="ev-passage">high-temperature heat pumps' in html
    )  # the group's text
    assert '<mark class="ev-passage">feed it into the district heating grid</mark>' in html
    assert re.search(r'<mark class="ev-term">waste heat</mark>', html, re.IGNORECASE)
    assert "Textähnlichkeit" in html and "0.71" in html


def test_only_the_closest_sentences_are_marked_in_the_texts_and_the_figures_explained(
    world,
) -> None:
    cid = post_challenge(world)
    summary = challenge_body()["summary"]
    sentences = [
        "Our smelter releases 40 MW of waste heat at 180 °C.",
        "We want to feed it into the district heating grid with a high-temperature heat pump.",
    ]
    assert " ".join(sentences) == summary
    evidence = {
        "pairs": [
            {
                "query": summary,  # a passage of two sentences
                "candidate": "We design high-temperature heat pumps for industrial waste heat.",
                "document": "capabilities",
                "similarity": 0.66,
            }
        ],
        "terms": [],
    }
    pid = add_proposal(world.app, cid, world.group_id, evidence=evidence)
    html = world.browser("office@hamburg.example").text(f"/office/proposals/{pid}")
    shown = re.search(r'<mark class="ev-sentence">(.*?)</mark>', html)
    assert shown is not None
    marked = re.findall(r'<mark class="ev-passage">(.*?)</mark>', html)
    # Of the passage's two sentences, only the closest one (the one shown) is marked in the text.
    in_summary = [m for m in marked if m in sentences]
    assert in_summary == [shown.group(1)]
    assert "Satzähnlichkeit: wie nah sich die beiden gezeigten Sätze" in html
    assert "Textstellenähnlichkeit: dasselbe" in html


def test_decisions_move_through_the_pipeline_and_introductions_send_mail(world, settings) -> None:
    cid, best, _low = _world_with_proposals(world)
    office = world.browser("office@hamburg.example")
    url = f"/office/proposals/{best}"
    # A reason is required; the note is kept when the form comes back.
    response = office.post(
        f"{url}/decide",
        {"to_status": "shortlisted", "reason_code": "", "note": "Looks good"},
        form_url=url,
    )
    assert response.status_code == 422
    assert 'id="reason_code-error"' in response.get_data(as_text=True)
    assert "Looks good" in response.get_data(as_text=True)
    # A step the pipeline does not allow is refused beside the field.
    response = office.post(
        f"{url}/decide", {"to_status": "collaboration", "reason_code": "good_fit"}, form_url=url
    )
    assert response.status_code == 409
    assert 'id="to_status-error"' in response.get_data(as_text=True)

    group = world.browser("lab@hs.example")
    assert "Site Peute" not in group.text(f"/challenges/{cid}")
    for step in ("shortlisted", "introduced"):
        response = office.post(
            f"{url}/decide",
            {"to_status": step, "reason_code": "good_fit", "note": ""},
            form_url=url,
        )
        assert response.status_code == 302
    html = office.text(url)
    assert "2 Vorstellungs-E-Mails wurden verschickt" in html
    assert "Vorgemerkt → <strong>Vorgestellt</strong>" in html
    mails = sorted(Path(settings.outbox_dir).glob("*.eml"))
    assert len(mails) == 2
    bodies = "\n".join(m.read_text() for m in mails)
    assert "a@elbwerk.example" in bodies and "lab@hs.example" in bodies
    # The introduced group now reads the confidential details; the company sees the group.
    assert "Site Peute" in group.text(f"/challenges/{cid}")
    assert "Thermal Lab" in world.browser("a@elbwerk.example").text("/challenges")
    for step in ("in_talks", "collaboration"):
        assert (
            office.post(
                f"{url}/decide", {"to_status": step, "reason_code": "good_fit"}, form_url=url
            ).status_code
            == 302
        )
    assert "letzten Schritt erreicht" in office.text(url)


def test_office_pages_are_for_the_office_only(world) -> None:
    _cid, best, _low = _world_with_proposals(world)
    for email in ("a@elbwerk.example", "lab@hs.example"):
        browser = world.browser(email)
        for url in (
            "/office/proposals",
            f"/office/proposals/{best}",
            "/office/strategy",
            "/office/dashboard",
            "/office/dashboard/funnel.csv",
            "/office/matching",
        ):
            assert browser.get(url).status_code == 403, (email, url)
        response = browser.post(
            f"/office/proposals/{best}/decide",
            {"to_status": "shortlisted", "reason_code": "good_fit"},
            form_url="/challenges" if email.startswith("a@") else "/group/profile",
        )
        assert response.status_code == 403
    assert world.browser("office@hamburg.example").get("/office/proposals/9999").status_code == 404


@pytest.mark.committed  # the run goes on in a thread
def test_matching_run_from_the_page_creates_proposals(world) -> None:
    import time

    post_challenge(world)
    office = world.browser("office@hamburg.example")
    response = office.post("/office/matching", {"k": "0", "max_per_institution": "2"})
    assert response.status_code == 422 and 'id="k-error"' in response.get_data(as_text=True)
    response = office.post("/office/matching", {"k": "2", "max_per_institution": "2"})
    assert response.status_code == 302
    run_url = response.headers["Location"]
    html = office.text(run_url)
    assert "<progress" in html
    run_id = run_url.rstrip("/").split("/")[-1]
    for _ in range(120):
        status = office.get(f"/api/v1/matching/runs/{run_id}").json
        if status["status"] in ("finished", "failed"):
            break
        time.sleep(0.5)
    assert status["status"] == "finished", status
    assert "Thermal Lab" in office.text("/office/proposals")


def test_proposal_evidence_names_the_closest_sentence_pair(world) -> None:
    from matchmaker.db import session_scope
    from matchmaker.matching.models import Proposal

    _cid, best, _low = _world_with_proposals(world)
    smelter = "Our smelter releases 40 MW of waste heat at 180 °C."
    pumps = (
        "We design high-temperature heat pumps that lift industrial waste heat to process steam."
    )
    with session_scope(world.app) as s:
        proposal = s.get(Proposal, best)
        assert proposal is not None
        proposal.evidence = {
            "pairs": [
                {
                    "query": f"Payment is due within thirty days. {smelter} The canteen opens at noon.",
                    "candidate": f"The institute was founded in 1978. {pumps} Visitors park at gate 2.",
                    "document": "capabilities",
                    "similarity": 0.5,
                }
            ],
            "terms": [],
        }
    office = world.browser("office@hamburg.example")
    html = office.text(f"/office/proposals/{best}")
    assert f'<mark class="ev-sentence">{smelter}</mark>' in html
    assert f'<mark class="ev-sentence">{pumps}</mark>' in html
    assert "Satzähnlichkeit" in html and "Ganze Textstellen" in html
    pair = office.get(f"/api/v1/proposals/{best}").json["evidence"]["pairs"][0]
    assert (pair["query_sentence"], pair["candidate_sentence"]) == (smelter, pumps)
    assert pair["similarity"] == 0.5 and 0.3 < pair["sentence_similarity"] <= 1.0


def test_the_commonest_decline_reason_is_offered_and_recorded(world) -> None:
    _cid, best, _low = _world_with_proposals(world)
    office = world.browser("office@hamburg.example")
    url = f"/office/proposals/{best}"
    html = office.text(url)
    assert '<option value="topic_mismatch"' in html and "Passt thematisch nicht" in html
    response = office.post(
        f"{url}/decide", {"to_status": "declined", "reason_code": "topic_mismatch"}, form_url=url
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    assert "Passt thematisch nicht" in office.text(url)
