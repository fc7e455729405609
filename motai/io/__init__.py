"""Input and output: stream texts in from CSV/TSV/JSONL/JSON/TXT/XLSX, write tags out as
JSONL/CSV with the input passed through, and resume an interrupted output."""

from motai.io.readers import DEFAULT_MAX_CHARS, ItemStream, detect_kind, read_items
from motai.io.writers import (
    Passthrough,
    ResultWriter,
    iter_results,
    neutralise,
    open_writer,
    read_output,
)

__all__ = [
    "DEFAULT_MAX_CHARS",
    "ItemStream",
    "Passthrough",
    "ResultWriter",
    "detect_kind",
    "iter_results",
    "neutralise",
    "open_writer",
    "read_items",
    "read_output",
]
