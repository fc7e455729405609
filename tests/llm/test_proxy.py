"""The test proxies on their own, in front of a tiny upstream on 127.0.0.1 (fast; the
llm_server tests use them in front of the real llama.cpp server)."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from fault_proxy import FaultProxy
from llama_fixture import CapturingProxy

CHAT = "/v1/chat/completions"


class _Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        data = json.dumps({"echo": json.loads(body), "path": self.path}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def upstream() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def _post(url: str, payload: dict) -> tuple[int, bytes]:
    port = int(url.split(":")[2].split("/")[0])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("POST", CHAT, body=json.dumps(payload), headers={"X-Key": "k"})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def test_capturing_proxy_forwards_and_records(upstream: str) -> None:
    proxy = CapturingProxy(upstream).start()
    try:
        status, data = _post(proxy.url, {"q": 1})
    finally:
        proxy.stop()
    assert status == 200 and json.loads(data) == {"echo": {"q": 1}, "path": CHAT}
    (rec,) = proxy.chat_requests
    assert rec.json() == {"q": 1} and rec.headers["x-key"] == "k"
    assert rec.status == 200 and rec.response == data and proxy.count() == 1


def test_fault_proxy_injects_what_it_is_told(upstream: str) -> None:
    proxy = FaultProxy(upstream, share=1.0, faults=("503",), max_faults=1).start()
    try:
        first, _ = _post(proxy.url, {"q": 1})
        second, data = _post(proxy.url, {"q": 2})
    finally:
        proxy.stop()
    assert (first, second) == (503, 200) and json.loads(data)["echo"] == {"q": 2}
    assert proxy.injected == {"503": 1} and proxy.forwarded == 1
    assert proxy.transient_injected == 1 and len(proxy.bodies) == 2


def test_fault_proxy_truncates_and_breaks_the_schema(upstream: str) -> None:
    proxy = FaultProxy(upstream, share=1.0, faults=("truncated",)).start()
    try:
        with pytest.raises(http.client.IncompleteRead):
            _post(proxy.url, {"q": 1})
    finally:
        proxy.stop()
    proxy = FaultProxy(upstream, share=1.0, faults=("bad_schema",)).start()
    try:
        status, data = _post(proxy.url, {"model": "m"})
    finally:
        proxy.stop()
    answer = json.loads(json.loads(data)["choices"][0]["message"]["content"])
    assert status == 200 and answer["stage"] == "BOGUS"
    assert proxy.transient_injected == 0
