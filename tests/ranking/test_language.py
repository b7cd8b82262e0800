"""Language detection and language centring."""

from __future__ import annotations

import numpy as np

from matchmaker.ranking.language import (
    LanguageCentring,
    PairCalibration,
    detect_language,
    pair_key,
)
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


def _two_language_similarities() -> tuple[np.ndarray, list[str], list[str]]:
    """Similarities of 40 German and 60 English queries against 30 German and 70 English
    candidates: German–English pairs run 0.1 lower and spread less than same-language ones."""
    rng = np.random.default_rng(1)
    rows = ["de"] * 40 + ["en"] * 60
    cols = ["de"] * 30 + ["en"] * 70
    r, c = np.array(rows)[:, None], np.array(cols)[None, :]
    same = r == c
    sims = np.where(same, 0.45 + 0.10 * rng.normal(size=same.shape), 0.0)
    sims = np.where(same, sims, 0.35 + 0.07 * rng.normal(size=same.shape))
    return sims.astype(np.float32), rows, cols


def test_calibration_puts_every_language_pair_on_the_pooled_scale() -> None:
    sims, rows, cols = _two_language_similarities()
    calibration = PairCalibration().fit(sims, rows, cols)
    assert set(calibration.pairs_) == {"de|de", "de|en", "en|en"}
    assert calibration.active
    out = calibration.transform(sims, rows, cols)
    pooled_mean, pooled_std = calibration.pooled_ or (0.0, 0.0)
    r, c = np.array(rows)[:, None], np.array(cols)[None, :]
    for mask in (r == c, r != c):
        # Before: the cross-language pairs sit ~0.1 below; after, every pair is on the pooled
        # scale (a little shrinkage towards it remains).
        assert abs(float(out[mask].mean()) - pooled_mean) < 0.01
        assert abs(float(out[mask].std()) - pooled_std) < 0.01
    assert float(sims[r != c].mean()) < pooled_mean - 0.03
    # Within a language pair the order is kept (a monotone map; clipping may make ties).
    cross = r != c
    assert (np.diff(out[cross][np.argsort(sims[cross], kind="stable")]) >= 0).all()


def test_calibration_is_symmetric_and_leaves_one_language_alone() -> None:
    sims, rows, cols = _two_language_similarities()
    calibration = PairCalibration().fit(sims, rows, cols)
    assert pair_key("en", "de") == pair_key("de", "en") == "de|en"
    # A group ranking challenges (rows and columns swapped) gets the same values.
    swapped = calibration.transform(sims.T, cols, rows)
    assert np.allclose(swapped, calibration.transform(sims, rows, cols).T)
    # A corpus of one language: nothing to calibrate, similarities stay exactly as they are.
    english = PairCalibration().fit(sims[40:, 30:], rows[40:], cols[30:])
    assert not english.active
    assert np.array_equal(english.transform(sims[40:, 30:], rows[40:], cols[30:]), sims[40:, 30:])


def test_a_language_pair_seen_in_few_pairs_is_barely_moved() -> None:
    sims, rows, cols = _two_language_similarities()
    # One French query among them: its 100 pairs are shrunk strongly towards the pooled stats.
    sims = np.vstack([sims, np.full((1, 100), 0.9, np.float32)])
    rows = [*rows, "other"]
    calibration = PairCalibration(prior=1000).fit(sims, rows, cols)
    moved = calibration.transform(sims[-1:], ["other"], cols) - sims[-1:]
    assert float(np.abs(moved).max()) < 0.2  # an unshrunk map would pull 0.9 down to the mean
    assert (
        PairCalibration().fit(sims, rows, cols).transform(sims[-1:], ["other"], cols).max() <= 1.0
    )


def test_calibration_rejects_languages_that_do_not_fit_the_matrix() -> None:
    sims, rows, cols = _two_language_similarities()
    try:
        PairCalibration().fit(sims, rows[:-1], cols)
    except ValueError as exc:
        assert "one language per row" in str(exc)
    else:
        raise AssertionError("a row without a language was accepted")
