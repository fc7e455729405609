"""End to end through a REAL OpenAI-compatible server: llama-cpp-python serving
SmolLM2-135M-Instruct on 127.0.0.1, with the openai SDK and langchain unchanged.

The model is tiny, so its labels are poor; these tests check the plumbing: every row is
either a valid tag (known labels, evidence an exact quote of the text) or carries an
error; the structured-output strategy the server refuses is detected and the fallback
remembered; a re-run is answered from the cache with zero requests; `--redact` keeps the
personal data off the wire; no API key reaches a request body, an output or the cache.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from llama_fixture import llama_server_fixture  # noqa: F401 (registers `llama_server`)

from motai.cli import cli
from motai.io import iter_results
from motai.llm.injection import load_injection_cases, measure_injection
from motai.models import TagResult
from motai.tagger import Tagger
from motai.taxonomy import Taxonomy

pytestmark = pytest.mark.llm_server

REPO = Path(__file__).resolve().parents[2]
SECRET = "sk-motai-test-" + "Zq8RlK2vXy7T4mNp"  # a fake key: must never leave the headers
TEXTS = [
    "Waited three weeks for this sweater to ship. Huge disappointment.",
    "Love the fabric, runs small so size up. Highly recommend!",
    "@Airline your website crashed three times while I was trying to book",
    "Check out our new podcast episode!",
    "Great coat... runs small... love it...",
]
PII = {
    "email": "jane.doe@example.com",
    "phone": "+1 (555) 123-4567",
    "card": "4111 1111 1111 1111",
    "handle": "@janedoe_77",
    "url": "https://shop.example.com/orders/98765",
}
PII_TEXT = (
    f"My card {PII['card']} was charged twice for order {PII['url']} and it never "
    f"arrived. Email me at {PII['email']} or call {PII['phone']}. Thanks, {PII['handle']}"
)


def check_row(r: TagResult, text: str, taxonomy: Taxonomy) -> None:
    """A valid tag with exact evidence, or an error row with no labels."""
    if r.error:
        assert r.stage is None and r.moments == [], r
        assert SECRET not in r.error
        return
    assert r.stage in taxonomy.labels, r
    assert r.valence in taxonomy.valence_ids, r
    assert r.confidence is not None and 0.0 <= r.confidence <= 1.0
    assert r.model == "smollm2" and r.prompt_version
    for m in r.moments:
        assert m.stage in taxonomy.stage_ids
        assert text[m.start : m.end] == m.evidence, (m, text)


def strategy_of(home: Path) -> dict:
    data = json.loads((home / "endpoints.json").read_text())
    entries = [v for k, v in data.items() if k.endswith("|smollm2")]
    assert entries, data
    return entries[0]


def assert_no_secret(home: Path, *texts: str) -> None:
    for f in home.rglob("*"):
        if f.is_file():
            blob = f.read_bytes()
            assert SECRET.encode() not in blob, f
    if (home / "cache.sqlite").exists():
        assert b"sk-" not in (home / "cache.sqlite").read_bytes()
    for t in texts:
        assert SECRET not in t


@pytest.fixture
def home() -> Path:
    return Path(os.environ["MOTAI_HOME"])


@pytest.fixture
def with_key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    return SECRET


def make_tagger(llama_server, taxonomy: Taxonomy, store_dir: Path, **kw) -> Tagger:
    # One request at a time (the server runs one anyway: a queued request would spend its
    # timeout waiting) and one example per prompt, to keep a CPU-only run short.
    kw.setdefault("concurrency", 1)
    kw.setdefault("k_examples", 1)
    return Tagger(
        "smollm2", base_url=llama_server.url, taxonomy=taxonomy, store_path=store_dir, **kw
    )


def test_api_tags_through_real_server_then_rerun_is_cached(
    llama_server, store, taxonomy: Taxonomy, store_dir: Path, home: Path, with_key: str
) -> None:
    proxy = llama_server.proxy
    start = proxy.count()
    tagger = make_tagger(llama_server, taxonomy, store_dir)
    first = list(tagger.tag_many(TEXTS))
    sent = proxy.chat_requests[start:]
    assert len(first) == len(TEXTS)
    for r in first:
        print(f"\n{r.id}: {r.stage} {r.valence} {[m.evidence for m in r.moments]} {r.error}")
    for r, text in zip(first, TEXTS, strict=True):
        check_row(r, text, taxonomy)
    assert sent, "no request reached the server"

    # Structured output: the strategy that worked is remembered for this endpoint; every
    # strategy tried before it was refused by the real server (a 4xx), not skipped.
    memory = strategy_of(home)
    assert memory["strategy"] in ("json_schema", "tool_calling", "json_mode")
    tried = [_strategy(r.json()) for r in sent]
    assert memory["strategy"] in tried
    for r in sent:
        if _strategy(r.json()) != memory["strategy"]:
            assert _refused(r), (r.status, r.response[:300])
    print(f"\nllama.cpp server strategy: {memory}; tried {sorted(set(tried))}")

    summary = tagger.ledger.summary()
    ok_rows = sum(1 for r in first if r.ok)
    assert summary["requests"] >= ok_rows
    assert summary["cost_usd"] is None  # no price for a local model
    print(f"first run: {summary}; {ok_rows}/{len(first)} valid")

    # The key went in the Authorization header and nowhere else.
    assert any(with_key in r.headers.get("authorization", "") for r in sent)
    assert with_key not in proxy.wire_text()

    # A second run makes zero requests: every row's final outcome (a valid tag, or the
    # error of an answer still invalid after its repair) comes from the cache.
    assert all(r.ok or r.error.startswith("invalid answer after one repair") for r in first), [
        r.error for r in first
    ]
    before = proxy.count()
    again = make_tagger(llama_server, taxonomy, store_dir)
    second = list(again.tag_many(TEXTS))
    s2 = again.ledger.summary()
    assert proxy.count() == before, "the re-run sent requests"
    assert s2["cache_hits"] == len(TEXTS)
    assert s2["requests"] == s2["repairs"] == s2["retries"] == 0
    for a, b in zip(first, second, strict=True):
        assert (a.stage, a.valence, a.moments, a.error) == (b.stage, b.valence, b.moments, b.error)
    print(f"second run: {s2}; {proxy.count() - before} request(s)")
    assert_no_secret(home, *(r.model_dump_json() for r in first + second))


def _refused(r) -> bool:
    """A 4xx, or the 500 llama-cpp-python's server answers a request it cannot validate."""
    return 400 <= r.status < 500 or (r.status >= 500 and b"validation error" in r.response)


