"""A text never sees a labelled exemplar with its own id (honest evals on the bank)."""

from __future__ import annotations

from motai.labelled import load_labelled
from motai.retrieval import Retriever


def test_own_id_is_left_out_of_that_text_only(fake_store, small_exemplars, taxonomy) -> None:
    first, second = list(load_labelled(small_exemplars, taxonomy))[:2]
    retriever = Retriever(fake_store, 4, 3, ())
    plain = retriever.contexts([first.text, second.text])
    # The text itself is its own nearest exemplar when nothing is left out.
    assert first.id in [e.id for e in plain[0].examples]
    own = retriever.contexts([first.text, second.text], own_ids=[first.id, second.id])
    assert first.id not in [e.id for e in own[0].examples]
    assert second.id not in [e.id for e in own[1].examples]
    assert len(own[0].examples) == 4
    # Only its own id is left out: the other text may still use it.
    assert [e.id for e in own[1].examples if e.id == first.id] == [
        e.id for e in plain[1].examples if e.id == first.id
    ]
