"""Tagger.tag_dataframe: the shipped local model on a real pandas frame."""

from __future__ import annotations

import sys

import pytest

from motai.errors import InputError, MotaiError
from motai.tagger import Tagger

pd = pytest.importorskip("pandas", reason="the pandas extra is not installed")

TEXTS = [
    "My parcel still hasn't shipped after two weeks.",
    "The fabric is lovely and it fits perfectly.",
    None,
]


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    return Tagger()


def test_frame_keeps_its_columns_and_gets_motai_s(tagger: Tagger) -> None:
    df = pd.DataFrame({"ref": ["a", "b", "c"], "body": TEXTS, "channel": ["web", "app", "web"]})
    out = tagger.tag_dataframe(df, text_column="body", id_column="ref")
    assert list(out.columns[:3]) == ["ref", "body", "channel"]
    assert {"stage", "valence", "confidence", "moments", "error", "language"} <= set(out.columns)
    assert "stage" not in df.columns  # the caller's frame is not changed
    # The same tags as tagging the texts one by one.
    for i in (0, 1):
        one = tagger.tag(TEXTS[i], id=df.ref[i])
        assert (out.stage[i], out.valence[i]) == (one.stage, one.valence)
        assert out.moments[i] == [m.model_dump() for m in one.moments]
        for m in out.moments[i]:
            assert TEXTS[i][m["start"] : m["end"]] == m["evidence"]
    assert out.stage[0] == "AMOT" and out.valence[0] == "pain"
    # A missing text is an error row naming the row and the column, not a crash.
    assert pd.isna(out.stage[2]) and "row 3" in out.error[2] and "'body'" in out.error[2]


def test_ids_default_to_the_index_and_moments_explode(tagger: Tagger) -> None:
    df = pd.DataFrame({"text": TEXTS[:2]}, index=[10, 20])
    out = tagger.tag_dataframe(df)
    assert list(out.index) == [10, 20]
    rows = out.explode("moments").dropna(subset=["moments"])
    assert len(rows) == sum(len(m) for m in out.moments) >= 2


def test_prefix_avoids_a_clash(tagger: Tagger) -> None:
    df = pd.DataFrame({"text": TEXTS[:1], "stage": ["pilot"]})
    with pytest.raises(InputError, match=r"^DataFrame: the frame already has a column 'stage'"):
        tagger.tag_dataframe(df)
    out = tagger.tag_dataframe(df, prefix="motai_")
    assert out.stage[0] == "pilot" and out.motai_stage[0] == "AMOT"


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"text_column": "body"}, "DataFrame: no text_column 'body' (columns: text)"),
        ({"id_column": "ref"}, "DataFrame: no id_column 'ref' (columns: text)"),
    ],
)
def test_missing_column_is_one_line(tagger: Tagger, kw: dict, message: str) -> None:
    with pytest.raises(InputError) as err:
        tagger.tag_dataframe(pd.DataFrame({"text": ["hi"]}), **kw)
    assert str(err.value) == message


def test_not_a_frame_and_no_pandas(tagger: Tagger, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(MotaiError, match="needs a pandas DataFrame, not list"):
        tagger.tag_dataframe(["a text"])  # type: ignore[arg-type]
    monkeypatch.setitem(sys.modules, "pandas", None)  # as if the extra were not installed
    with pytest.raises(MotaiError, match=r'pip install "motai\[pandas\]"'):
        tagger.tag_dataframe(object())  # type: ignore[arg-type]
