"""The ``torch-bf16`` backend: sentence-transformers on torch with bfloat16 weights."""

from __future__ import annotations

from collections.abc import Sequence

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

    def encode(
        self, texts: Sequence[str], batch_size: int = 32, show_progress: bool = False
    ) -> NDArray[np.float32]:
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
