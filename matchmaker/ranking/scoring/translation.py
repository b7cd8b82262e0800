"""Lexical overlap across German and English through a dictionary: the German candidates'
texts as English terms, and the translated key terms of the evidence."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from matchmaker.ranking.dictionary import Dictionary
from matchmaker.ranking.scoring.config import DEFAULT_CONFIG, ScoringConfig
from matchmaker.ranking.scoring.passage_index import PassageIndex, _Queries
from matchmaker.ranking.types import Passage, Profile, TermPair


class TranslatingIndex(PassageIndex):
    """A :class:`PassageIndex` whose lexical component can measure a German and an English text
    through :attr:`dictionary`."""

    @property
    def dictionary(self) -> Dictionary | None:
        """The German–English dictionary (None: none). With it, the lexical component of a German
        and an English text is measured, on the German text translated into English terms
        (:meth:`Dictionary.english_terms`), and the evidence names key terms in both languages."""
        return self._dictionary

    @dictionary.setter
    def dictionary(self, value: Dictionary | None) -> None:
        self._dictionary = value
        self._translated = None

    @property
    def translated(self) -> sparse.csr_matrix | None:
        """The German candidates' passages as English terms (``lexical.bag_vectors`` rows), for
        ``ScoringConfig.lexical_translated``; built on first use. None without a dictionary or
        with the character analyzer."""
        value = self._dictionary
        if self._translated is None and value is not None and self.lexical.analyzer == "word":
            self._english = np.flatnonzero(self._languages == "en")
            self._german = np.flatnonzero(self._languages == "de")
            # Row blocks kept, so a request multiplies rather than slices a sparse matrix.
            self._english_rows = self.lexical.word_matrix_[self._english]
            self._translated = self.lexical.bag_vectors(
                [value.english_bag(self.passages[j]) for j in self._german]
            )
        return self._translated

    def translated_lexical(
        self,
        lex: NDArray[np.float32],
        passages: Sequence[Sequence[Passage]],
        languages: NDArray[Any],
        rows: Any,
    ) -> NDArray[np.float32]:
        """``lex`` with the German–English pairs measured through :attr:`dictionary`: a German
        query's English terms against English candidates, an English query (its ``rows`` of
        ``lexical.word_vectors``) against German candidates' English terms."""
        dictionary, translated = self._dictionary, self.translated
        if dictionary is None or translated is None or not lex.size:
            return lex
        for i, lang in enumerate(languages):
            if lang == "de" and len(self._english):
                bag = self.lexical.bag_vectors([dictionary.english_bag(passages[i])])
                lex[i, self._english] = (self._english_rows @ bag.T).toarray().ravel()
            elif lang == "en" and len(self._german):
                lex[i, self._german] = (translated @ rows[i].T).toarray().ravel()
        return np.clip(lex, 0.0, 1.0, out=lex)

    def same_language(
        self, queries: Sequence[Profile], q: _Queries, config: ScoringConfig = DEFAULT_CONFIG
    ) -> NDArray[np.bool_]:
        """``(n_queries, n_candidates)`` booleans: the lexical overlap of the query's and the
        candidate's own texts can be measured — they are in the same language, or (with
        ``config.lexical_translated``) one is German, the other English and the
        :attr:`dictionary` translates between them."""
        rows = self.query_languages(queries, q)[:, None]
        columns = self._languages[None, :]
        same = rows == columns
        if config.lexical_translated and self.translated is not None:
            same |= ((rows == "de") & (columns == "en")) | ((rows == "en") & (columns == "de"))
        return same

    def translated_terms(
        self, query: Sequence[Passage], candidate: Sequence[Passage], n: int
    ) -> list[TermPair]:
        """Up to ``n`` words of the query's German passages translated in the candidate's English
        ones, and the other way round, by :attr:`dictionary` (heaviest first)."""
        assert self.dictionary is not None
        found: list[TermPair] = []
        for german, english, german_is_query in (
            (query, candidate, True),
            (candidate, query, False),
        ):
            de = [p.text for p in german if p.language == "de"]
            en = [p.text for p in english if p.language == "en"]
            if de and en:
                found += self.dictionary.term_pairs(
                    de,
                    en,
                    self.lexical.idf_by_term_,
                    self.lexical.max_idf_,
                    n,
                    german_is_query=german_is_query,
                )
        return found[:n]
