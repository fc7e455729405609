"""The domain model: what a tag is. Shared by every classifier, reader and writer."""

from __future__ import annotations

import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Kind = Literal["review", "social", "transcript"]
NONE_STAGE = "NONE"


class Moment(BaseModel):
    """One moment of truth evidenced in a text, with the exact quote that shows it."""

    model_config = ConfigDict(extra="forbid")

    stage: str = Field(description="Stage id from the taxonomy, e.g. 'AMOT'.")
    valence: str = Field(description="Valence id: 'glory', 'pain' or 'neutral'.")
    evidence: str = Field(description="Exact quote from the text: text[start:end].")
    start: int = Field(ge=0, description="Character offset of the evidence in the text.")
    end: int = Field(ge=0, description="Character offset just past the evidence.")
    confidence: float = Field(ge=0.0, le=1.0)


class TagResult(BaseModel):
    """The tag of one text: its primary moment of truth, every moment found, and provenance.

    `error` is set (and the labels are empty) when the text could not be tagged, so a
    batch keeps one output line per input line.
    """

    model_config = ConfigDict(extra="forbid")

    id: str
    kind: Kind | None = None
    stage: str | None = Field(None, description="Primary stage id, or 'NONE'.")
    valence: str | None = Field(None, description="Valence of the primary moment.")
    confidence: float | None = Field(None, ge=0.0, le=1.0)
    moments: list[Moment] = Field(default_factory=list)
    provider: str | None = None
    model: str | None = None
    prompt_version: str | None = None
    taxonomy_version: str | None = None
    language: str | None = Field(
        None,
        description="ISO 639-1 code of the text's language. The local model is trained on "
        "English: other languages are tagged, less reliably; filter on this field.",
    )
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def flat(self) -> dict[str, object]:
        """One flat row for CSV: moments as a JSON string, nothing nested."""
        row = self.model_dump(exclude={"moments"})
        row["moments"] = json.dumps([m.model_dump() for m in self.moments], ensure_ascii=False)
        return row


def result_schema() -> dict:
    """JSON Schema of one output line (`motai schema`)."""
    return TagResult.model_json_schema()


class TextItem(BaseModel):
    """One text to tag, as a reader yields it. `extra` keeps the input's other columns."""

    id: str
    text: str
    kind: Kind | None = None
    source: str | None = None
    row: int | None = Field(None, description="1-based row (or line) in its input file.")
    file: str | None = None
    extra: dict[str, object] = Field(default_factory=dict)
    error: str | None = Field(None, description="Set by a reader when the row is unusable.")
