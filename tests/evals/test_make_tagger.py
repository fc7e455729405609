"""`make_tagger`: the one place an eval builds its Tagger, so LLM options reach it as soon
as Tagger accepts them; and the progress bar of `run_eval`. A fake Tagger stands in for
an LLM provider: nothing is fitted or downloaded."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pytest

import motai.evals.run as run_mod
from motai.errors import MotaiError
from motai.evals.config import EvalConfig
from motai.evals.run import make_tagger, run_eval
from motai.labelled import load_labelled
from motai.models import TagResult
from motai.taxonomy import Taxonomy


class FakeLLMTagger:
    """Accepts the options an LLM Tagger will; answers every text with its gold stage
    from a lookup, so figures are known."""

    made: ClassVar[list[dict]] = []
    gold: ClassVar[dict[str, tuple[str, str]]] = {}

    def __init__(
        self,
        model: str | None = None,
        *,
        taxonomy=None,
        exemplars=None,
        embedder=None,
        store_path=None,
        chroma_url=None,
        base_url: str | None = None,
        prompt: str | None = None,
    ) -> None:
        self.model, self.batch_size = model, 5
        FakeLLMTagger.made.append(
            {"model": model, "base_url": base_url, "prompt": prompt, "taxonomy": taxonomy}
        )

    def tag_many(self, items, batch_size=None):
        for it in items:
            stage, valence = self.gold[it.id]
            yield TagResult(
                id=it.id,
                stage=stage,
                valence=valence,
                confidence=0.7,
                provider="fake",
                model=self.model,
                prompt_version="classify.v9#abcdef012345",
            )


def test_options_the_model_does_not_take_are_a_clear_error() -> None:
    # The real Tagger refuses them with one line, before any item is tagged.
    with pytest.raises(MotaiError, match=r"^--base-url, --prompt: need an LLM model"):
        make_tagger(None, model="local", base_url="http://127.0.0.1:8080/v1", prompt="classify.v1")
    with pytest.raises(MotaiError, match="the local model learns from labelled data"):
        make_tagger({"model": "local"}, exemplars="bank.jsonl")
    assert make_tagger({"model": "local"}).model == "local"


def test_config_and_overrides_reach_the_tagger(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(run_mod, "Tagger", FakeLLMTagger)
    FakeLLMTagger.made = []
    cfg = EvalConfig(
        name="x",
        datasets=[Path("d.jsonl")],
        model="openai:small",
        prompt="classify.v1",
        base_url="http://config/v1",
    )
    make_tagger(cfg, base_url="http://override/v1", prompt=None)
    assert FakeLLMTagger.made[-1] | {"taxonomy": None} == {
        "model": "openai:small",
        "base_url": "http://override/v1",  # an override that is set wins
        "prompt": "classify.v1",  # one that is None does not
        "taxonomy": None,
    }
    make_tagger({"model": "m", "datasets": []})
    assert FakeLLMTagger.made[-1]["model"] == "m"


def test_run_eval_builds_its_tagger_through_make_tagger(
    monkeypatch: pytest.MonkeyPatch,
    files: dict[str, Path],
    taxonomy: Taxonomy,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(run_mod, "Tagger", FakeLLMTagger)
    monkeypatch.setattr(run_mod, "render_run_html", lambda *a: "<html>")
    FakeLLMTagger.made = []
    FakeLLMTagger.gold = {
        i.id: (i.stage, i.valence) for i in load_labelled(files["data"], taxonomy)
    }
    out = run_eval(
        files["data"],
        tmp_path / "run",
        model="fake:llm",
        taxonomy=taxonomy,
        base_url="http://127.0.0.1:9/v1",
        prompt="classify.v1",
        progress=True,
    )
    made = FakeLLMTagger.made[-1]
    assert (made["model"], made["base_url"], made["prompt"]) == (
        "fake:llm",
        "http://127.0.0.1:9/v1",
        "classify.v1",
    )
    m = out.metrics
    assert m["stage"]["accuracy"] == 1.0 and m["cross_validated"] is False
    assert m["provenance"]["prompt_hash"] == "classify.v9#abcdef012345"
    assert m["provenance"]["base_url"] == "http://127.0.0.1:9/v1"
    # The progress bar went to stderr and reached the end.
    err = capsys.readouterr().err
    assert "evaluating" in err and "20/20" in err

    # A changed prompt is another run: the folder is not resumed with it.
    with pytest.raises(MotaiError, match="holds predictions of another run"):
        run_eval(files["data"], tmp_path / "run", model="fake:llm", prompt="classify.v2")


class LedgerTagger(FakeLLMTagger):
    """An LLM Tagger with the options of `motai eval run` and a token and cost ledger."""

    class _Ledger:
        def summary(self) -> dict:
            return {
                "requests": 20,
                "retries": 0,
                "repairs": 1,
                "cache_hits": 0,
                "prompt_tokens": 9000,
                "completion_tokens": 800,
                "cost_usd": None,
            }

    def __init__(self, model=None, *, concurrency=None, redact=None, cache=None, **kw) -> None:
        super().__init__(model, **kw)
        FakeLLMTagger.made[-1] |= {"concurrency": concurrency, "redact": redact, "cache": cache}
        self.ledger = self._Ledger()


def test_eval_cli_passes_llm_flags_and_records_usage(
    monkeypatch: pytest.MonkeyPatch, files: dict[str, Path], taxonomy: Taxonomy, tmp_path: Path
) -> None:
    import json

    from click.testing import CliRunner

    from motai.cli import cli

    monkeypatch.setattr(run_mod, "Tagger", LedgerTagger)
    monkeypatch.setattr(run_mod, "render_run_html", lambda *a: "<html>")
    FakeLLMTagger.made = []
    FakeLLMTagger.gold = {
        i.id: (i.stage, i.valence) for i in load_labelled(files["data"], taxonomy)
    }
    run = tmp_path / "run"
    args = ["eval", "run", str(files["data"]), "-o", str(run), "--model", "fake:llm"]
    extra = ["--concurrency", "2", "--redact", "--no-cache", "--no-progress"]
    res = CliRunner().invoke(cli, [*args, *extra])
    assert res.exit_code == 0, res.output
    made = FakeLLMTagger.made[-1]
    assert (made["concurrency"], made["redact"], made["cache"]) == (2, True, False)
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["usage"]["prompt_tokens"] == 9000 and metrics["usage"]["repairs"] == 1
    report = (run / "report.md").read_text()
    assert "## Usage" in report and "9000 prompt + 800 completion tokens" in report
    assert "cost unknown" in report
    # Without the flags nothing is forced on the Tagger (its own defaults apply).
    res = CliRunner().invoke(cli, [*args, "--fresh", "--no-progress"])
    assert res.exit_code == 0, res.output
    made = FakeLLMTagger.made[-1]
    assert (made["concurrency"], made["redact"], made["cache"]) == (None, None, None)
