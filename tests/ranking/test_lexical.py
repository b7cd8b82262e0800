"""The lexical model's TF-IDF, computed without scikit-learn, equals scikit-learn's
``TfidfVectorizer`` with the settings the model used before; and scikit-learn stays off the
web worker's import and serving path."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import numpy as np
import pytest
from scipy import sparse
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS as SKLEARN_STOP_WORDS
from sklearn.feature_extraction.text import TfidfVectorizer

from matchmaker.config import PROJECT_ROOT
from matchmaker.ranking.lexical import (
    GERMAN_STOP_WORDS,
    STOP_WORDS,
    LexicalModel,
    analyse,
    char_ngrams,
    term,
    words,
)
from matchmaker.ranking.passages import profile_text
from matchmaker.ranking.seed import load_seed
from matchmaker.ranking.stop_words import ENGLISH_STOP_WORDS

Corpus = tuple[list[str], list[str]]

# Accents, ß, ligatures, compatibility characters, short words, runs of mixed whitespace
# (tab, newline, no-break and em spaces), stop words only, an empty text.
TRICKY_DOCS = [
    "Wärmepumpen für  Prozessdampf:\tAbwärme\n\nnutzen — Straße, Größe, MASSE, Maße.",
    "Industrial heat pumps; heat-pump steam (HTHP) at 150 °C, CO₂ capture, naïve café résumé.",
    "a I xy ab  abc abcd ÉCOLE Œuvre ﬁne ½ İstanbul",
    "Ünïcödé\u00a0\u00a0non-breaking\u2003em space and the of",
    "the and of",
    "",
]
TRICKY_QUERIES = [
    "Prozessdampf aus Abwärme, heat pumps",
    "completely unseen vocabulary zzzz",
    "",
    "the and of",
    "ÉCOLE  naïve\tcafé",
]


def _identity(tokens: list[str]) -> list[str]:
    return tokens


def _sklearn_words() -> TfidfVectorizer:
    """The word model as it was: stems of :func:`words`, sublinear tf, float32."""
    return TfidfVectorizer(analyzer=_identity, sublinear_tf=True, dtype=np.float32)


def _sklearn_chars() -> TfidfVectorizer:
    """The character model as it was."""
    return TfidfVectorizer(
        analyzer="char_wb",
        ngram_range=(3, 5),
        sublinear_tf=True,
        strip_accents="unicode",
        dtype=np.float32,
    )


@pytest.fixture(scope="module")
def labelled() -> Corpus:
    """The labelled set's texts: the groups (the candidates) and the challenges (the queries)."""
    data = load_seed(PROJECT_ROOT / "seed_data")
    return [profile_text(g) for g in data.groups], [profile_text(c) for c in data.challenges]


@pytest.fixture(params=["labelled", "tricky"])
def corpus(request: pytest.FixtureRequest) -> Corpus:
    if request.param == "labelled":
        docs, queries = request.getfixturevalue("labelled")
        return docs, queries
    return TRICKY_DOCS, TRICKY_QUERIES


def assert_same(ours: Any, theirs: Any) -> None:
    assert isinstance(ours, (sparse.csr_matrix, sparse.csc_matrix))
    assert ours.dtype == np.float32
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours.toarray(), theirs.toarray(), rtol=0, atol=1e-6)


@pytest.mark.parametrize("analyzer", ["word", "char"])
def test_tfidf_equals_scikit_learns(analyzer: str, corpus: Corpus) -> None:
    docs, queries = corpus
    model = LexicalModel(analyzer).fit(docs)

    ref_words = _sklearn_words()
    ref_word_matrix = ref_words.fit_transform([[term(w) for w in words(t)] for t in docs])
    assert list(model.terms_) == list(ref_words.get_feature_names_out())
    assert_same(model.word_matrix_, ref_word_matrix)
    ref_word_queries = ref_words.transform([analyse(q) for q in queries])
    assert_same(model.word_vectors(queries), ref_word_queries)

    if analyzer == "char":
        ref = _sklearn_chars()
        ref_matrix = ref.fit_transform(docs)
        assert list(model.chars_.get_feature_names_out()) == list(ref.get_feature_names_out())
        ref_queries = ref.transform(queries)
    else:
        ref_matrix, ref_queries = ref_word_matrix, ref_word_queries
    assert_same(model.matrix_, ref_matrix)
    ours = model.transform(queries)
    assert_same(ours, ref_queries)
    np.testing.assert_allclose(
        model.similarity(ours),
        np.clip((ref_queries @ ref_matrix.T).toarray(), 0, 1),
        rtol=0,
        atol=1e-6,
    )


