"""Writers: JSONL and CSV output, stdout, flushing, resume-friendly reading back."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from motai.errors import InputError
from motai.io import Passthrough, ResultWriter, iter_results, neutralise, open_writer, read_output
from motai.io.writers import complete_end
from motai.models import Moment, TagResult, TextItem


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


# --- the input passed through --------------------------------------------------------------


def item(n: int = 1, text: str = "It came late", **extra: object) -> TextItem:
    return TextItem(id=f"r{n}", text=text, kind="review", extra=extra)


def csv_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames or []), list(reader)


def test_csv_keeps_the_text_and_every_input_column_beside_motais(tmp_path: Path):
    path = tmp_path / "out.csv"
    with open_writer(path, columns=["title", "date"]) as w:
        w.write(sample(1), item(1, title="Late", date="2024-05-01"))
        w.write(sample(2, error="bad row", moments=[]), item(2, "", title="Empty", date=""))
    header, rows = csv_rows(path)
    assert header == [*TagResult.model_fields, "text", "title", "date"]
    assert (rows[0]["text"], rows[0]["title"], rows[0]["date"]) == (
        "It came late",
        "Late",
        "2024-05-01",
    )
    assert rows[1]["error"] == "bad row" and rows[1]["title"] == "Empty"


def test_jsonl_keeps_the_input_objects_fields(tmp_path: Path):
    path = tmp_path / "out.jsonl"
    with open_writer(path) as w:
        w.write(sample(1), item(1, lang="en", meta={"stars": 2, "tags": ["a"]}, score=0.5))
    row = json.loads(path.read_text(encoding="utf-8"))
    assert row["text"] == "It came late"
    assert (row["lang"], row["meta"], row["score"]) == ("en", {"stars": 2, "tags": ["a"]}, 0.5)
    assert row["stage"] == "SMOT"
    assert [r.id for r in iter_results(path)] == ["r1"]  # passed-through fields are no obstacle


def test_input_columns_named_like_motais_get_a_prefix(tmp_path: Path):
    path = tmp_path / "out.csv"
    fields = {"stage": "their stage", "kind": "web", "text": "other text", "extra": "x"}
    row_item = TextItem(id="r1", text="It came late", kind="review", extra=fields)
    with open_writer(path, columns=list(fields)) as w:
        w.write(sample(1), row_item)
    header, rows = csv_rows(path)
    assert header[len(TagResult.model_fields) :] == [
        "text",
        "input_stage",
        "input_kind",
        "input_text",
        "input_extra",
    ]
    assert rows[0]["stage"] == "SMOT" and rows[0]["input_stage"] == "their stage"
    assert rows[0]["kind"] == "review" and rows[0]["input_kind"] == "web"
    assert rows[0]["text"] == "It came late" and rows[0]["input_text"] == "other text"
    jl = tmp_path / "out.jsonl"
    with open_writer(jl) as w:
        w.write(sample(1), row_item)
    row = json.loads(jl.read_text(encoding="utf-8"))
    assert (row["stage"], row["input_stage"], row["input_kind"]) == ("SMOT", "their stage", "web")


def test_keep_chooses_columns_in_its_order_and_text_by_any_of_its_names(tmp_path: Path):
    keep = Passthrough(["Date", "body", "title"], text_columns=["body"])  # body is the text
    assert keep.text
    path = tmp_path / "out.csv"
    with open_writer(path, passthrough=keep, columns=["title", "date", "email"]) as w:
        w.write(sample(1), item(1, title="Late", date="2024", email="a@b.c"))
    header, _ = csv_rows(path)
    assert header[len(TagResult.model_fields) :] == ["text", "date", "title"]
    assert "a@b.c" not in path.read_text(encoding="utf-8")
    assert Passthrough(["title"]).fields(item(1, title="t", date="d")) == {"title": "t"}


def test_drop_leaves_columns_and_the_text_out(tmp_path: Path):
    drop = Passthrough(drop=["TEXT", "email"])
    assert not drop.text
    fields = drop.fields(item(1, title="Late", email="a@b.c"))
    assert fields == {"title": "Late"}
    assert Passthrough(drop=["body"], text_columns=["body"]).text is False
    assert Passthrough(drop=["email"]).fields(item(1, email="x")) == {"text": "It came late"}


def test_passthrough_rejects_keep_with_drop_and_names_unknown_columns():
    with pytest.raises(ValueError, match="not both"):
        Passthrough(["a"], ["b"])
    assert Passthrough(["title", "titel", "text", "id"]).unknown(["title", "date"]) == ["titel"]
    assert Passthrough(drop=["Date"]).unknown(["title", "date"]) == []


def test_csv_cells_are_neutralised_against_formulas(tmp_path: Path):
    evil = {
        "a": '=HYPERLINK("http://x","click")',
        "b": "+1-555-0100",
        "c": "-2+3+cmd|' /C calc'!A0",
        "d": "@SUM(A1:A2)",
        "e": "\tTAB",
        "f": "\r=1",
        "g": "-5",
        "h": "+3.5",
        "i": "1e5",
        "j": "safe = text",
    }
    path = tmp_path / "out.csv"
    with open_writer(path, columns=list(evil)) as w:
        w.write(sample(1, id="=1+1"), item(1, text="=cmd|' /C calc'!A0", **evil))
    _, rows = csv_rows(path)
    row = rows[0]
    assert row["id"] == "'=1+1"
    assert row["text"] == "'=cmd|' /C calc'!A0"
    for key in "abcdef":
        assert row[key] == "'" + evil[key], key
    for key in "ghij":
        assert row[key] == evil[key], key  # plain numbers and ordinary text are left alone
    assert neutralise("=") == "'=" and neutralise("") == ""
    lines = path.read_bytes().split(b"\n")
    assert len(lines) == 3 and lines[1].startswith(b'"\'=1+1","review",')  # the \r row, quoted
    jl = tmp_path / "out.jsonl"
    with open_writer(jl) as w:
        w.write(sample(1), item(1, a="=1+1"))
    assert json.loads(jl.read_text(encoding="utf-8"))["a"] == "=1+1"  # JSON is not a sheet


def test_csv_from_json_rows_takes_the_header_from_the_first_and_extra_for_the_rest(
    tmp_path: Path,
):
    path = tmp_path / "out.csv"
    with open_writer(path) as w:  # columns unknown: JSONL inputs
        w.write(sample(1), item(1, lang="en", meta={"n": 1}))
        w.write(sample(2), item(2, lang="fr", channel="web"))
        w.write(sample(3), item(3))
    header, rows = csv_rows(path)
    assert header[len(TagResult.model_fields) :] == ["text", "lang", "meta", "extra"]
    assert (rows[0]["meta"], rows[0]["extra"]) == ('{"n": 1}', "")
    assert (rows[1]["lang"], rows[1]["meta"]) == ("fr", "")
    assert json.loads(rows[1]["extra"]) == {"channel": "web"}
    assert rows[2]["lang"] == ""
    keep = tmp_path / "keep.csv"
    with open_writer(keep, passthrough=Passthrough(["lang"])) as w:
        w.write(sample(1), item(1, lang="en", meta={"n": 1}))
    assert csv_rows(keep)[0][len(TagResult.model_fields) :] == ["lang"]  # no extra needed


def test_an_empty_csv_run_still_has_its_header(tmp_path: Path):
    path = tmp_path / "out.csv"
    with open_writer(path, columns=["title"]):
        pass
    assert path.read_text(encoding="utf-8").startswith("id,kind,stage,")


# --- reading an output back and appending to it -------------------------------------------


def test_append_to_csv_cuts_a_half_written_record_with_a_newline_inside(tmp_path: Path):
    path = tmp_path / "out.csv"
    with open_writer(path, columns=["note"]) as w:
        w.write(sample(1), item(1, "two\nlines", note="a"))
    whole = path.read_bytes()
    with path.open("ab") as f:
        f.write(b'r2,review,SMOT,pain,0.8,"[]",local,m,,t,,"first line\n')  # killed mid-field
    assert complete_end(path, "csv") == len(whole)
    header, rows = read_output(path, "csv")
    assert header is not None and header[-2:] == ["text", "note"]
    assert [(r["id"], r["text"]) for r in rows] == [("r1", "two\nlines")]
    with open_writer(path, append=True, columns=["note"]) as w:
        w.write(sample(3), item(3, note="c"))
    _, rows = csv_rows(path)
    assert [(r["id"], r["note"]) for r in rows] == [("r1", "a"), ("r3", "c")]


def test_append_to_a_csv_without_a_whole_header_starts_it_over(tmp_path: Path):
    path = tmp_path / "out.csv"
    path.write_text("id,kind,sta", encoding="utf-8")
    with open_writer(path, append=True) as w:
        w.write(sample(1))
    assert [r["id"] for r in csv_rows(path)[1]] == ["r1"]


def test_read_output_jsonl_skips_a_partial_line_and_names_a_bad_one(tmp_path: Path):
    path = tmp_path / "out.jsonl"
    with open_writer(path) as w:
        w.write(sample(1), item(1))
    with path.open("a", encoding="utf-8") as f:
        f.write('{"id": "r2", "te')
    header, rows = read_output(path)
    assert header is None and [r["id"] for r in rows] == ["r1"]
    assert complete_end(path) == len(path.read_bytes()) - len('{"id": "r2", "te')
    path.write_text('{"id": "a"}\n[1]\n', encoding="utf-8")
    with pytest.raises(ValueError, match="line 2 is not a JSON object"):
        list(read_output(path)[1])
