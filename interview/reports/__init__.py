"""Scores and reports: aggregation (pure), PDF and CSV rendering."""
