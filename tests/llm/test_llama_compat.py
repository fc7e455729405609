"""What llama-cpp-python's server needs from the OpenAI provider (found by running it):

- it answers `response_format: json_schema` with HTTP 500 carrying a request validation
  error, which must count as "strategy refused" (try the next), not as a transient 5xx;
- it ignores `max_completion_tokens` (what langchain-openai sends), so self-hosted
  endpoints also get `max_tokens`, else a tiny model's reply runs to the context size.
"""

from __future__ import annotations

import pytest

from motai.llm.model import ChatRequest, OpenAIChatModel, _is_validation_error
from motai.llm.provider import OpenAIProvider
from motai.llm.provider import self_hosted as _self_hosted
from motai.llm.schema import reply_json_schema, tool_definition
from motai.taxonomy import Taxonomy

LLAMA_500 = (
    "Error code: 500 - {'error': {'message': \"1 validation error:\\n  {'type': "
    "'literal_error', 'loc': ('body', 'response_format', 'type'), 'msg': \\\"Input should "
    "be 'text' or 'json_object'\\\"}\", 'type': 'internal_server_error'}}"
)


class _Exc(Exception):
    body = None


def test_llama_validation_500_is_a_refusal() -> None:
    assert _is_validation_error(_Exc(LLAMA_500))
    assert not _is_validation_error(_Exc("Error code: 500 - internal error"))
    assert not _is_validation_error(_Exc("Error code: 503 - overloaded"))


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (None, False),
        ("https://api.openai.com/v1", False),
        ("https://my-res.openai.azure.com/openai/v1", False),
        ("http://127.0.0.1:8080/v1", True),
        ("http://localhost:11434/v1", True),
        ("https://vllm.internal.example/v1", True),
    ],
)
def test_self_hosted(url: str | None, expected: bool) -> None:
    assert _self_hosted(url) is expected


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/v1", None])
def test_max_tokens_reaches_self_hosted_servers(url: str | None, taxonomy: Taxonomy) -> None:
    provider = OpenAIChatModel("m", OpenAIProvider(base_url=url, api_key="sk-test-key-000"))
    for strategy in ("json_schema", "tool_calling", "json_mode"):
        req = ChatRequest(
            messages=[{"role": "user", "content": "hi"}],
            strategy=strategy,
            schema=reply_json_schema(taxonomy),
            tool=tool_definition(taxonomy),
            params={"temperature": 0, "max_tokens": 600},
        )
        # with_structured_output(include_raw=True): the model call is the `raw` branch
        binding = provider._runnable(req).first.steps__["raw"]
        kw = {k: v for k, v in binding.kwargs.items() if k != "ls_structured_output_format"}
        payload = provider._llm._get_request_payload([("user", "hi")], **kw)
        sent = {**payload, **payload.get("extra_body", {})}
        assert sent.get("max_completion_tokens", sent.get("max_tokens")) == 600
        assert ("max_tokens" in sent) is (url is not None), (strategy, sent.keys())


def test_each_provider_has_its_own_http_client() -> None:
    """langchain caches one async HTTP client per (base URL, timeout) for the process; its
    pooled connections belong to the event loop that opened them, and every classifier
    runs its own loop, so a second Tagger would reuse dead connections (seen as one
    duplicated request per new Tagger against the llama.cpp server)."""
    url = "http://127.0.0.1:8080/v1"
    a = OpenAIChatModel("m", OpenAIProvider(base_url=url, api_key="sk-test-key-000"))
    b = OpenAIChatModel("m", OpenAIProvider(base_url=url, api_key="sk-test-key-000"))
    assert a._llm.root_async_client._client is not b._llm.root_async_client._client
