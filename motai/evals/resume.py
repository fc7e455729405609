"""Resuming an interrupted `motai eval run` in the same run folder.

At its start a run writes `run.json` with the fingerprint of everything that decides its
predictions (dataset, taxonomy, exemplars, model, endpoint, prompt, folds, motai
version), then appends each prediction to `predictions.jsonl` as soon as it is made, one
flushed line at a time. Run again into the same folder, it keeps the predictions already
there when the fingerprint matches and tags only the rest; a last line cut short by the
interruption is dropped. A folder holding another run's predictions is an error (never
silently overwritten); `fresh=True` (`--fresh`) starts over.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import IO

from pydantic import ValidationError

from motai.errors import MotaiError
from motai.models import TagResult

RUN_FILE = "run.json"
PREDICTIONS = "predictions.jsonl"
FORMAT = 1


def fingerprint_hash(fingerprint: Mapping[str, object]) -> str:
    blob = json.dumps(fingerprint, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def read_rows(path: Path, ids: Collection[str] | None = None) -> dict[str, dict]:
    """Prediction rows of `path` by id. A last line without a newline (a write cut short)
    is dropped; rows of ids not in `ids` are dropped; any other bad line is an error."""
    rows: dict[str, dict] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return rows
    except (OSError, UnicodeDecodeError) as exc:
        raise MotaiError(f"{path}: cannot read to resume: {exc}") from None
    lines = text.split("\n")
    complete, _partial = lines[:-1], lines[-1]  # the text after the last newline
    for n, line in enumerate(complete, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            TagResult.model_validate(row["predicted"])
            row_id = str(row["id"])
        except (json.JSONDecodeError, KeyError, TypeError, ValidationError) as exc:
            raise MotaiError(
                f"{path}: line {n}: not a prediction row ({type(exc).__name__}); "
                "rerun with --fresh to start the run over"
            ) from None
        if ids is None or row_id in ids:
            rows[row_id] = row
    return rows


def begin(
    run_dir: Path,
    fingerprint: Mapping[str, object],
    ids: Collection[str],
    *,
    fresh: bool = False,
) -> dict[str, dict]:
    """Start or resume the run in `run_dir`; return the prediction rows kept, by id.

    Raises MotaiError when the folder holds predictions of a run with another fingerprint
    (or with no `run.json` to tell), unless `fresh`.
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    preds, meta_file = run_dir / PREDICTIONS, run_dir / RUN_FILE
    fp = dict(fingerprint)
    kept: dict[str, dict] = {}
    meta: dict = {}
    has_preds = preds.is_file() and preds.stat().st_size > 0
    if has_preds and not fresh:
        try:
            meta = json.loads(meta_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise MotaiError(
                f"{run_dir}: has predictions.jsonl but no {RUN_FILE} to match them to this "
                "run; use --fresh to overwrite them, or another output folder"
            ) from None
        except (OSError, json.JSONDecodeError) as exc:
            raise MotaiError(f"{meta_file}: cannot read: {exc}; use --fresh") from None
        old = meta.get("fingerprint", {})
        changed = [k for k in sorted({*fp, *old}) if old.get(k) != fp.get(k)]
        if changed:
            detail = "; ".join(f"{k}: {old.get(k)!r} -> {fp.get(k)!r}" for k in changed[:4])
            raise MotaiError(
                f"{run_dir}: holds predictions of another run ({detail}); use --fresh to "
                "overwrite them, or another output folder"
            )
        kept = read_rows(preds, set(ids))
    meta = {
        "format": FORMAT,
        "fingerprint": fp,
        "fingerprint_sha256": fingerprint_hash(fp),
        "started": meta.get("started") if kept else _now(),
        "resumed": _now() if kept else None,
        "kept_predictions": len(kept),
        "status": "running",
        "finished": None,
    }
    _write_atomic(meta_file, json.dumps(meta, indent=2) + "\n")
    # Keep only the good rows: this also drops a partial last line before appending.
    _write_atomic(preds, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in kept.values()))
    return kept


def finish(run_dir: Path) -> None:
    """Mark the run in `run_dir` complete."""
    meta_file = run_dir / RUN_FILE
    meta = json.loads(meta_file.read_text(encoding="utf-8"))
    meta |= {"status": "complete", "finished": _now()}
    _write_atomic(meta_file, json.dumps(meta, indent=2) + "\n")


def write_rows(path: Path, rows: list[dict]) -> None:
    """Replace `path` with `rows`, atomically (the final, dataset-ordered file)."""
    _write_atomic(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


class RowLog:
    """Appends prediction rows to `predictions.jsonl`, one flushed line each."""

    def __init__(self, path: Path) -> None:
        self._fh: IO[str] = open(path, "a", encoding="utf-8")  # noqa: SIM115

    def write(self, row: dict) -> None:
        self._fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        self._fh.flush()

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> RowLog:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
