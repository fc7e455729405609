"""A keyword classifier for motai: the smallest complete plugin.

motai finds it through the entry points in pyproject.toml; `--model keyword:strict` then
tags with `make_classifier("strict", options)`.
"""

from __future__ import annotations

import re
from pathlib import Path

from motai.classifiers import ClassifierOptions
from motai.models import Moment, TagResult, TextItem
from motai.taxonomy import Taxonomy, load_taxonomy
from motai.testing import FakeEmbedder

KEYWORDS = {
    "AMOT": ("parcel", "delivery", "shipped", "courier"),
    "SMOT": ("refund", "return", "support", "broken"),
}
PAIN = ("late", "never", "broken", "still", "no ")


def taxonomy_path() -> Path:
    return Path(__file__).with_name("returns-desk.yaml")


class KeywordClassifier:
    provider = "keyword"

    def __init__(self, name: str, taxonomy: Taxonomy) -> None:
        self.model = f"keyword:{name or 'default'}"
        self.taxonomy = taxonomy

    def classify(self, items: list[TextItem]) -> list[TagResult]:
        return [self._one(item) for item in items]

    def _one(self, item: TextItem) -> TagResult:
        moments = []
        for m in re.finditer(r"[^.!?]+[.!?]?", item.text):
            sentence = m.group().strip()
            stage = next(
                (s for s, words in KEYWORDS.items() if any(w in sentence.lower() for w in words)),
                None,
            )
            if stage is None:
                continue
            start = item.text.index(sentence, m.start())
            valence = "pain" if any(w in sentence.lower() for w in PAIN) else "glory"
            moments.append(
                Moment(
                    stage=stage,
                    valence=valence,
                    evidence=sentence,
                    start=start,
                    end=start + len(sentence),
                    confidence=0.5,
                )
            )
        first = moments[0] if moments else None
        return TagResult(
            id=item.id,
            kind=item.kind,
            stage=first.stage if first else "NONE",
            valence=first.valence if first else "neutral",
            confidence=0.5,
            moments=moments,
            provider=self.provider,
            model=self.model,
            taxonomy_version=self.taxonomy.ref,
        )


def make_classifier(name: str, options: ClassifierOptions) -> KeywordClassifier:
    return KeywordClassifier(name, options.taxonomy or load_taxonomy(taxonomy_path()))


def make_embedder(name: str) -> FakeEmbedder:
    return FakeEmbedder(dim=int(name or 64))
