"""The vector store in the database: keyed lookups and the scan used for whole indexes."""

from __future__ import annotations

import numpy as np
from sqlalchemy import create_engine

from matchmaker.matching import store as store_module
from matchmaker.matching.store import SqlVectorStore


def test_lookups_and_the_whole_index_scan_give_the_same_vectors(database_url: str) -> None:
    engine = create_engine(database_url)
    store = SqlVectorStore(engine)
    rng = np.random.default_rng(3)
    n = 2 * store_module._SCAN_FROM + 200
    vectors = {f"{i:064x}": rng.standard_normal(8).astype(np.float32) for i in range(n)}
    store.put_many("model-a:8:test", vectors)
    store.put_many("model-b:8:test", {"f" * 64: np.ones(8, np.float32)})  # another model

    wanted = [f"{i:064x}" for i in range(0, n, 2)] + ["e" * 64, "f" * 64]  # two not stored
    assert len(wanted) >= store_module._SCAN_FROM  # the scan path
    scanned = store.get_many("model-a:8:test", wanted)
    few = store.get_many("model-a:8:test", [*wanted[:300], "f" * 64])  # keyed lookups
    assert set(scanned) == set(wanted[:-2])
    assert set(few) == set(wanted[:300])
    for key, vector in few.items():
        np.testing.assert_array_equal(scanned[key], vector)
        np.testing.assert_array_equal(vector, vectors[key])
    assert store.count("model-a:8:test") == n
    engine.dispose()
