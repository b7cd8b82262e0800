"""Saving and loading the learned model: ``reranker.joblib`` beside ``reranker.json`` (its
metadata and the model file's SHA-256)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import joblib

from matchmaker.ranking.learn.reranker import Reranker

MODEL_FILE = "reranker.joblib"
METADATA_FILE = "reranker.json"


def save(model: Reranker, directory: Path) -> Path:
    """Write ``reranker.joblib`` and ``reranker.json`` (with the model file's SHA-256)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / MODEL_FILE
    tmp = path.with_suffix(".tmp")
    joblib.dump(model, tmp)
    tmp.replace(path)
    meta = {**model.metadata(), "file": MODEL_FILE, "sha256": _sha256(path)}
    (directory / METADATA_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return path


def read_metadata(directory: Path) -> dict[str, Any] | None:
    """The saved model's metadata, or None when there is no model."""
    path = directory / METADATA_FILE
    if not path.exists() or not (directory / MODEL_FILE).exists():
        return None
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def load(directory: Path) -> Reranker:
    """Load the saved model, refusing a file that is not the one its metadata describes."""
    meta = read_metadata(directory)
    if meta is None:
        raise FileNotFoundError(f"no learned model in {directory}")
    path = directory / MODEL_FILE
    if _sha256(path) != meta.get("sha256"):
        raise ValueError(f"{path} does not match the SHA-256 in {METADATA_FILE}")
    model = joblib.load(path)
    if not isinstance(model, Reranker):
        raise ValueError(f"{path} does not hold a Reranker")
    return model


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
