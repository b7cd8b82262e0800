"""The runtime tokenizers of exported models: the fast tokenizer of ``tokenizer.json``, or
SentencePiece for a model converted with a SentencePiece vocabulary (multilingual-e5-small)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from matchmaker.ranking.e5_tokenizer import NORMALISATION_FILE, SENTENCEPIECE_FILE, Normaliser


def _max_seq_length(src: Path) -> int:
    cfg = src / "sentence_bert_config.json"
    if cfg.is_file():
        value = json.loads(cfg.read_text(encoding="utf-8")).get("max_seq_length")
        if value:
            return int(value)
    conf = json.loads((src / "config.json").read_text(encoding="utf-8"))
    return int(conf.get("max_position_embeddings", 512))


def _bucket(length: int, step: int, limit: int) -> int:
    """``length`` rounded up to a multiple of ``step``, at most ``limit`` (but not below
    ``length``)."""
    return max(length, min(-(-length // step) * step, limit))


class _Tokenizer:
    """The model's fast tokenizer from ``tokenizer.json``, truncating at ``max_seq_length``."""

    def __init__(self, directory: Path, max_seq_length: int | None = None) -> None:
        from tokenizers import Tokenizer

        if max_seq_length is None:
            max_seq_length = _max_seq_length(directory)
        self.max_seq_length = max_seq_length
        self._encoder = Tokenizer.from_file(str(directory / "tokenizer.json"))
        self._encoder.enable_truncation(max_length=max_seq_length)
        self._encoder.no_padding()
        self._counter = Tokenizer.from_file(str(directory / "tokenizer.json"))
        self._counter.no_truncation()
        self._counter.no_padding()

    def count(self, text: str) -> int:
        return len(self._counter.encode(text, add_special_tokens=False).ids)

    def count_many(self, texts: Sequence[str]) -> list[int]:
        encodings = self._counter.encode_batch(list(texts), add_special_tokens=False)
        return [len(e.ids) for e in encodings]

    def batch(
        self, texts: Sequence[str], pad_to: int = 1
    ) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """Token ids and attention mask, padded to the longest text rounded up to a multiple of
        ``pad_to`` (never beyond ``max_seq_length``)."""
        encodings = self._encoder.encode_batch(list(texts))
        width = _bucket(max(len(e.ids) for e in encodings), pad_to, self.max_seq_length)
        ids = np.zeros((len(encodings), width), dtype=np.int64)
        mask = np.zeros((len(encodings), width), dtype=np.int64)
        for row, e in enumerate(encodings):
            ids[row, : len(e.ids)] = e.ids
            mask[row, : len(e.ids)] = 1
        return ids, mask


class _SentencePieceTokenizer(_Tokenizer):
    """A unigram vocabulary run by SentencePiece (a fraction of the tokenizers package's memory
    for a 250k-piece vocabulary), after the model's normalisation; same ids as tokenizer.json."""

    def __init__(self, directory: Path, max_seq_length: int) -> None:
        import sentencepiece

        self.max_seq_length = max_seq_length
        self._sp = sentencepiece.SentencePieceProcessor(
            model_file=str(directory / SENTENCEPIECE_FILE)
        )
        rules = json.loads((directory / NORMALISATION_FILE).read_text(encoding="utf-8"))
        self._normalise = Normaliser([tuple(r) for r in rules])
        self._bos, self._eos = self._sp.bos_id(), self._sp.eos_id()

    def _ids(self, texts: Sequence[str]) -> list[list[int]]:
        return list(self._sp.encode([self._normalise(t) for t in texts]))

    def count(self, text: str) -> int:
        return len(self._ids([text])[0])

    def count_many(self, texts: Sequence[str]) -> list[int]:
        return [len(i) for i in self._ids(texts)]

    def batch(
        self, texts: Sequence[str], pad_to: int = 1
    ) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        content = self.max_seq_length - 2
        rows = [[self._bos, *i[:content], self._eos] for i in self._ids(texts)]
        width = _bucket(max(len(r) for r in rows), pad_to, self.max_seq_length)
        ids = np.zeros((len(rows), width), dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for row, r in enumerate(rows):
            ids[row, : len(r)] = r
            mask[row, : len(r)] = 1
        return ids, mask


def _runtime_tokenizer(directory: Path, max_seq_length: int) -> _Tokenizer:
    if (directory / SENTENCEPIECE_FILE).is_file():
        return _SentencePieceTokenizer(directory, max_seq_length)
    return _Tokenizer(directory, max_seq_length)
