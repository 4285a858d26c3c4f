"""The README's cost table adds up: its total and overhead are the sums of its own rows."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def _rows() -> dict[str, float]:
    text = README.read_text(encoding="utf-8")
    table = text[text.index("| Item | Per job | Per million jobs | Cost per million jobs |"):]
    rows: dict[str, float] = {}
    for line in table.splitlines()[2:]:
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        price = re.search(r"\$([\d,]+\.\d\d)", cells[-1])
        if price:
            rows[cells[0].strip("*")] = float(price.group(1).replace(",", ""))
    return rows


def test_the_total_is_the_sum_of_the_items() -> None:
    rows = _rows()
    total = rows.pop("Total")
    overhead = rows.pop("of which platform overhead (everything but worker compute)")
    items = sum(rows.values())
    worker = next(cost for name, cost in rows.items() if name.startswith("Lambda compute, worker"))
    assert abs(items - total) < 0.02, (items, total)
    assert abs((total - worker) - overhead) < 0.02, (total - worker, overhead)
