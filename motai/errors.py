"""Errors a user can act on. Each renders as one line naming where the problem is."""

from __future__ import annotations

# Exit statuses every command keeps, so a script can tell what happened.
EXIT_OK = 0  # everything done
EXIT_FAILED = 1  # rows failed (over --max-errors) or the run stopped on an error
EXIT_USAGE = 2  # a bad option, file or output the run refused before any work
EXIT_GATE = 3  # an eval gate failed: a threshold, a class floor or a significant regression


class MotaiError(Exception):
    """Base of every error motai raises on purpose."""


class TaxonomyError(MotaiError):
    """A taxonomy file is missing, unreadable or has a bad key."""


class InputError(MotaiError):
    """A row or file of input cannot be read. Names the file, row and field."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        field: str | None = None,
    ) -> None:
        self.file, self.row, self.field, self.reason = file, row, field, message
        where = [p for p in (file, f"row {row}" if row is not None else None) if p]
        if field:
            where.append(f"field {field!r}")
        super().__init__(f"{': '.join([', '.join(where), message]) if where else message}")


class StoreError(MotaiError):
    """The knowledge store (chroma) cannot be opened or queried."""


class EmbedderError(MotaiError):
    """The embedder cannot be loaded or fails on a batch."""


def validation_message(where: str, exc: object, loc: list[object] | None = None) -> str:
    """One line for the first error of a pydantic ValidationError: `where: key.path: what`.

    `loc` replaces the error's own location (e.g. to show a stage id instead of an index).
    """
    err = exc.errors()[0]  # type: ignore[attr-defined]
    key = ".".join(str(p) for p in (err["loc"] if loc is None else loc)) or "(top level)"
    msg = {"missing": "missing required key", "extra_forbidden": "unknown key"}.get(
        err["type"], err["msg"]
    )
    return f"{where}: {key}: {msg}"
