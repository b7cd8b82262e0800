"""Stated interest: what the group and the company said about a pair, as a score component."""

from __future__ import annotations

from typing import Any

import numpy as np

#: How far stated interest moves a score: ``score + INTEREST_WEIGHT * (interest - 0.5)``, so at
#: most ±0.1; with nothing stated (interest 0.5) the score is unchanged.
INTEREST_WEIGHT = 0.2
GROUP_VALUES = ("interested", "not_for_us")
COMPANY_VALUES = ("interested",)


def interest_value(group: str | None, company: str | None) -> float:
    """The ``interest`` component in [0, 1]: 0.5 when nothing is stated, +0.25 for each side
    that is interested, and 0 when the group said "not for us" (whatever the company said)."""
    if group == "not_for_us":
        return 0.0
    return 0.5 + 0.25 * (group == "interested") + 0.25 * (company == "interested")


def with_interest(score: Any, interest: Any) -> Any:
    """A score (or array of scores) moved by stated interest."""
    return score + INTEREST_WEIGHT * (np.asarray(interest) - 0.5)
