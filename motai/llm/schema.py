"""The reply schema the model must fill, built from the taxonomy's labels.

`reply_model(taxonomy)` is a pydantic model whose stage and valence fields are Literals of
the taxonomy's ids; `reply_json_schema(taxonomy)` is the same as a plain JSON Schema
(no `$defs`, every key required, no extra keys) that OpenAI's strict structured outputs,
tool parameters and JSON-mode instructions all accept.
"""

from __future__ import annotations

from functools import cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from motai.taxonomy import Taxonomy

TOOL_NAME = "record_moment_of_truth"
SCHEMA_NAME = "moment_of_truth_tag"


def reply_json_schema(taxonomy: Taxonomy) -> dict[str, Any]:
    moment = {
        "type": "object",
        "properties": {
            "stage": {"type": "string", "enum": list(taxonomy.stage_ids)},
            "valence": {"type": "string", "enum": list(taxonomy.valence_ids)},
            "evidence": {
                "type": "string",
                "description": "Exact quote from the customer text, character for character.",
            },
        },
        "required": ["stage", "valence", "evidence"],
        "additionalProperties": False,
    }
    return {
        "type": "object",
        "properties": {
            "stage": {"type": "string", "enum": list(taxonomy.labels)},
            "valence": {"type": "string", "enum": list(taxonomy.valence_ids)},
            "confidence": {
                "type": "number",
                "description": "Probability from 0 to 1 that the primary stage is right.",
            },
            "moments": {"type": "array", "items": moment},
        },
        "required": ["stage", "valence", "confidence", "moments"],
        "additionalProperties": False,
    }


@cache
def _reply_model(labels: tuple[str, ...], stages: tuple[str, ...], valences: tuple[str, ...]):
    strict = ConfigDict(extra="forbid")
    moment = create_model(
        "MomentReply",
        __config__=strict,
        stage=(Literal[stages], ...),  # type: ignore[valid-type]
        valence=(Literal[valences], ...),  # type: ignore[valid-type]
        evidence=(str, Field(min_length=1)),
    )
    return create_model(
        "TagReply",
        __config__=strict,
        stage=(Literal[labels], ...),  # type: ignore[valid-type]
        valence=(Literal[valences], ...),  # type: ignore[valid-type]
        confidence=(float, Field(ge=0.0, le=1.0)),
        moments=(list[moment], Field(default_factory=list)),  # type: ignore[valid-type]
    )


def reply_model(taxonomy: Taxonomy) -> type[BaseModel]:
    """Pydantic model of a valid reply for this taxonomy (cached per label set)."""
    return _reply_model(
        tuple(taxonomy.labels), tuple(taxonomy.stage_ids), tuple(taxonomy.valence_ids)
    )


def tool_definition(taxonomy: Taxonomy) -> dict[str, Any]:
    """The one function the model is made to call under the tool-calling strategy."""
    return {
        "type": "function",
        "function": {
            "name": TOOL_NAME,
            "description": "Record the moment-of-truth tag of the customer text.",
            "parameters": reply_json_schema(taxonomy),
        },
    }
