"""A snapshot of the runtime's queues and jobs, and its two renderings: JSON (``appsync-jobs stats
--json``) and the Prometheus text exposition format (the local server's ``/metrics``).

The snapshot is what an operator checks first - is work piling up, is anything dead-lettered - and
the same figures in both runtimes: SQS's ``ApproximateNumberOfMessages{,NotVisible,Delayed}`` per
queue (the local SQLite queue counts them the same way) and jobs per status. Collection lives in
``jobcore.adapters.stats``; this module is stdlib-only data and formatting.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from jobcore.metrics import DURATIONS, InMemoryMetrics, Metric
from jobcore.ports import QueueDepth

PREFIX = "appsync_jobs"


@dataclass(frozen=True, slots=True)
class RuntimeStats:
    #: Role -> depth: ``jobs``, ``long``, ``dead_letter``, ``archive`` (the roles are the same in both runtimes).
    queues: Mapping[str, QueueDepth]
    #: Status -> count. Locally every status; in AWS only PENDING and RUNNING (from the stuck index).
    jobs: Mapping[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "queues": {
                role: {"name": d.queue, "visible": d.visible, "inFlight": d.in_flight, "delayed": d.delayed}
                for role, d in self.queues.items()
            },
            "jobs": dict(self.jobs),
        }


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    if math.isfinite(value) and value == int(value):
        return str(int(value))
    return repr(float(value))


def prometheus_text(stats: RuntimeStats, counters: InMemoryMetrics | None = None) -> str:
    """The Prometheus text exposition format (version 0.0.4): gauges for the snapshot, counters and
    summaries (``_sum``/``_count``) for what this process recorded since it started."""
    lines: list[str] = []

    def family(name: str, kind: str, help_text: str, samples: list[tuple[dict[str, str], float]]) -> None:
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            rendered = ",".join(f'{key}="{_label(val)}"' for key, val in labels.items())
            lines.append(f"{name}{{{rendered}}} {_number(value)}" if rendered else f"{name} {_number(value)}")

    queue_samples: list[tuple[dict[str, str], float]] = []
    for role, depth in stats.queues.items():
        for state, value in (("visible", depth.visible), ("in_flight", depth.in_flight), ("delayed", depth.delayed)):
            queue_samples.append(({"queue": role, "name": depth.queue, "state": state}, value))
    family(f"{PREFIX}_queue_messages", "gauge",
           "Messages per queue and state (SQS ApproximateNumberOfMessages, ...NotVisible, ...Delayed).", queue_samples)
    family(f"{PREFIX}_jobs", "gauge", "Jobs per status in the store.",
           [({"status": status}, count) for status, count in sorted(stats.jobs.items())])
    if counters is not None:
        for metric, value in counters.counts().items():
            name = f"{PREFIX}_{_snake(metric.value)}_total"
            family(name, "counter", f"{metric.value} recorded by this process since it started.", [({}, value)])
        durations = counters.durations()
        for metric in DURATIONS:
            name = f"{PREFIX}_{_snake(metric.value.removesuffix('Ms'))}_milliseconds"
            samples = _summary_samples(metric, durations)
            lines.append(f"# HELP {name} {metric.value} per task type, recorded by this process since it started.")
            lines.append(f"# TYPE {name} summary")
            for suffix, summary_labels, summary_value in samples:
                rendered = ",".join(f'{key}="{_label(val)}"' for key, val in summary_labels.items())
                lines.append(f"{name}{suffix}{{{rendered}}} {_number(summary_value)}")
    return "\n".join(lines) + "\n"


def _summary_samples(metric: Metric, durations: Mapping[tuple[Metric, str], Any]) -> list[tuple[str, dict[str, str], float]]:
    samples: list[tuple[str, dict[str, str], float]] = []
    for (name, task_type), summary in sorted(durations.items()):
        if name is metric:
            samples.append(("_sum", {"task_type": task_type}, summary.sum_ms))
            samples.append(("_count", {"task_type": task_type}, summary.count))
    return samples
