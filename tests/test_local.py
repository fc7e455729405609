"""The local model: training, the bundle, loading without fitting, and the shipped default."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from motai.errors import MotaiError
from motai.io import read_items
from motai.labelled import load_labelled
from motai.local import (
    Head,
    LocalModel,
    default_model_dir,
    fit_temperature,
    hashed_ngrams,
    train,
)
from motai.models import NONE_STAGE, TagResult, TextItem
from motai.tagger import Tagger
from motai.taxonomy import load_taxonomy
from motai.testing import FakeEmbedder, fast_train_settings

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
DATASETS = REPO / "evals" / "datasets"
ACCEPTANCE = "The package arrived two weeks late. The fabric is great though. Highly recommend!"
FAST = fast_train_settings()


def check_result(text: str, r: TagResult, taxonomy) -> None:
    assert r.error is None
    assert r.stage in taxonomy.labels
    assert r.valence in taxonomy.valence_ids
    assert r.confidence is not None and 0.0 <= r.confidence <= 1.0
    if r.stage == NONE_STAGE:
        assert r.moments == []
    else:
        assert (r.stage, r.valence) in {(m.stage, m.valence) for m in r.moments}
    for m in r.moments:
        assert m.stage in taxonomy.stage_ids and m.valence in taxonomy.valence_ids
        assert 0.0 <= m.confidence <= 1.0
        assert text[m.start : m.end] == m.evidence and m.evidence.strip()


@pytest.fixture(scope="module")
def small(taxonomy) -> LocalModel:
    """A model trained in seconds: 150 dev texts, the fake bag-of-words embedder."""
    items = list(load_labelled(DATASETS / "dev.jsonl", taxonomy))[:150]
    return train(items, taxonomy, embedder=FakeEmbedder(), settings=FAST, name="small")


def test_trained_model_tags_with_exact_evidence(small: LocalModel, taxonomy) -> None:
    texts = [ACCEPTANCE, "Checkout kept failing so I bought it elsewhere.", "Love it.", "   "]
    items = [TextItem(id=str(n), text=t, kind="review") for n, t in enumerate(texts)]
    results = small.classify(items)
    assert [r.id for r in results] == ["0", "1", "2", "3"]
    for it, r in zip(items[:3], results[:3], strict=True):
        check_result(it.text, r, taxonomy)
        assert r.provider == "local" and r.model == "motai-local:small@fake:bow"
    assert results[3].stage == NONE_STAGE and results[3].confidence == 1.0
    # Batching changes nothing.
    single = [small.classify([it])[0] for it in items]
    assert [r.model_dump() for r in single] == [r.model_dump() for r in results]


def test_bundle_round_trip_loads_without_fitting(
    small: LocalModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    small.save(tmp_path / "m")
    names = sorted(p.name for p in (tmp_path / "m").iterdir())
    assert names == ["MODEL_CARD.md", "model.json", "taxonomy.yaml", "weights.npz"]
    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    assert meta["embedder"] == "fake:bow" and meta["taxonomy"]["hash"] == small.taxonomy.hash
    assert meta["n_texts"] == 150 and meta["format"] == 1

    from sklearn.linear_model import LogisticRegression

    def no_fit(*_a, **_k):
        raise AssertionError("a bundle is loaded, never refitted")

    monkeypatch.setattr(LogisticRegression, "fit", no_fit)
    loaded = LocalModel.load(tmp_path / "m", embedder=FakeEmbedder())
    items = [TextItem(id="a", text=ACCEPTANCE, kind="review")]
    assert loaded.classify(items)[0].model_dump() == small.classify(items)[0].model_dump()


def test_loading_checks_the_bundle(small: LocalModel, tmp_path: Path) -> None:
    with pytest.raises(MotaiError, match="not a motai model"):
        LocalModel.load(tmp_path)
    small.save(tmp_path / "m")
    with pytest.raises(MotaiError, match="unknown embedder 'fake:bow'"):
        LocalModel.load(tmp_path / "m")  # it names an embedder this motai does not have
    with pytest.raises(MotaiError, match="trained on vectors of fake:bow"):
        LocalModel.load(tmp_path / "m", embedder="local:minilm")


def test_more_data_changes_the_model(taxonomy) -> None:
    items = list(load_labelled(DATASETS / "dev.jsonl", taxonomy))
    a = train(items[:60], taxonomy, embedder=FakeEmbedder(), settings=FAST)
    b = train(items[:120], taxonomy, embedder=FakeEmbedder(), settings=FAST)
    assert a.meta["n_texts"] == 60 and b.meta["n_texts"] == 120
    assert b.meta["n_units"] > a.meta["n_units"]
    assert not np.allclose(a.heads["segment"].coef, b.heads["segment"].coef)


def test_head_binary_and_single_class() -> None:
    x = np.array([[0.0, 1.0], [1.0, 0.0], [0.1, 0.9], [0.9, 0.2]])
    head = Head.fit(x, ["b", "a", "b", "a"], c=10.0, balance=0.0)
    p = head.proba(x, ["a", "b", "c"])
    assert p.shape == (4, 3) and np.allclose(p.sum(axis=1), 1.0) and (p[:, 2] == 0).all()
    assert (p[:, 1] > 0.5).tolist() == [True, False, True, False]
    one = Head.fit(x, ["a"] * 4, c=1.0, balance=0.0)
    assert np.allclose(one.proba(x, ["a", "b"]), [[1.0, 0.0]] * 4)


def test_hashed_ngrams_match_scikit_learn() -> None:
    """Tagging hashes without scikit-learn; training's idf and weights assume its indices."""
    from sklearn.feature_extraction.text import HashingVectorizer

    texts = [json.loads(line)["text"] for line in (DATASETS / "dev.jsonl").open()][:200]
    texts += ["", "a", "café CAFÉ naïve über 日本語 テスト", "it's don't x-ray", "Go go GO"]
    ref = HashingVectorizer(ngram_range=(1, 2), n_features=2**15, alternate_sign=False, norm=None)
    assert (ref.transform(texts) != hashed_ngrams(texts, 2**15)).nnz == 0


