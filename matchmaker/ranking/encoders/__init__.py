"""Encoder backends: one :class:`~matchmaker.ranking.embed.Embedder` per way of running the model.

``make_embedder(model, backend, cache_dir=...)`` returns an embedder whose ``model_id`` names the
backend (``all-MiniLM-L6-v2:384:openvino``), so vectors of two backends never share an index.

Backends (see ``docs/encoders.md`` for measurements):

``torch``
    sentence-transformers on torch, fp32: the reference.
``torch-bf16``
    the same model cast to bfloat16 (no extra dependency; only fast on CPUs with native bf16).
``openvino``
    the model (transformer + mean pooling + L2 normalisation) exported once to OpenVINO IR with
    fp32 weights and run by the OpenVINO runtime with the ``tokenizers`` tokenizer. Loading a
    built model imports neither torch nor transformers: a web worker is ready in well under 2 s.
``openvino-bf16``
    the same OpenVINO model run with bfloat16 inference precision (weights and activations in
    bf16, accumulation in fp32) on CPUs with native bf16 (AVX512_BF16 or AMX): ~2.5x torch fp32
    at cosine 0.99998 on the measurement machine. On a CPU without native bf16 OpenVINO runs it
    in fp32 and the embedder logs so. The default backend (see ``docs/encoders.md``).
``openvino-int8``
    the OpenVINO model post-training quantised to int8 with NNCF on built-in English/German
    industrial-research calibration text.
``onnx``
    the same export as ONNX, run by onnxruntime (torch-free too).

Exported models are built offline from the local model on first use and cached under
``cache_dir/<model-slug>/<backend>/`` with a ``manifest.json`` (source-model hash, artefact hashes,
package versions). A valid cache is never rebuilt; a missing, corrupt or stale one is rebuilt with
a warning on the ``matchmaker.encoders`` logger. Building needs torch and transformers (the project
has them); running a built OpenVINO/ONNX model needs only the runtime and ``tokenizers``.

Build exported models after a fork, not in a gunicorn master: like torch and onnxruntime, the
OpenVINO runtime starts thread pools that do not survive ``fork``.

Modules: :mod:`.backends` (names, requirements), :mod:`.factory` (``make_embedder``),
:mod:`.torch_bf16`, :mod:`.cache` (manifest, checks, ``ensure_built``), :mod:`.export`
(building, needs torch), :mod:`.tokenizer` and :mod:`.runtime` (running an export, no torch),
:mod:`.calibration` (built-in text, its parts in ``calibration.json``).
"""

from __future__ import annotations

from matchmaker.ranking.encoders.backends import _EXPORTED as _EXPORTED
from matchmaker.ranking.encoders.backends import _OV_PRECISION as _OV_PRECISION
from matchmaker.ranking.encoders.backends import (
    BACKENDS,
    DEFAULT_BACKEND,
    MINILM,
    SHAPE_STEP,
    BackendUnavailable,
    model_name,
)
from matchmaker.ranking.encoders.backends import _normalise as _normalise
from matchmaker.ranking.encoders.backends import _require as _require
from matchmaker.ranking.encoders.backends import _slug as _slug
from matchmaker.ranking.encoders.backends import _version as _version
from matchmaker.ranking.encoders.cache import _FORMAT_VERSION as _FORMAT_VERSION
from matchmaker.ranking.encoders.cache import _MANIFEST as _MANIFEST
from matchmaker.ranking.encoders.cache import _CacheInvalid as _CacheInvalid
from matchmaker.ranking.encoders.cache import _check_cache as _check_cache
from matchmaker.ranking.encoders.cache import _sha256 as _sha256
from matchmaker.ranking.encoders.cache import _source_hash as _source_hash
from matchmaker.ranking.encoders.cache import ensure_built
from matchmaker.ranking.encoders.calibration import _CALIBRATION_SEED as _CALIBRATION_SEED
from matchmaker.ranking.encoders.calibration import _CALIBRATION_SIZE as _CALIBRATION_SIZE
from matchmaker.ranking.encoders.calibration import sample_texts
from matchmaker.ranking.encoders.export import _BUILDERS as _BUILDERS
from matchmaker.ranking.encoders.export import EXTERNAL_VOCABULARY
from matchmaker.ranking.encoders.export import _telemetry_declined as _telemetry_declined
from matchmaker.ranking.encoders.factory import make_embedder
from matchmaker.ranking.encoders.runtime import MAX_BATCH_TOKENS, ExportedEmbedder
from matchmaker.ranking.encoders.runtime import _InThread as _InThread
from matchmaker.ranking.encoders.tokenizer import _bucket as _bucket
from matchmaker.ranking.encoders.tokenizer import _max_seq_length as _max_seq_length
from matchmaker.ranking.encoders.tokenizer import _runtime_tokenizer as _runtime_tokenizer
from matchmaker.ranking.encoders.tokenizer import _SentencePieceTokenizer as _SentencePieceTokenizer
from matchmaker.ranking.encoders.tokenizer import _Tokenizer as _Tokenizer
from matchmaker.ranking.encoders.torch_bf16 import TorchBf16Embedder

__all__ = [
    "BACKENDS",
    "DEFAULT_BACKEND",
    "EXTERNAL_VOCABULARY",
    "MAX_BATCH_TOKENS",
    "MINILM",
    "SHAPE_STEP",
    "BackendUnavailable",
    "ExportedEmbedder",
    "TorchBf16Embedder",
    "ensure_built",
    "make_embedder",
    "model_name",
    "sample_texts",
]
