"""`motai report`: a thin click layer over `motai.report.build_report`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from motai.cli.options import UsageError, taxonomy_option
from motai.errors import InputError, MotaiError
from motai.report import PERIODS

FORMATS = ("html", "csv", "json")


def _format(output: str, fmt: str | None) -> str:
    if fmt is not None:
        return fmt
    suffix = Path(output).suffix.lower()
    if output == "-" or suffix == ".json":
        return "json"
    return "csv" if suffix in ("", ".csv") else "html"


@click.command("report")
@click.argument("tagged", nargs=-1, required=True, metavar="TAGGED...")
@click.option(
    "-o",
    "--output",
    default="report.html",
    show_default=True,
    metavar="FILE|DIR",
    help="The HTML page, the JSON file (`-` for stdout) or the folder of CSVs.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    help="html, csv (one file per table in a folder) or json. Default: from -o.",
)
@click.option(
    "--by",
    metavar="COLUMN",
    help="Segment by a kept input column (product, channel, source, rating...).",
)
@click.option(
    "--period", type=click.Choice(PERIODS), help="Trends per ISO week or month of the date column."
)
@click.option(
    "--date-column",
    default="date",
    show_default=True,
    metavar="COLUMN",
    help="The date column for --period (ISO dates or date-times).",
)
@click.option(
    "--compare",
    metavar="A,B",
    help="Two periods or two --by values side by side. Default: the last two "
    "periods, else the two largest segments.",
)
@click.option(
    "--quotes",
    default=3,
    show_default=True,
    type=click.IntRange(0, 50),
    help="Quotes kept per stage x valence cell.",
)
@click.option(
    "--low-confidence",
    default=0.5,
    show_default=True,
    type=click.FloatRange(0, 1),
    help="Rows under this confidence are counted as low confidence.",
)
@taxonomy_option
def report(
    tagged: tuple[str, ...],
    output: str,
    fmt: str | None,
    by: str | None,
    period: str | None,
    date_column: str,
    compare: str | None,
    quotes: int,
    low_confidence: float,
    taxonomy_src: str | None,
) -> None:
    """Aggregate motai's tagged output (JSONL or CSV) into a journey report.

    \b
    motai tag feed.csv -o tagged.csv                       # tagging keeps the input columns
    motai report tagged.csv -o report.html                 # one self-contained page
    motai report tagged.csv --by product --period month -o report.html
    motai report tagged.csv --by channel --compare web,app -o report.html
    motai report tagged.csv --period week --format json -o -    # the aggregates as JSON
    motai report a.jsonl b.csv --by product --format csv -o report/  # one CSV per table

    The page shows the journey (stage x valence of every moment, with 95% intervals),
    pain hot-spots ranked by count and share with the change against the previous period,
    the most confident quotes per cell, trends, a side-by-side of two periods or segments,
    conversation timelines for transcripts, and the rows with errors or low confidence.
    Exit status 2 on a bad file, column or option.
    """
    from motai.report.api import build_report

    pair = None
    if compare is not None:
        parts = [p.strip() for p in compare.split(",")]
        if len(parts) != 2 or not all(parts):
            raise UsageError(f"--compare wants two values, A,B: {compare!r}")
        pair = (parts[0], parts[1])
    out_fmt = _format(output, fmt)
    if out_fmt == "csv" and Path(output).suffix.lower() == ".csv":
        raise UsageError(f"--format csv writes a folder, one CSV per table: -o {output} is a file")
    if output == "-" and out_fmt != "json":
        raise UsageError("-o - (stdout) is for --format json")
    if output != "-" and Path(output).resolve() in {Path(t).resolve() for t in tagged}:
        raise UsageError(f"-o {output} is one of the inputs")
    try:
        rep = build_report(tagged, by=by, period=period, date_column=date_column,
                           compare=pair, quotes=quotes, low_confidence=low_confidence,
                           taxonomy=taxonomy_src)  # fmt: skip
    except (InputError, MotaiError) as exc:
        raise UsageError(str(exc)) from None
    if out_fmt == "json":
        text = rep.to_json() + "\n"
        if output == "-":
            sys.stdout.write(text)
            return
        _write(Path(output), text)
    elif out_fmt == "csv":
        rep.write_csv(output)
    else:
        _write(Path(output), rep.to_html())
    rows, moments = rep.agg.rows, sum(rep.stage_totals.values())
    click.echo(f"report of {rows} row(s), {moments} moment(s) -> {output}", err=True)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
