"""How requests are shaped and replies decoded: one small protocol, one implementation.

A chat model sends one chat request with a structured-output strategy and returns the raw
reply; it never retries, parses or caches (the classifier does). Another backend is one
class with `name`, `model`, `endpoint` and `async complete(request) -> ChatReply`, that
raises `TransientError` (retry later), `RequestRejected` (this request shape is refused:
the classifier tries the next strategy) or `ProviderError` (give up: bad key, no model).
Who answers and where (base URL, key) is the provider's (`motai.llm.provider`).

Strategies, best first, each through LangChain's `with_structured_output` (its method):
- `json_schema` (json_schema): `response_format` with the reply schema, strict;
- `tool_calling` (function_calling): one forced function call whose parameters are the
  reply schema;
- `json_mode` (json_mode): `response_format={"type": "json_object"}`, the schema in the
  prompt.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from motai.llm.provider import OpenAIProvider, ProviderError
from motai.llm.schema import SCHEMA_NAME

STRATEGIES = ("json_schema", "tool_calling", "json_mode")
# Each strategy as LangChain's `with_structured_output` method.
_METHODS = {
    "json_schema": "json_schema",
    "tool_calling": "function_calling",
    "json_mode": "json_mode",
}

__all__ = [
    "STRATEGIES",
    "ChatModel",
    "ChatReply",
    "ChatRequest",
    "OpenAIChatModel",
    "ProviderError",
    "RequestRejected",
    "TransientError",
]


class TransientError(Exception):
    """429, 5xx, a timeout or a dropped connection: worth retrying after a pause."""

    def __init__(self, message: str, retry_after: float | None = None, status: int | None = None):
        super().__init__(message)
        self.retry_after = retry_after
        self.status = status


class RequestRejected(Exception):
    """400/422: the server refused this request's shape (strategy, logprobs...)."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


@dataclass
class ChatRequest:
    messages: list[dict[str, str]]
    strategy: str
    schema: dict[str, Any]
    tool: dict[str, Any]
    params: dict[str, Any] = field(default_factory=dict)
    logprobs: bool = False


@dataclass
class ChatReply:
    """The model's answer: `data` when the endpoint decoded it (tool arguments), else
    `content`; token usage and logprobs when the endpoint reports them."""

    content: str | None = None
    data: dict[str, Any] | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    logprobs: list[tuple[str, float]] | None = None

    @property
    def text(self) -> str:
        """The reply as text (for the repair request and for errors)."""
        if self.data is not None:
            return json.dumps(self.data, ensure_ascii=False)
        return self.content or ""


@runtime_checkable
class ChatModel(Protocol):
    """What the classifier needs of a chat model (`OpenAIChatModel`, a test fake)."""

    name: str
    model: str
    endpoint: str

    async def complete(self, request: ChatRequest) -> ChatReply: ...


def _retry_after(exc: Any) -> float | None:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if not headers:
        return None
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        from datetime import UTC, datetime
        from email.utils import parsedate_to_datetime

        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _is_validation_error(exc: Any) -> bool:
    """True for a 5xx that is really the server refusing the request body (FastAPI
    validation errors reported as 500 by llama-cpp-python's server)."""
    text = f"{exc} {getattr(exc, 'body', '')}"
    return "validation error" in text and "'body'" in text


