"""The reverse proxy the LLM tests put in front of the real llama.cpp server.

One base for both proxies: `Proxy` listens on 127.0.0.1 and `ProxyHandler` forwards a
request to `upstream` and sends the answer back. `llama_fixture.CapturingProxy` records
what went over the wire; `fault_proxy.FaultProxy` answers some requests with faults.
"""

from __future__ import annotations

import http.client
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Self
from urllib.parse import urlsplit

_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "content-length",
}
Answer = tuple[int, list[tuple[str, str]], bytes]


class ProxyHandler(BaseHTTPRequestHandler):
    """Reads a request, forwards it upstream, sends an answer; subclasses decide what to do."""

    protocol_version = "HTTP/1.1"

    @property
    def proxy(self) -> Any:
        return self.server.proxy  # type: ignore[attr-defined]

    def log_message(self, *args: object) -> None:  # quiet
        pass

    def read_body(self) -> bytes:
        length = int(self.headers.get("content-length") or 0)
        return self.rfile.read(length) if length else b""

    def send_head(self, status: int, headers: list[tuple[str, str]], length: int) -> None:
        self.send_response(status)
        for k, v in headers:
            if k.lower() not in _HOP_BY_HOP:
                self.send_header(k, v)
        self.send_header("Content-Length", str(length))
        self.end_headers()

    def send_answer(self, status: int, headers: list[tuple[str, str]], data: bytes) -> None:
        self.send_head(status, headers, len(data))
        self.wfile.write(data)

    def forward(self, body: bytes) -> Answer:
        """The upstream server's answer to this request (OSError when it cannot be reached)."""
        up = urlsplit(self.proxy.upstream)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        headers["Host"] = up.netloc
        conn = http.client.HTTPConnection(up.hostname, up.port, timeout=600)
        try:
            conn.request(self.command, self.path, body=body or None, headers=headers)
            resp = conn.getresponse()
            return resp.status, resp.getheaders(), resp.read()
        finally:
            conn.close()

    @staticmethod
    def unreachable(exc: OSError) -> Answer:
        msg = json.dumps({"error": {"message": f"proxy: {exc}"}}).encode()
        return 502, [("Content-Type", "application/json")], msg


@dataclass
class Proxy:
    """A reverse proxy on 127.0.0.1 in front of `upstream`, handled by `handler`."""

    upstream: str
    server: ThreadingHTTPServer | None = field(default=None, init=False)
    handler: ClassVar[type[ProxyHandler]] = ProxyHandler

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> Self:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self.handler)
        self.server.proxy = self  # type: ignore[attr-defined]
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