def _strategy(body: dict) -> str:
    if body.get("tools"):
        return "tool_calling"
    rf = (body.get("response_format") or {}).get("type")
    return {"json_schema": "json_schema", "json_object": "json_mode"}.get(rf, "plain")


def test_cli_tags_through_real_server(
    llama_server, store, store_dir: Path, home: Path, with_key: str, tmp_path: Path
) -> None:
    proxy = llama_server.proxy
    src = tmp_path / "in.jsonl"
    src.write_text(
        "".join(json.dumps({"id": f"t{i}", "text": t}) + "\n" for i, t in enumerate(TEXTS[:2]))
    )
    out = tmp_path / "out.jsonl"
    args = [
        "tag",
        str(src),
        "--model",
        "smollm2",
        "--base-url",
        llama_server.url,
        "--store",
        str(store_dir),
        "--concurrency",
        "1",
        "-o",
        str(out),
    ]
    before = proxy.count()
    res = CliRunner().invoke(cli, args)
    assert proxy.count() > before
    rows = list(iter_results(out))  # the results, without the input passed through beside them
    assert [r.id for r in rows] == ["t0", "t1"]
    assert res.exit_code == (0 if all(r.ok for r in rows) else 1), res.output  # 1: rows failed
    from motai.taxonomy import load_taxonomy

    tax = load_taxonomy()
    for r, text in zip(rows, TEXTS[:2], strict=True):
        check_row(r, text, tax)
    assert "smollm2:" in res.output and "request" in res.output  # the ledger line

    # The same command again resumes the finished output: nothing to tag, no request.
    before = proxy.count()
    resumed = CliRunner().invoke(cli, args)
    assert resumed.exit_code == res.exit_code, resumed.output
    assert "2 finished row(s) kept" in resumed.output and proxy.count() == before

    # Started over (--fresh): zero requests, every row (valid or invalid) from the cache.
    res2 = CliRunner().invoke(cli, [*args, "--fresh"])
    assert res2.exit_code == res.exit_code, res2.output
    ok_rows = sum(1 for r in rows if r.ok)
    hits = int(re.search(r"(\d+) cache hits?", res2.output).group(1))
    assert hits == len(rows)
    assert proxy.count() == before, "the re-run sent requests"
    rows2 = list(iter_results(out))
    assert [(r.id, r.stage, r.valence, r.error) for r in rows2] == [
        (r.id, r.stage, r.valence, r.error) for r in rows
    ]
    print(f"\nCLI: {ok_rows}/{len(rows)} valid; re-run: {res2.output.splitlines()[-1]}")
    assert_no_secret(home, out.read_text(), res.output, res2.output)


