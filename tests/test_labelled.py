"""Labelled sets: the bundled dev set loads; bad lines stop the load naming file, row, field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from motai.errors import InputError
from motai.labelled import exemplars_path, load_labelled

REPO = Path(__file__).resolve().parent.parent
DEV = REPO / "evals" / "datasets" / "dev.jsonl"

GOOD = {
    "id": "g1",
    "kind": "review",
    "text": "Waited three weeks for this sweater to ship. Love the fabric though.",
    "stage": "AMOT",
    "valence": "pain",
    "moments": [
        {"stage": "AMOT", "valence": "pain", "evidence": "Waited three weeks for this sweater"},
        {"stage": "SMOT", "valence": "glory", "evidence": "Love the fabric"},
    ],
}


def write(tmp_path: Path, *lines: object, name: str = "set.jsonl") -> Path:
    p = tmp_path / name
    p.write_text(
        "".join((ln if isinstance(ln, str) else json.dumps(ln)) + "\n" for ln in lines),
        encoding="utf-8",
    )
    return p


def with_(**kw: object) -> dict:
    d = json.loads(json.dumps(GOOD))
    d.update(kw)
    return d


def test_bundled_dev_set(taxonomy) -> None:
    path = exemplars_path()
    assert path.is_file()
    assert exemplars_path("bundled:dev") == path
    items = list(load_labelled(path, taxonomy))
    assert len(items) == 366
    assert len({i.id for i in items}) == 366
    assert {i.stage for i in items} == set(taxonomy.labels)
    for item in items:
        if item.stage == "NONE":
            assert item.moments == [], item.id
        else:
            assert item.moments, item.id
        for start, end, m in item.spans():
            assert start >= 0, (item.id, m.evidence)
            assert item.text[start:end] == m.evidence


def test_eval_dev_set_is_the_bundled_one() -> None:
    """One copy: evals/datasets/dev.jsonl is a link to the file the package ships."""
    assert DEV.is_symlink()
    assert DEV.resolve() == (REPO / "motai" / "data" / "dev.jsonl").resolve()
    assert exemplars_path().read_bytes() == DEV.read_bytes()  # what an install ships


def test_good_file_and_spans(tmp_path: Path, taxonomy) -> None:
    p = write(tmp_path, GOOD, "", with_(id="g2", stage="NONE", valence="neutral", moments=[]))
    items = list(load_labelled(p, taxonomy))
    assert [i.id for i in items] == ["g1", "g2"]  # the blank line is skipped
    (s0, _, m0), (s1, e1, m1) = items[0].spans()
    assert (s0, m0.stage) == (0, "AMOT")
    assert items[0].text[s1:e1] == "Love the fabric" and m1.valence == "glory"


def _err(tmp_path: Path, taxonomy, *lines: object) -> tuple[InputError, Path]:
    p = write(tmp_path, *lines)
    with pytest.raises(InputError) as exc:
        list(load_labelled(p, taxonomy))
    assert "\n" not in str(exc.value)
    assert str(exc.value).startswith(f"{p}, ")
    return exc.value, p


def test_bad_json(tmp_path: Path, taxonomy) -> None:
    err, p = _err(tmp_path, taxonomy, GOOD, '{"id": "x", "text": ')
    assert (err.file, err.row, err.field) == (str(p), 2, None)
    assert "not valid JSON" in str(err)
    assert "row 2" in str(err)


def test_unknown_stage(tmp_path: Path, taxonomy) -> None:
    err, p = _err(tmp_path, taxonomy, GOOD, with_(id="b", stage="XMOT"))
    assert (err.file, err.row, err.field) == (str(p), 2, "stage")
    assert "unknown stage 'XMOT'" in str(err)
    assert "field 'stage'" in str(err)


def test_unknown_moment_valence(tmp_path: Path, taxonomy) -> None:
    bad = with_()
    bad["moments"][0]["valence"] = "meh"
    err, _ = _err(tmp_path, taxonomy, bad)
    assert (err.row, err.field) == (1, "moments[0].valence")
    assert "unknown valence 'meh'" in str(err)


def test_unknown_moment_stage(tmp_path: Path, taxonomy) -> None:
    bad = with_()
    bad["moments"][1]["stage"] = "NONE"  # NONE is a label, never a moment
    err, _ = _err(tmp_path, taxonomy, bad)
    assert err.field == "moments[1].stage"


def test_evidence_not_in_text(tmp_path: Path, taxonomy) -> None:
    bad = with_()
    bad["moments"][1]["evidence"] = "love the fabric"  # case differs: not an exact quote
    err, p = _err(tmp_path, taxonomy, GOOD, GOOD, bad)
    assert (err.file, err.row, err.field) == (str(p), 3, "moments[1].evidence")
    assert "exact quote" in str(err)


def test_missing_text(tmp_path: Path, taxonomy) -> None:
    bad = with_()
    del bad["text"]
    err, _ = _err(tmp_path, taxonomy, bad)
    assert (err.row, err.field) == (1, "text")
    assert "missing" in str(err)


def test_missing_file(tmp_path: Path, taxonomy) -> None:
    p = tmp_path / "absent.jsonl"
    with pytest.raises(InputError, match="cannot open") as exc:
        list(load_labelled(p, taxonomy))
    assert exc.value.file == str(p)


def test_other_taxonomy_labels(tmp_path: Path) -> None:
    from motai.taxonomy import load_taxonomy

    b2b = load_taxonomy(REPO / "examples" / "taxonomies" / "b2b.yaml")
    ok = {
        "id": "l1",
        "text": "We renewed for three years.",
        "stage": "LMOT",
        "valence": "glory",
        "moments": [{"stage": "LMOT", "valence": "glory", "evidence": "We renewed"}],
    }
    assert [i.stage for i in load_labelled(write(tmp_path, ok), b2b)] == ["LMOT"]
    # b2b maps the default AMOT onto its SMOT (label_map): default-labelled data loads.
    amot = write(tmp_path, GOOD, name="amot.jsonl")
    assert GOOD["stage"] == "AMOT"
    assert [i.stage for i in load_labelled(amot, b2b)] == ["SMOT"]
    bare = b2b.model_copy(update={"label_map": {}})
    with pytest.raises(InputError, match="unknown stage 'AMOT'"):
        list(load_labelled(amot, bare))
