"""`motai eval`: accuracy of a tagger against labelled sets, runs side by side, a CI gate.

- `run.run_eval` tags a labelled set (cross-validated when it is the exemplar bank) and
  writes a run folder: `predictions.jsonl`, `metrics.json`, `report.md`.
- `compare.compare_runs` sets two run folders side by side with a paired bootstrap and
  McNemar's test; `compare.gate` says whether B may replace A.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from motai.lazy import lazy_exports

_EXPORTS = {
    "Comparison": "motai.evals.compare",
    "compare_runs": "motai.evals.compare",
    "gate": "motai.evals.compare",
    "ConfigError": "motai.evals.config",
    "EvalConfig": "motai.evals.config",
    "Thresholds": "motai.evals.config",
    "load_config": "motai.evals.config",
    "RunOutcome": "motai.evals.run",
    "run_eval": "motai.evals.run",
}

__all__ = [
    "Comparison",
    "ConfigError",
    "EvalConfig",
    "RunOutcome",
    "Thresholds",
    "compare_runs",
    "gate",
    "load_config",
    "run_eval",
]

__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)

if TYPE_CHECKING:
    from motai.evals.compare import Comparison, compare_runs, gate
    from motai.evals.config import ConfigError, EvalConfig, Thresholds, load_config
    from motai.evals.run import RunOutcome, run_eval
