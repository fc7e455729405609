"""Retrieval for prompts: the closest stage definitions and labelled exemplars of a text.

Both come from the knowledge store (chroma). The label list always holds every stage of
the taxonomy; only the detailed definitions are narrowed to the stages closest to the
text. Exemplars are the labelled items whose segments are nearest to the text: each is
shown whole when short (else as its matched segment) with its item's gold stage and
valence and the gold moments quoted in what is shown.
`exclude_items` keeps items out (an eval never shows an item its own label).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import Any

from motai.labelled import LabelledItem, load_labelled
from motai.store import KnowledgeStore

# Ask chroma for more segments than exemplars: several segments of one item are one
# exemplar, and excluded items are filtered out.
_OVERSAMPLE = 4


@dataclass(frozen=True)
class Definition:
    id: str
    name: str
    definition: str
    signals: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Exemplar:
    id: str
    text: str
    stage: str
    valence: str
    moments: list[dict[str, str]] = field(default_factory=list)
    distance: float = 0.0


@dataclass(frozen=True)
class Context:
    """What a prompt is grounded in, for one text."""

    definitions: list[Definition]
    examples: list[Exemplar]

    def key(self) -> str:
        """Canonical JSON of what the model sees (distances excluded), for the cache key."""
        return json.dumps(
            {
                "definitions": [d.id for d in self.definitions],
                "examples": [
                    {k: v for k, v in asdict(e).items() if k != "distance"} for e in self.examples
                ],
            },
            sort_keys=True,
            ensure_ascii=False,
        )


def redact_context(ctx: Context) -> Context:
    """The context with personal data in exemplar texts replaced by placeholders too
    (a user's own exemplar file may hold their customers' emails); a gold quote that no
    longer appears verbatim is dropped."""
    from motai.redact import redact

    examples = []
    for e in ctx.examples:
        text = redact(e.text).text
        moments = []
        for m in e.moments:
            ev = redact(m["evidence"]).text
            if ev in text:
                moments.append({**m, "evidence": ev})
        examples.append(
            Exemplar(e.id, text, e.stage, e.valence, moments=moments, distance=e.distance)
        )
    return Context(definitions=ctx.definitions, examples=examples)


class Retriever:
    def __init__(
        self,
        store: KnowledgeStore,
        k_examples: int = 4,
        n_definitions: int = 3,
        exclude_items: Collection[str] = (),
        max_example_chars: int = 600,
    ) -> None:
        self.store = store
        self.max_example_chars = max_example_chars
        self.taxonomy = store.taxonomy
        self.k_examples = max(0, k_examples)
        self.n_definitions = max(1, n_definitions)
        self.exclude_items = frozenset(exclude_items)

    @cached_property
    def _items(self) -> dict[str, LabelledItem]:
        return {it.id: it for it in load_labelled(self.store.exemplars_file, self.taxonomy)}

    def _definition(self, stage_id: str) -> Definition:
        tax = self.taxonomy
        if stage_id == tax.none.id:
            return Definition(tax.none.id, "no moment", tax.none.definition)
        s = tax.stage(stage_id)
        return Definition(s.id, s.name, s.definition, list(s.signals))

    def template_variables(self) -> dict[str, Any]:
        """The variables every text shares: the taxonomy and its label lists."""
        tax = self.taxonomy
        labels = [{"id": s.id, "name": s.name} for s in tax.stages]
        labels.append({"id": tax.none.id, "name": "no customer experience in the text"})
        return {
            "taxonomy": tax,
            "labels": labels,
            "valences": [{"id": v.id, "definition": v.definition} for v in tax.valences],
            "none_id": tax.none.id,
            "none_valence": tax.none_valence,
        }

    def contexts(
        self,
        texts: Sequence[str],
        exclude_items: Collection[str] = (),
        own_ids: Sequence[str] | None = None,
    ) -> list[Context]:
        """One Context per text; one store query per collection for the whole batch.

        `own_ids[i]` is left out of text i's examples only (a text never sees itself).
        """
        if not texts:
            return []
        texts = [t if t.strip() else "(empty)" for t in texts]
        exclude = self.exclude_items | frozenset(exclude_items)
        tax_rows = len(self.taxonomy.labels) * 12
        tq = self.store.query("taxonomy", list(texts), n=tax_rows)
        eq: dict[str, Any] = {"ids": [[] for _ in texts]}
        if self.k_examples:
            n = self.k_examples * _OVERSAMPLE + min(len(exclude), 200) + 1
            where = {"item": {"$nin": sorted(exclude)}} if exclude else None
            eq = self.store.query("exemplars", list(texts), n=n, where=where)
        out = []
        for i in range(len(texts)):
            out.append(
                Context(
                    definitions=self._rank_stages(tq["metadatas"][i], tq["distances"][i]),
                    examples=self._exemplars(eq, i, exclude | {own_ids[i]} if own_ids else exclude),
                )
            )
        return out

    def context(self, text: str, exclude_items: Collection[str] = ()) -> Context:
        return self.contexts([text], exclude_items)[0]

    def _rank_stages(self, metas: list[dict], dists: list[float]) -> list[Definition]:
        order: list[str] = []
        for meta, _d in sorted(zip(metas, dists, strict=True), key=lambda x: x[1]):
            stage = meta.get("stage")
            if stage and stage not in order and stage in self.taxonomy.labels:
                order.append(stage)
            if len(order) == self.n_definitions:
                break
        # Journey order reads better than similarity order; the set is what matters.
        chosen = [s for s in self.taxonomy.labels if s in order]
        return [self._definition(s) for s in chosen]

    def _exemplars(self, eq: dict[str, Any], i: int, exclude: frozenset[str]) -> list[Exemplar]:
        if not eq["ids"][i]:
            return []
        seen: set[str] = set()
        out: list[Exemplar] = []
        for doc, meta, dist in zip(
            eq["documents"][i], eq["metadatas"][i], eq["distances"][i], strict=True
        ):
            item_id = meta["item"]
            if item_id in exclude or item_id in seen:
                continue
            seen.add(item_id)
            item = self._items.get(item_id)
            # A short item is shown whole; a long one by its matched segment, with only the
            # gold moments quoted inside it (an example never shows evidence it lacks).
            text = item.text if item and len(item.text) <= self.max_example_chars else doc
            moments = [m.model_dump() for m in item.moments if m.evidence in text] if item else []
            out.append(
                Exemplar(
                    id=item_id,
                    text=text,
                    stage=meta.get("item_stage", ""),
                    valence=meta.get("item_valence", ""),
                    moments=moments,
                    distance=round(float(dist), 4),
                )
            )
            if len(out) == self.k_examples:
                break
        return out
