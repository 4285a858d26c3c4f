"""Percentiles and the median-of-repeats rule every figure in the report follows."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from typing import Any


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of an already sorted, non-empty sequence."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return float(sorted_values[min(rank, len(sorted_values)) - 1])


def summarize(samples: Iterable[float]) -> dict[str, float]:
    """p50/p90/p99/max/mean of one repeat's samples (milliseconds in, milliseconds out)."""
    values = sorted(samples)
    if not values:
        return {"n": 0, "p50": math.nan, "p90": math.nan, "p99": math.nan, "max": math.nan, "mean": math.nan}
    return {
        "n": len(values),
        "p50": percentile(values, 50),
        "p90": percentile(values, 90),
        "p99": percentile(values, 99),
        "max": values[-1],
        "mean": statistics.fmean(values),
    }


def median_of(repeats: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Each numeric key's median across repeats, plus ``repeats`` and the p50 spread (min..max)."""
    if not repeats:
        return {}
    out: dict[str, Any] = {}
    for key in repeats[0]:
        values = [r[key] for r in repeats if isinstance(r.get(key), (int, float)) and not isinstance(r.get(key), bool)]
        if len(values) == len(repeats):
            finite = [v for v in values if not math.isnan(v)]
            middle = statistics.median(finite) if finite else math.nan
            # Counts stay counts: the median of [2000, 2000] is 2000, not 2000.0.
            if all(isinstance(v, int) for v in values) and float(middle).is_integer():
                middle = int(middle)
            out[key] = middle
        else:
            out[key] = repeats[-1].get(key)
    out["repeats"] = len(repeats)
    if all("p50" in r for r in repeats):
        out["p50_spread"] = [min(r["p50"] for r in repeats), max(r["p50"] for r in repeats)]
    return out


def ratio(ours: float | None, theirs: float | None) -> float | None:
    """ours / theirs, or None when either side is missing."""
    if ours is None or theirs is None or not theirs or math.isnan(ours) or math.isnan(theirs):
        return None
    return ours / theirs


def rounded(value: Any, digits: int = 3) -> Any:
    """Round floats recursively for the JSON summary (NaN becomes None)."""
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, digits)
    if isinstance(value, dict):
        return {k: rounded(v, digits) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [rounded(v, digits) for v in value]
    return value
