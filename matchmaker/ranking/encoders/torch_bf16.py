"""The ``torch-bf16`` backend: sentence-transformers on torch with bfloat16 weights."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from matchmaker.ranking.embed import SentenceTransformerEmbedder
from matchmaker.ranking.encoders.backends import _normalise


class TorchBf16Embedder(SentenceTransformerEmbedder):
    """sentence-transformers with the model's weights and activations in bfloat16."""

    backend = "torch-bf16"

    def __init__(self, model: str = "", *, threads: int | None = None) -> None:
        super().__init__(model, threads=threads)
        import torch

        self._model.to(torch.bfloat16)

    _options: ClassVar[dict[str, Any]] = {"convert_to_tensor": True, "normalize_embeddings": False}

    def _finish(self, vectors: Any) -> NDArray[np.float32]:
        return _normalise(vectors.float().cpu().numpy())
