"""`motai eval run` and `motai eval compare`.

The LLM and store options are the shared ones (`motai.cli.options`), so `eval run`
reads --base-url from $OPENAI_BASE_URL like `tag` does.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from motai.cli.options import _fail, llm_options, with_store_options
from motai.errors import EXIT_GATE, MotaiError


@click.group("eval", context_settings={"help_option_names": ["-h", "--help"]})
def eval_group() -> None:
    """Measure tagging against labelled sets, compare two runs, gate CI on regressions.

    Exit status: 0 done (gate passed); 1 the run stopped on an error; 2 usage error;
    3 the gate failed (`run --check` under a threshold, `compare --fail-if-worse`).

    \b
    Examples:
      motai eval run evals/default.yaml -o runs/base
      motai eval run evals/datasets/dev.jsonl -o runs/base
      motai eval compare runs/base runs/new --fail-if-worse --config evals/default.yaml
    """


@eval_group.command("run")
@click.argument("target", metavar="CONFIG.yaml|DATASET.jsonl")
@click.option(
    "-o",
    "--output",
    metavar="RUN_DIR",
    help="Run folder. Default: eval-runs/NAME-TIMESTAMP.",
)
@click.option("--folds", type=click.IntRange(2, 100), help="Cross-validation folds (default 5).")
@click.option(
    "--model",
    help="Classifier: 'local', 'local:MODEL_DIR' or an LLM (default: the config's, else "
    "'local'). A local model trained on the dataset is cross-validated by retraining it.",
)
@llm_options
@with_store_options
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Progress bar on stderr (default: when stderr is a terminal).",
)
@click.option(
    "--check", is_flag=True, help="Exit 3 when a run falls under the config's thresholds."
)
@click.option(
    "--fresh",
    is_flag=True,
    help="Start over: discard predictions already in RUN_DIR instead of resuming.",
)
def eval_run(
    target: str,
    output: str | None,
    folds: int | None,
    model: str | None,
    base_url: str | None,
    prompt_id: str | None,
    concurrency: int | None,
    rpm: float | None,
    no_cache: bool,
    redact: bool,
    taxonomy_src: str | None,
    exemplars: str | None,
    store_path: str | None,
    chroma_url: str | None,
    embedder: str | None,
    progress: bool | None,
    check: bool,
    fresh: bool,
) -> None:
    """Tag a labelled set; write predictions.jsonl, metrics.json, report.md, report.html.

    TARGET is an eval config (YAML) or a labelled JSONL set. When the set is the local
    classifier's exemplar bank, it is cross-validated so no item sees itself. Run again
    into the same RUN_DIR after an interruption, it resumes where it stopped (--fresh to
    start over).

    \b
    Examples:
      motai eval run evals/default.yaml
      motai eval run evals/datasets/dev.jsonl -o runs/base --folds 10
      motai eval run evals/datasets/dev.jsonl -o runs/qwen --model qwen2.5 \
          --base-url http://localhost:8000/v1 --concurrency 8 --redact
    """
    import sys

    from motai.evals.config import EvalConfig, load_config
    from motai.evals.run import run_eval
    from motai.tagger import local_model_path

    try:
        path = Path(target)
        if path.suffix in {".yaml", ".yml"}:
            cfg = load_config(path)
        else:
            if not path.is_file():
                raise MotaiError(f"{path}: no such dataset file")
            cfg = EvalConfig(name=path.stem, datasets=[path])
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        root = Path(output) if output else Path("eval-runs") / f"{cfg.name}-{stamp}"
        show = sys.stderr.isatty() if progress is None else progress
        failed: list[str] = []
        chosen = model or cfg.model
        ctx = click.get_current_context()
        if ctx.get_parameter_source("concurrency") is click.core.ParameterSource.DEFAULT:
            concurrency = None  # not given: the Tagger's own default applies
        llm = local_model_path(chosen or "local") is None  # else $OPENAI_BASE_URL is ignored
        for dataset in cfg.datasets:
            run_dir = root if len(cfg.datasets) == 1 else root / dataset.stem
            outcome = run_eval(
                dataset,
                run_dir,
                model=chosen or "local",
                base_url=(base_url if llm else None) or cfg.base_url,
                prompt=prompt_id or cfg.prompt,
                fresh=fresh,
                taxonomy=taxonomy_src or cfg.taxonomy,
                exemplars=exemplars or cfg.exemplars,
                store_path=store_path,
                chroma_url=chroma_url,
                embedder=embedder,
                folds=folds or cfg.folds,
                name=cfg.name if len(cfg.datasets) == 1 else f"{cfg.name}/{dataset.stem}",
                progress=show,
                concurrency=concurrency,
                rpm=rpm,
                redact=redact or None,
                cache=False if no_cache else None,
            )
            m = outcome.metrics
            ci = m["ci95"]["stage_macro_f1"]
            cv = f", cross-validated ({m['folds']} folds)" if outcome.cross_validated else ""
            click.echo(
                f"{dataset}: n={m['n']}{cv}: stage acc {m['stage']['accuracy']:.3f}, "
                f"macro-F1 {m['stage']['macro_f1']:.3f} [{ci['low']:.3f}, {ci['high']:.3f}]; "
                f"valence acc {m['valence']['accuracy']:.3f}, "
                f"macro-F1 {m['valence']['macro_f1']:.3f}; ECE {m['calibration']['ece']:.3f}"
            )
            kept = f" ({m['resumed']} predictions kept from before)" if m["resumed"] else ""
            click.echo(
                f"  wrote {run_dir}/report.html, report.md, metrics.json, predictions.jsonl{kept}"
            )
            for f in cfg.thresholds.check(m):
                failed.append(f"{dataset}: {f}")
                click.echo(f"  under threshold: {f}", err=True)
    except MotaiError as exc:
        raise _fail(exc) from None
    if check and failed:
        raise SystemExit(EXIT_GATE)


@eval_group.command("compare")
@click.argument("run_a", type=click.Path(file_okay=False))
@click.argument("run_b", type=click.Path(file_okay=False))
@click.option(
    "--fail-if-worse",
    is_flag=True,
    help="Exit 3 when B is significantly worse than A or under a floor of --config.",
)
@click.option(
    "--config",
    "config_file",
    metavar="CONFIG.yaml",
    help="Eval config whose thresholds and class floors B must meet.",
)
@click.option(
    "-o",
    "--output",
    metavar="DIR",
    help="Also write DIR/compare.md and DIR/compare.html (a path ending in .md: that file "
    "and the .html beside it).",
)
def eval_compare(
    run_a: str, run_b: str, fail_if_worse: bool, config_file: str | None, output: str | None
) -> None:
    """Compare two run folders: side by side, paired bootstrap, McNemar, flipped items.

    Prints a markdown summary fit for a pull-request comment; -o also writes it with a
    self-contained HTML report (plots inline).

    \b
    Examples:
      motai eval compare runs/base runs/new
      motai eval compare runs/base runs/new --fail-if-worse --config evals/default.yaml
    """
    from motai.evals.compare import compare_runs, gate, render_markdown
    from motai.evals.config import load_config
    from motai.evals.html import render_compare_html

    try:
        thresholds = load_config(config_file).thresholds if config_file else None
        cmp = compare_runs(run_a, run_b)
    except MotaiError as exc:
        raise _fail(exc) from None
    failures = gate(cmp, thresholds)
    text = render_markdown(cmp, failures)
    click.echo(text, nl=False)
    if output:
        out = Path(output)
        md, page = (
            (out, out.with_suffix(".html"))
            if out.suffix == ".md"
            else (out / "compare.md", out / "compare.html")
        )
        md.parent.mkdir(parents=True, exist_ok=True)
        md.write_text(text, encoding="utf-8")
        page.write_text(render_compare_html(cmp, failures), encoding="utf-8")
        click.echo(f"wrote {md} and {page}", err=True)
    if fail_if_worse and failures:
        click.echo(f"gate failed: {len(failures)} reason(s)", err=True)
        raise SystemExit(EXIT_GATE)
