"""The journey report: motai's tagged output aggregated into tables, an HTML page, CSV,
JSON or pandas DataFrames (`build_report(paths, by=..., period=...)`).

Importing this package needs neither pandas nor matplotlib: DataFrames and plots are
made only when asked for; its names load on first use, so `motai --help` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from motai.lazy import lazy_exports

PERIODS = ("week", "month")  # trend periods of a date column (here so the CLI loads light)

_EXPORTS = {name: "motai.report.api" for name in ("TABLES", "Report", "build_report")}

__all__ = ["PERIODS", "TABLES", "Report", "build_report"]

__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)

if TYPE_CHECKING:
    from motai.report.api import TABLES, Report, build_report
