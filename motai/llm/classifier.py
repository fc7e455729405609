"""`LLMClassifier`: tag texts with any OpenAI-compatible chat model, grounded in the store.

For each text: retrieve the closest stage definitions and labelled exemplars, render the
versioned prompt (the text as delimited data, redacted first with `redact=True`), look
the request up in the response cache, else send it with the endpoint's structured-output
strategy (found on the first request and remembered in `$MOTAI_HOME/endpoints.json`),
retrying 429/5xx/timeouts with exponential backoff and jitter (honouring Retry-After).
The reply is validated against the taxonomy and the text; an invalid one gets one repair
request, and if that fails too the row gets `error`. The final outcome of a row (a valid
answer, or "invalid after one repair" with its message) is cached, so a re-run makes no
request; transient failures (network, 429/5xx after the retries, timeouts) and rejected
requests are not. Every request, retry, repair and cache hit is counted in `ledger`.

Confidence is P(stage) from token logprobs when the endpoint returns them; otherwise the
mean of the model's self-reported confidence and its agreement with the local model
(1 when the local model picks the same primary stage, else 0).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

from motai.errors import MotaiError
from motai.llm.endpoints import EndpointMemory
from motai.llm.ledger import Ledger, estimate_tokens, price
from motai.llm.loop import BackgroundLoop
from motai.llm.model import (
    STRATEGIES,
    ChatModel,
    ChatReply,
    ChatRequest,
    RequestRejected,
    TransientError,
)
from motai.llm.parse import (
    PARSER_VERSION,
    InvalidReply,
    ParsedReply,
    parse_reply,
    stage_logprob_confidence,
)
from motai.llm.provider import OPENAI_URL, mask_secrets, parse_model_id
from motai.llm.schema import reply_json_schema, tool_definition
from motai.models import Moment, TagResult, TextItem
from motai.prompts import PromptTemplate, build_messages, load_prompt, neutralise
from motai.retrieval import Context, Retriever, redact_context
from motai.segment import customer_regions
from motai.store import KnowledgeStore

REPAIR = (
    "Your answer was invalid: {error}.\n"
    "Answer again with one JSON object with the keys stage, valence, confidence and "
    "moments, using only the allowed labels, every evidence an exact quote of the text "
    "between <customer_text> tags."
)
# A rejection naming one of these is about the structured-output strategy.
_FORMAT_WORDS = ("response_format", "json_schema", "json_object", "tool", "function")
# Expected reply size for --dry-run estimates (a tag with two or three moments).
EST_COMPLETION_TOKENS = 120


@dataclass
class _Prepared:
    item: TextItem
    sent: str
    redaction: Any
    messages: list[dict[str, str]]
    key: str


class LLMClassifier:
    """Tag texts with a chat model. `classify(batch)` is sync; requests run concurrently."""

    provider = "openai"

    def __init__(
        self,
        store: KnowledgeStore,
        model: str,
        base_url: str | None = None,
        api_key: str | None = None,
        prompt: str | PromptTemplate = "classify.v1",
        concurrency: int = 4,
        cache: Any = True,
        redact: bool = False,
        k_examples: int = 4,
        n_definitions: int = 3,
        exclude_items: Collection[str] = (),
        max_retries: int = 6,
        timeout: float = 120.0,
        logprobs: bool = True,
        agreement: bool = True,
        chat: ChatModel | None = None,
        rpm: float | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        endpoints: EndpointMemory | None = None,
        ledger: Ledger | None = None,
    ) -> None:
        import os

        self.store = store
        self.taxonomy = store.taxonomy
        self.base_url = base_url or os.environ.get("OPENAI_BASE_URL") or None
        self.model = chat.model if chat is not None else parse_model_id(model, self.base_url)
        self._api_key = api_key
        self.prompt = prompt if isinstance(prompt, PromptTemplate) else load_prompt(prompt)
        self.concurrency = max(1, int(concurrency))
        self.redact = redact
        self.max_retries = max(0, int(max_retries))
        self.timeout = timeout
        self.logprobs = logprobs
        self.agreement = agreement
        self.retriever = Retriever(store, k_examples, n_definitions, exclude_items)
        self.exclude_items = frozenset(exclude_items)
        self.ledger = ledger or Ledger()
        self.endpoints = endpoints or EndpointMemory()
        self._chat = chat
        self.rpm = rpm
        self._sleep = sleep or asyncio.sleep
        self._schema = reply_json_schema(self.taxonomy)
        self._tool = tool_definition(self.taxonomy)
        self._loop: BackgroundLoop | None = None
        self._local: Any = None
        self._init_lock = threading.Lock()
        self._probe_locks: dict[int, asyncio.Lock] = {}
        if cache is True:
            from motai.llm.cache import ResponseCache

            self.cache: Any = ResponseCache()
        else:
            # (not `cache or None`: an empty ResponseCache has len 0, so it is falsy)
            self.cache = None if cache is None or cache is False else cache

    # -- plumbing -------------------------------------------------------------------

    @property
    def chat(self) -> ChatModel:
        """The chat model and its provider, made on first request (a dry run never needs a
        key)."""
        if self._chat is None:
            with self._init_lock:
                if self._chat is None:
                    from motai.llm.model import OpenAIChatModel
                    from motai.llm.provider import OpenAIProvider

                    provider = OpenAIProvider(self.base_url, self._api_key)
                    self._chat = OpenAIChatModel(
                        self.model, provider, timeout=self.timeout, rpm=self.rpm
                    )
        return self._chat

    @property
    def endpoint(self) -> str:
        if self._chat is not None:
            return self._chat.endpoint
        return mask_secrets(self.base_url or OPENAI_URL, self._api_key)

    @property
    def _endpoint_key(self) -> str:
        return f"{self.endpoint}|{self.model}"

    def _run(self, coro: Awaitable[Any]) -> Any:
        if self._loop is None:
            with self._init_lock:
                if self._loop is None:
                    self._loop = BackgroundLoop()
        return self._loop.run(coro)

    def _mask(self, text: str) -> str:
        provider = getattr(self._chat, "provider", None)
        return mask_secrets(text, self._api_key, getattr(provider, "api_key", None))

    # -- preparing requests -----------------------------------------------------------

    def _prepare(self, batch: Sequence[TextItem]) -> list[_Prepared]:
        from motai.redact import redact

        reds = [redact(it.text) if self.redact else None for it in batch]
        sent = [
            neutralise(r.text if r is not None else it.text)
            for it, r in zip(batch, reds, strict=True)
        ]
        # A text never sees a labelled exemplar with its own id, so an eval on the
        # exemplar bank cannot show an item its own gold label.
        contexts = self.retriever.contexts(sent, own_ids=[it.id for it in batch])
        if self.redact:
            contexts = [redact_context(c) for c in contexts]
        shared = self.retriever.template_variables()
        out = []
        for it, red, text, ctx in zip(batch, reds, sent, contexts, strict=True):
            messages = self.render(text, ctx, kind=it.kind, shared=shared)
            key = self._cache_key(text, ctx)
            out.append(_Prepared(it, text, red, messages, key))
        return out

    def render(
        self,
        text: str,
        context: Context | None = None,
        kind: str | None = None,
        shared: dict[str, Any] | None = None,
    ) -> list[dict[str, str]]:
        """The exact messages sent for `text` (already redacted, if it is to be)."""
        return build_messages(self.prompt, self.retriever, text, kind, context, shared)

    def _cache_key(self, text: str, ctx: Context) -> str:
        from motai.llm.cache import ResponseCache

        return ResponseCache.key(
            endpoint=self.endpoint,
            model=self.model,
            prompt=self.prompt.version,
            params=self.prompt.params,
            taxonomy=self.taxonomy.hash,
            context=ctx.key(),
            text=text,
            # What a reply is checked against: a parser fix or a schema change must not
            # be served stale outcomes from the cache.
            parser=PARSER_VERSION,
            schema=self._schema,
        )

    # -- public API -------------------------------------------------------------------

    def classify(self, batch: Sequence[TextItem]) -> list[TagResult]:
        """Tag a batch (in order, one result per item, errors as rows)."""
        if not batch:
            return []
        prepared = self._prepare(batch)
        outcomes = self._run(self._gather(prepared))
        return self._finish(prepared, outcomes)

    def dry_run(self, items: Sequence[TextItem]) -> dict[str, Any]:
        """Estimate requests, tokens and cost; sends nothing."""
        prepared = self._prepare(list(items)) if items else []
        cached = sum(1 for p in prepared if self.cache is not None and self._peek(p.key))
        todo = [p for p in prepared if not (self.cache is not None and self._peek(p.key))]
        prompt_tokens = sum(
            estimate_tokens("".join(m["content"] for m in p.messages)) for p in todo
        )
        completion = EST_COMPLETION_TOKENS * len(todo)
        p = price(self.model)
        cost = None if p is None else (prompt_tokens * p[0] + completion * p[1]) / 1_000_000
        return {
            "model": self.model,
            "endpoint": self.endpoint,
            "prompt_version": self.prompt.version,
            "texts": len(prepared),
            "cached": cached,
            "requests": len(todo),
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion,
            "cost_usd": None if cost is None else round(cost, 6),
        }

    def _peek(self, key: str) -> bool:
        hit = self.cache.get(key)
        return hit is not None

    # -- requests ---------------------------------------------------------------------

    async def _gather(self, prepared: list[_Prepared]) -> list[dict[str, Any]]:
        sem = asyncio.Semaphore(self.concurrency)
        tasks = [asyncio.ensure_future(self._one(p, sem)) for p in prepared]
        try:
            return list(await asyncio.gather(*tasks))
        except BaseException:
            for t in tasks:
                t.cancel()
            raise

    async def _one(self, p: _Prepared, sem: asyncio.Semaphore) -> dict[str, Any]:
        if self.cache is not None:
            hit = self.cache.get(p.key)
            if hit is not None and ("reply" in hit or hit.get("invalid")):
                self.ledger.add(self.model, 0, 0, kind="cache_hit")
                return hit
        async with sem:
            try:
                reply = await self._request(p.messages, "request")
                try:
                    parsed = self._parse(reply, p.sent, p.item.kind)
                except InvalidReply as first:
                    repair = [
                        *p.messages,
                        {"role": "assistant", "content": reply.text},
                        {"role": "user", "content": REPAIR.format(error=first)},
                    ]
                    reply = await self._request(repair, "repair")
                    try:
                        parsed = self._parse(reply, p.sent, p.item.kind)
                    except InvalidReply as second:
                        # The model's final answer (at temperature 0, repeatable): cached
                        # like a valid one, so a re-run asks again only with --no-cache.
                        final = {
                            "error": self._mask(f"invalid answer after one repair: {second}"),
                            "invalid": True,
                        }
                        if self.cache is not None:
                            self.cache.put(p.key, final)
                        return final
            # Transient and fatal failures say nothing about the answer: never cached.
            except TransientError as exc:
                return {"error": f"gave up after {self.max_retries} retries: {exc}"}
            except RequestRejected as exc:
                return {"error": f"request rejected: {exc}"}
        out = {
            "reply": parsed.to_dict(),
            "logprob_confidence": stage_logprob_confidence(reply.logprobs, parsed.stage),
        }
        if self.cache is not None:
            self.cache.put(p.key, out)
        return out

    def _parse(self, reply: ChatReply, text: str, kind: str | None) -> ParsedReply:
        raw = reply.data if reply.data is not None else reply.content
        regions = customer_regions(text, kind) if kind == "transcript" else None
        return parse_reply(raw, text, self.taxonomy, regions)

    async def _request(self, messages: list[dict[str, str]], kind: str) -> ChatReply:
        strategy = self.endpoints.get(self._endpoint_key).get("strategy")
        if strategy in STRATEGIES:
            return await self._send(messages, strategy, kind)
        lock = self._probe_locks.setdefault(id(asyncio.get_running_loop()), asyncio.Lock())
        async with lock:  # one task probes; the others wait for its answer
            strategy = self.endpoints.get(self._endpoint_key).get("strategy")
            if strategy in STRATEGIES:
                return await self._send(messages, strategy, kind)
            last: RequestRejected | None = None
            for strategy in STRATEGIES:
                try:
                    reply = await self._send(messages, strategy, kind)
                except RequestRejected as exc:
                    last = exc
                    continue
                self.endpoints.update(self._endpoint_key, strategy=strategy)
                return reply
            raise RequestRejected(
                f"{self.endpoint} rejected every structured-output strategy "
                f"({', '.join(STRATEGIES)}); last: {last}"
            )

    async def _send(self, messages: list[dict[str, str]], strategy: str, kind: str) -> ChatReply:
        from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt

        state = self.endpoints.get(self._endpoint_key)
        request = ChatRequest(
            messages=messages,
            strategy=strategy,
            schema=self._schema,
            tool=self._tool,
            params=dict(self.prompt.params),
            logprobs=self.logprobs and state.get("logprobs") is not False,
        )

        def before_sleep(_state: Any) -> None:
            self.ledger.add(self.model, 0, 0, kind="retry")

        retrying = AsyncRetrying(
            retry=retry_if_exception_type(TransientError),
            stop=stop_after_attempt(self.max_retries + 1),
            wait=self._wait,
            sleep=self._sleep,
            before_sleep=before_sleep,
            reraise=True,
        )
        reply: ChatReply | None = None
        async for attempt in retrying:
            with attempt:
                reply = await self._complete(request)
        assert reply is not None
        if request.logprobs and state.get("logprobs") is None:
            self.endpoints.update(self._endpoint_key, logprobs=True)
        prompt_tokens = reply.prompt_tokens
        if prompt_tokens is None:
            prompt_tokens = estimate_tokens("".join(m["content"] for m in messages))
        completion = reply.completion_tokens
        if completion is None:
            completion = estimate_tokens(reply.text)
        self.ledger.add(self.model, prompt_tokens, completion, kind=kind)  # type: ignore[arg-type]
        return reply

    async def _complete(self, request: ChatRequest) -> ChatReply:
        try:
            return await self.chat.complete(request)
        except RequestRejected as exc:
            msg = str(exc).lower()
            about_format = any(w in msg for w in _FORMAT_WORDS) and "logprob" not in msg
            if not request.logprobs or about_format:
                raise
        # Some servers refuse `logprobs`: try once without; if that passes, remember it.
        request.logprobs = False
        reply = await self.chat.complete(request)
        self.endpoints.update(self._endpoint_key, logprobs=False)
        return reply

    def _wait(self, retry_state: Any) -> float:
        from tenacity import wait_exponential_jitter

        exc = retry_state.outcome.exception() if retry_state.outcome else None
        after = getattr(exc, "retry_after", None)
        if after is not None:
            return min(float(after), 600.0)
        return wait_exponential_jitter(initial=1.0, max=60.0, jitter=1.0)(retry_state)

    # -- results ----------------------------------------------------------------------

    def _local_stages(self, items: list[TextItem]) -> dict[str, str | None]:
        if not self.agreement or not items:
            return {}
        try:
            if self._local is None:
                from motai.local import LocalModel

                self._local = LocalModel.load().for_taxonomy(self.store.taxonomy)
            return {r.id: r.stage for r in self._local.classify(items)}
        except MotaiError:
            return {}

    def _finish(self, prepared: list[_Prepared], outcomes: list[dict[str, Any]]) -> list[TagResult]:
        need = [
            p.item
            for p, o in zip(prepared, outcomes, strict=True)
            if "reply" in o and o.get("logprob_confidence") is None
        ]
        local = self._local_stages(need)
        return [self._result(p, o, local) for p, o in zip(prepared, outcomes, strict=True)]

    def _result(self, p: _Prepared, o: dict[str, Any], local: dict[str, str | None]) -> TagResult:
        base = {
            "id": p.item.id,
            "kind": p.item.kind,
            "provider": self.provider,
            "model": self.model,
            "prompt_version": self.prompt.version,
            "taxonomy_version": self.taxonomy.ref,
        }
        if "reply" not in o:
            return TagResult(**base, error=self._mask(str(o.get("error") or "no answer")))
        reply = ParsedReply.from_dict(o["reply"])
        conf = o.get("logprob_confidence")
        if conf is None:
            conf = reply.confidence
            if p.item.id in local:
                agree = 1.0 if local[p.item.id] == reply.stage else 0.0
                conf = (reply.confidence + agree) / 2
        conf = round(max(0.0, min(1.0, float(conf))), 4)
        text = p.item.text
        moments = []
        for m in reply.moments:
            s, e = p.redaction.to_original(m.start, m.end) if p.redaction else (m.start, m.end)
            moments.append(
                Moment(
                    stage=m.stage,
                    valence=m.valence,
                    evidence=text[s:e],
                    start=s,
                    end=e,
                    confidence=conf,
                )
            )
        return TagResult(
            **base, stage=reply.stage, valence=reply.valence, confidence=conf, moments=moments
        )

    def close(self) -> None:
        if self._loop is not None:
            self._loop.loop.call_soon_threadsafe(self._loop.loop.stop)
            self._loop = None
