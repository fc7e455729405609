"""Who answers and where: the OpenAI-compatible endpoint, its key, and secret masking.

pydantic-ai's split: the provider knows the base URL and the key (from the arguments or
OPENAI_BASE_URL / OPENAI_API_KEY, a dummy key for a local server) and keeps the key out
of every message; the chat model (`motai.llm.model`) shapes the requests and decodes the
replies. Nothing here sends a request.
"""

from __future__ import annotations

import os
import re
from urllib.parse import urlparse

from motai.errors import MotaiError

NO_KEY = "sk-no-key"
OPENAI_URL = "https://api.openai.com/v1"
_SECRET = re.compile(
    r"(sk-[A-Za-z0-9_\-]{6,}|(?<=Bearer )[A-Za-z0-9_\-\.=]{8,}|(?<=api-key: )\S{8,})"
)


def mask_secrets(text: str, *secrets: str | None) -> str:
    """Hide API keys: `sk-...` tokens, bearer tokens and the given secret values."""
    out = str(text)
    for s in secrets:
        if s and len(s) >= 4 and s != NO_KEY:
            out = out.replace(s, "***")
    return _SECRET.sub("***", out)


class ProviderError(MotaiError):
    """A request that cannot succeed by retrying: bad key, unknown model, bad endpoint."""


# What the `llm` extra installs, by import name; checked before any row is read, so a
# missing one is one line at start-up, not an error on every row.
LLM_EXTRA_MODULES = ("openai", "langchain_openai", "tenacity", "jinja2")


def require_llm_extra() -> None:
    """Raise one line naming the missing modules and the extra that brings them."""
    import importlib.util

    missing = []
    for name in LLM_EXTRA_MODULES:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            missing.append(name)
    if missing:
        raise MotaiError(
            f'an LLM model needs the llm extra: pip install "motai[llm]" '
            f"(missing: {', '.join(missing)})"
        )


def parse_model_id(model: str, base_url: str | None = None) -> str:
    """The model name the endpoint knows.

    `openai:gpt-4o-mini` -> `gpt-4o-mini`. With a base URL every id is the server's own
    name (`qwen2.5`, `openai:qwen2.5`, `qwen2.5:7b` for Ollama); without one, only
    `openai:NAME` is accepted (so a typo such as `locale` never becomes a paid request).
    """
    model = model.strip()
    if model.startswith("openai:"):
        name = model.split(":", 1)[1]
    elif base_url:
        name = model
    elif ":" in model:
        prefix = model.split(":", 1)[0]
        raise MotaiError(
            f"unknown provider {prefix!r} in model {model!r}: use 'openai:NAME' "
            "(any OpenAI-compatible server with --base-url) or 'local'"
        )
    else:
        raise MotaiError(
            f"unknown model {model!r}: use 'local' (offline), 'openai:NAME' "
            "(e.g. openai:gpt-4o-mini), or --base-url URL with the server's model name"
        )
    if not name:
        raise MotaiError(f"model {model!r} has no name after the provider prefix")
    return name


def resolve_endpoint(base_url: str | None, api_key: str | None) -> tuple[str | None, str]:
    """(base_url, api_key) from the arguments, else `OPENAI_BASE_URL` / `OPENAI_API_KEY`.

    A local server needs no key: with a base URL and no key, a dummy key is sent.
    """
    base_url = base_url or os.environ.get("OPENAI_BASE_URL") or None
    api_key = api_key or os.environ.get("OPENAI_API_KEY") or None
    if not api_key:
        if not base_url:
            raise ProviderError(
                "no API key: set OPENAI_API_KEY, or pass --base-url (OPENAI_BASE_URL) to "
                "use your own OpenAI-compatible server"
            )
        api_key = NO_KEY
    return base_url, api_key


def self_hosted(base_url: str | None) -> bool:
    """A server other than OpenAI's and Azure OpenAI's (vLLM, Ollama, llama.cpp...)."""
    if not base_url:
        return False
    host = (urlparse(base_url).hostname or "").lower()
    return not (host == "api.openai.com" or host.endswith(".openai.azure.com"))


class OpenAIProvider:
    """An OpenAI-compatible endpoint: OpenAI, Azure OpenAI (the deployment's `/openai/v1`
    URL), vLLM, Ollama, llama.cpp's server... Its repr and `mask` never show the key."""

    name = "openai"

    def __init__(self, base_url: str | None = None, api_key: str | None = None) -> None:
        self.base_url, self._key = resolve_endpoint(base_url, api_key)
        self.endpoint = self.mask(self.base_url or OPENAI_URL)
        self.self_hosted = self_hosted(self.base_url)

    @property
    def api_key(self) -> str:
        """For the HTTP client only; never log or store it."""
        return self._key

    def mask(self, text: str) -> str:
        return mask_secrets(text, self._key)

    def __repr__(self) -> str:
        return f"OpenAIProvider(endpoint={self.endpoint!r})"