def test_temperature_recovers_overconfidence() -> None:
    rng = np.random.default_rng(0)
    true_logits = rng.normal(size=(4000, 3)) * 1.5
    p = np.exp(true_logits) / np.exp(true_logits).sum(axis=1, keepdims=True)
    gold = [int(rng.choice(3, p=row)) for row in p]
    t = fit_temperature(true_logits * 3.0, gold)  # three times too confident
    assert 2.5 < t < 3.5


def test_custom_taxonomy_trains_and_maps(taxonomy, tmp_path: Path) -> None:
    """b2b.yaml has LMOT and no AMOT/UMOT: its label_map reads the default labels."""
    b2b = load_taxonomy(EXAMPLES / "taxonomies" / "b2b.yaml")
    items = list(load_labelled(DATASETS / "dev.jsonl", b2b))[:120]
    assert {m.stage for it in items for m in it.moments} <= set(b2b.stage_ids)
    model = train(items, b2b, embedder=FakeEmbedder(), settings=FAST)
    r = model.classify([TextItem(id="x", text=ACCEPTANCE, kind="review")])[0]
    assert r.taxonomy_version == b2b.ref and r.stage in b2b.labels
    # A model of the default stages tags in b2b's terms through the same map.
    small = train(
        list(load_labelled(DATASETS / "dev.jsonl", taxonomy))[:120],
        taxonomy,
        embedder=FakeEmbedder(),
        settings=FAST,
    )
    mapped = small.for_taxonomy(b2b).classify([TextItem(id="x", text=ACCEPTANCE)])[0]
    assert mapped.taxonomy_version == b2b.ref
    assert {m.stage for m in mapped.moments} <= set(b2b.stage_ids)
    raw = {k: v for k, v in b2b.model_dump().items() if k != "label_map"}
    from motai.taxonomy import parse_taxonomy

    with pytest.raises(MotaiError, match="has no stage for AMOT"):
        small.for_taxonomy(parse_taxonomy(raw))


# -- the shipped default model (real MiniLM) ------------------------------------------------


@pytest.fixture(scope="module")
def default() -> Tagger:
    return Tagger()


def test_default_model_was_trained_on_the_bundled_data() -> None:
    meta = json.loads((default_model_dir() / "model.json").read_text())
    files = {d["file"]: d for d in meta["data"]}
    assert set(files) == {"dev.jsonl", "silver.jsonl", "silver2.jsonl"}
    import hashlib

    for name, d in files.items():
        assert hashlib.sha256((DATASETS / name).read_bytes()).hexdigest() == d["sha256"], name
    assert meta["taxonomy"]["hash"] == load_taxonomy().hash
    m = meta["metrics"]  # 5-fold cross-validated over dev + silver when it was trained
    assert m["stage_macro_f1"] >= 0.45 and m["valence_macro_f1"] >= 0.75, m
    assert m["moment_stage_macro_f1"] >= 0.55 and m["confidence_ece"] <= 0.06, m


def test_default_acceptance_review(default: Tagger) -> None:
    r = default.tag(ACCEPTANCE, id="a", kind="review")
    check_result(ACCEPTANCE, r, default.taxonomy)
    assert [(m.stage, m.valence) for m in r.moments] == [
        ("AMOT", "pain"),
        ("SMOT", "glory"),
        ("UMOT", "glory"),
    ]
    assert r.stage in ("AMOT", "SMOT") and r.language == "en"  # guideline rule 7: either


@pytest.mark.parametrize(
    "text",
    ["hello", "The weather is nice today.", "Check out our new podcast episode!"],
)
def test_default_says_none_to_no_experience(default: Tagger, text: str) -> None:
    r = default.tag(text, kind="social")
    assert r.stage == NONE_STAGE and r.moments == [] and r.valence == "neutral"


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Le colis n'est jamais arrivé, je suis très déçu du service.", "fr"),
        ("Das Paket kam zwei Wochen zu spät. Sehr ärgerlich!", "de"),
        ("荷物が届きません。どうなっていますか？", "ja"),
    ],
)
def test_other_languages_are_flagged(default: Tagger, text: str, language: str) -> None:
    r = default.tag(text)
    assert r.language == language and r.error is None
    assert r.stage not in (None, NONE_STAGE) and r.moments  # flagged, never silently NONE


def test_default_tags_every_example(default: Tagger) -> None:
    files = [str(EXAMPLES / n) for n in ("reviews.csv", "posts.jsonl", "transcripts.jsonl")]
    items = list(read_items(files))
    results = list(default.tag_many(items))
    for item, r in zip(items, results, strict=True):
        check_result(item.text, r, default.taxonomy)
        if item.kind == "transcript":  # evidence never quotes the agent
            agent = [ln for ln in item.text.splitlines() if ln.lower().startswith("agent:")]
            for m in r.moments:
                assert not any(m.evidence in ln for ln in agent), (item.id, m.evidence)
    assert sum(r.stage != NONE_STAGE for r in results) >= 20  # nearly all are experiences
