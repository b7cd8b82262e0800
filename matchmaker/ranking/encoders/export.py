"""Building an exported model from a local sentence-transformers directory: OpenVINO IR (fp32
or int8-quantised by NNCF) or ONNX, with its tokenizer files (needs torch and transformers)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from matchmaker.ranking.e5_tokenizer import NORMALISATION_FILE, SENTENCEPIECE_FILE
from matchmaker.ranking.encoders.backends import _require
from matchmaker.ranking.encoders.calibration import (
    _CALIBRATION_SEED,
    _CALIBRATION_SIZE,
    sample_texts,
)
from matchmaker.ranking.encoders.tokenizer import _max_seq_length, _Tokenizer


@contextlib.contextmanager
def _telemetry_declined() -> Iterator[None]:
    """Decline OpenVINO's and NNCF's usage telemetry while an export is built.

    Without a consent file both send usage data to Google Analytics by default, from a forked
    process (seen in the tests: the child hung in DNS resolution on an offline machine, holding
    the parent's pipes). Matchmaker never sends data anywhere; this answers their own consent
    check with "declined" for the duration of the build, without writing to the user's home.
    """
    try:
        from openvino_telemetry.utils import opt_in_checker
    except ImportError:  # no telemetry package: nothing to decline
        yield
        return
    checker = opt_in_checker.OptInChecker
    original = checker.check

    def declined(self: Any, *args: Any, **kwargs: Any) -> Any:
        return opt_in_checker.ConsentCheckResult.DECLINED

    checker.check = declined
    try:
        yield
    finally:
        checker.check = original


def _pooling_mode(src: Path) -> str:
    for cfg in sorted(src.glob("*_Pooling/config.json")):
        conf = json.loads(cfg.read_text(encoding="utf-8"))
        if conf.get("pooling_mode_mean_tokens"):
            return "mean"
        if conf.get("pooling_mode_cls_token"):
            return "cls"
        raise ValueError(f"{cfg}: only mean or CLS pooling can be exported")
    return "mean"


def _check_exportable(src: Path) -> None:
    modules = json.loads((src / "modules.json").read_text(encoding="utf-8"))
    kinds = [m["type"].rsplit(".", 1)[-1] for m in modules]
    if kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        raise ValueError(
            f"{src}: only Transformer + Pooling (+ Normalize) models can be exported, not {kinds}"
        )


#: A vocabulary at least this large keeps its word embeddings outside the exported graph (see
#: :func:`_external_embeddings`).
EXTERNAL_VOCABULARY = 100_000
_EMBEDDINGS_FILE = "word_embeddings.npy"


def _external_embeddings(src: Path) -> bool:
    """Whether the export takes word embeddings instead of token ids.

    A multilingual vocabulary (multilingual-e5-small: 250,037 pieces x 384) is 384 MB of float32
    inside the graph, compiled into every worker's private memory, while one text touches a few
    hundred rows. Kept outside, as a float16 array that every worker maps from the same file,
    only the rows in use are resident and shared between workers (measured in docs/encoders.md).
    """
    conf = json.loads((src / "config.json").read_text(encoding="utf-8"))
    return int(conf.get("vocab_size", 0)) >= EXTERNAL_VOCABULARY


def _input_names(src: Path) -> tuple[str, str]:
    return ("inputs_embeds" if _external_embeddings(src) else "input_ids", "attention_mask")


def _torch_module(src: Path) -> Any:
    """The model as a torch module ``(input_ids, attention_mask) -> unit-length embeddings``
    (``(inputs_embeds, attention_mask)`` for a model with :func:`_external_embeddings`)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import torch
    from transformers import AutoModel

    _check_exportable(src)
    mode = _pooling_mode(src)
    base = AutoModel.from_pretrained(str(src), attn_implementation="eager").eval()

    class Encoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.base = base

        def pool(self, hidden: Any, attention_mask: Any) -> Any:
            if mode == "cls":
                pooled = hidden[:, 0]
            else:
                mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2.0, dim=1)

        def encode(self, attention_mask: Any, **inputs: Any) -> Any:
            hidden = self.base(
                attention_mask=attention_mask,
                token_type_ids=torch.zeros_like(attention_mask),
                **inputs,
            ).last_hidden_state
            return self.pool(hidden, attention_mask)

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            return self.encode(attention_mask, input_ids=input_ids)

    class EmbeddingsEncoder(Encoder):
        def forward(self, inputs_embeds: Any, attention_mask: Any) -> Any:
            return self.encode(attention_mask, inputs_embeds=inputs_embeds)

    if _external_embeddings(src):
        return EmbeddingsEncoder().eval()
    return Encoder().eval()


