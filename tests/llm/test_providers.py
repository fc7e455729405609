"""The OpenAI provider through the real langchain + openai SDK stack, against a tiny
OpenAI-compatible server on 127.0.0.1 that behaves like llama.cpp's: it rejects
`response_format` type json_schema (422) and answers tool calls."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from motai.errors import MotaiError
from motai.llm.classifier import LLMClassifier
from motai.llm.endpoints import EndpointMemory
from motai.llm.model import ChatModel, OpenAIChatModel
from motai.llm.provider import (
    NO_KEY,
    OpenAIProvider,
    ProviderError,
    mask_secrets,
    parse_model_id,
    resolve_endpoint,
)
from motai.models import TextItem
from motai.testing import FakeProvider

KEY = "sk-test-0123456789abcdefSECRET"


class StubServer:
    def __init__(self) -> None:
        self.bodies: list[dict] = []
        self.headers: list[dict] = []
        self.times: list[float] = []  # when each request arrived (time.monotonic)
        self.fail_next: list[tuple[int, dict]] = []  # (status, headers) answered first
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _send(self, status: int, body: dict, headers: dict | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                stub.times.append(time.monotonic())
                stub.bodies.append(body)
                stub.headers.append({k.lower(): v for k, v in self.headers.items()})
                if stub.fail_next:
                    status, headers = stub.fail_next.pop(0)
                    self._send(status, {"error": {"message": "slow down"}}, headers)
                    return
                rf = body.get("response_format") or {}
                if rf.get("type") == "json_schema":
                    msg = "response_format.type: Input should be 'text' or 'json_object'"
                    self._send(422, {"detail": [{"msg": msg}]})
                    return
                user = body["messages"][-1]["content"]
                for m in body["messages"]:
                    if m["role"] == "user" and "<customer_text>" in m["content"]:
                        user = m["content"]
                text = user.split("<customer_text>\n")[-1].split("\n</customer_text>")[0]
                quote = " ".join(text.split()[:3])
                answer = {
                    "stage": "SMOT",
                    "valence": "glory",
                    "confidence": 0.7,
                    "moments": [{"stage": "SMOT", "valence": "glory", "evidence": quote}],
                }
                message: dict = {"role": "assistant", "content": json.dumps(answer)}
                finish = "stop"
                if body.get("tools"):
                    name = body["tools"][0]["function"]["name"]
                    message = {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [
                            {
                                "id": "call_1",
                                "type": "function",
                                "function": {"name": name, "arguments": json.dumps(answer)},
                            }
                        ],
                    }
                    finish = "tool_calls"
                self._send(
                    200,
                    {
                        "id": "chatcmpl-1",
                        "object": "chat.completion",
                        "created": 0,
                        "model": body["model"],
                        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                        "usage": {"prompt_tokens": 50, "completion_tokens": 9, "total_tokens": 59},
                    },
                )

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> StubServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[StubServer]:
    with StubServer() as s:
        yield s


def test_model_ids() -> None:
    assert parse_model_id("openai:gpt-4o-mini") == "gpt-4o-mini"
    with pytest.raises(MotaiError, match="unknown model 'gpt-4o-mini'"):
        parse_model_id("gpt-4o-mini")  # without --base-url, the prefix is required
    url = "http://localhost:8000/v1"
    assert parse_model_id("qwen2.5", url) == parse_model_id("openai:qwen2.5", url) == "qwen2.5"
    assert parse_model_id("llama3.1:8b", url) == "llama3.1:8b"  # Ollama's own names
    with pytest.raises(MotaiError, match="unknown provider 'anthropic'"):
        parse_model_id("anthropic:claude")


def test_endpoint_from_env_and_dummy_key(monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_endpoint("http://h:1/v1", None) == ("http://h:1/v1", NO_KEY)
    with pytest.raises(ProviderError, match="OPENAI_API_KEY"):
        resolve_endpoint(None, None)
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", "http://env:2/v1")
    assert resolve_endpoint(None, None) == ("http://env:2/v1", KEY)


def test_mask_secrets() -> None:
    s = f"Incorrect API key provided: {KEY}. Authorization: Bearer abcdefgh12345678"
    masked = mask_secrets(s)
    assert KEY not in masked and "abcdefgh12345678" not in masked
    assert mask_secrets("my key is hunter2secret", "hunter2secret") == "my key is ***"


def test_provider_protocol_is_small() -> None:
    assert isinstance(FakeProvider(), ChatModel)
    p = OpenAIChatModel("m", OpenAIProvider("http://127.0.0.1:9/v1", KEY))
    assert isinstance(p, ChatModel)
    assert KEY not in repr(p) and KEY not in p.endpoint
    assert KEY not in repr(p.provider) and p.provider.api_key == KEY  # for the client only


def test_real_sdk_falls_back_to_tool_calling_and_remembers(fake_store, server) -> None:
    clf = LLMClassifier(
        fake_store, "openai:stub-model", base_url=server.url, api_key=KEY, cache=False
    )
    items = [
        TextItem(id=str(i), text=f"Great coat number {i}, so warm", kind="review") for i in range(3)
    ]
    results = clf.classify(items)
    assert [r.error for r in results] == [None] * 3
    assert all(
        r.stage == "SMOT" and r.moments[0].evidence.startswith("Great coat") for r in results
    )
    assert results[0].model == "stub-model" and results[0].provider == "openai"
    # first request probed json_schema (422), then tool calling; later ones go straight there
    kinds = [
        "json_schema"
        if (b.get("response_format") or {}).get("type") == "json_schema"
        else "tools"
        if b.get("tools")
        else "other"
        for b in server.bodies
    ]
    assert kinds == ["json_schema", "tools", "tools", "tools"]
    assert server.bodies[1]["tool_choice"]["function"]["name"]
    memory = EndpointMemory().get(f"{server.url}|stub-model")
    assert memory["strategy"] == "tool_calling"
    # a new classifier (a new run) remembers: no probe
    clf2 = LLMClassifier(fake_store, "stub-model", base_url=server.url, api_key=KEY, cache=False)
    clf2.classify(items[:1])
    assert "tools" in server.bodies[-1] and len(server.bodies) == 5
    summary = clf.ledger.summary()
    assert summary["requests"] == 3 and summary["prompt_tokens"] == 150
    # the key goes in the Authorization header only, never in the body
    assert all(KEY not in json.dumps(b) for b in server.bodies)
    assert server.headers[0]["authorization"] == f"Bearer {KEY}"


def test_real_sdk_429_retry_after_is_honoured_and_counted(fake_store, server) -> None:
    EndpointMemory().update(f"{server.url}|stub-model", strategy="tool_calling")
    slept: list[float] = []

    async def sleep(s: float) -> None:
        slept.append(s)

    server.fail_next = [(429, {"Retry-After": "7"}), (503, {})]
    clf = LLMClassifier(
        fake_store, "stub-model", base_url=server.url, api_key=KEY, cache=False, sleep=sleep
    )
    [r] = clf.classify([TextItem(id="1", text="Great coat, so warm", kind="review")])
    assert r.error is None
    assert slept[0] == 7.0 and 0 < slept[1] <= 3.0  # Retry-After, then backoff with jitter
    assert clf.ledger.summary()["retries"] == 2 and clf.ledger.summary()["requests"] == 1


def test_rpm_spaces_requests_with_langchains_rate_limiter(fake_store, server) -> None:
    EndpointMemory().update(f"{server.url}|stub-model", strategy="tool_calling")
    clf = LLMClassifier(
        fake_store,
        "stub-model",
        base_url=server.url,
        api_key=KEY,
        cache=False,
        concurrency=4,
        rpm=240,  # 4 a second
    )
    items = [TextItem(id=str(i), text=f"Warm coat {i}", kind="review") for i in range(5)]
    assert all(r.ok for r in clf.classify(items))
    assert len(server.times) == 5
    # Four requests could be in flight at once; the limiter lets one through every 0.25 s.
    gaps = [b - a for a, b in zip(server.times, server.times[1:], strict=False)]
    assert server.times[-1] - server.times[0] >= 0.9 and min(gaps) >= 0.15, gaps


def test_auth_error_is_fatal_and_masked(fake_store, monkeypatch: pytest.MonkeyPatch) -> None:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            auth = self.headers["Authorization"]
            data = json.dumps({"error": {"message": f"Incorrect API key provided: {auth}"}})
            self.send_response(401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data.encode())

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
        clf = LLMClassifier(fake_store, "m", base_url=url, api_key=KEY, cache=False)
        with pytest.raises(ProviderError) as exc:
            clf.classify([TextItem(id="1", text="hello there", kind="review")])
        assert "HTTP 401" in str(exc.value) and KEY not in str(exc.value)
    finally:
        httpd.shutdown()
        httpd.server_close()
