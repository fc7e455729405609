"""`motai label`: LLM tags turned into training records, with the fake chat model.

The content comes from `motai.testing.FakeProvider` (scripted answers, no network); the
store is a small one embedded with the hashed bag-of-words `FakeEmbedder`. What is
checked: the conversion and its rules (the labelling guideline's, as
/work/shared/labelling/check_labels.py checks them), failed rows kept out of the
labelled file and written to the errors file, resume, the refusal of the local model,
dry runs, and that the file written loads with `load_labelled` (what `motai train` reads).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

import motai.tagger as tagger_mod
from motai.cli import cli
from motai.errors import MotaiError
from motai.label import (
    LOCAL_MODEL_REFUSED,
    NotLabelled,
    errors_path,
    is_local_model,
    label_items,
    labelled_ids,
    to_record,
)
from motai.labelled import load_labelled
from motai.llm.classifier import LLMClassifier
from motai.models import Moment, TagResult, TextItem
from motai.store import KnowledgeStore
from motai.tagger import Tagger
from motai.taxonomy import Taxonomy
from motai.testing import FakeProvider, customer_text

LATE = "The parcel arrived two weeks late. Love the fabric though!"
SPAM = "Check out our new podcast episode!"
CHECKOUT = "Checkout kept failing so I bought it elsewhere."
SUPPORT = "Support fixed my issue in minutes, thank you!"
BACKPACK = "Two years in and this backpack still looks new."

# What the fake LLM answers for each text (a str is prose: invalid, and so is its repair).
ANSWERS: dict[str, object] = {
    LATE: {
        "stage": "AMOT",
        "valence": "pain",
        "confidence": 0.9,
        "moments": [
            {"stage": "AMOT", "valence": "pain", "evidence": "The parcel arrived two weeks late."},
            {"stage": "SMOT", "valence": "glory", "evidence": "love the FABRIC though!"},
            {"stage": "AMOT", "valence": "pain", "evidence": "The parcel arrived two weeks late."},
        ],
    },
    SPAM: {"stage": "NONE", "valence": "neutral", "confidence": 0.8, "moments": []},
    # The primary moment (FMOT pain) has no evidence, only FMOT glory: a valid answer
    # to the parser, but no quote may be invented for the primary moment.
    CHECKOUT: {
        "stage": "FMOT",
        "valence": "pain",
        "confidence": 0.7,
        "moments": [{"stage": "FMOT", "valence": "glory", "evidence": "I bought it elsewhere"}],
    },
    SUPPORT: "I would say this is SMOT glory.",
    BACKPACK: {
        "stage": "SMOT",
        "valence": "glory",
        "confidence": 0.95,
        "moments": [{"stage": "SMOT", "valence": "glory", "evidence": "still looks new"}],
    },
}


def answer(request) -> object:
    return ANSWERS[customer_text(request)]


# -- fixtures ---------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _no_local_agreement(monkeypatch: pytest.MonkeyPatch) -> None:
    # Confidence without logprobs asks the local classifier; not what is tested here.
    monkeypatch.setattr(LLMClassifier, "_local_stages", lambda self, items: {})


@pytest.fixture
def chat() -> FakeProvider:
    return FakeProvider(respond=answer)


def make_tagger(store: KnowledgeStore, chat: FakeProvider, **kw) -> Tagger:
    kw.setdefault("cache", False)
    return Tagger(
        "openai:fake-model",
        taxonomy=store.taxonomy,
        exemplars=store.exemplars_file,
        embedder=store.embedder,
        store_path=store.path,
        chat=chat,
        **kw,
    )


@pytest.fixture
def run(fake_store: KnowledgeStore, chat: FakeProvider, monkeypatch: pytest.MonkeyPatch):
    """`motai label ARGS` with the fake chat model and the fake store."""
    real = tagger_mod.Tagger

    def tagger(model, **kw):
        return real(model, **{**kw, "embedder": fake_store.embedder, "chat": chat})

    monkeypatch.setattr(tagger_mod, "Tagger", tagger)
    store = ["--store", str(fake_store.path), "--exemplars", str(fake_store.exemplars_file)]

    def invoke(*args: str, **kw):
        return CliRunner().invoke(cli, ["label", *args, *store], **kw)

    return invoke


def write_input(path: Path, texts: dict[str, str], **extra: object) -> Path:
    rows = [{"id": i, "text": t, **extra} for i, t in texts.items()]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def jsonl(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def label_rule_problems(texts: dict[str, str], rows: list[dict]) -> list[str]:
    """The rules of /work/shared/labelling/check_labels.py for a labelled file (all but
    `sure`, the human annotator's hesitation flag, and "every id labelled": failed rows
    are left out on purpose)."""
    stages = {"ZMOT", "FMOT", "AMOT", "SMOT", "UMOT", "NONE"}
    valences = {"glory", "pain", "neutral"}
    problems, seen = [], set()
    for o in rows:
        i = o.get("id")
        if i not in texts:
            problems.append(f"unknown id {i}")
            continue
        if i in seen:
            problems.append(f"duplicate id {i}")
        seen.add(i)
        if o.get("stage") not in stages:
            problems.append(f"{i}: bad stage")
        if o.get("valence") not in valences:
            problems.append(f"{i}: bad valence")
        ms = o.get("moments")
        if not isinstance(ms, list):
            problems.append(f"{i}: moments not a list")
            continue
        if o["stage"] == "NONE" and ms:
            problems.append(f"{i}: NONE must have no moments")
        primary = any(m.get("stage") == o["stage"] and m.get("valence") == o["valence"] for m in ms)
        if o["stage"] != "NONE" and not primary:
            problems.append(f"{i}: primary moment not among moments")
        for m in ms:
            if m.get("stage") not in stages - {"NONE"} or m.get("valence") not in valences:
                problems.append(f"{i}: bad moment {m}")
            if not m.get("evidence") or m["evidence"] not in texts[i]:
                problems.append(f"{i}: evidence not an exact substring: {m.get('evidence')!r}")
    return problems


# -- the conversion ------------------------------------------------------------------------


def tag(item: TextItem, stage, valence, *moments: tuple[str, str, str], error=None) -> TagResult:
    ms = []
    for s, v, ev in moments:
        start = item.text.find(ev)
        ms.append(
            Moment(stage=s, valence=v, evidence=ev, start=max(start, 0), end=0, confidence=0.5)
        )
    return TagResult(
        id=item.id, kind=item.kind, stage=stage, valence=valence, moments=ms, error=error
    )


def test_record_keeps_text_kind_and_source(taxonomy: Taxonomy) -> None:
    item = TextItem(id="r1", text=LATE, kind="review", extra={"source": "shop", "rating": 2})
    result = tag(
        item,
        "AMOT",
        "pain",
        ("AMOT", "pain", "The parcel arrived two weeks late."),
        ("SMOT", "glory", "Love the fabric though!"),
        ("SMOT", "glory", "Love the fabric though!"),  # an exact repeat is kept once
    )
    record = to_record(item, result, taxonomy)
    assert record == {
        "id": "r1",
        "kind": "review",
        "source": "shop",
        "text": LATE,
        "stage": "AMOT",
        "valence": "pain",
        "moments": [
            {"stage": "AMOT", "valence": "pain", "evidence": "The parcel arrived two weeks late."},
            {"stage": "SMOT", "valence": "glory", "evidence": "Love the fabric though!"},
        ],
    }
    assert list(record) == ["id", "kind", "source", "text", "stage", "valence", "moments"]
    plain = TextItem(id="r2", text=SPAM)
    none = to_record(plain, tag(plain, "NONE", "neutral"), taxonomy)
    assert none == {"id": "r2", "text": SPAM, "stage": "NONE", "valence": "neutral", "moments": []}


@pytest.mark.parametrize(
    ("stage", "valence", "moments", "error", "reason"),
    [
        ("AMOT", "pain", [], "invalid answer after one repair: x", "invalid answer after one"),
        ("FMOT", "pain", [("SMOT", "pain", "Checkout kept failing")], None, "FMOT/pain has no"),
        ("FMOT", "pain", [("FMOT", "glory", "Checkout kept failing")], None, "FMOT/pain has no"),
        ("NONE", "neutral", [("SMOT", "pain", "Checkout kept failing")], None, "1 moment(s)"),
        ("NONE", "pain", [], None, "must have valence 'neutral'"),
        ("SMOT", "pain", [("SMOT", "pain", "checkout KEPT failing")], None, "not an exact quote"),
        ("LMOT", "pain", [], None, "no primary stage"),
        (None, None, [], None, "no primary stage"),
    ],
)
def test_a_tag_that_breaks_a_rule_is_not_a_record(
    taxonomy: Taxonomy, stage, valence, moments, error, reason
) -> None:
    item = TextItem(id="c1", text=CHECKOUT, kind="review")
    with pytest.raises(NotLabelled, match=re.escape(reason)):
        to_record(item, tag(item, stage, valence, *moments, error=error), taxonomy)


def test_errors_path_and_local_models() -> None:
    assert errors_path("out/labelled.jsonl") == Path("out/labelled.errors.jsonl")
    assert errors_path("labels") == Path("labels.errors.jsonl")
    assert all(is_local_model(m) for m in ("local", "local:default", "local:my-model", None))
    assert not any(is_local_model(m) for m in ("openai:gpt-4o-mini", "qwen2.5", "llama3.1:8b"))


# -- label_items with the fake LLM ---------------------------------------------------------------


def test_label_items_labels_fails_and_skips_in_order(
    fake_store: KnowledgeStore, chat: FakeProvider
) -> None:
    items = [
        TextItem(id="a", text=LATE, kind="review", source="shop"),
        TextItem(id="done", text=BACKPACK),
        TextItem(id="b", text=CHECKOUT),
        {"id": "c", "text": SPAM, "kind": "social"},
        TextItem(id="d", text=SUPPORT),
        TextItem(id="e", text="   "),
        TextItem(id="a", text=BACKPACK),  # a second "a": never sent
    ]
    tagger = make_tagger(fake_store, chat, concurrency=2)
    out = list(label_items(tagger, items, skip={"done"}))
    assert [(x.id, x.status) for x in out] == [
        ("a", "labelled"),
        ("done", "skipped"),
        ("b", "failed"),
        ("c", "labelled"),
        ("d", "failed"),
        ("e", "failed"),
        ("a", "failed"),
    ]
    a, _, b, c, d, e, dup = out
    assert a.record["source"] == "shop" and a.record["kind"] == "review"
    # evidence quoted in another case maps to the exact original; the repeat is dropped
    assert [m["evidence"] for m in a.record["moments"]] == [
        "The parcel arrived two weeks late.",
        "Love the fabric though!",
    ]
    assert c.record == {
        "id": "c",
        "kind": "social",
        "text": SPAM,
        "stage": "NONE",
        "valence": "neutral",
        "moments": [],
    }
    assert "FMOT/pain has no evidence" in b.error and b.result.stage == "FMOT"
    assert d.error.startswith("invalid answer after one repair")
    assert "empty text" in e.error
    assert "duplicate id 'a'" in dup.error
    # sent: a, b, c, and d with its one repair; never the skipped, empty or duplicate rows
    assert sorted(customer_text(r) for r in chat.requests) == sorted(
        [LATE, CHECKOUT, SPAM, SUPPORT, SUPPORT]
    )
    assert tagger.ledger.summary()["requests"] == 4


def test_label_items_refuses_the_local_model() -> None:
    with pytest.raises(MotaiError) as exc:
        next(label_items(Tagger(), [TextItem(id="x", text=LATE)]))
    assert str(exc.value) == LOCAL_MODEL_REFUSED


# -- resume ----------------------------------------------------------------------------------


def test_labelled_ids_drops_a_half_written_line(tmp_path: Path) -> None:
    path = tmp_path / "labelled.jsonl"
    row = {"id": "a", "text": LATE, "stage": "AMOT", "valence": "pain", "moments": []}
    whole = json.dumps(row) + "\n"
    path.write_text(whole + '{"id": "b", "text": "cut sh', encoding="utf-8")
    assert labelled_ids(path) == {"a"}
    assert path.read_text(encoding="utf-8").endswith("cut sh")  # untouched without repair
    assert labelled_ids(path, repair=True) == {"a"}
    assert path.read_text(encoding="utf-8") == whole
    # a whole record missing only its newline is kept, and the newline added
    path.write_text(whole + json.dumps({**row, "id": "c"}), encoding="utf-8")
    assert labelled_ids(path, repair=True) == {"a", "c"}
    assert path.read_text(encoding="utf-8").endswith("}\n")
    assert labelled_ids(tmp_path / "none.jsonl") == set()
    # a file of something else (here `motai tag` output) is never appended to silently
    path.write_text(json.dumps({"id": "a", "stage": "SMOT", "moments": []}) + "\n" + whole)
    with pytest.raises(MotaiError, match=r"line 1: not a labelled record.*--fresh"):
        labelled_ids(path)


# -- the command -------------------------------------------------------------------------------

TEXTS = {"t1": LATE, "t2": CHECKOUT, "t3": SPAM, "t4": SUPPORT, "t5": BACKPACK}


def test_cli_writes_loadable_training_data_and_an_errors_file(
    run, chat: FakeProvider, taxonomy: Taxonomy, tmp_path: Path
) -> None:
    src = write_input(tmp_path / "sample.jsonl", TEXTS, source="shop")
    out = tmp_path / "out" / "labelled.jsonl"
    res = run(str(src), "-o", str(out), "--model", "openai:fake-model")
    assert res.exit_code == 1, res.output  # some rows failed
    assert res.stdout == ""

    rows = jsonl(out)
    assert [r["id"] for r in rows] == ["t1", "t3", "t5"]
    assert label_rule_problems(TEXTS, rows) == []
    loaded = list(load_labelled(out, taxonomy))  # what `motai train` reads
    assert [(x.id, x.stage, x.valence, x.source) for x in loaded] == [
        ("t1", "AMOT", "pain", "shop"),
        ("t3", "NONE", "neutral", "shop"),
        ("t5", "SMOT", "glory", "shop"),
    ]
    for x in loaded:
        assert x.text == TEXTS[x.id] and x.kind in ("review", "social")
        assert all(x.text[s:e] == m.evidence for s, e, m in x.spans())

    errors = jsonl(tmp_path / "out" / "labelled.errors.jsonl")
    assert [e["id"] for e in errors] == ["t2", "t4"]
    assert "FMOT/pain has no evidence" in errors[0]["error"] and errors[0]["text"] == CHECKOUT
    assert errors[1]["error"].startswith("invalid answer after one repair")

    err = res.stderr
    assert "labelled 3 text(s) into" in err and "(AMOT 1, SMOT 1, NONE 1)" in err
    assert "2 failed, not written; the reasons are in" in err and "labelled.errors.jsonl" in err
    assert "failed: t2: " in err and "failed: t4: invalid answer" in err
    assert "fake-model: 5 requests, 0 retries, 1 repair, 0 cache hits" in err


def test_cli_all_labelled_exits_0_and_removes_a_stale_errors_file(run, tmp_path: Path) -> None:
    src = write_input(tmp_path / "sample.jsonl", {"g1": LATE, "g2": BACKPACK})
    out = tmp_path / "labelled.jsonl"
    stale = errors_path(out)
    stale.write_text('{"id": "old", "error": "x"}\n', encoding="utf-8")
    res = run(str(src), "-o", str(out), "--model", "openai:fake-model", "-q")
    assert res.exit_code == 0, res.output
    assert res.stderr == ""  # --quiet
    assert [r["id"] for r in jsonl(out)] == ["g1", "g2"]
    assert not stale.exists()


def test_cli_resumes_then_reruns_for_free(
    run, chat: FakeProvider, taxonomy: Taxonomy, tmp_path: Path
) -> None:
    src = write_input(tmp_path / "sample.jsonl", TEXTS)
    out = tmp_path / "labelled.jsonl"
    # An interrupted earlier run: t1 finished, t5 half written.
    done = {"id": "t1", "text": LATE, "stage": "AMOT", "valence": "pain", "moments": []}
    done["moments"] = [{"stage": "AMOT", "valence": "pain", "evidence": "The parcel arrived"}]
    out.write_text(json.dumps(done) + "\n" + '{"id": "t5", "text": "Two ye', encoding="utf-8")
    args = [str(src), "-o", str(out), "--model", "openai:fake-model"]

    res = run(*args)
    assert res.exit_code == 1, res.output
    assert LATE not in [customer_text(r) for r in chat.requests]  # t1 was not asked again
    assert [r["id"] for r in jsonl(out)] == ["t1", "t3", "t5"]
    assert jsonl(out)[0] == done  # kept as it was
    assert len(list(load_labelled(out, taxonomy))) == 3
    assert "1 already labelled in" in res.stderr and "labelled 2 text(s)" in res.stderr

    # Again: the labelled rows are skipped; the failed ones are asked again, and the
    # answers to them (invalid after a repair, or breaking a rule) come from the cache.
    sent = chat.calls
    res = run(*args)
    assert res.exit_code == 1 and chat.calls == sent
    assert "3 already labelled in" in res.stderr and "labelled 0 text(s)" in res.stderr
    assert "0 requests, 0 retries, 0 repairs, 2 cache hits" in res.stderr
    assert [e["id"] for e in jsonl(errors_path(out))] == ["t2", "t4"]

    # --fresh starts the file over: only t1, never asked before, costs a request.
    res = run(*args, "--fresh")
    assert res.exit_code == 1 and chat.calls == sent + 1
    assert [r["id"] for r in jsonl(out)] == ["t1", "t3", "t5"]
    assert jsonl(out)[0]["moments"] != done["moments"]  # the model's label, not the old one
    assert "1 request, 0 retries, 0 repairs, 4 cache hits" in res.stderr


def test_cli_dry_run_estimates_the_rows_left_and_sends_nothing(
    run, chat: FakeProvider, tmp_path: Path
) -> None:
    src = write_input(tmp_path / "sample.jsonl", {**TEXTS, "t6": ""})
    out = tmp_path / "labelled.jsonl"
    row = {"id": "t1", "text": LATE, "stage": "NONE", "valence": "neutral", "moments": []}
    out.write_text(json.dumps(row) + "\n", encoding="utf-8")
    before = out.read_bytes()
    res = run(str(src), "-o", str(out), "--model", "openai:fake-model", "--dry-run")
    assert res.exit_code == 0, res.output
    assert "dry run, nothing sent: 4 text(s)" in res.stdout  # not t1 (done), not t6 (empty)
    assert "4 request(s) to send" in res.stdout
    assert "1 row(s) already labelled in" in res.stdout
    assert chat.calls == 0 and out.read_bytes() == before
    assert not errors_path(out).exists()


def test_cli_refuses_the_local_model_in_one_line(run, tmp_path: Path) -> None:
    src = write_input(tmp_path / "sample.jsonl", TEXTS)
    for model in ("local", "local:my-model"):
        res = run(str(src), "-o", str(tmp_path / "l.jsonl"), "--model", model)
        assert res.exit_code == 2
        assert res.stderr.strip() == f"Error: {LOCAL_MODEL_REFUSED}"
    assert not (tmp_path / "l.jsonl").exists()


def test_cli_usage_errors(run, tmp_path: Path) -> None:
    src = write_input(tmp_path / "sample.jsonl", TEXTS)
    no_model = run(str(src), "-o", str(tmp_path / "l.jsonl"))
    assert no_model.exit_code == 2 and "Missing option '--model'" in no_model.stderr
    no_output = run(str(src), "--model", "openai:fake-model")
    assert no_output.exit_code == 2 and "Missing option '-o'" in no_output.stderr
    stdout = run(str(src), "-o", "-", "--model", "openai:fake-model")
    assert stdout.exit_code == 2 and "-o needs a file" in stdout.stderr
    itself = run(str(src), "-o", str(src), "--model", "openai:fake-model")
    assert itself.exit_code == 2 and "is also an input" in itself.stderr
    errs = errors_path(tmp_path / "l.jsonl")
    errs.write_text(json.dumps({"id": "t1", "error": "x", "text": LATE}) + "\n")
    retry = run(str(errs), "-o", str(tmp_path / "l.jsonl"), "--model", "openai:fake-model")
    assert retry.exit_code == 2 and "run the command on the original input" in retry.stderr
    assert errs.exists()


def test_cli_will_not_append_to_a_file_that_is_not_labelled_data(
    run, chat: FakeProvider, tmp_path: Path
) -> None:
    src = write_input(tmp_path / "sample.jsonl", TEXTS)
    out = tmp_path / "tagged.jsonl"
    out.write_text(json.dumps({"id": "t1", "stage": "SMOT", "error": None}) + "\n")
    res = run(str(src), "-o", str(out), "--model", "openai:fake-model")
    assert res.exit_code == 1 and chat.calls == 0
    assert "line 1: not a labelled record" in res.stderr and "--fresh" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def test_cli_help_teaches_the_pipeline(run) -> None:
    res = CliRunner().invoke(cli, ["label", "--help"])
    assert res.exit_code == 0
    text = " ".join(res.stdout.split())
    for line in (
        "motai label sample.csv -o labelled.jsonl --model openai:gpt-4o-mini",
        "motai train labelled.jsonl -o my-model",
        "motai tag feed.csv --model local:my-model",
        "labelled.errors.jsonl",
        "0 when every row is labelled, 1 when some rows failed",
        "--fresh",
    ):
        assert line in text, line
    assert "label" in CliRunner().invoke(cli, ["--help"]).stdout
