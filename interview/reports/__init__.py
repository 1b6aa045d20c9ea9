"""Scores and reports: aggregation (pure), PDF and CSV rendering."""

from . import erasure  # noqa: F401 (registers the reports' part of a candidate's data)
