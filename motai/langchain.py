"""A Tagger as a LangChain Runnable, so an LCEL pipeline can tag: `invoke`, `batch`,
`ainvoke`, `abatch`, and `|` with any other Runnable.

    chain = RunnableLambda(to_text) | Tagger().as_runnable() | RunnableLambda(route)
    chain.batch(tickets)

`batch` hands the whole list to `Tagger.tag_many`, so texts are embedded (or sent to the
LLM) in batches, not one by one. langchain-core comes with the `llm` extra.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from langchain_core.runnables import Runnable, RunnableConfig

from motai.models import TagResult, TextItem

if TYPE_CHECKING:
    from motai.tagger import Tagger

TagInput = str | Mapping[str, object] | TextItem


class TaggerRunnable(Runnable[TagInput, TagResult]):
    """Input: a text, a mapping with `text` (and `id`, `kind`), or a TextItem.
    Output: its TagResult; a text that cannot be tagged comes back with `error` set."""

    def __init__(self, tagger: Tagger) -> None:
        self.tagger = tagger

    @property
    def InputType(self) -> Any:
        return TagInput

    @property
    def OutputType(self) -> type[TagResult]:
        return TagResult

    def invoke(self, input: TagInput, config: RunnableConfig | None = None, **kw: Any) -> TagResult:
        return self._call_with_config(lambda x: self.batch([x])[0], input, config)

    def batch(
        self,
        inputs: list[TagInput],
        config: RunnableConfig | list[RunnableConfig] | None = None,
        *,
        return_exceptions: bool = False,
        **kw: Any,
    ) -> list[TagResult]:
        # Failed rows are results with `error` set, never exceptions: nothing to return.
        return list(self.tagger.tag_many(inputs))

    async def ainvoke(
        self, input: TagInput, config: RunnableConfig | None = None, **kw: Any
    ) -> TagResult:
        return (await self.tagger.atag_many([input]))[0]

    async def abatch(
        self,
        inputs: list[TagInput],
        config: RunnableConfig | list[RunnableConfig] | None = None,
        *,
        return_exceptions: bool = False,
        **kw: Any,
    ) -> list[TagResult]:
        return await self.tagger.atag_many(inputs)
