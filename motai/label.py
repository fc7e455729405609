"""Labelling: an LLM labels a team's own texts into the training format of `motai train`.

A labelled record is the dev set's format, one JSON object per line:

    {"id": "r1", "kind": "review", "source": "shop", "text": "...", "stage": "AMOT",
     "valence": "pain", "moments": [{"stage": "AMOT", "valence": "pain", "evidence": "..."}]}

Every evidence is an exact substring of the text, the primary moment (stage + valence) is
one of the moments, and a NONE text has the no-moment valence and no moments: the rules
of the labelling guideline, so the file loads with `motai.labelled.load_labelled`. An
answer that breaks a rule is never patched (no evidence is invented, no label guessed):
its row is reported as failed, with the reason, and left out of the training data.

The local model cannot label: a model trained on its own output learns nothing new.

    tagger = Tagger("openai:gpt-4o-mini", concurrency=8)
    for x in label_items(tagger, read_items(["sample.csv"])):
        print(x.status, x.record or x.error)
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from motai.errors import MotaiError
from motai.labelled import LabelledItem
from motai.models import TagResult, TextItem
from motai.taxonomy import Taxonomy

__all__ = [
    "LOCAL_MODEL_REFUSED",
    "Labelled",
    "NotLabelled",
    "errors_path",
    "is_local_model",
    "label_items",
    "labelled_ids",
    "to_record",
]

LOCAL_MODEL_REFUSED = (
    "motai label needs an LLM model, e.g. --model openai:gpt-4o-mini; "
    "the local model is what you train from labelled data"
)


class NotLabelled(ValueError):
    """A tag that cannot be a training record; the message says why."""


def is_local_model(model: str | None) -> bool:
    """`local`, `local:default` or a trained `local:NAME`: what `motai train` makes."""
    from motai.tagger import local_model_path

    return model is None or local_model_path(model) is not None


def to_record(item: TextItem, result: TagResult, taxonomy: Taxonomy) -> dict[str, Any]:
    """The training record of `item` from its tag, or `NotLabelled` naming the broken rule.

    `item` is the text as read (its text, kind and source are kept), `result` its tag.
    """
    if result.id != item.id:
        raise ValueError(f"result {result.id!r} is not the tag of item {item.id!r}")
    if result.error:
        raise NotLabelled(result.error)
    stage, valence = result.stage, result.valence
    if stage not in taxonomy.labels:
        raise NotLabelled(f"no primary stage in the answer (got {stage!r})")
    if valence not in taxonomy.valence_ids:
        raise NotLabelled(f"no primary valence in the answer (got {valence!r})")
    moments: list[dict[str, str]] = []
    for m in result.moments:
        if m.stage not in taxonomy.stage_ids or m.valence not in taxonomy.valence_ids:
            raise NotLabelled(f"moment {m.stage}/{m.valence} is not a label of the taxonomy")
        if not m.evidence.strip() or m.evidence not in item.text:
            raise NotLabelled(f"evidence {m.evidence!r} is not an exact quote of the text")
        moment = {"stage": m.stage, "valence": m.valence, "evidence": m.evidence}
        if moment not in moments:
            moments.append(moment)
    if stage == taxonomy.none.id:
        if moments:
            raise NotLabelled(
                f"primary stage {stage} (no customer experience) but {len(moments)} moment(s)"
            )
        if valence != taxonomy.none_valence:
            raise NotLabelled(
                f"primary stage {stage} must have valence {taxonomy.none_valence!r}, "
                f"got {valence!r}"
            )
    elif not any(m["stage"] == stage and m["valence"] == valence for m in moments):
        raise NotLabelled(f"the primary moment {stage}/{valence} has no evidence among the moments")
    record: dict[str, Any] = {"id": item.id}
    kind = item.kind or result.kind
    if kind:
        record["kind"] = kind
    source = item.source or item.extra.get("source")
    if isinstance(source, str) and source.strip():
        record["source"] = source
    record.update(text=item.text, stage=stage, valence=valence, moments=moments)
    try:
        LabelledItem.model_validate(record)
    except ValidationError as exc:  # e.g. a kind the labelled format does not know
        raise NotLabelled(f"not a labelled record: {exc.errors()[0]['msg']}") from None
    return record


@dataclass(frozen=True)
class Labelled:
    """The outcome of one input item: labelled (`record`), failed (`error`) or skipped
    (its id was already labelled: never sent)."""

    item: TextItem
    result: TagResult | None = None
    record: dict[str, Any] | None = None
    error: str | None = None

    @property
    def id(self) -> str:
        return self.item.id

    @property
    def status(self) -> Literal["labelled", "failed", "skipped"]:
        if self.record is not None:
            return "labelled"
        return "failed" if self.error is not None else "skipped"


def label_items(
    tagger: Any,
    items: Iterable[TextItem | Mapping[str, object]],
    *,
    skip: Collection[str] = (),
) -> Iterator[Labelled]:
    """Label `items` with an LLM `Tagger`, lazily and in input order: one `Labelled` each.

    Items whose id is in `skip` (already labelled) are yielded as skipped and never sent.
    A second item with an id already seen in `items` fails ("duplicate id"), as does a
    row the reader could not read; neither is sent. Requests go through `tagger.tag_many`,
    so its cache, ledger, redaction and concurrency apply.
    """
    if getattr(tagger, "is_local", False) or is_local_model(getattr(tagger, "model", None)):
        raise MotaiError(LOCAL_MODEL_REFUSED)
    taxonomy: Taxonomy = tagger.taxonomy
    # Input order: ("skip", item) entries wait in line with ("tag", item) entries, so a
    # skipped item comes out between the tags of its neighbours.
    pending: deque[tuple[str, TextItem]] = deque()
    seen: set[str] = set()

    def to_tag() -> Iterator[TextItem]:
        for n, raw in enumerate(items, start=1):
            item = raw if isinstance(raw, TextItem) else _item(raw, n)
            if item.id in seen:
                if item.error is None:
                    error = f"duplicate id {item.id!r}: an earlier row has it (ids must be unique)"
                    item = item.model_copy(update={"error": error})
            elif item.id in skip:
                seen.add(item.id)
                pending.append(("skip", item))
                continue
            seen.add(item.id)
            pending.append(("tag", item))
            yield item

    def skipped() -> Iterator[Labelled]:
        while pending and pending[0][0] == "skip":
            yield Labelled(pending.popleft()[1])

    for result in tagger.tag_many(to_tag()):
        yield from skipped()
        _, item = pending.popleft()
        try:
            yield Labelled(item, result, record=to_record(item, result, taxonomy))
        except NotLabelled as exc:
            yield Labelled(item, result, error=str(exc))
    yield from skipped()


def _item(raw: Mapping[str, object], n: int) -> TextItem:
    return TextItem(
        id=str(raw.get("id", n)),
        text=str(raw.get("text") or ""),
        kind=raw.get("kind") or None,  # type: ignore[arg-type]
        source=raw.get("source") or None,  # type: ignore[arg-type]
    )


def errors_path(output: str | Path) -> Path:
    """Where the rows that could not be labelled go: `labelled.jsonl` ->
    `labelled.errors.jsonl`."""
    out = Path(output)
    stem = out.name[: -len(".jsonl")] if out.name.endswith(".jsonl") else out.name
    return out.with_name(f"{stem}.errors.jsonl")


def labelled_ids(path: str | Path, *, repair: bool = False) -> set[str]:
    """Ids already labelled in `path` (none when it does not exist), to resume a run.

    A last line without its newline (a write cut short) is dropped, unless it is a whole
    record; with `repair=True` the file is fixed in place (the fragment cut off, or the
    newline added) so that appending goes on from a clean line. Any other bad line is an
    error: the file is not a labelled file, and `--fresh` starts it over.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return set()
    except OSError as exc:
        raise MotaiError(f"{path}: cannot read to resume: {exc.strerror}") from None
    head, _, tail = data.rpartition(b"\n")
    lines = head.split(b"\n") if head else []
    ids: set[str] = set()
    for n, line in enumerate(lines, start=1):
        if line.strip():
            ids.add(_record_id(line, path, n))
    if tail.strip():
        try:
            ids.add(_record_id(tail, path, len(lines) + 1))
            fixed = data + b"\n"
        except MotaiError:
            fixed = data[: len(data) - len(tail)]  # a half-written line
        if repair:
            path.write_bytes(fixed)
    return ids


def _record_id(line: bytes, path: Path, n: int) -> str:
    try:
        row = json.loads(line)
        if (
            isinstance(row, dict)
            and isinstance(row.get("id"), str)
            and {"text", "stage"} <= set(row)
            and isinstance(row.get("moments"), list)
        ):
            return row["id"]
    except (json.JSONDecodeError, UnicodeDecodeError):
        pass
    raise MotaiError(
        f"{path}: line {n}: not a labelled record (id, text, stage, valence, moments); "
        "use --fresh to start the file over, or another -o"
    )