def _word_embeddings(src: Path) -> NDArray[np.float32]:
    """The model's word-embedding table as float32, read from its safetensors file."""
    from safetensors.numpy import load_file

    for path in sorted(src.glob("*.safetensors")):
        tensors = load_file(str(path))
        for name, value in tensors.items():
            if name.endswith("word_embeddings.weight"):
                return np.asarray(value, dtype=np.float32)
    raise ValueError(f"{src}: no word_embeddings.weight in its safetensors files")


def _model_inputs(
    src: Path, ids: NDArray[np.int64], mask: NDArray[np.int64]
) -> dict[str, NDArray[Any]]:
    """The exported graph's inputs for token ``ids`` (word vectors looked up when external)."""
    name, mask_name = _input_names(src)
    if name == "inputs_embeds":
        return {name: _word_embeddings(src)[ids], mask_name: mask}
    return {name: ids, mask_name: mask}


def _example_inputs(src: Path) -> dict[str, Any]:
    import torch

    tok = _Tokenizer(src)
    ids, mask = tok.batch(["an example sentence for tracing", "ein Beispielsatz"])
    return {k: torch.from_numpy(v) for k, v in _model_inputs(src, ids, mask).items()}


def _ov_model(src: Path) -> Any:
    import openvino as ov
    import torch

    module = _torch_module(src)
    name, mask_name = _input_names(src)
    shape = [-1, -1, _hidden_size(src)] if name == "inputs_embeds" else [-1, -1]
    kind = ov.Type.f32 if name == "inputs_embeds" else ov.Type.i64
    with torch.no_grad():
        return ov.convert_model(
            module,
            example_input=_example_inputs(src),
            input=[(name, shape, kind), (mask_name, [-1, -1], ov.Type.i64)],
        )


def _copy_tokenizer(src: Path, dst: Path) -> None:
    shutil.copy2(src / "tokenizer.json", dst / "tokenizer.json")
    for name in (SENTENCEPIECE_FILE, NORMALISATION_FILE):
        if (src / name).is_file():
            shutil.copy2(src / name, dst / name)
    meta: dict[str, Any] = {"max_seq_length": _max_seq_length(src), "dim": _hidden_size(src)}
    if _external_embeddings(src):
        np.save(dst / _EMBEDDINGS_FILE, _word_embeddings(src).astype(np.float16))
        meta["word_embeddings"] = _EMBEDDINGS_FILE
    (dst / "encoder.json").write_text(json.dumps(meta), encoding="utf-8")


def _build_openvino(src: Path, dst: Path) -> None:
    import openvino as ov

    model = _ov_model(src)
    ov.save_model(model, dst / "model.xml", compress_to_fp16=False)
    _copy_tokenizer(src, dst)


def _build_openvino_int8(src: Path, dst: Path) -> None:
    import nncf
    import openvino as ov

    model = _ov_model(src)
    tok = _Tokenizer(src)
    texts = sample_texts(_CALIBRATION_SIZE, seed=_CALIBRATION_SEED)
    batches = [tok.batch(texts[i : i + 8]) for i in range(0, len(texts), 8)]
    dataset = nncf.Dataset(batches, lambda b: _model_inputs(src, b[0], b[1]))
    quantised = nncf.quantize(
        model,
        dataset,
        model_type=nncf.ModelType.TRANSFORMER,
        preset=nncf.QuantizationPreset.MIXED,
        subset_size=len(batches),
    )
    ov.save_model(quantised, dst / "model.xml", compress_to_fp16=False)
    _copy_tokenizer(src, dst)


def _build_onnx(src: Path, dst: Path) -> None:
    import torch

    _require("onnx", "onnx", "onnx")  # torch's exporter writes the model with it

    module = _torch_module(src)
    example = _example_inputs(src)
    name, mask_name = _input_names(src)
    with torch.no_grad():
        torch.onnx.export(
            module,
            (example[name], example[mask_name]),
            str(dst / "model.onnx"),
            input_names=[name, mask_name],
            output_names=["embedding"],
            dynamic_axes={
                name: {0: "batch", 1: "sequence"},
                "attention_mask": {0: "batch", 1: "sequence"},
                "embedding": {0: "batch"},
            },
            opset_version=17,
            dynamo=False,
        )
    _copy_tokenizer(src, dst)


_BUILDERS: dict[str, Callable[[Path, Path], None]] = {
    "openvino": _build_openvino,
    "openvino-bf16": _build_openvino,
    "openvino-int8": _build_openvino_int8,
    "onnx": _build_onnx,
}


def _hidden_size(src: Path) -> int:
    return int(json.loads((src / "config.json").read_text(encoding="utf-8"))["hidden_size"])
