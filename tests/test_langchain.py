"""A Tagger in a real LCEL chain (langchain-core), with the shipped local model."""

from __future__ import annotations

import asyncio

import pytest

from motai.models import TagResult, TextItem
from motai.tagger import Tagger

runnables = pytest.importorskip("langchain_core.runnables")

TICKETS = [
    {"ref": "t1", "body": "My parcel still hasn't shipped after two weeks."},
    {"ref": "t2", "body": "The fabric is lovely and it fits perfectly."},
    {"ref": "t3", "body": "   "},
]


class CountingClassifier:
    """The local model, counting the batches it is given (a Classifier of its own)."""

    def __init__(self, inner) -> None:
        self.inner, self.batches = inner, []
        self.provider, self.model, self.taxonomy = inner.provider, inner.model, inner.taxonomy

    def classify(self, items: list[TextItem]) -> list[TagResult]:
        self.batches.append(len(items))
        return self.inner.classify(items)


@pytest.fixture(scope="module")
def local() -> Tagger:
    return Tagger()


@pytest.fixture()
def counting(local: Tagger) -> CountingClassifier:
    return CountingClassifier(local.classifier)


def _chain(tagger: Tagger):
    to_item = runnables.RunnableLambda(lambda t: {"id": t["ref"], "text": t["body"]})
    summary = runnables.RunnableLambda(lambda r: (r.id, r.stage, r.valence, r.error is None))
    return to_item | tagger.as_runnable() | summary


def test_invoke_and_batch_in_an_lcel_chain(local: Tagger, counting: CountingClassifier) -> None:
    tagger = Tagger(counting)  # a classifier object is a model too
    chain = _chain(tagger)
    expected = [
        (r.id, r.stage, r.valence, r.ok)
        for r in local.tag_many([{"id": t["ref"], "text": t["body"]} for t in TICKETS])
    ]
    assert chain.invoke(TICKETS[0]) == expected[0] == ("t1", "AMOT", "pain", True)
    counting.batches.clear()
    assert chain.batch(TICKETS) == expected
    assert counting.batches == [2]  # one batch for the two texts; the empty one is an error row
    assert expected[2][1:] == (None, None, False)


def test_ainvoke_abatch_and_atag(local: Tagger) -> None:
    chain = _chain(local)

    async def main() -> tuple:
        one = await chain.ainvoke(TICKETS[1])
        many = await chain.abatch(TICKETS[:2])
        a, b = await asyncio.gather(local.atag(TICKETS[0]["body"], id="x"), local.atag("Meh."))
        return one, many, a, b

    one, many, a, b = asyncio.run(main())
    assert one == ("t2", "SMOT", "glory", True)
    assert many == [("t1", "AMOT", "pain", True), one]
    assert (a.id, a.stage) == ("x", "AMOT") and b.ok


def test_runnable_types(local: Tagger) -> None:
    r = local.as_runnable()
    assert r.OutputType is TagResult
    assert isinstance(r, runnables.Runnable)
