"""Built-in English/German industrial-research text (int8 calibration, tests, benchmarks).

The sentence parts live in ``calibration.json`` beside this module (package data): actors and
their problems and constraints, labs and their methods, in each language.
"""

from __future__ import annotations

import functools
import json
import random
from pathlib import Path

#: Texts and seed of the int8 calibration set (recorded in the cache manifest).
_CALIBRATION_SIZE = 128
_CALIBRATION_SEED = 20190
_CORPUS_FILE = Path(__file__).with_name("calibration.json")


@functools.cache
def _vocabularies() -> dict[str, dict[str, list[str]]]:
    """The sentence parts per language (``en``, ``de``), read once."""
    data: dict[str, dict[str, list[str]]] = json.loads(_CORPUS_FILE.read_text(encoding="utf-8"))
    return data


def _sentence(rng: random.Random, vocab: dict[str, list[str]]) -> str:
    if rng.random() < 0.5:
        return f"{rng.choice(vocab['actor'])} {rng.choice(vocab['problem'])}. " + rng.choice(
            vocab["constraint"]
        )
    return f"{rng.choice(vocab['lab'])} {rng.choice(vocab['method'])}."


def sample_texts(n: int, *, seed: int = 0, sentences: tuple[int, int] = (3, 5)) -> list[str]:
    """``n`` deterministic English (2/3) or German (1/3) industrial-research passages; the default
    ``sentences`` range gives ~100–200 word pieces each, ``(1, 1)`` gives short queries."""
    vocabularies = _vocabularies()
    rng = random.Random(seed)
    texts = []
    for _ in range(n):
        vocab = vocabularies["de"] if rng.random() < 1 / 3 else vocabularies["en"]
        k = rng.randint(*sentences)
        texts.append(" ".join(_sentence(rng, vocab) for _ in range(k)))
    return texts