def test_label_cli_through_real_server(
    llama_server, store, store_dir: Path, home: Path, with_key: str, tmp_path: Path
) -> None:
    """`motai label`: every row is either written as loadable training data (labels of
    the taxonomy, the primary moment among the moments, exact evidence) or counted as
    failed with its reason in the errors file; a re-run makes zero requests."""
    from motai.label import errors_path
    from motai.labelled import load_labelled
    from motai.taxonomy import load_taxonomy

    tax = load_taxonomy()
    proxy = llama_server.proxy
    # Two short texts, to keep a CPU-only run short. The 135M model often quotes its
    # examples instead of the text, so every row may fail: the plumbing is what counts.
    texts = {f"s{i}": t for i, t in enumerate(TEXTS[3:])}
    src = tmp_path / "sample.jsonl"
    src.write_text(
        "".join(json.dumps({"id": k, "text": t, "source": "feed"}) + "\n" for k, t in texts.items())
    )
    out = tmp_path / "labelled.jsonl"
    args = ["label", str(src), "-o", str(out), "--model", "smollm2"]
    args += ["--base-url", llama_server.url, "--store", str(store_dir), "--concurrency", "1"]

    before = proxy.count()
    res = CliRunner().invoke(cli, args)
    assert res.exit_code in (0, 1), res.output
    assert proxy.count() > before, "no request reached the server"
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    errs = errors_path(out)
    failed = [json.loads(x) for x in errs.read_text().splitlines()] if errs.exists() else []
    labelled_ids = [r["id"] for r in rows]
    assert sorted(labelled_ids + [e["id"] for e in failed]) == sorted(texts)
    assert res.exit_code == (1 if failed else 0)
    loaded = list(load_labelled(out, tax))  # what `motai train` reads
    assert [x.id for x in loaded] == labelled_ids
    for x in loaded:
        assert x.text == texts[x.id] and x.source == "feed"
        if x.stage == tax.none.id:
            assert x.moments == []
        else:
            assert any((m.stage, m.valence) == (x.stage, x.valence) for m in x.moments), x
        assert all(x.text[s:e] == m.evidence for s, e, m in x.spans())
    for e in failed:
        # a final outcome (invalid after its repair, or a rule broken), not a transient one
        assert e["error"] and not e["error"].startswith("gave up"), e
    assert f"labelled {len(rows)} text(s)" in res.output
    assert "smollm2:" in res.output and "request" in res.output  # the ledger line
    print(f"\nlabel: {len(rows)}/{len(texts)} labelled; failed: {[e['error'] for e in failed]}")

    # Started over: zero requests, every answer (valid or not) from the cache.
    before = proxy.count()
    again = CliRunner().invoke(cli, [*args, "--fresh"])
    assert proxy.count() == before, "the re-run sent requests"
    assert again.exit_code == res.exit_code, again.output
    assert int(re.search(r"(\d+) cache hits?", again.output).group(1)) == len(texts)
    assert [json.loads(x) for x in out.read_text().splitlines()] == rows
    # Resumed: the labelled rows are skipped, the failed ones answered by the cache.
    resumed = CliRunner().invoke(cli, args)
    assert proxy.count() == before and resumed.exit_code == res.exit_code
    if rows:
        assert f"{len(rows)} already labelled in" in resumed.output
    assert [json.loads(x) for x in out.read_text().splitlines()] == rows
    assert_no_secret(home, out.read_text(), res.output, again.output, resumed.output)


