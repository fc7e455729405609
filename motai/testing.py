"""Test helpers: fast, deterministic embedders for unit tests of code that needs a store.

    from motai.testing import FakeEmbedder, RecordingEmbedder
    store = KnowledgeStore(taxonomy, embedder=RecordingEmbedder(FakeEmbedder()), path=tmp)

`FakeEmbedder` hashes words into a bag-of-words vector: texts that share words are near,
texts that share none are orthogonal. It needs no model and no network, and embeds
thousands of texts in milliseconds. `RecordingEmbedder` wraps any embedder and counts what
it was asked to embed, to prove (say) that a fresh store is reused rather than re-embedded.

`FakeProvider` (alias `FakeChatModel`) is a scripted chat model for `LLMClassifier`: it
answers with the replies it was given (dicts, strings, exceptions), else with a
`respond(request)` callable, rejects the strategies in `reject` with a 400 like a server
that does not support them, and records every request it receives:

    chat = FakeProvider(respond=quote_reply("SMOT", "glory"), reject={"json_schema"})
    clf = LLMClassifier(store, "openai:fake", chat=chat)

`block_network()` refuses TCP connections off this machine while it is open; motai's test
suite runs under it, so no test can reach a hosted API.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import re
import socket
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from motai.embeddings import Embedder

__all__ = [
    "FakeChatModel",
    "FakeEmbedder",
    "FakeProvider",
    "NetworkBlocked",
    "RecordingEmbedder",
    "block_network",
    "customer_text",
    "first_words",
    "quote_reply",
    "rate_limited",
]

_WORD = re.compile(r"[a-z0-9']+")


class FakeEmbedder:
    """Deterministic hashed bag-of-words embedder, L2-normalised (`id = "fake:bow"`).

    The same text always gives the same vector, in every process (blake2b, not `hash()`).
    A text with no words maps to a fixed unit vector so that every row has unit length.
    """

    id = "fake:bow"

    def __init__(self, dim: int = 256) -> None:
        if dim < 2:
            raise ValueError("dim must be at least 2")
        self.dim = dim

    def _bucket(self, word: str) -> int:
        digest = hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest()
        return int.from_bytes(digest, "little") % self.dim

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            words = _WORD.findall(text.lower())
            if not words:
                out[i, 0] = 1.0
                continue
            for w in words:
                out[i, self._bucket(w)] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return (out / np.maximum(norms, 1e-12)).astype(np.float32)


class RecordingEmbedder:
    """Wraps an embedder and counts its calls and texts; keeps the wrapped embedder's id."""

    def __init__(self, inner: Embedder | None = None) -> None:
        self.inner: Embedder = inner if inner is not None else FakeEmbedder()
        self.id = self.inner.id
        self.calls = 0
        self.texts: list[str] = []
        self._lock = threading.Lock()

    @property
    def n_texts(self) -> int:
        return len(self.texts)

    def reset(self) -> None:
        with self._lock:
            self.calls = 0
            self.texts = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            self.calls += 1
            self.texts.extend(texts)
        return self.inner.embed(texts)


def customer_text(request: Any) -> str:
    """The text between <customer_text> tags of a request's last user message."""
    content = next(m["content"] for m in reversed(request.messages) if m["role"] == "user")
    for m in request.messages:
        # "<customer_text>\n" opens the data block; a repair message only names the tags.
        if m["role"] == "user" and "<customer_text>\n" in m["content"]:
            content = m["content"]
    start = content.rindex("<customer_text>\n") + len("<customer_text>\n")
    return content[start : content.rindex("\n</customer_text>")]


def quote_reply(
    stage: str = "SMOT", valence: str = "glory", confidence: float = 0.8, words: int = 4
) -> Callable[[Any], dict[str, Any]]:
    """A `respond` callable: a valid reply quoting the first `words` words of the text
    (after a leading `Customer:` label: a transcript's evidence is the customer's words)."""

    def respond(request: Any) -> dict[str, Any]:
        text = first_words(customer_text(request), words)
        return {
            "stage": stage,
            "valence": valence,
            "confidence": confidence,
            "moments": [{"stage": stage, "valence": valence, "evidence": text}],
        }

    return respond


def first_words(text: str, n: int) -> str:
    """The first `n` words of `text`, after a leading speaker label (`Customer: ...`)."""
    from motai.io.transcripts import SPEAKER_TURN

    label = SPEAKER_TURN.match(text)
    return " ".join(text[label.end() if label else 0 :].split()[:n]) or text


def rate_limited(retry_after: float | None = None, status: int = 429) -> Exception:
    """The error a provider raises on a 429 (or 5xx with `status`), with its Retry-After."""
    from motai.llm.model import TransientError

    return TransientError(f"HTTP {status}: rate limited", retry_after=retry_after, status=status)


