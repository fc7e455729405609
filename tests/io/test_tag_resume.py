"""Resuming an output: finished rows checked against the inputs, other runs refused.

Tests motai/io/resume.py; named apart from tests/evals/test_resume.py because pytest
needs unique basenames in this layout (no __init__.py files)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from motai.io import Passthrough, open_writer
from motai.io.resume import OutputMismatch, check_provenance, resume_output
from motai.io.writers import csv_header
from motai.models import TagResult, TextItem

TAXONOMY = "moments-of-truth@1"


def items(n: int, stem: str = "r", **extra: object) -> list[TextItem]:
    return [
        TextItem(id=f"{stem}{i}", text=f"text number {i}", kind="review", extra=dict(extra))
        for i in range(1, n + 1)
    ]


def result(x: TextItem, *, model: str = "m1", error: str | None = None) -> TagResult:
    if error:
        return TagResult(id=x.id, provider="local", taxonomy_version=TAXONOMY, error=error)
    return TagResult(
        id=x.id,
        kind="review",
        stage="SMOT",
        valence="pain",
        confidence=0.5,
        provider="local",
        model=model,
        taxonomy_version=TAXONOMY,
    )


def write_output(path: Path, rows: list[TextItem], pt: Passthrough | None = None, **kw: object):
    pt = pt or Passthrough()
    with open_writer(
        path, passthrough=pt, columns=["title"] if path.suffix == ".csv" else None
    ) as w:
        for x in rows:
            w.write(result(x, **kw), x)  # type: ignore[arg-type]


def resume(path: Path, inputs: list[TextItem], pt: Passthrough | None = None, **kw: object):
    pt = pt or Passthrough()
    fmt = "csv" if path.suffix == ".csv" else "jsonl"
    header = csv_header(pt, ["title"], inputs[0]) if fmt == "csv" else None
    stream = iter(inputs)
    done = resume_output(
        path, fmt, stream, passthrough=pt, header=header, taxonomy_ref=TAXONOMY, **kw
    )
    return done, list(stream)


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_matching_output_consumes_its_rows_and_counts_them(tmp_path: Path, suffix: str):
    inputs = items(5, title="t")
    path = tmp_path / f"out{suffix}"
    write_output(path, inputs[:3])
    with path.open("a", encoding="utf-8") as f:
        f.write('r4,review,"SMOT')  # a write cut short: not a finished row
    done, rest = resume(path, inputs)
    assert done.rows == 3 and done.errors == 0
    assert done.counts == {("SMOT", "pain"): 3}
    assert done.provenance == ("local", "m1", None, TAXONOMY)
    assert [x.id for x in rest] == ["r4", "r5"]  # only these are left to tag


def test_error_rows_are_finished_rows(tmp_path: Path):
    inputs = items(3)
    path = tmp_path / "out.jsonl"
    with open_writer(path) as w:
        w.write(result(inputs[0]), inputs[0])
        w.write(result(inputs[1], error="boom"), inputs[1])
    done, rest = resume(path, inputs)
    assert (done.rows, done.errors, done.error_examples) == (2, 1, ["r2: boom"])
    assert [x.id for x in rest] == ["r3"]


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_other_inputs_are_refused(tmp_path: Path, suffix: str):
    path = tmp_path / f"out{suffix}"
    write_output(path, items(3, title="t"))
    with pytest.raises(OutputMismatch) as info:
        resume(path, items(3, stem="x", title="t"))
    message = str(info.value)
    assert message == (
        f"{path}: was not written from these inputs: its row 1 is id 'r1', the inputs' row 1 "
        "is 'x1'; use --fresh to start it over, or another -o"
    )


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_same_ids_other_texts_are_refused(tmp_path: Path, suffix: str):
    """Generated ids (FILE-ROW) match any file of that name: the kept text tells them apart."""
    path = tmp_path / f"out{suffix}"
    write_output(path, items(2, title="t"))
    changed = items(2, title="t")
    changed[1] = changed[1].model_copy(update={"text": "an edited text"})
    with pytest.raises(OutputMismatch, match=r"row 2 \(id 'r2'\) has text 'text number 2'"):
        resume(path, changed)


def test_more_rows_than_inputs_is_refused(tmp_path: Path):
    path = tmp_path / "out.jsonl"
    write_output(path, items(3))
    with pytest.raises(OutputMismatch, match=r"has more rows than the inputs \(2\)"):
        resume(path, items(2))


def test_other_columns_are_refused(tmp_path: Path):
    path = tmp_path / "out.csv"
    write_output(path, items(2, title="t"))
    with pytest.raises(
        OutputMismatch, match=r"\(it has text\): other inputs or another --keep/--drop"
    ):
        resume(path, items(2, title="t"), Passthrough(drop=["text"]))
    jl = tmp_path / "out.jsonl"
    write_output(jl, items(2, title="t"))
    with pytest.raises(OutputMismatch, match="has title 't', this run None"):
        resume(jl, items(2, title="t"), Passthrough(drop=["title"]))


def test_other_taxonomy_is_refused(tmp_path: Path):
    path = tmp_path / "out.jsonl"
    write_output(path, items(2))
    text = path.read_text(encoding="utf-8").replace(TAXONOMY, "b2b@1")
    path.write_text(text, encoding="utf-8")
    with pytest.raises(OutputMismatch, match="tagged with taxonomy b2b@1, this run uses"):
        resume(path, items(2))


@pytest.mark.parametrize(
    ("suffix", "content", "reason"),
    [
        (".jsonl", "not json\n", "line 1 is not JSON"),
        (".jsonl", '{"no": "id"}\n', "row 1 is not a motai result"),
        (".csv", "id,text\n1,x\n", "not a motai output (no 'kind' column)"),
    ],
)
def test_a_file_that_is_not_a_motai_output_is_refused(
    tmp_path: Path, suffix: str, content: str, reason: str
):
    path = tmp_path / f"out{suffix}"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(OutputMismatch, match=re.escape(reason)):
        resume(path, items(1))


def test_a_csv_without_a_whole_header_has_nothing_finished(tmp_path: Path):
    path = tmp_path / "out.csv"
    path.write_text("id,kind,st", encoding="utf-8")
    done, rest = resume(path, items(2))
    assert done.rows == 0 and len(rest) == 2


def test_check_provenance_refuses_another_model(tmp_path: Path):
    path = tmp_path / "out.jsonl"
    write_output(path, items(2))
    done, rest = resume(path, items(3))
    check_provenance(done, result(rest[0]))  # same model: fine
    check_provenance(done, result(rest[0], model="m2", error="x"))  # an error row says nothing
    with pytest.raises(OutputMismatch, match=r"tagged by local:m1 .*this run tags with local:m2"):
        check_provenance(done, result(rest[0], model="m2"))