class OpenAIChatModel:
    """A chat model behind an `OpenAIProvider`, through langchain's `ChatOpenAI`.

    The SDK's own retries are off: the classifier retries, so every retry is counted in
    the ledger. `rpm` caps requests per minute (LangChain's limiter).
    """

    name = "openai"

    def __init__(
        self,
        model: str,
        provider: OpenAIProvider,
        timeout: float = 120.0,
        rpm: float | None = None,
    ) -> None:
        import httpx
        from langchain_core.rate_limiters import InMemoryRateLimiter
        from langchain_openai import ChatOpenAI

        self.model = model
        self.provider = provider
        self.endpoint = provider.endpoint
        self._llm = ChatOpenAI(
            model=model,
            base_url=provider.base_url,
            api_key=provider.api_key,
            max_retries=0,
            # An httpx.Timeout (unhashable) makes langchain build this provider its own
            # HTTP client instead of reusing a process-wide cached one: pooled connections
            # belong to the event loop that opened them, and each classifier has its own.
            timeout=httpx.Timeout(timeout),
            use_responses_api=False,
            # LangChain's token bucket: every request (retries and repairs too) waits for
            # its turn, so a run stays under an endpoint's requests-per-minute quota.
            rate_limiter=InMemoryRateLimiter(
                requests_per_second=rpm / 60, check_every_n_seconds=0.05, max_bucket_size=1
            )
            if rpm
            else None,
            # `function_calling` asks for parallel_tool_calls=False, a parameter that some
            # self-hosted servers reject; one forced tool call needs no such flag there.
            disabled_params={"parallel_tool_calls": None} if provider.self_hosted else None,
        )

    def __repr__(self) -> str:  # never the key
        return f"OpenAIChatModel(model={self.model!r}, endpoint={self.endpoint!r})"

    def _runnable(self, req: ChatRequest) -> Any:
        kw: dict[str, Any] = dict(req.params)
        if req.logprobs:
            kw["logprobs"] = True
        if "max_tokens" in kw and self.provider.self_hosted:
            # langchain-openai sends `max_completion_tokens`, which llama.cpp's and older
            # vLLM servers ignore (the reply then runs to the context size): send both.
            kw["extra_body"] = {**kw.get("extra_body", {}), "max_tokens": kw["max_tokens"]}
        if req.strategy not in _METHODS:
            raise ValueError(f"unknown strategy {req.strategy!r}")
        schema = {
            "json_schema": {"name": SCHEMA_NAME, "schema": req.schema, "strict": True},
            "tool_calling": req.tool,
            "json_mode": req.schema,
        }[req.strategy]
        # LangChain shapes the request for the method; `include_raw` keeps the model's own
        # message, which motai validates itself (its parser never guesses a label), so
        # LangChain's parse of it is not used.
        return self._llm.with_structured_output(
            schema, method=_METHODS[req.strategy], include_raw=True, **kw
        )

    async def complete(self, request: ChatRequest) -> ChatReply:
        import openai

        try:
            msg = (await self._runnable(request).ainvoke(request.messages))["raw"]
        except (openai.BadRequestError, openai.UnprocessableEntityError) as exc:
            raise RequestRejected(self._mask(exc), getattr(exc, "status_code", None)) from None
        except openai.RateLimitError as exc:
            raise TransientError(self._mask(exc), _retry_after(exc), 429) from None
        except (openai.APITimeoutError, openai.APIConnectionError) as exc:
            raise TransientError(self._mask(exc) or type(exc).__name__) from None
        except openai.APIStatusError as exc:
            status = exc.status_code
            if status >= 500 and _is_validation_error(exc):
                # llama-cpp-python's server answers a request shape it does not accept
                # (response_format json_schema) with a 500 carrying the request's
                # validation error: retrying cannot help, the next strategy might.
                raise RequestRejected(self._mask(exc), status) from None
            if status in (408, 409) or status >= 500:
                raise TransientError(self._mask(exc), _retry_after(exc), status) from None
            raise ProviderError(f"{self.endpoint}: HTTP {status}: {self._mask(exc)}") from None
        return self._reply(msg)

    def _mask(self, exc: BaseException) -> str:
        text = str(exc)
        body = getattr(exc, "body", None)
        if body and str(body) not in text:  # the SDK shows only the status for some bodies
            text += f" - {json.dumps(body, default=str)[:500]}"
        return self.provider.mask(" ".join(text.split()))

    @staticmethod
    def _reply(msg: Any) -> ChatReply:
        usage = getattr(msg, "usage_metadata", None) or {}
        meta = getattr(msg, "response_metadata", None) or {}
        data = None
        content = msg.content if isinstance(msg.content, str) else json.dumps(msg.content)
        if getattr(msg, "tool_calls", None):
            data = dict(msg.tool_calls[0].get("args") or {})
        elif getattr(msg, "invalid_tool_calls", None):
            content = msg.invalid_tool_calls[0].get("args") or content
        else:
            parsed = (getattr(msg, "additional_kwargs", None) or {}).get("parsed")
            if isinstance(parsed, dict):
                data = parsed
        lp = meta.get("logprobs") or {}
        tokens = None
        if isinstance(lp, dict) and lp.get("content"):
            tokens = [
                (t.get("token", ""), float(t.get("logprob", 0.0)))
                for t in lp["content"]
                if isinstance(t, dict)
            ]
        return ChatReply(
            content=content,
            data=data,
            prompt_tokens=usage.get("input_tokens"),
            completion_tokens=usage.get("output_tokens"),
            logprobs=tokens,
        )
