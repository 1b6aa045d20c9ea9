"""The figures every bench hands to `make bench`'s summary table.

A bench calls ``record(bench, figure, value, unit)`` for each key figure it prints. When the
environment variable BENCH_FIGURES names a file (``make bench`` sets it), the figure is
appended to it as one JSON line; ``bench/summary.py`` prints them all as one table.
"""

from __future__ import annotations

import json
import os


def record(bench: str, figure: str, value: float | int | str, unit: str = "") -> None:
    path = os.environ.get("BENCH_FIGURES")
    if not path:
        return
    line = {"bench": bench, "figure": figure, "value": value, "unit": unit}
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(line) + "\n")
