"""Hubness: how near a text is, on average, to its nearest texts on the other side (CSLS, Conneau
et al. 2018), subtracted from its semantic similarity so that hubs do not top every list."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

#: Neighbours whose mean similarity measures a text's hubness: CSLS's K (Conneau et al. 2018).
HUBNESS_NEIGHBOURS = 10
#: Hubness is estimated only against at least this many texts on the other side: the 10 nearest
#: of fewer than 50 texts are a fifth of the corpus or more, not a neighbourhood.
HUBNESS_MIN_TEXTS = 5 * HUBNESS_NEIGHBOURS
#: Queries scored at once when fitting (bounds the passage-by-passage similarity matrix).
_CHUNK = 64


def _top_mean(
    similarities: NDArray[np.float32], axis: int, k: int = HUBNESS_NEIGHBOURS
) -> NDArray[np.float32]:
    """Mean of the ``k`` largest values along ``axis`` (all when there are fewer)."""
    n = similarities.shape[axis]
    if n == 0:
        return np.zeros(similarities.shape[1 - axis], np.float32)
    k = min(k, n)
    top = np.partition(similarities, n - k, axis=axis)
    top = top[n - k :] if axis == 0 else top[:, n - k :]
    return top.mean(axis=axis).astype(np.float32)


def _penalty(r: NDArray[np.float32]) -> NDArray[np.float32]:
    """CSLS's hubness term for texts with mean neighbour similarity ``r``: half of it, centred
    so that the scores of the whole corpus keep their level."""
    return (0.5 * (r - r.mean())).astype(np.float32)


class _Nearest:
    """The ``k`` largest similarities per column, kept while rows arrive in chunks."""

    def __init__(self, columns: int, rows: int, k: int = HUBNESS_NEIGHBOURS) -> None:
        self.k, self.rows = k, rows
        self.top = np.zeros((0, columns), np.float32)

    def add(self, sims: NDArray[np.float32]) -> None:
        both = np.concatenate([self.top, sims.astype(np.float32)])
        if len(both) > self.k:
            both = np.partition(both, len(both) - self.k, axis=0)[len(both) - self.k :]
        self.top = both

    def columns(self) -> NDArray[np.float32] | None:
        """Each column's hubness penalty, or None with fewer than HUBNESS_MIN_TEXTS rows."""
        if self.rows < HUBNESS_MIN_TEXTS or not self.top.shape[1]:
            return None
        return _penalty(self.top.mean(axis=0))


def _even_sample(n: int, limit: int) -> NDArray[np.int64]:
    """Up to ``limit`` evenly spaced indices of ``range(n)`` (all when ``n <= limit``)."""
    if n <= limit:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, limit).round().astype(np.int64))
