"""The cache of exported models: ``cache_dir/<model-slug>/<backend>/`` with a ``manifest.json``
(source-model hash, artefact hashes and stats, package versions), checked on every start and
rebuilt under a lock when missing, stale or broken."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import stat
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from matchmaker.ranking.embed import bundled_model_path
from matchmaker.ranking.encoders.backends import _EXPORTED, _slug, _version, model_name
from matchmaker.ranking.encoders.calibration import _CALIBRATION_SEED, _CALIBRATION_SIZE
from matchmaker.ranking.encoders.export import _BUILDERS, _telemetry_declined
from matchmaker.ranking.files import exclusive_lock as _lock
from matchmaker.ranking.files import sha256_file as _sha256

log = logging.getLogger("matchmaker.encoders")


#: Bump when the export code changes so that old caches are rebuilt.
_FORMAT_VERSION = 1
_MANIFEST = "manifest.json"
#: Files of a sentence-transformers model directory that define its output.
_SOURCE_GLOBS = ("*.json", "*.txt", "*.safetensors", "*.bin", "*.model", "*/config.json")
_SOURCE_SKIP = {"README.md", ".gitattributes", "data_config.json"}


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
        log.info("built %s encoder model in %.1f s", backend, time.perf_counter() - started)
        return target, manifest
