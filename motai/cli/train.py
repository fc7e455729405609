"""`motai train`: labelled JSONL in, a local model bundle out (see motai.train)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from motai.cli.options import _fail, _taxonomy, taxonomy_option
from motai.errors import MotaiError


@click.command("train", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("data", nargs=-1, required=True, metavar="DATA.jsonl...")
@click.option(
    "-o", "--output", required=True, metavar="MODEL_DIR", help="Folder to write the model to."
)
@click.option("--name", metavar="NAME", help="The model's name (default: the folder's name).")
@click.option(
    "--cv",
    "folds",
    default=5,
    show_default=True,
    type=click.IntRange(0, 20),
    help="Cross-validation folds for the metrics kept in the bundle (0 skips them: faster).",
)
@click.option("--embedder", metavar="ID", help="Sentence embedder (default local:minilm, offline).")
@click.option("--force", is_flag=True, help="Overwrite a folder that already holds a model.")
@taxonomy_option
def train(
    data: tuple[str, ...],
    output: str,
    name: str | None,
    folds: int,
    embedder: str | None,
    force: bool,
    taxonomy_src: str | None,
) -> None:
    """Train the offline local model on labelled texts (JSONL, one object per line:
    id, text, kind, stage, valence, moments with exact-evidence quotes; the format of
    `motai label` output and of evals/datasets/dev.jsonl).

    Writes MODEL_DIR with the weights, the taxonomy and its hash, the embedder id, the
    training data's hashes and sizes, cross-validated metrics and a MODEL_CARD.md. Tag
    with it: `motai tag FILE --model local:MODEL_DIR`, or `Tagger("local:MODEL_DIR")`.
    Nothing is downloaded; a model loads in about a second and is never refitted.

    \b
    Examples:
      motai train evals/datasets/dev.jsonl evals/datasets/silver.jsonl -o my-model
      motai label sample.csv -o labelled.jsonl --model openai:gpt-4o-mini
      motai train labelled.jsonl -o feed-model --taxonomy my-stages.yaml --cv 0
      motai tag feed.csv --model local:feed-model -o tagged.csv
    """
    from motai.train import train_bundle

    out = Path(output)
    if (out / "model.json").exists() and not force:
        raise click.UsageError(f"{out} already holds a model: pass --force to overwrite it")
    started = time.perf_counter()
    try:
        model = train_bundle(
            list(data),
            out,
            _taxonomy(taxonomy_src),
            name=name,
            folds=folds,
            embedder=embedder,
            progress=lambda msg: click.echo(f"motai train: {msg}", err=True),
        )
    except MotaiError as exc:
        raise _fail(exc) from None
    m = model.meta.get("metrics")
    took = time.perf_counter() - started
    click.echo(f"wrote {out} ({model.meta['n_texts']} texts, {took:.0f} s)")
    if m:
        keys = ("stage_accuracy", "stage_macro_f1", "valence_macro_f1", "moment_stage_macro_f1")
        click.echo(f"{m['folds']}-fold cross-validated: " + json.dumps({k: m[k] for k in keys}))
