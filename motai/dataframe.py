"""Tag a pandas DataFrame: the frame comes back with motai's columns beside its own.

pandas is an optional extra (`pip install "motai[pandas]"`): it is imported only here,
and only when a frame is tagged.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from motai.errors import InputError, MotaiError
from motai.models import TagResult, TextItem

if TYPE_CHECKING:
    import pandas as pd

    from motai.tagger import Tagger

# The result fields a frame gets, in this order (`id` is the frame's own id or index).
COLUMNS = (
    "kind",
    "stage",
    "valence",
    "confidence",
    "moments",
    "language",
    "provider",
    "model",
    "prompt_version",
    "taxonomy_version",
    "error",
)
_WHERE = "DataFrame"


def _pandas() -> Any:
    try:
        import pandas
    except ModuleNotFoundError:
        raise MotaiError('tagging a DataFrame needs pandas: pip install "motai[pandas]"') from None
    return pandas


def tag_dataframe(
    tagger: Tagger,
    df: pd.DataFrame,
    *,
    text_column: str = "text",
    id_column: str | None = None,
    kind: str | None = None,
    prefix: str = "",
) -> pd.DataFrame:
    """A copy of `df` with motai's columns (`prefix` + stage, valence, ...) added.

    Ids come from `id_column`, else the index. `moments` holds a list of dicts per row
    (`df.explode(prefix + "moments")` gives one row per moment). A row with an empty or
    missing text gets `error` set, like a file's row; its labels are empty.
    """
    pd = _pandas()
    if not isinstance(df, pd.DataFrame):
        raise MotaiError(f"tag_dataframe needs a pandas DataFrame, not {type(df).__name__}")
    for option, name in (("text_column", text_column), ("id_column", id_column)):
        if name is not None and name not in df.columns:
            columns = ", ".join(map(str, df.columns))
            raise InputError(f"no {option} {name!r} (columns: {columns})", file=_WHERE)
    names = [prefix + c for c in COLUMNS]
    clash = [n for n in names if n in df.columns]
    if clash:
        raise InputError(
            f"the frame already has a column {clash[0]!r}: pass prefix='motai_' to tag_dataframe",
            file=_WHERE,
        )
    ids = df[id_column] if id_column is not None else df.index.to_series()
    results = list(tagger.tag_many(_items(df[text_column], ids, kind, text_column)))
    out = df.copy()
    for column, name in zip(COLUMNS, names, strict=True):
        out[name] = [_value(r, column) for r in results]
    return out


def _items(texts: Any, ids: Any, kind: str | None, field: str) -> Iterator[TextItem]:
    """One TextItem a row; a missing (NaN, None) text is an error row naming its row."""
    pd = _pandas()
    for n, (text, id_) in enumerate(zip(texts, ids, strict=True), start=1):
        text = "" if pd.isna(text) else str(text)
        item = TextItem(id=str(id_), text=text, kind=kind, row=n, file=_WHERE)  # type: ignore[arg-type]
        if not item.text.strip():
            item.error = str(InputError("empty text", file=_WHERE, row=n, field=field))
        yield item


def _value(result: TagResult, column: str) -> object:
    if column == "moments":
        return [m.model_dump() for m in result.moments]
    return getattr(result, column)
