"""Language detection and language centring."""

from __future__ import annotations

import numpy as np

from matchmaker.ranking.language import LanguageCentring, detect_language
from matchmaker.ranking.passages import profile_passages
from matchmaker.ranking.types import Document, Profile


def test_detects_german_english_and_other() -> None:
    assert detect_language("Abwärmenutzung aus Druckluftkompressoren für die Hallenheizung") == "de"
    assert detect_language("Waste heat recovery from industrial off-gases") == "en"
    assert detect_language("Récupération de la chaleur fatale des fours industriels") == "other"
    assert detect_language("CO2", default="de") == "de"  # too short to tell


def test_centring_removes_a_shared_language_offset() -> None:
    rng = np.random.default_rng(0)
    topics = rng.normal(size=(2, 16))
    offset = {"de": rng.normal(size=16) * 3, "en": rng.normal(size=16) * 3}
    rows, langs = [], []
    for lang in ("de", "en"):
        for t in range(2):
            for _ in range(40):
                rows.append(topics[t] + offset[lang] + rng.normal(size=16) * 0.3)
                langs.append(lang)
    x = np.array(rows, np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    centred = LanguageCentring().fit(x, langs).transform(x, langs)
    de_t0, de_t1, en_t0 = centred[0], centred[40], centred[80]
    # Uncentred, two German texts on different topics are closer than German and English
    # texts on one topic; centred, the topic wins.
    assert float(x[0] @ x[40]) > float(x[0] @ x[80])
    assert float(de_t0 @ en_t0) > float(de_t0 @ de_t1)
    assert np.allclose(np.linalg.norm(centred, axis=1), 1.0, atol=1e-5)


def test_a_language_with_few_vectors_is_barely_corrected() -> None:
    x = np.eye(4, dtype=np.float32)[[0, 0, 0, 0, 1]]
    c = LanguageCentring(prior=4).fit(x, ["en"] * 4 + ["de"])
    assert np.allclose(c.mean("en"), x[0] * 4 / 8)
    assert np.allclose(c.mean("de"), x[4] / 5)
    assert np.allclose(c.mean("fr"), 0)  # never seen: not corrected
    # A single German text keeps its direction: its topic is not erased.
    assert float(c.transform(x[4:], ["de"])[0] @ x[4]) > 0.99


def test_passages_know_their_documents_language(embedder) -> None:  # type: ignore[no-untyped-def]
    group = Profile(
        id="g",
        title="Wärmepumpen",
        text="Wir entwickeln Hochtemperatur-Wärmepumpen für industrielle Prozesswärme.",
        documents=(
            Document("p1", "Heat pumps for steam", "We report a 200 °C steam heat pump test."),
            Document("p2", "Notiz", "kurz", language="de"),
        ),
    )
    langs = [p.language for p in profile_passages(group, embedder)]
    assert langs == ["de", "en", "de"]
