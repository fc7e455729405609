"""The journey report: motai's tagged output aggregated into tables, an HTML page, CSV,
JSON or pandas DataFrames (`build_report(paths, by=..., period=...)`).

Importing this package needs neither pandas nor matplotlib: DataFrames and plots are
made only when asked for.
"""

from motai.report.api import TABLES, Report, build_report

__all__ = ["TABLES", "Report", "build_report"]