class FakeProvider:
    """A scripted chat model implementing `motai.llm.model.ChatModel`; no network.

    Each request takes the next scripted reply, else `respond(request)`. A reply is a
    dict (the decoded answer), a str (raw content, e.g. prose or broken JSON), a
    `ChatReply`, or an exception instance, which is raised. `reject` holds strategies
    answered with a 400 (`RequestRejected`), `reject_logprobs=True` rejects requests
    asking for logprobs. `requests` holds every request received, rejected ones
    included; `max_in_flight` the most requests it was serving at once.
    """

    name = "fake"

    def __init__(
        self,
        replies: Sequence[Any] = (),
        *,
        respond: Callable[[Any], Any] | None = None,
        model: str = "fake-model",
        endpoint: str = "http://fake.invalid/v1",
        reject: Sequence[str] = (),
        reject_logprobs: bool = False,
        delay: float = 0.0,
        usage: tuple[int, int] | None = (100, 20),
    ) -> None:
        self.script = list(replies)
        self.respond = respond
        self.model = model
        self.endpoint = endpoint
        self.reject = set(reject)
        self.reject_logprobs = reject_logprobs
        self.delay = delay
        self.usage = usage
        self.requests: list[Any] = []
        self.max_in_flight = 0
        self._in_flight = 0
        self._lock = threading.Lock()

    @property
    def calls(self) -> int:
        return len(self.requests)

    def __getstate__(self) -> dict[str, Any]:
        """Picklable (a lock is not), so a Ray actor can hold a copy; each copy records
        the requests it receives."""
        return {k: v for k, v in self.__dict__.items() if k != "_lock"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    async def complete(self, request: Any) -> Any:
        import asyncio
        import copy
        import json

        from motai.llm.model import ChatReply, RequestRejected

        with self._lock:
            self.requests.append(copy.deepcopy(request))
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            await asyncio.sleep(self.delay)
            if request.strategy in self.reject:
                raise RequestRejected(
                    f"Error code: 400 - response_format strategy {request.strategy} "
                    "is not supported",
                    400,
                )
            if request.logprobs and self.reject_logprobs:
                raise RequestRejected("Error code: 400 - logprobs is not supported", 400)
            with self._lock:
                reply = self.script.pop(0) if self.script else None
            if reply is None:
                if self.respond is None:
                    raise AssertionError("FakeProvider: no scripted reply left")
                reply = self.respond(request)
            if isinstance(reply, BaseException):
                raise reply
            if isinstance(reply, ChatReply):
                return reply
            p, c = self.usage if self.usage else (None, None)
            if isinstance(reply, dict):
                if request.strategy == "tool_calling":
                    return ChatReply(data=reply, prompt_tokens=p, completion_tokens=c)
                return ChatReply(content=json.dumps(reply), prompt_tokens=p, completion_tokens=c)
            return ChatReply(content=str(reply), prompt_tokens=p, completion_tokens=c)
        finally:
            with self._lock:
                self._in_flight -= 1


FakeChatModel = FakeProvider


def fast_train_settings() -> Any:
    """TrainSettings that train a small local model in seconds (tests, not production)."""
    from motai.local import TrainSettings

    return TrainSettings(stack_folds=2, hash_features=2**12)


class NetworkBlocked(RuntimeError):
    """A test tried to reach a host off this machine (see `block_network`)."""


def _loopback(host: object) -> bool:
    name = (host.decode() if isinstance(host, bytes) else str(host)).strip("[]").split("%")[0]
    if name.lower() in {"localhost", "localhost.localdomain", "ip6-localhost"}:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


@contextlib.contextmanager
def block_network() -> Iterator[None]:
    """Refuse every TCP connection off this machine (127.0.0.0/8 and ::1 pass).

    motai's own suite runs under it (tests/conftest.py), as pydantic-ai blocks model
    requests in tests: a test that would reach a hosted API fails at once, before a byte
    is sent. Name look-ups and UDP (which Ray uses to find its own address) are left
    alone; this process's sockets are patched, subprocesses are not covered.
    """
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def guarded(real: Callable[..., Any]) -> Callable[..., Any]:
        def connect(self: socket.socket, address: Any) -> Any:
            inet = self.family in (socket.AF_INET, socket.AF_INET6)
            if inet and self.type == socket.SOCK_STREAM and not _loopback(address[0]):
                raise NetworkBlocked(f"tests may not reach {address[0]}: only 127.0.0.1 is allowed")
            return real(self, address)

        return connect

    socket.socket.connect = guarded(real_connect)  # type: ignore[method-assign]
    socket.socket.connect_ex = guarded(real_connect_ex)  # type: ignore[method-assign]
    try:
        yield
    finally:
        socket.socket.connect = real_connect  # type: ignore[method-assign]
        socket.socket.connect_ex = real_connect_ex  # type: ignore[method-assign]
