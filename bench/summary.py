"""Print the figures the benches recorded (JSON lines, see bench/_figures.py) as one table.

Usage: .venv/bin/python bench/summary.py FIGURES_FILE
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def _value(value: float | int | str) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def table(lines: list[dict]) -> str:
    rows = [(f["bench"], f["figure"], _value(f["value"]), f.get("unit", "")) for f in lines]
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(HEADER)]
    out = ["  ".join(h.ljust(w) for h, w in zip(HEADER, widths, strict=True)).rstrip()]
    out.append("  ".join("-" * w for w in widths))
    for bench, figure, value, unit in rows:
        out.append(
            f"{bench.ljust(widths[0])}  {figure.ljust(widths[1])}  "
            f"{value.rjust(widths[2])}  {unit}".rstrip()
        )
    return "\n".join(out)


HEADER = ("bench", "figure", "value", "unit")


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else None
    if path is None or not path.exists() or not path.read_text().strip():
        print("no figures were recorded")
        return
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    print("\n== bench figures ==")
    print(table(lines))


if __name__ == "__main__":
    main()
