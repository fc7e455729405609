"""The local classifier with the real default embedder and the session store."""

from __future__ import annotations

from pathlib import Path

import pytest

from motai.crossval import accuracy, cross_validate
from motai.io import read_items
from motai.labelled import load_labelled
from motai.local import LocalClassifier
from motai.models import NONE_STAGE, TagResult, TextItem
from motai.store import KnowledgeStore
from motai.tagger import Tagger

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
ACCEPTANCE = "The package arrived two weeks late. The fabric is great though. Highly recommend!"


def _check_result(text: str, r: TagResult, tagger: Tagger) -> None:
    tax = tagger.taxonomy
    assert r.error is None
    assert r.stage in tax.labels
    assert r.valence in tax.valence_ids
    assert r.confidence is not None and 0.0 <= r.confidence <= 1.0
    if r.stage == NONE_STAGE:
        assert r.moments == []
    else:
        assert r.stage in {m.stage for m in r.moments}
    for m in r.moments:
        assert m.stage in tax.stage_ids
        assert m.valence in tax.valence_ids
        assert 0.0 <= m.confidence <= 1.0
        assert 0 <= m.start < m.end <= len(text)
        assert text[m.start : m.end] == m.evidence
        assert m.evidence.strip()


def test_acceptance_review_has_three_moments(tagger: Tagger) -> None:
    r = tagger.classifier.classify([TextItem(id="a", text=ACCEPTANCE, kind="review")])[0]
    _check_result(ACCEPTANCE, r, tagger)
    got = [(m.stage, m.valence, m.evidence) for m in r.moments]
    assert got == [
        ("AMOT", "pain", "The package arrived two weeks late."),
        ("SMOT", "glory", "The fabric is great though."),
        ("UMOT", "glory", "Highly recommend!"),
    ]
    assert [(m.start, m.end) for m in r.moments] == [(0, 35), (36, 63), (64, 81)]
    assert r.id == "a" and r.kind == "review" and r.provider == "local"
    assert r.taxonomy_version == tagger.taxonomy.ref


@pytest.mark.parametrize(
    "text",
    ["Check out our new podcast episode!", "Follow us for daily crypto tips and giveaways!!"],
)
def test_off_topic_text_is_none(tagger: Tagger, text: str) -> None:
    r = tagger.classifier.classify([TextItem(id="s", text=text, kind="social")])[0]
    assert r.stage == NONE_STAGE
    assert r.moments == []
    assert r.valence == "neutral"
    assert 0.0 <= (r.confidence or 0.0) <= 1.0


def test_every_example_evidence_is_exact(tagger: Tagger) -> None:
    files = [str(EXAMPLES / n) for n in ("reviews.csv", "posts.jsonl", "transcripts.jsonl")]
    items = list(read_items(files))
    assert len(items) == 24
    results = tagger.classifier.classify(items)
    assert [r.id for r in results] == [i.id for i in items]
    for item, r in zip(items, results, strict=True):
        _check_result(item.text, r, tagger)
    tagged = [r for r in results if r.stage != NONE_STAGE]
    assert len(tagged) >= 20  # the examples are nearly all real experiences
    # Transcript evidence never quotes the agent.
    for item, r in zip(items, results, strict=True):
        if item.kind == "transcript":
            agent = [ln for ln in item.text.splitlines() if ln.lower().startswith("agent:")]
            for m in r.moments:
                assert not any(m.evidence in ln for ln in agent), (item.id, m.evidence)


def test_batch_and_single_agree(tagger: Tagger) -> None:
    texts = [ACCEPTANCE, "Checkout kept failing so I bought it elsewhere.", "Love it."]
    items = [TextItem(id=str(n), text=t, kind="review") for n, t in enumerate(texts)]
    batch = tagger.classifier.classify(items)
    single = [tagger.classifier.classify([it])[0] for it in items]
    assert [r.model_dump() for r in batch] == [r.model_dump() for r in single]


def test_empty_batch_and_blank_text(tagger: Tagger) -> None:
    assert tagger.classifier.classify([]) == []
    r = tagger.classifier.classify([TextItem(id="b", text="  ", kind="review")])[0]
    assert r.stage == NONE_STAGE and r.moments == []


def test_excluding_items_changes_the_fit(store: KnowledgeStore, tagger: Tagger) -> None:
    full = tagger.classifier
    ids = [i.id for i in load_labelled(store.exemplars_file, store.taxonomy)]
    assert full.n_items == len(ids)
    held = set(ids[:60])
    clf = LocalClassifier(store, exclude_items=held)
    assert clf.n_items == len(ids) - 60
    # The refitted heads are different models, not the same object re-used.
    assert clf._text_head is not full._text_head
    assert clf._text_head.coef_.shape == full._text_head.coef_.shape
    assert (clf._text_head.coef_ != full._text_head.coef_).any()


def test_cross_validation_floors(store: KnowledgeStore) -> None:
    """Held-out figures on the dev set (each fold fitted without its items).

    Measured when written: stage macro-F1 0.45-0.46, valence macro-F1 0.83, moment stage
    macro-F1 0.57-0.58. The floors sit ~0.05 below, to catch a real regression, not noise.
    """
    items, results = cross_validate(store)
    assert len(results) == len(items) > 300
    assert [r.id for r in results] == [i.id for i in items]
    acc = accuracy(items, results, store.taxonomy.stage_ids)
    assert acc.stage.macro_f1 >= 0.40, acc.stage
    assert acc.valence.macro_f1 >= 0.77, acc.valence
    assert acc.moment_stage.macro_f1 >= 0.52, acc.moment_stage
