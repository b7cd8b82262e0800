"""Plain value types of the ranking core: profiles in, matches with evidence out."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Document:
    """One text of a profile: a capability statement, a methods list, a publication."""

    id: str
    title: str = ""
    text: str = ""
    #: ``de``, ``en`` or ``other``; None: the profile's language, else detected from the text.
    language: str | None = None


@dataclass(frozen=True)
class Profile:
    """Either side of a match: a challenge or a research group, as the ranker sees it.

    A profile is its own title/text plus its documents. The TRL attributes describe a challenge
    (``trl`` now, ``trl_target``) or a group (``trl_min``..``trl_max``); profiles of the batch
    contract carry a single ``trl``.
    """

    id: str
    title: str = ""
    text: str = ""
    documents: tuple[Document, ...] = ()
    fields: tuple[str, ...] = ()
    trl: int | None = None
    trl_target: int | None = None
    trl_min: int | None = None
    trl_max: int | None = None
    capacity: int | None = None
    institution: str | None = None
    #: Language of the profile's own title/text (documents may say otherwise); None: detected.
    language: str | None = None


@dataclass(frozen=True)
class Passage:
    """A piece of a profile's text that fits the model's window, and where it came from."""

    document_id: str
    document_title: str
    text: str
    #: ``de``, ``en`` or ``other``: the language of the document the passage comes from.
    language: str = "en"


@dataclass(frozen=True)
class EvidencePair:
    """A query passage and a candidate passage that are close in embedding space."""

    query_passage: str
    candidate_passage: str
    #: Title of the candidate document the passage belongs to (its id when it has no title).
    candidate_document: str
    similarity: float


@dataclass(frozen=True)
class TermPair:
    """A key term of the query and its translation in the candidate's text."""

    query: str
    candidate: str


@dataclass
class Evidence:
    """Why a candidate matched: the closest passage pairs, the shared key terms and the key
    terms that translate each other (a German word of one text, its English translation in the
    other)."""

    pairs: list[EvidencePair] = field(default_factory=list)
    terms: list[str] = field(default_factory=list)
    translations: list[TermPair] = field(default_factory=list)


@dataclass
class Match:
    """One ranked candidate for one query; ``score`` is the weighted sum of ``components``."""

    query_id: str
    candidate_id: str
    rank: int
    score: float
    components: dict[str, float]
    evidence: Evidence | None = None
