"""A matching run's summary: how many challenges and proposals, how many groups the constraints
changed, and which challenges got fewer than k groups and why; progress counts challenges."""

from __future__ import annotations

import numpy as np
import pytest

from matchmaker.matching.run_summary import shortfalls
from matchmaker.ranking.assign import assign_portfolio
from tests.api.test_matching import matched_world  # noqa: F401 (the fixture)


def test_each_group_left_out_is_put_down_to_what_blocked_it() -> None:
    scores = np.array([[0.9, 0.8, 0.0, 0.7], [0.55, 0.5, 0.4, 0.3], [0.5, 0.4, 0.3, 0.2]])
    capacity, institution = [1, 1, 1, 1], ["A", "A", "B", "B"]
    excluded = np.zeros_like(scores, dtype=bool)
    excluded[0, 3] = True  # the office excluded the pair
    in_pipeline = np.zeros_like(scores, dtype=bool)
    in_pipeline[2, :] = True  # every pair of the third challenge is already in the pipeline
    chosen = assign_portfolio(
        scores,
        k=3,
        capacity=capacity,
        institution=institution,
        max_per_institution=1,
        excluded=excluded | in_pipeline,
    )
    assert chosen == [[0], [1, 2], []]
    short = shortfalls(
        scores,
        chosen,
        k=3,
        capacity=capacity,
        institution=institution,
        max_per_institution=1,
        in_pipeline=in_pipeline,
        excluded=excluded,
    )
    assert short == [
        {
            "row": 0,
            "proposed": 1,
            "missing": 2,
            "groups": 4,
            # group 1: its institution is there already (group 0), and it went to challenge 1
            "reasons": {"excluded": 1, "min_score": 1, "capacity": 1, "institution": 1},
        },
        {
            "row": 1,
            "proposed": 2,
            "missing": 1,
            "groups": 4,
            # group 0 is taken by challenge 0 (and A is there); group 3's institution is there
            "reasons": {"capacity": 1, "institution": 2},
        },
        {"row": 2, "proposed": 0, "missing": 3, "groups": 4, "reasons": {"in_pipeline": 4}},
    ]


@pytest.mark.committed  # a matching run (its heartbeat thread)
def test_the_run_summary_counts_challenges_and_names_the_shortfalls(matched_world) -> None:  # noqa: F811
    w = matched_world
    # All five groups are of one institution (at most one per challenge); one has no capacity.
    r = w.office.post("/api/v1/matching/runs", {"k": 3, "max_per_institution": 1, "wait": True})
    run = w.office.get(f"/api/v1/matching/runs/{r.json['id']}").json
    assert run["status"] == "finished", run
    assert (run["done"], run["total"]) == (2, 2)  # challenges, not texts or batches
    s = run["summary"]
    assert (s["challenges"], s["challenges_with_proposals"], s["proposals"]) == (2, 2, 2)
    assert s["k"] == 3 and s["unconstrained_proposals"] == 6
    assert s["changed_by_constraints"] == 4  # of the plain top 3 per challenge, 2 stay
    by_challenge = {c["challenge_id"]: c for c in s["short_of_k"]}
    assert set(by_challenge) == {w.challenge_id, w.truck_id}
    heat, trucks = by_challenge[w.challenge_id], by_challenge[w.truck_id]
    assert heat["title"].startswith("Waste heat")
    for c in (heat, trucks):
        # The other four groups are of the same institution, so held back by its limit.
        assert (c["proposed"], c["missing"], c["groups"]) == (1, 2, 5)
        assert c["reasons"]["institution"] == 4
    # Building Automation has no capacity at all; the mobility group's one place went to the
    # trucks, so for the heat challenge it is full too.
    assert heat["reasons"]["capacity"] == 2 and trucks["reasons"]["capacity"] == 1
