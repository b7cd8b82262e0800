"""The order of the best candidates is one order: a longer list begins with the shorter one,
also where scores tie (paging through a group's matches relies on it)."""

from __future__ import annotations

import numpy as np

from matchmaker.ranking.scoring import CandidateIndex
from matchmaker.ranking.types import Passage, Profile


def _index(n: int) -> CandidateIndex:
    profiles = [Profile(id=f"c{i}", title=f"Challenge {i}", text=f"text {i}") for i in range(n)]
    passages = [[Passage(p.id, p.title, p.text)] for p in profiles]
    return CandidateIndex(profiles, passages, np.eye(n, 8, dtype=np.float32))


def test_ties_at_the_cut_go_by_column_order_and_pages_are_slices_of_one_order() -> None:
    index = _index(8)
    # Five candidates tie on 0.5 around the cut of a page of three.
    scores = np.array([0.5, 0.9, 0.5, 0.5, 0.1, 0.5, 0.5, 0.8])
    everything = index.top_indices(scores, None).tolist()
    assert everything == [1, 7, 0, 2, 3, 5, 6, 4]
    for n in range(1, 9):
        assert index.top_indices(scores, n).tolist() == everything[:n], n
    # An excluded candidate is left out and the rest keep their order.
    assert index.top_indices(scores, 4, exclude={"c0"}).tolist() == [1, 7, 2, 3]
