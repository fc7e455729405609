"""What the commands share: errors as one line, and the option groups of `tag`, `label`,
`eval run` and `index` (defined once, so every command reads the same flags and env)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import click

from motai.errors import MotaiError

if TYPE_CHECKING:  # numpy and pydantic load only when a command needs them: --help is fast
    from motai.models import TextItem
    from motai.taxonomy import Taxonomy


_MAX_ROW_ERRORS_SHOWN = 5  # failed rows a run's summary names


def _fail(exc: MotaiError) -> click.ClickException:
    return click.ClickException(str(exc))


class UsageError(click.ClickException):
    """One line, `Error: ...`, with the usage-error status (2)."""

    exit_code = 2


def _check_encoding(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    from motai.io.sniff import check_encoding

    try:
        check_encoding(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    return value


def _names(value: str | None) -> list[str] | None:
    """`a, b,c` -> ['a', 'b', 'c'] (None stays None)."""
    if value is None:
        return None
    return [n.strip() for n in value.split(",") if n.strip()]


taxonomy_option = click.option(
    "--taxonomy",
    "taxonomy_src",
    metavar="NAME|FILE",
    help="Bundled taxonomy name or a YAML file. Default: moments-of-truth.",
)
store_options = [
    click.option(
        "--exemplars",
        metavar="FILE",
        help="Labelled JSONL exemplars. Default: the bundled dev set.",
    ),
    click.option(
        "--store",
        "store_path",
        metavar="DIR",
        help="Index folder. Default: $MOTAI_HOME/index or ~/.cache/motai/index.",
    ),
    click.option(
        "--chroma-url",
        metavar="URL",
        help="Use a chroma server, e.g. http://127.0.0.1:8000, instead of a folder.",
    ),
    click.option(
        "--embedder",
        metavar="ID",
        help="local:minilm (default, offline) or openai:text-embedding-3-small.",
    ),
]


llm_option_list = [
    click.option(
        "--base-url",
        metavar="URL",
        envvar="OPENAI_BASE_URL",
        help="OpenAI-compatible endpoint (vLLM, Ollama, llama.cpp, Azure), e.g. "
        "http://localhost:8000/v1. Default: $OPENAI_BASE_URL, else OpenAI. The key comes "
        "from $OPENAI_API_KEY (not needed by a local server).",
    ),
    click.option(
        "--prompt",
        "prompt_id",
        metavar="ID|FILE",
        help="Prompt template (default classify.v1); see `motai prompts list`.",
    ),
    click.option(
        "--concurrency",
        default=4,
        show_default=True,
        type=click.IntRange(1, 256),
        help="LLM requests in flight at once.",
    ),
    click.option(
        "--rpm",
        type=click.FloatRange(min=0, min_open=True),
        metavar="N",
        help="At most N LLM requests a minute (retries included), for an endpoint's quota. "
        "Default: no limit beyond --concurrency.",
    ),
    click.option(
        "--no-cache",
        is_flag=True,
        help="Send every request, even when the cache ($MOTAI_HOME/cache.sqlite) has it.",
    ),
    click.option(
        "--redact",
        is_flag=True,
        help="Replace emails, phones, card numbers, @handles and URLs with placeholders "
        "before anything is sent; evidence still points into the original text.",
    ),
]


def llm_options(f):
    for opt in reversed(llm_option_list):
        f = opt(f)
    return f


# How `read_items` reads the inputs: shared by `motai tag` and `motai label`.
input_option_list = [
    click.option(
        "--input-format",
        type=click.Choice(["csv", "tsv", "jsonl", "json", "txt", "xlsx"]),
        help="Input format when the extension does not say (stdin is jsonl).",
    ),
    click.option(
        "--text-column",
        metavar="NAME",
        help="Column or field holding the text. Default: text, body, content, message, review...",
    ),
    click.option(
        "--id-column",
        metavar="NAME",
        help="Column holding ids. Default: id, else FILE-ROW is generated.",
    ),
    click.option(
        "--kind",
        type=click.Choice(["review", "social", "transcript"]),
        help="Kind of every text. Default: a 'kind' column, else detected.",
    ),
]


# How a batch run shows itself: shared by `motai tag` and `motai label`.
run_option_list = [
    click.option("--batch-size", default=32, show_default=True, type=click.IntRange(1, 4096)),
    click.option(
        "--progress/--no-progress",
        default=None,
        help="Progress bar on stderr (default: when stderr is a terminal).",
    ),
    click.option("-q", "--quiet", is_flag=True, help="No progress bar and no summary."),
]


def run_options(f):
    for opt in reversed(run_option_list):
        f = opt(f)
    return f


def input_options(f):
    for opt in reversed(input_option_list):
        f = opt(f)
    return f


def with_store_options(f):
    for opt in reversed(store_options):
        f = opt(f)
    return taxonomy_option(f)


def _taxonomy(src: str | None) -> Taxonomy:
    from motai.taxonomy import load_taxonomy

    try:
        return load_taxonomy(src)
    except MotaiError as exc:
        raise _fail(exc) from None


def _llm_kwargs(
    model: str,
    base_url: str | None,
    prompt_id: str | None,
    concurrency: int,
    no_cache: bool,
    redact: bool,
    rpm: float | None = None,
) -> dict:
    """Tagger options from the LLM flags: what was given, and the run settings an LLM uses
    (a local model refuses the LLM-only ones itself, with one line). A local model ignores
    --base-url: it may come from $OPENAI_BASE_URL, set for other runs."""
    from motai.tagger import local_model_path

    local = local_model_path(model) is not None
    given = {"prompt": prompt_id, "redact": redact or None, "rpm": rpm}
    if not local:
        given |= {"base_url": base_url, "concurrency": concurrency, "cache": not no_cache}
    return {k: v for k, v in given.items() if v is not None}


def _format_estimate(est: dict) -> str:
    cost = est.get("cost_usd")
    money = "cost unknown (no price for this model)" if cost is None else f"about ${cost:.4f}"
    return (
        f"dry run, nothing sent: {est['texts']} text(s) for {est['model']} at "
        f"{est['endpoint']} with {est['prompt_version']}\n"
        f"  {est['cached']} answered by the cache, {est['requests']} request(s) to send\n"
        f"  about {est['prompt_tokens']} prompt + {est['completion_tokens']} completion "
        f"tokens (without retries or repairs); {money}"
    )


def _store(taxonomy_src, exemplars, store_path, chroma_url, embedder):
    from motai.store import KnowledgeStore

    return KnowledgeStore(
        _taxonomy(taxonomy_src),
        embedder=embedder,
        exemplars=exemplars,
        path=store_path,
        url=chroma_url,
    )


def _chain(first: TextItem, rest: Iterator[TextItem]) -> Iterator[TextItem]:
    yield first
    yield from rest
