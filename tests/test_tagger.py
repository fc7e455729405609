"""The public `Tagger`: one text, lazy batches, per-row errors, threads, loading once."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import motai.local
from motai import MotaiError, Tagger, TagResult, TextItem
from motai.models import NONE_STAGE
from motai.taxonomy import Taxonomy

ACCEPTANCE = "The package arrived two weeks late. The fabric is great though. Highly recommend!"
TEXTS = [
    ACCEPTANCE,
    "Tried to check out four times and the payment page kept failing.",
    "I spent a week reading reviews before choosing this blender.",
    "Check out our new podcast episode!",
    "Customer: my parcel never came\nAgent: sorry about that\nCustomer: third time now",
    "@SoundCo the noise cancelling is unreal #happycustomer",
]


def test_public_import_and_tag(tagger: Tagger) -> None:
    r = tagger.tag(ACCEPTANCE, id="acc")
    assert isinstance(r, TagResult)
    assert r.id == "acc" and r.error is None
    assert r.kind == "review"  # detected when not given
    assert [(m.stage, m.valence) for m in r.moments] == [
        ("AMOT", "pain"),
        ("SMOT", "glory"),
        ("UMOT", "glory"),
    ]
    for m in r.moments:
        assert ACCEPTANCE[m.start : m.end] == m.evidence


def test_tag_kind_is_passed_through(tagger: Tagger) -> None:
    r = tagger.tag("my parcel never came and nobody answers", kind="social")
    assert r.kind == "social"


def test_default_tagger_loads_the_shipped_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """`Tagger()` is the shipped model: no store is built, nothing is fitted."""
    import motai.store

    def no_store(*_a, **_k):
        raise AssertionError("the local model needs no store")

    monkeypatch.setattr(motai.store.KnowledgeStore, "__init__", no_store)
    t = Tagger()
    r = t.tag(ACCEPTANCE)
    assert isinstance(r, TagResult) and r.model == "motai-local:default@local:minilm-l6-v2-int8"
    assert t.taxonomy.ref == "moments-of-truth@1" and t.ledger is None
    assert not (Path(os.environ["MOTAI_HOME"]) / "index").exists()


def test_tag_many_mixed_inputs_keep_order_and_ids(tagger: Tagger) -> None:
    inputs = [
        TEXTS[0],
        {"id": "d1", "text": TEXTS[1]},
        TextItem(id="t1", text=TEXTS[2], kind="review"),
        {"text": TEXTS[3]},  # no id: its 1-based position
        TEXTS[4],
        {"id": 77, "text": TEXTS[5], "kind": "social"},
    ]
    results = list(tagger.tag_many(inputs, batch_size=4))
    assert [r.id for r in results] == ["1", "d1", "t1", "4", "5", "77"]
    assert all(r.error is None for r in results)
    assert results[0].stage in ("AMOT", "SMOT")
    assert results[3].stage == NONE_STAGE
    assert results[4].kind == "transcript"
    assert results[5].kind == "social"
    # Same texts tagged one at a time give the same tags: batching changes nothing.
    for x, r in zip(TEXTS, results, strict=True):
        single = tagger.tag(x, id=r.id, kind=r.kind)
        assert single.model_dump() == r.model_dump()


def test_tag_many_is_lazy(tagger: Tagger) -> None:
    pulled = []

    def gen() -> Iterator[str]:
        for n in range(10):
            pulled.append(n)
            yield TEXTS[n % len(TEXTS)]

    results = tagger.tag_many(gen(), batch_size=2)
    assert pulled == []  # nothing read before the first result is asked for
    first = next(results)
    assert first.id == "1"
    assert len(pulled) <= 2
    second = next(results)
    assert second.id == "2" and len(pulled) <= 2
    next(results)
    assert len(pulled) <= 4
    rest = list(results)
    assert len(rest) == 7 and len(pulled) == 10
    assert [r.id for r in rest] == [str(n) for n in range(4, 11)]


def test_tag_many_uses_default_batch_size(tagger: Tagger, monkeypatch: pytest.MonkeyPatch) -> None:
    sizes = []
    real = tagger._tag_batch

    def spy(batch):
        sizes.append(len(batch))
        return real(batch)

    monkeypatch.setattr(tagger, "_tag_batch", spy)
    monkeypatch.setattr(tagger, "batch_size", 4)
    out = list(tagger.tag_many(TEXTS * 2))
    assert len(out) == 12 and sizes == [4, 4, 4]


def test_empty_text_is_an_error_row_and_the_rest_is_tagged(tagger: Tagger) -> None:
    results = list(tagger.tag_many([TEXTS[0], "   ", {"id": "e", "text": ""}, TEXTS[1]]))
    assert [r.id for r in results] == ["1", "2", "e", "4"]
    for r in (results[1], results[2]):
        assert r.error is not None
        assert "'text'" in r.error and "empty" in r.error
        assert r.stage is None and r.valence is None and r.moments == []
    assert results[0].error is None and results[0].stage in ("AMOT", "SMOT")
    assert results[3].error is None and results[3].stage is not None


def test_reader_error_item_passes_through(tagger: Tagger) -> None:
    bad = TextItem(
        id="r9", text="", row=9, file="in.csv", error="in.csv: row 9, field 'body': empty text"
    )
    good = TextItem(id="ok", text=TEXTS[1], kind="review")
    results = list(tagger.tag_many([bad, good]))
    assert results[0].id == "r9"
    assert results[0].error == bad.error
    assert results[0].stage is None and results[0].moments == []
    assert results[1].error is None and results[1].stage is not None


def test_one_failing_text_does_not_cost_the_batch(
    tagger: Tagger, monkeypatch: pytest.MonkeyPatch
) -> None:
    clf = tagger.classifier
    real = clf.classify

    def flaky(batch):
        if any("BOOM" in x.text for x in batch):
            raise ValueError("cannot embed\nsecond line")
        return real(batch)

    monkeypatch.setattr(clf, "classify", flaky)
    results = list(tagger.tag_many([TEXTS[0], "BOOM goes the text", TEXTS[1]], batch_size=3))
    assert [r.id for r in results] == ["1", "2", "3"]
    assert results[1].error == "ValueError: cannot embed"
    assert results[0].stage in ("AMOT", "SMOT") and results[2].error is None


def test_threads_match_sequential(tagger: Tagger) -> None:
    expected = [r.model_dump() for r in tagger.tag_many(TEXTS)]

    def run(_: int) -> list[dict]:
        return [r.model_dump() for r in tagger.tag_many(TEXTS, batch_size=2)]

    with ThreadPoolExecutor(max_workers=4) as pool:
        got = list(pool.map(run, range(4)))
    assert all(g == expected for g in got)


def test_classifier_loads_once_across_threads(
    taxonomy: Taxonomy, store_dir: Path, tagger: Tagger, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []
    shared = tagger.classifier

    def slow_load(path, embedder=None):
        calls.append(threading.get_ident())
        time.sleep(0.3)  # wide window for a race
        return shared

    monkeypatch.setattr(motai.local.LocalModel, "load", slow_load)
    t = Tagger(taxonomy=taxonomy, store_path=store_dir)
    barrier = threading.Barrier(4)

    def first_tag(_: int) -> TagResult:
        barrier.wait()
        return t.tag(TEXTS[1])

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(first_tag, range(4)))
    assert len(calls) == 1
    assert len({r.model_dump_json() for r in results}) == 1
    clf = t.classifier
    t.tag(TEXTS[2])
    list(t.tag_many(TEXTS))
    assert t.classifier is clf and len(calls) == 1


def test_session_tagger_classifier_is_stable(tagger: Tagger) -> None:
    a = tagger.classifier
    tagger.tag(TEXTS[0])
    assert tagger.classifier is a


@pytest.mark.parametrize("model", ["gpt-5", "anthropic:claude-3", "locale"])
def test_unknown_model_raises(model: str) -> None:
    with pytest.raises(MotaiError) as exc:
        Tagger(model)
    msg = str(exc.value)
    assert model in msg and "local" in msg


def test_llm_without_its_extra_fails_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "jinja2", None)  # as if `motai[llm]` were not installed
    with pytest.raises(MotaiError) as exc:
        Tagger("openai:gpt-4o-mini")
    assert str(exc.value) == (
        'an LLM model needs the llm extra: pip install "motai[llm]" (missing: jinja2)'
    )


@pytest.mark.parametrize("model", [None, "local", "local:default"])
def test_known_models_are_accepted(model: str | None) -> None:
    assert Tagger(model).model in {"local", "local:default"}


def test_options_to_rebuild_make_an_equal_tagger() -> None:
    llm = Tagger("openai:x", base_url="http://127.0.0.1:9/v1", concurrency=3, rpm=60)
    again = Tagger(**llm.options_to_rebuild())
    assert (again.model, again.taxonomy.ref, again.options) == (
        llm.model,
        llm.taxonomy.ref,
        llm.options,
    )
    assert set(Tagger().options_to_rebuild()) == {"model", "taxonomy", "batch_size"}
