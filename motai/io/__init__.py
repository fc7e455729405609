"""Input and output: stream texts in from CSV/TSV/JSONL/JSON/TXT, write tags out as JSONL/CSV."""

from motai.io.readers import detect_kind, read_items
from motai.io.writers import ResultWriter, iter_results, open_writer

__all__ = ["ResultWriter", "detect_kind", "iter_results", "open_writer", "read_items"]
