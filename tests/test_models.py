"""The output contract: TagResult and Moment validation, the flat CSV row, the JSON Schema."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from motai.models import Moment, TagResult, TextItem, result_schema


def moment(**kw: object) -> Moment:
    fields: dict[str, object] = {
        "stage": "AMOT",
        "valence": "pain",
        "evidence": "still hasn't shipped",
        "start": 10,
        "end": 30,
        "confidence": 0.9,
    }
    fields.update(kw)
    return Moment.model_validate(fields)


def result(**kw: object) -> TagResult:
    fields: dict[str, object] = {
        "id": "r1",
        "kind": "review",
        "stage": "AMOT",
        "valence": "pain",
        "confidence": 0.9,
        "moments": [moment()],
        "provider": "local",
        "model": "minilm",
        "prompt_version": None,
        "taxonomy_version": "moments-of-truth@1",
    }
    fields.update(kw)
    return TagResult.model_validate(fields)


@pytest.mark.parametrize("value", [0.0, 0.5, 1.0])
def test_confidence_in_bounds(value: float) -> None:
    assert result(confidence=value).confidence == value
    assert moment(confidence=value).confidence == value


@pytest.mark.parametrize("value", [-0.01, 1.01, 2])
def test_confidence_out_of_bounds(value: float) -> None:
    with pytest.raises(ValidationError, match="confidence"):
        result(confidence=value)
    with pytest.raises(ValidationError, match="confidence"):
        moment(confidence=value)


def test_offsets_not_negative() -> None:
    with pytest.raises(ValidationError, match="start"):
        moment(start=-1)
    with pytest.raises(ValidationError, match="end"):
        moment(end=-5)


def test_extra_keys_forbidden() -> None:
    with pytest.raises(ValidationError, match="label"):
        result(label="AMOT")
    with pytest.raises(ValidationError, match="score"):
        moment(score=1)


def test_missing_required() -> None:
    with pytest.raises(ValidationError, match="id"):
        TagResult.model_validate({"stage": "AMOT"})
    with pytest.raises(ValidationError, match="evidence"):
        Moment.model_validate({"stage": "AMOT", "valence": "pain", "start": 0, "end": 1})


def test_unknown_kind_rejected() -> None:
    with pytest.raises(ValidationError, match="kind"):
        result(kind="email")
    assert result(kind=None).kind is None


def test_error_result_has_no_labels() -> None:
    r = TagResult(id="x", error="row 3: empty text")
    assert not r.ok
    assert (r.stage, r.valence, r.confidence, r.moments) == (None, None, None, [])
    assert result().ok


def test_flat_row_for_csv() -> None:
    r = result(
        moments=[
            moment(),
            moment(stage="SMOT", valence="glory", evidence="café très bon", start=40, end=53),
        ]
    )
    row = r.flat()
    assert all(not isinstance(v, dict | list) for v in row.values())
    assert row["id"] == "r1"
    assert row["stage"] == "AMOT"
    assert row["confidence"] == 0.9
    assert row["error"] is None
    assert isinstance(row["moments"], str)
    assert "café très bon" in row["moments"]  # not \u-escaped
    assert json.loads(row["moments"]) == [m.model_dump() for m in r.moments]
    assert set(row) == set(TagResult.model_fields)


def test_flat_without_moments() -> None:
    row = TagResult(id="n1", stage="NONE", valence="neutral", confidence=0.7).flat()
    assert row["moments"] == "[]"


def test_round_trip_json() -> None:
    r = result()
    assert TagResult.model_validate_json(r.model_dump_json()) == r


def test_result_schema_contract() -> None:
    schema = result_schema()
    props = schema["properties"]
    for key in ("id", "stage", "valence", "confidence", "moments", "error"):
        assert key in props, key
    assert schema["required"] == ["id"]
    assert schema.get("additionalProperties") is False
    conf = next(a for a in props["confidence"]["anyOf"] if a.get("type") == "number")
    assert (conf["minimum"], conf["maximum"]) == (0.0, 1.0)
    ref = props["moments"]["items"]["$ref"].rsplit("/", 1)[-1]
    m = schema["$defs"][ref]
    for key in ("stage", "valence", "evidence", "start", "end"):
        assert key in m["properties"], key
        assert key in m["required"], key
    assert m["properties"]["start"]["type"] == "integer"
    assert m.get("additionalProperties") is False
    json.dumps(schema)  # serialisable as `motai schema` prints it


def test_text_item_defaults() -> None:
    item = TextItem(id="a", text="hello")
    assert item.extra == {} and item.error is None and item.kind is None