def test_redact_keeps_pii_off_the_wire(
    llama_server, store, taxonomy: Taxonomy, store_dir: Path, with_key: str
) -> None:
    proxy = llama_server.proxy
    # Control: without --redact the personal data would be in the prompt.
    plain = make_tagger(llama_server, taxonomy, store_dir, cache=False)
    rendered = json.dumps(plain.classifier.render(PII_TEXT))
    for raw in PII.values():
        assert json.dumps(raw)[1:-1] in rendered

    start = len(proxy.requests)
    tagger = make_tagger(llama_server, taxonomy, store_dir, redact=True, cache=False)
    (result,) = list(tagger.tag_many([PII_TEXT]))
    check_row(result, PII_TEXT, taxonomy)
    captured = proxy.requests[start:]
    assert captured, "nothing was sent"
    wire = "\n".join(r.body.decode("utf-8") for r in captured)
    for kind, raw in PII.items():
        for form in {raw, json.dumps(raw)[1:-1], raw.replace(" ", "")}:
            assert form not in wire, f"{kind} {raw!r} went over the wire"
    for ph in ("[EMAIL_1]", "[PHONE_1]", "[CARD_1]", "[HANDLE_1]", "[URL_1]"):
        assert ph in wire
    # Evidence points into the original text, placeholders mapped back.
    for m in result.moments:
        assert PII_TEXT[m.start : m.end] == m.evidence
        assert "[EMAIL_" not in m.evidence and "[CARD_" not in m.evidence


def test_injection_set_is_measured(
    llama_server,
    store,
    taxonomy: Taxonomy,
    store_dir: Path,
    with_key: str,
    record_property,
    figures,
) -> None:
    # One case per technique: a CPU-only 135M model takes seconds per request.
    cases = list(
        {
            c["technique"]: c
            for c in load_injection_cases(REPO / "evals" / "injection.jsonl")[::-1]
        }.values()
    )[:5]
    tagger = make_tagger(llama_server, taxonomy, store_dir)
    report = measure_injection(tagger, cases)
    assert report["cases"] == len(cases)
    assert report["measured"] + report["errors"] == len(cases)
    for row in report["per_case"]:
        assert "error" in row or isinstance(row["flipped"], bool)
    line = {k: v for k, v in report.items() if k != "per_case"}
    record_property("injection", json.dumps(line))
    figures("injection, SmolLM2-135M (one case per technique)", line)


def test_eval_run_through_real_server_writes_complete_reports(
    llama_server, store, store_dir: Path, home: Path, with_key: str, tmp_path: Path
) -> None:
    """`motai eval run DATASET -o RUN --model smollm2 --base-url URL`: every item in the
    predictions and the reports, usage from the ledger in metrics.json (error rows are
    allowed: the model is tiny)."""
    from motai.labelled import load_labelled
    from motai.taxonomy import load_taxonomy

    tax = load_taxonomy()
    rows = [json.loads(x) for x in (REPO / "evals/datasets/dev.jsonl").read_text().splitlines()]
    short = sorted(rows, key=lambda r: len(r["text"]))[:2]
    data = tmp_path / "tiny.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in short), encoding="utf-8")
    ids = [i.id for i in load_labelled(data, tax)]
    run = tmp_path / "run"
    args = ["eval", "run", str(data), "-o", str(run), "--model", "smollm2"]
    args += ["--base-url", llama_server.url, "--store", str(store_dir), "--concurrency", "1"]
    before = llama_server.proxy.count()
    res = CliRunner().invoke(cli, [*args, "--no-progress"])
    assert res.exit_code == 0, res.output
    assert llama_server.proxy.count() > before, "no request reached the server"

    preds = [json.loads(x) for x in (run / "predictions.jsonl").read_text().splitlines()]
    assert [p["id"] for p in preds] == ids
    for p, item in zip(preds, short, strict=True):
        check_row(TagResult.model_validate(p["predicted"]), item["text"], tax)

    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["n"] == 2 and metrics["cross_validated"] is False
    assert 0 <= metrics["errors"] <= 2
    assert metrics["provenance"]["model"] == "smollm2"
    assert metrics["provenance"]["base_url"] == llama_server.url
    assert (metrics["provenance"]["prompt_hash"] or "").startswith("classify.v1#")
    usage = metrics["usage"]
    assert usage["requests"] + usage["cache_hits"] >= 2
    assert usage["requests"] == 0 or usage["prompt_tokens"] > 0
    assert usage["cost_usd"] is None  # no price for a local model

    report = (run / "report.md").read_text()
    assert "## Headline" in report and "## Usage" in report
    html = (run / "report.html").read_text()
    assert html.rstrip().endswith("</html>") and "data:image/png;base64," in html
    assert "## Misclassified items" in report
    for item_id in ids:
        assert item_id in (run / "predictions.jsonl").read_text()
    print(f"\neval run: {res.output.strip()}\nusage: {usage}")
    assert_no_secret(home, res.output, report, html)