@pytest.mark.parametrize("text", [*TRICKY_DOCS, *TRICKY_QUERIES, "x", "ab", "abc", " \t "])
def test_character_ngrams_are_scikit_learns_char_wb(text: str) -> None:
    analyze = _sklearn_chars().build_analyzer()
    assert char_ngrams(text) == analyze(text)


def test_english_stop_words_are_scikit_learns() -> None:
    assert ENGLISH_STOP_WORDS == SKLEARN_STOP_WORDS
    assert len(ENGLISH_STOP_WORDS) == 318
    assert STOP_WORDS == ENGLISH_STOP_WORDS | GERMAN_STOP_WORDS


@pytest.mark.parametrize(
    ("analyzer", "docs"),
    [
        ("word", []),
        ("word", [""]),
        ("word", ["the and of", "und der die", "  "]),
        ("char", []),
        ("char", ["", " \n "]),
    ],
)
def test_a_corpus_without_terms_gives_zero_similarity(analyzer: str, docs: list[str]) -> None:
    model = LexicalModel(analyzer).fit(docs)
    queries = model.transform(["Heat pumps for process steam", "", "the and of"])
    similarity = model.similarity(queries)
    assert similarity.shape == (3, len(docs))
    assert not similarity.any()
    assert model.word_matrix_.shape[0] == len(docs)
    for j in range(len(docs)):
        assert model.key_terms(model.word_vectors(["heat pumps"]), j) == []


def test_unseen_terms_are_ignored() -> None:
    model = LexicalModel().fit(["Industrial heat pumps supply process steam."])
    assert model.word_vectors(["zzzz qqqq"]).nnz == 0
    (row,) = model.word_vectors(["heat pumps zzzz"]).toarray()
    assert np.linalg.norm(row) == pytest.approx(1.0)
    assert model.key_terms(model.word_vectors(["steam from heat pumps"]), 0) == [
        "heat",
        "pumps",
        "steam",
    ]


def test_the_same_query_is_analysed_once_in_a_row() -> None:
    model = LexicalModel().fit(["Industrial heat pumps supply process steam.", "Copper slag"])
    first = model.word_vectors(["heat pumps", "copper"])
    assert model.word_vectors(["heat pumps", "copper"]) is first  # scoring, then evidence
    other = model.word_vectors(["process steam"])
    assert other is not first and other.nnz == 2
    again = model.word_vectors(["heat pumps", "copper"])
    assert again is not first and (again != first).nnz == 0
    # Fitted anew, the same texts get rows of the new vocabulary, not the kept ones.
    model.fit(["Copper slag", "Heat pumps", "Hydrogen electrolysers"])
    refitted = model.word_vectors(["heat pumps", "copper"])
    assert refitted.shape[1] == len(model.terms_) != again.shape[1]


# The web app as gunicorn imports it (``wsgi``), then what a worker does when it builds its index
# and serves: fit the lexical model, rank with evidence. scikit-learn costs ~0.85 s to import.
SERVING = """
import sys
import numpy as np
import wsgi
from matchmaker.ranking.lexical import LexicalModel
from matchmaker.ranking.scoring import CandidateIndex
from matchmaker.ranking.types import Passage, Profile

groups = [
    Profile(id="heat", title="Heat pumps", text="Industrial heat pumps supply process steam."),
    Profile(id="ml", title="Lernen", text="Wir trainieren Modelle für die Qualitätsprüfung."),
]
passages = [[Passage(g.id, g.title, g.text)] for g in groups]
index = CandidateIndex(groups, passages, np.eye(2, 4, dtype=np.float32))
query = Profile(id="q", text="Our furnace's waste heat should make steam.")
best = index.rank(query, np.eye(1, 4, dtype=np.float32))[0]
assert best.candidate_id == "heat" and best.components["lexical"] > 0, best
assert "steam" in best.evidence.terms, best.evidence
LexicalModel().fit([])
loaded = sorted(m for m in sys.modules if m.split(".")[0] == "sklearn")
assert not loaded, loaded[:10]
print("served without scikit-learn")
"""


def test_the_web_app_serves_without_importing_scikit_learn(tmp_path: Any) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MATCHMAKER_")}
    env.update(
        HF_HUB_OFFLINE="1",
        MATCHMAKER_DATABASE_URL=f"sqlite:///{tmp_path / 'm.sqlite3'}",
        MATCHMAKER_SECRET_KEY="test",
        MATCHMAKER_INSTANCE_DIR=str(tmp_path),
        MATCHMAKER_WARM_UP="0",
    )
    proc = subprocess.run(
        [sys.executable, "-c", SERVING],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "served without scikit-learn" in proc.stdout
