"""Running a cached OpenVINO or ONNX export (torch is not imported): :class:`ExportedEmbedder`."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from matchmaker.ranking.encoders.backends import (
    _EXPORTED,
    _OV_PRECISION,
    SHAPE_STEP,
    _normalise,
    model_name,
)
from matchmaker.ranking.encoders.cache import ensure_built
from matchmaker.ranking.encoders.tokenizer import _bucket, _runtime_tokenizer
from matchmaker.ranking.files import exclusive_lock as _lock

log = logging.getLogger("matchmaker.encoders")


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
            self._words: NDArray[np.float16] | None = None
            if meta.get("word_embeddings"):
                self._words = np.load(directory / meta["word_embeddings"], mmap_mode="r")
            self._run = self._load(directory, threads)
        finally:
            self._tokenizer = tokenizer.result()

    def _load(
        self, directory: Path, threads: int | None
    ) -> Callable[[NDArray[np.int64], NDArray[np.int64]], Any]:
        if _EXPORTED[self.backend] == "openvino":
            import openvino as ov

            core = ov.Core()
            wanted = _OV_PRECISION[self.backend]
            if wanted == "bf16" and "BF16" not in core.get_property(
                "CPU", "OPTIMIZATION_CAPABILITIES"
            ):
                # Without native bf16 (AVX512_BF16 or AMX) OpenVINO may still accept the hint on
                # an AVX-512 CPU and emulate it: measured 0.1 passages/s against 4.7 in fp32 on
                # an Intel Xeon without AVX512_BF16. Ask for what the CPU runs natively.
                wanted = "f32"
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
                compiled = core.compile_model(str(directory / "model.xml"), "CPU", config)
            self.precision = compiled.get_property("INFERENCE_PRECISION_HINT").get_type_name()
            if self.precision != _OV_PRECISION[self.backend]:
                log.warning(
                    "encoder backend %s: this CPU has no native %s, OpenVINO runs it in %s",
                    self.backend,
                    _OV_PRECISION[self.backend],
                    self.precision,
                )
            request = compiled.create_infer_request()
            output = compiled.output(0)
            lock = threading.Lock()  # one infer request: serialise threads of one worker

            def run(ids: NDArray[np.int64], mask: NDArray[np.int64]) -> Any:
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

        def run_ort(ids: NDArray[np.int64], mask: NDArray[np.int64]) -> Any:
            return session.run(None, self._inputs(ids, mask))[0]

        return run_ort

    def _inputs(self, ids: NDArray[np.int64], mask: NDArray[np.int64]) -> dict[str, NDArray[Any]]:
        if self._words is None:
            return {"input_ids": ids, "attention_mask": mask}
        return {"inputs_embeds": self._words[ids].astype(np.float32), "attention_mask": mask}

    def encode(
        self, texts: Sequence[str], batch_size: int = 32, show_progress: bool = False
    ) -> NDArray[np.float32]:
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
