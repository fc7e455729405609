"""`motai eval run`: tag a labelled set and write a run folder.

A run folder holds:
- `predictions.jsonl`: per item its id, text, gold labels and the predicted TagResult
  (`motai.evals.rundir`);
- `metrics.json`: accuracy, macro-F1 and per-class scores, confusion matrices, kappa,
  bootstrap intervals, calibration, coverage (`motai.evals.metrics`), latency and
  provenance;
- `report.md`: the same for people, with the misclassified items listed
  (`motai.evals.markdown`);
- `report.html`: the same with plots, self-contained (`motai.evals.html`);
- `run.json`: the fingerprint of the run's configuration, for resuming
  (`motai.evals.resume`).

When the labelled set is in a local model's training data (same file content, by the
sha256 its bundle records), every item is predicted by a model retrained without its fold
(`motai.crossval`), the model's other training files always in; the run records
`"cross_validated": true`.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from motai import __version__
from motai.classifiers import ClassifierOptions, check_local_options
from motai.crossval import iter_folds
from motai.errors import MotaiError
from motai.evals import resume
from motai.evals.config import EvalConfig
from motai.evals.html import render_run_html
from motai.evals.markdown import render_report
from motai.evals.metrics import compute_metrics, quantile
from motai.evals.rundir import prediction_row
from motai.labelled import LabelledItem, exemplars_path, load_labelled, sha256_file
from motai.models import TagResult, TextItem
from motai.tagger import Tagger, local_model_path
from motai.taxonomy import Taxonomy, load_taxonomy


def read_manifest(model_dir: Path) -> dict:
    """A local model bundle's model.json ({} when absent: the Tagger will say why)."""
    try:
        return json.loads((model_dir / "model.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _other_training_items(
    dataset: Path, dataset_sha: str, trained_on: list[dict], tax: Taxonomy
) -> list[LabelledItem]:
    """The model's training files other than `dataset`, found beside it by name and hash."""
    out: list[LabelledItem] = []
    for d in trained_on:
        if d["sha256"] == dataset_sha:
            continue
        path = dataset.parent / d["file"]
        if not path.is_file() or sha256_file(path) != d["sha256"]:
            raise MotaiError(
                f"{dataset} is in the training data of this model; measuring it honestly "
                f"retrains the model without each fold, which needs its other training file "
                f"{d['file']} (sha256 {d['sha256'][:12]}...) beside {dataset.name}"
            )
        out.extend(load_labelled(path, tax))
    return out


CONFIG_TAGGER_KEYS = ("model", "taxonomy", "exemplars", "base_url", "prompt")


@dataclass
class RunOutcome:
    run_dir: Path
    metrics: dict
    cross_validated: bool


def git_commit(cwd: Path | None = None) -> str | None:
    """HEAD of the git repository around `cwd` (default: the current folder), else None."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=cwd or Path.cwd(),
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return (out.stdout.strip() or None) if out.returncode == 0 else None


def make_tagger(
    config: EvalConfig | Mapping[str, object] | None = None, **overrides: object
) -> Tagger:
    """The Tagger of an eval: the config's `model`, `taxonomy`, `exemplars`, `base_url`
    and `prompt`, each overridden by a keyword that is not None (also `embedder`,
    `store_path`, `chroma_url`...). An option the model cannot use is one line from the
    Tagger, before any item is tagged.
    """
    opts: dict[str, object] = {}
    if config is not None:
        src = config.model_dump() if isinstance(config, EvalConfig) else dict(config)
        opts |= {k: src[k] for k in CONFIG_TAGGER_KEYS if src.get(k) is not None}
    opts |= {k: v for k, v in overrides.items() if v is not None}
    model = opts.pop("model", None)
    return Tagger(model, **opts)  # type: ignore[arg-type]


def prompt_ref(prompt: str | Path | None) -> str | None:
    """What identifies a prompt in a run's fingerprint: its version (`id#hash`) when motai
    can load it, else the sha256 of the file, else the name as given."""
    if prompt is None:
        return None
    try:
        from motai.prompts import load_prompt

        return load_prompt(prompt).version
    except Exception:  # no prompt module yet, or an unknown name: the Tagger will say
        path = Path(prompt)
        return f"{path.name}#{sha256_file(path)[:12]}" if path.is_file() else str(prompt)


def run_eval(
    dataset: str | Path,
    out_dir: str | Path,
    *,
    model: str = "local",
    taxonomy: str | Path | Taxonomy | None = None,
    exemplars: str | Path | None = None,
    store_path: str | Path | None = None,
    chroma_url: str | None = None,
    embedder: str | None = None,
    folds: int = 5,
    tagger: Tagger | None = None,
    name: str | None = None,
    progress: bool = False,
    base_url: str | None = None,
    prompt: str | None = None,
    fresh: bool = False,
    concurrency: int | None = None,
    rpm: float | None = None,
    redact: bool | None = None,
    cache: bool | None = None,
) -> RunOutcome:
    """Evaluate `model` on the labelled `dataset`; write the run folder `out_dir`.

    `tagger` reuses an existing Tagger (its taxonomy and store win over the other options).
    Run again into the same folder after an interruption, it resumes: predictions already
    in `predictions.jsonl` for the same configuration (`run.json`) are kept, and on the
    cross-validated path a fold whose items are all there is not fitted again.
    `fresh=True` discards them. `concurrency`, `rpm`, `redact` and `cache` go to the Tagger of
    an LLM model (None: its defaults); when the tagger has a token and cost ledger, its
    summary for this session is recorded as `metrics["usage"]`.
    """
    dataset = Path(dataset)
    if tagger is not None:
        tax = tagger.taxonomy
        model = tagger.model
        exemplars = tagger.options.exemplars
        embedder = tagger.options.embedder  # type: ignore[assignment]
    else:
        tax = taxonomy if isinstance(taxonomy, Taxonomy) else load_taxonomy(taxonomy)
    items = list(load_labelled(dataset, tax))
    ids = [i.id for i in items]
    if len(set(ids)) != len(ids):
        dup = next(x for x in ids if ids.count(x) > 1)
        raise MotaiError(f"{dataset}: item ids must be unique (runs match items by id): {dup!r}")
    model_dir = local_model_path(model)
    local = model_dir is not None
    if local:
        check_local_options(
            ClassifierOptions(base_url=base_url, prompt=prompt, redact=redact, rpm=rpm)
        )
    dataset_sha = sha256_file(dataset)
    manifest = read_manifest(model_dir) if model_dir is not None else {}
    trained_on = manifest.get("data") or []
    cross_validated = any(d.get("sha256") == dataset_sha for d in trained_on)
    always = _other_training_items(dataset, dataset_sha, trained_on, tax) if cross_validated else []
    prompt_version = prompt_ref(prompt)
    fingerprint = {
        "dataset_sha256": dataset_sha,
        "taxonomy_hash": tax.hash,
        "exemplars_sha256": sha256_file(exemplars_path(exemplars)) if not local else None,
        "model_sha256": manifest.get("weights_sha256"),
        "embedder": str(embedder) if embedder is not None else None,
        "model": model,
        "base_url": base_url,
        "prompt": prompt_version,
        "cross_validated": cross_validated,
        "folds": folds if cross_validated else None,
        "motai_version": __version__,
    }
    if redact:  # what is sent differs, so do the predictions (absent: older runs resume)
        fingerprint["redact"] = True
    out = Path(out_dir)
    kept = resume.begin(out, fingerprint, ids, fresh=fresh)
    rows: dict[str, dict] = dict(kept)
    bar = _bar(len(items), progress, initial=len(kept), cv=cross_validated)
    todo = [i for i in items if i.id not in rows]
    try:
        with resume.RowLog(out / resume.PREDICTIONS) as log:
            if cross_validated and todo:
                # The model saw this dataset: each fold is predicted by a model retrained
                # without it (the model's other training data always in).
                fold_iter = iter_folds(
                    items, tax, folds=folds, always=always, skip=rows.keys(), embedder=embedder
                )
                for k, idx, fold_results, secs in fold_iter:
                    for i, r in zip(idx, fold_results, strict=True):
                        rows[items[i].id] = prediction_row(items[i], r, secs / len(idx))
                        log.write(rows[items[i].id])
                    if bar:
                        bar(len(idx), f"fold {k + 1}/{folds}")
            elif todo:
                tagger = tagger or make_tagger(
                    None,
                    model=model,
                    taxonomy=tax,
                    exemplars=exemplars,
                    embedder=embedder,
                    store_path=store_path,
                    chroma_url=chroma_url,
                    base_url=base_url,
                    prompt=prompt,
                    concurrency=None if local else concurrency,
                    rpm=rpm,
                    redact=redact or None,
                    cache=None if local else cache,
                )
                _ = getattr(tagger, "classifier", None)  # load and fit before the clock starts
                for item, r, secs in _tag_timed(tagger, todo):
                    rows[item.id] = prediction_row(item, r, secs)
                    log.write(rows[item.id])
                    if bar:
                        bar(1)
    finally:
        if bar:
            bar(0, None, close=True)
    results = [TagResult.model_validate(rows[i]["predicted"]) for i in ids]
    latencies = [rows[i]["latency_ms"] / 1000 for i in ids]
    metrics = compute_metrics(items, results, tax)
    metrics["name"] = name or dataset.stem
    metrics["cross_validated"] = cross_validated
    metrics["folds"] = folds if cross_validated else None
    metrics["resumed"] = len(kept)
    metrics["latency"] = {
        "total_s": round(sum(latencies), 3),
        "mean_ms_per_item": round(1000 * sum(latencies) / len(items), 2) if items else 0.0,
        "p95_ms_per_item": round(1000 * quantile(latencies, 0.95), 2),
        "measured": "wall time per fold (fitting included) / its items"
        if cross_validated
        else "wall time per batch / its items",
    }
    ledger = getattr(tagger, "ledger", None) if tagger is not None else None
    if ledger is not None and hasattr(ledger, "summary"):
        # This session's requests only: predictions kept from an interrupted run cost
        # nothing now.
        metrics["usage"] = dict(ledger.summary())
    metrics["provenance"] = {
        "git_commit": git_commit(),
        "taxonomy": tax.ref,
        "taxonomy_hash": tax.hash,
        "dataset": str(dataset),
        "dataset_sha256": dataset_sha,
        "exemplars_sha256": fingerprint["exemplars_sha256"],
        "model": model,
        "base_url": base_url,
        "classifier": next((r.model for r in results if r.model), None),
        "prompt_hash": next((r.prompt_version for r in results if r.prompt_version), None)
        or prompt_version,
        "motai_version": __version__,
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    resume.write_rows(out / resume.PREDICTIONS, [rows[i] for i in ids])
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    (out / "report.md").write_text(render_report(metrics, items, results), encoding="utf-8")
    (out / "report.html").write_text(render_run_html(metrics, items, results), encoding="utf-8")
    resume.finish(out)
    return RunOutcome(out, metrics, cross_validated)


def _bar(total: int, show: bool, initial: int = 0, cv: bool = False) -> Callable[..., None] | None:
    """A tqdm bar on stderr, per item (or per fold when cross-validating), or None."""
    if not show:
        return None
    from tqdm import tqdm

    bar = tqdm(
        total=total,
        initial=initial,
        desc="cross-validating" if cv else "evaluating",
        unit="text",
        file=sys.stderr,
        dynamic_ncols=True,
    )

    def update(n: int, note: str | None = None, close: bool = False) -> None:
        if n:
            bar.update(n)
        if note:
            bar.set_postfix_str(note)
        if close:
            bar.close()

    return update


def _tag_timed(
    tagger: Tagger, items: Sequence[LabelledItem]
) -> Iterator[tuple[LabelledItem, TagResult, float]]:
    """Each item with its result and its share of its batch's wall time, batch by batch."""
    size = getattr(tagger, "batch_size", 32)
    for start in range(0, len(items), size):
        chunk = items[start : start + size]
        t0 = time.perf_counter()
        done = list(tagger.tag_many([TextItem(id=i.id, text=i.text, kind=i.kind) for i in chunk]))
        per = (time.perf_counter() - t0) / len(chunk)
        for item, r in zip(chunk, done, strict=True):
            yield item, r, per
