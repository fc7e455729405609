"""Writers: JSONL and CSV output, stdout, flushing, resume-friendly reading back."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from motai.errors import InputError
from motai.io import ResultWriter, iter_results, open_writer
from motai.models import Moment, TagResult


def sample(n: int = 1, **kwargs: object) -> TagResult:
    fields: dict[str, object] = {
        "id": f"r{n}",
        "kind": "review",
        "stage": "SMOT",
        "valence": "pain",
        "confidence": 0.8,
        "moments": [
            Moment(
                stage="SMOT",
                valence="pain",
                evidence="arrived late — très",
                start=3,
                end=22,
                confidence=0.8,
            )
        ],
        "provider": "local",
        "model": "minilm",
        "prompt_version": "p1",
        "taxonomy_version": "t1",
    }
    fields.update(kwargs)
    return TagResult.model_validate(fields)


def test_jsonl_round_trip(tmp_path: Path):
    path = tmp_path / "out.jsonl"
    results = [sample(1), sample(2, error="x.csv, row 2: empty text", moments=[], stage=None)]
    with open_writer(path) as w:
        assert isinstance(w, ResultWriter)
        for r in results:
            w.write(r)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == [r.model_dump(mode="json") for r in results]
    assert "très" in lines[0]  # not \u-escaped
    assert list(iter_results(path)) == results


def test_unknown_extension_defaults_to_jsonl_and_fmt_overrides(tmp_path: Path):
    with open_writer(tmp_path / "out.txt") as w:
        w.write(sample())
    assert json.loads((tmp_path / "out.txt").read_text())["id"] == "r1"
    with open_writer(tmp_path / "out.jsonl", fmt="csv") as w:
        w.write(sample())
    assert (tmp_path / "out.jsonl").read_text().startswith("id,kind,stage,")


def test_csv_round_trip_is_flat_with_header_from_fields(tmp_path: Path):
    path = tmp_path / "out.csv"
    results = [sample(1), sample(2, error="bad row", moments=[], confidence=None)]
    with open_writer(path) as w:
        for r in results:
            w.write(r)
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
    assert reader.fieldnames == list(TagResult.model_fields)
    assert rows[0]["id"] == "r1"
    assert json.loads(rows[0]["moments"]) == [m.model_dump() for m in results[0].moments]
    assert rows[1]["confidence"] == "" and rows[1]["error"] == "bad row"
    assert rows[1]["moments"] == "[]"


def test_tsv_output(tmp_path: Path):
    path = tmp_path / "out.tsv"
    with open_writer(path) as w:
        w.write(sample())
    header, row = path.read_text(encoding="utf-8").splitlines()
    assert header.split("\t")[:2] == ["id", "kind"]
    assert row.split("\t")[0] == "r1"


def test_stdout_jsonl_and_csv(capsys: pytest.CaptureFixture[str]):
    with open_writer("-") as w:
        w.write(sample())
    out = capsys.readouterr().out
    assert json.loads(out)["id"] == "r1"
    with open_writer("-", fmt="csv") as w:
        w.write(sample())
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("id,kind,") and lines[1].startswith("r1,review,")


def test_stdout_is_not_closed(capsys: pytest.CaptureFixture[str]):
    import sys

    with open_writer("-") as w:
        w.write(sample())
    assert not sys.stdout.closed


def test_each_line_is_flushed_before_close(tmp_path: Path):
    path = tmp_path / "out.jsonl"
    w = open_writer(path)
    w.write(sample(1))
    assert len(path.read_text().splitlines()) == 1  # visible on disk while still open
    w.write(sample(2))
    assert len(path.read_text().splitlines()) == 2
    w.close()

    cpath = tmp_path / "out.csv"
    with open_writer(cpath) as cw:
        cw.write(sample(1))
        assert len(cpath.read_text().splitlines()) == 2  # header + row


def test_missing_directories_are_created(tmp_path: Path):
    path = tmp_path / "runs" / "2024" / "out.jsonl"
    with open_writer(path) as w:
        w.write(sample())
    assert path.exists()


def test_unknown_output_format(tmp_path: Path):
    with pytest.raises(ValueError, match="unknown output format 'xml'"):
        open_writer(tmp_path / "o.jsonl", fmt="xml")


def test_append_cuts_a_partial_last_line_and_keeps_finished_work(tmp_path: Path):
    path = tmp_path / "out.jsonl"
    with open_writer(path) as w:
        w.write(sample(1))
    with path.open("a", encoding="utf-8") as f:
        f.write('{"id": "r2", "kin')  # killed mid-write
    assert [r.id for r in iter_results(path)] == ["r1"]  # the partial line is skipped
    with open_writer(path, append=True) as w:
        w.write(sample(3))
    assert [r.id for r in iter_results(path)] == ["r1", "r3"]


def test_append_to_csv_writes_header_once(tmp_path: Path):
    path = tmp_path / "out.csv"
    with open_writer(path) as w:
        w.write(sample(1))
    with open_writer(path, append=True) as w:
        w.write(sample(2))
    lines = path.read_text().splitlines()
    assert len(lines) == 3 and lines[0].startswith("id,")
    with open_writer(tmp_path / "new.csv", append=True) as w:
        w.write(sample(1))
    assert (tmp_path / "new.csv").read_text().startswith("id,")


def test_iter_results_bad_middle_line_raises_with_row(tmp_path: Path):
    path = tmp_path / "out.jsonl"
    good = json.dumps(sample(1).model_dump(mode="json"))
    path.write_text(f"{good}\n\n{{not json}}\n{good}\n", encoding="utf-8")
    results = iter_results(path)
    assert next(results).id == "r1"
    with pytest.raises(InputError) as info:
        next(results)
    assert (info.value.file, info.value.row) == (str(path), 3)
    assert "not a result line" in str(info.value)


def test_iter_results_missing_file(tmp_path: Path):
    with pytest.raises(InputError, match="cannot read"):
        list(iter_results(tmp_path / "none.jsonl"))
