"""A fault-injecting HTTP proxy for the LLM tests: what a real endpoint does on a bad day.

`FaultProxy(upstream, share=0.3, seed=7).start()` listens on 127.0.0.1 and forwards to
`upstream` (the real llama.cpp server). A seeded schedule picks, for each chat request in
arrival order, either no fault or one of `FAULTS`:

- `429_retry_after` / `429`: rate limited, with and without a `Retry-After` header;
- `500`, `502`, `503`: server errors;
- `timeout`: the request is held, unanswered, until the client gives up;
- `drop`: the connection is closed without an answer;
- `truncated`: the upstream's answer is cut in half (the declared length is not sent);
- `bad_schema`: a well-formed chat completion whose answer breaks the reply schema.

Only `/chat/completions` requests are faulted; everything else is forwarded. Every chat
request body is kept (`bodies`) so a test can check what went over the wire. Bounded:
`max_faults` caps the faults, `caps` each kind of fault, `hang` how long a `timeout`
holds a request.
"""

from __future__ import annotations

import contextlib
import json
import random
import socket
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from proxy import Proxy, ProxyHandler

FAULTS = (
    "429_retry_after",
    "429",
    "500",
    "502",
    "503",
    "timeout",
    "drop",
    "truncated",
    "bad_schema",
)
# Faults the client must treat as transient (retry, never cache); bad_schema is an answer.
TRANSIENT = frozenset(FAULTS) - {"bad_schema"}
_BAD_ANSWER = {"stage": "BOGUS", "valence": "ecstatic", "moments": "none", "confidence": 7}


class _Faulting(ProxyHandler):
    def _error(self, status: int, extra: list[tuple[str, str]] | None = None) -> None:
        kind = "rate_limit_exceeded" if status == 429 else "server_error"
        msg = json.dumps({"error": {"message": f"injected {status}", "type": kind}})
        self.send_answer(
            status, [("Content-Type", "application/json"), *(extra or [])], msg.encode()
        )

    def _bad_schema(self, body: bytes) -> None:
        """A 200 chat completion whose answer is valid JSON but not a valid tag."""
        request = json.loads(body or b"{}")
        args = json.dumps(_BAD_ANSWER)
        message: dict[str, object] = {"role": "assistant", "content": args}
        finish = "stop"
        if request.get("tools"):
            name = request["tools"][0]["function"]["name"]
            call = {
                "id": "call_0",
                "type": "function",
                "function": {"name": name, "arguments": args},
            }
            message = {"role": "assistant", "content": None, "tool_calls": [call]}
            finish = "tool_calls"
        completion = {
            "id": "chatcmpl-fault",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": request.get("model", "m"),
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }
        self.send_answer(
            200, [("Content-Type", "application/json")], json.dumps(completion).encode()
        )

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _handle(self) -> None:
        proxy = self.proxy
        body = self.read_body()
        chat = self.path.endswith("/chat/completions")
        fault = None
        if chat:
            with proxy._lock:
                proxy.bodies.append(body)
            fault = proxy.next_fault()
        if fault is None:
            try:
                started = time.monotonic()
                answer = self.forward(body)
            except ConnectionError:
                raise
            except OSError as exc:
                answer = self.unreachable(exc)
            else:
                if chat:
                    with proxy._lock:
                        proxy.upstream_seconds.append(time.monotonic() - started)
            self.send_answer(*answer)
        elif fault == "429_retry_after":
            self._error(429, [("Retry-After", str(proxy.retry_after))])
        elif fault in ("429", "500", "502", "503"):
            self._error(int(fault))
        elif fault == "timeout":
            proxy._stop.wait(proxy.hang)  # unanswered until the client gives up
            self._drop()
        elif fault == "drop":
            self._drop()
        elif fault == "truncated":  # the whole length declared, half of it sent
            status, headers, data = self.forward(body)
            self.send_head(status, headers, len(data))
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self._drop()
        elif fault == "bad_schema":
            self._bad_schema(body)

    def _quietly(self) -> None:
        """A client that gave up (its own timeout) is not the proxy's error."""
        with contextlib.suppress(ConnectionError):
            self._handle()

    do_GET = do_POST = _quietly


@dataclass
class FaultProxy(Proxy):
    """A reverse proxy on 127.0.0.1 that answers a seeded share of chat requests with faults."""

    share: float = 0.3
    seed: int = 0
    faults: Sequence[str] = FAULTS
    hang: float = 30.0
    max_faults: int | None = None
    caps: dict[str, int] = field(default_factory=dict)  # at most this many of a fault
    retry_after: int = 1
    injected: Counter[str] = field(default_factory=Counter)
    forwarded: int = 0
    bodies: list[bytes] = field(default_factory=list)
    upstream_seconds: list[float] = field(default_factory=list)  # per forwarded chat request
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)
    _rng: random.Random | None = None
    handler: ClassVar[type[ProxyHandler]] = _Faulting

    @property
    def transient_injected(self) -> int:
        with self._lock:
            return sum(n for f, n in self.injected.items() if f in TRANSIENT)

    def slow(self, seconds: float) -> int:
        """Forwarded chat requests the server took `seconds` or more to answer (a client
        with that timeout gave up on them: genuine timeouts, not injected ones)."""
        with self._lock:
            return sum(t >= seconds for t in self.upstream_seconds)

    def next_fault(self) -> str | None:
        """The schedule: the next chat request's fault, or None to forward it."""
        with self._lock:
            if self._rng is None:
                self._rng = random.Random(self.seed)
            draw, pick = self._rng.random(), self._rng.choice(list(self.faults))
            capped = self.max_faults is not None and sum(self.injected.values()) >= self.max_faults
            capped = capped or self.injected[pick] >= self.caps.get(pick, 1 << 30)
            if draw >= self.share or capped:
                self.forwarded += 1
                return None
            self.injected[pick] += 1
            return pick

    def stop(self) -> None:
        self._stop.set()
        super().stop()
