"""Synthetic but realistic-length research groups for the production benchmarks.

Texts are sentences drawn from a domain vocabulary: a capability statement of ~90 words,
methods of ~25 words, and publications with ~20-word titles and ~120-word abstracts (each
document fits one 256-word-piece passage, so a group with 5 publications has 7 passages).
"""

from __future__ import annotations

import json
import random
from typing import Any

SUBJECTS = [
    "high-temperature heat pumps", "waste heat recovery", "district heating networks",
    "battery storage systems", "grid frequency control", "power electronics",
    "electric truck fleets", "depot charging", "port logistics", "building automation",
    "HVAC control", "occupancy sensing", "hydrogen electrolysis", "power-to-heat",
    "industrial process steam", "anomaly detection", "digital twins", "machine learning",
    "demand response", "thermal energy storage", "compressed air systems", "carbon capture",
    "smart meters", "load forecasting", "vehicle-to-grid", "heat exchangers",
]  # fmt: skip
VERBS = [
    "We develop", "We model", "We measure", "We optimise", "Our group designs",
    "The lab evaluates", "We simulate", "We validate", "We test", "We benchmark",
]  # fmt: skip
CONTEXTS = [
    "for energy-intensive industry in northern Germany",
    "in copper smelters, refineries and chemical parks",
    "under real operating conditions on industrial sites",
    "with partners from the Hamburg port and logistics sector",
    "to cut carbon dioxide emissions and energy costs",
    "from laboratory prototypes to pilot plants",
    "using field data from more than one hundred installations",
    "together with utilities and grid operators",
]  # fmt: skip
FIELDS = [
    "energy_efficiency", "smart_grids", "smart_mobility", "smart_buildings", "sector_coupling",
    "ai_digitisation",
]  # fmt: skip


def sentence(rng: random.Random) -> str:
    a, b = rng.sample(SUBJECTS, 2)
    return f"{rng.choice(VERBS)} {a} and {b} {rng.choice(CONTEXTS)}."


def text(rng: random.Random, words: int) -> str:
    out: list[str] = []
    while sum(len(s.split()) for s in out) < words:
        out.append(sentence(rng))
    return " ".join(out)


def group(i: int, rng: random.Random, publications: int = 5) -> dict[str, Any]:
    """One group in the import format (``key``, ``institution``, ``GroupIn`` fields)."""
    subject = rng.choice(SUBJECTS)
    return {
        "key": f"bench-{i}",
        "institution": f"Research Institute {i % 150}",
        "name": f"{subject.capitalize()} Group {i}",
        "capabilities": text(rng, 90),
        "methods": text(rng, 25),
        "keywords": rng.sample(SUBJECTS, 3),
        "fields": rng.sample(FIELDS, rng.randint(1, 2)),
        "trl_min": rng.randint(1, 4),
        "trl_max": rng.randint(5, 9),
        "capacity": rng.randint(1, 4),
        "publications": [
            {
                "title": text(rng, 15).rstrip("."),
                "abstract": text(rng, 120),
                "year": rng.randint(2015, 2025),
            }
            for _ in range(publications)
        ],
    }


def groups_jsonl(n: int, publications: int = 5, seed: int = 7) -> str:
    rng = random.Random(seed)
    return "".join(json.dumps(group(i, rng, publications)) + "\n" for i in range(n))


def challenge(i: int, rng: random.Random) -> dict[str, Any]:
    return {
        "key": f"bench-challenge-{i}",
        "organisation": f"Bench Company {i % 10}",
        "title": text(rng, 10).rstrip(".")[:200],
        "summary": text(rng, 80),
        "fields": rng.sample(FIELDS, 2),
        "trl_now": 3,
        "trl_target": 6,
        "budget_band": "250k_1m",
        "status": "open",
    }
