from __future__ import annotations

from matchmaker.ranking.embed import SentenceTransformerEmbedder
from matchmaker.ranking.passages import profile_passages, split_passages, text_hash
from matchmaker.ranking.types import Document, Profile

SENTENCE = "Industrial heat pumps lift waste heat from cooling water to process temperatures."


def test_long_text_becomes_several_passages_within_the_window_and_loses_no_word(
    embedder: SentenceTransformerEmbedder,
) -> None:
    text = " ".join(f"{SENTENCE} Sentence number {i} adds detail." for i in range(80))
    passages = split_passages(text, embedder.count_tokens, embedder.max_tokens)
    assert len(passages) > 3
    assert all(embedder.count_tokens(p) <= embedder.max_tokens for p in passages)
    assert " ".join(passages).split() == text.split()


def test_sentences_are_kept_whole_when_they_fit(embedder: SentenceTransformerEmbedder) -> None:
    text = " ".join([SENTENCE] * 12)
    passages = split_passages(text, embedder.count_tokens, 40)
    assert all(p.endswith("temperatures.") for p in passages)


def test_a_sentence_longer_than_the_window_is_split_at_words(
    embedder: SentenceTransformerEmbedder,
) -> None:
    text = "pump " * (3 * embedder.max_tokens) + "end"
    passages = split_passages(text, embedder.count_tokens, embedder.max_tokens)
    assert len(passages) >= 3
    assert all(embedder.count_tokens(p) <= embedder.max_tokens for p in passages)
    assert " ".join(passages).split() == text.split()


def test_a_word_longer_than_the_window_is_not_dropped() -> None:
    def chars(text: str) -> int:
        return len(text.replace(" ", ""))

    word = "x" * 25
    passages = split_passages(f"a {word} b", chars, 10)
    assert "".join(passages).replace(" ", "") == f"a{word}b"
    assert all(chars(p) <= 10 for p in passages)


def test_empty_text_has_no_passages(embedder: SentenceTransformerEmbedder) -> None:
    assert split_passages("  \n ", embedder.count_tokens, 10) == []


def test_profile_passages_cover_title_text_and_each_document(
    embedder: SentenceTransformerEmbedder,
) -> None:
    profile = Profile(
        id="g1",
        title="Heat Lab",
        text="We build heat pumps.",
        documents=(Document("p1", "Steam from waste heat", "A field study."), Document("p2")),
    )
    passages = profile_passages(profile, embedder)
    assert [(p.document_id, p.text) for p in passages] == [
        ("g1", "Heat Lab. We build heat pumps."),
        ("p1", "Steam from waste heat. A field study."),
    ]
    assert passages[1].document_title == "Steam from waste heat"


def test_text_hash_is_sha256_of_the_text() -> None:
    assert text_hash("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
