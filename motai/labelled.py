"""Labelled sets: texts with gold stage, valence and exact-evidence moments.

The same format is the local model's training data, an LLM's retrieval exemplars and eval
data (`evals/datasets/*.jsonl`, the format of the labelling guideline's dev set).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from motai.errors import InputError
from motai.models import Kind
from motai.taxonomy import Taxonomy

DEFAULT_EXEMPLARS = "bundled:dev"


class LabelledMoment(BaseModel):
    model_config = ConfigDict(extra="ignore")
    stage: str
    valence: str
    evidence: str


class LabelledItem(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str
    kind: Kind | None = None
    source: str | None = None
    text: str
    stage: str
    valence: str
    moments: list[LabelledMoment] = []

    def spans(self) -> list[tuple[int, int, LabelledMoment]]:
        """(start, end, moment) of each moment's evidence in the text."""
        out = []
        for m in self.moments:
            start = self.text.find(m.evidence)
            out.append((start, start + len(m.evidence), m))
        return out


def exemplars_path(source: str | Path | None = None) -> Path:
    """A file path, or the bundled dev set for `None` / `bundled:dev`."""
    if source is None or str(source) == DEFAULT_EXEMPLARS:
        return Path(str(resources.files("motai") / "data" / "dev.jsonl"))
    return Path(source)


def sha256_file(path: Path) -> str:
    """The sha256 of a file, read in blocks (labelled sets and model weights can be big)."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def file_hash(path: Path) -> str:
    return sha256_file(path)[:16]


def _check(item: LabelledItem, taxonomy: Taxonomy, where: dict) -> None:
    labels, valences = set(taxonomy.labels), set(taxonomy.valence_ids)
    if item.stage not in labels:
        raise InputError(f"unknown stage {item.stage!r}", field="stage", **where)
    if item.valence not in valences:
        raise InputError(f"unknown valence {item.valence!r}", field="valence", **where)
    for i, m in enumerate(item.moments):
        if m.stage not in taxonomy.stage_ids:
            raise InputError(f"unknown stage {m.stage!r}", field=f"moments[{i}].stage", **where)
        if m.valence not in valences:
            raise InputError(
                f"unknown valence {m.valence!r}", field=f"moments[{i}].valence", **where
            )
        if m.evidence not in item.text:
            raise InputError(
                "evidence is not an exact quote of the text",
                field=f"moments[{i}].evidence",
                **where,
            )


def _mapped(raw: dict, taxonomy: Taxonomy) -> dict:
    """The item with its labels in the taxonomy's terms (its `label_map` applied)."""
    out = dict(raw)
    if isinstance(out.get("stage"), str):
        out["stage"] = taxonomy.mapped(out["stage"])
    if isinstance(out.get("moments"), list):
        out["moments"] = [
            {**m, "stage": taxonomy.mapped(m["stage"])}
            if isinstance(m, dict) and isinstance(m.get("stage"), str)
            else m
            for m in out["moments"]
        ]
    return out


def load_labelled(path: str | Path, taxonomy: Taxonomy) -> Iterator[LabelledItem]:
    """Yield validated items; the first bad line raises an InputError naming line and field.

    A labelled set is curated data, so a bad line stops the load rather than being skipped:
    silently dropping gold labels would change every metric computed on it.
    """
    path = Path(path)
    try:
        fh = path.open(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot open: {exc.strerror}", file=str(path)) from None
    with fh:
        try:
            for n, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                where = {"file": str(path), "row": n}
                try:
                    raw = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise InputError(f"not valid JSON: {exc.msg}", **where) from None
                if taxonomy.label_map and isinstance(raw, dict):
                    raw = _mapped(raw, taxonomy)
                try:
                    item = LabelledItem.model_validate(raw)
                except ValidationError as exc:
                    err = exc.errors()[0]
                    field = ".".join(str(p) for p in err["loc"])
                    msg = "missing" if err["type"] == "missing" else err["msg"]
                    raise InputError(msg, field=field, **where) from None
                _check(item, taxonomy, where)
                yield item
        except UnicodeDecodeError:
            raise InputError("not UTF-8 text", file=str(path)) from None
