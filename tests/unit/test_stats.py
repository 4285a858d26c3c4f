"""The stats snapshot's Prometheus rendering parses with the reference parser and says what it means."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from jobcore.metrics import InMemoryMetrics, Metric
from jobcore.ports import QueueDepth
from jobcore.stats import RuntimeStats, prometheus_text

STATS = RuntimeStats(
    queues={"jobs": QueueDepth("jobs", 3, 2, 1), "dead_letter": QueueDepth("jobs-dlq", 1, 0, 0),
            "archive": QueueDepth("jobs-dlq-archive", 4, 0, 0)},
    jobs={"PENDING": 4, "RUNNING": 2, "SUCCEEDED": 10, "FAILED": 1, "CANCELLED": 0},
)


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_queue_depth_and_jobs_per_status_are_gauges() -> None:
    text = prometheus_text(STATS)
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert families["appsync_jobs_queue_messages"].type == "gauge"
    assert families["appsync_jobs_jobs"].type == "gauge"
    found = samples(text)
    assert found[("appsync_jobs_queue_messages", (("name", "jobs"), ("queue", "jobs"), ("state", "visible")))] == 3
    assert found[("appsync_jobs_queue_messages", (("name", "jobs"), ("queue", "jobs"), ("state", "in_flight")))] == 2
    assert found[("appsync_jobs_queue_messages", (("name", "jobs"), ("queue", "jobs"), ("state", "delayed")))] == 1
    assert found[("appsync_jobs_queue_messages", (("name", "jobs-dlq"), ("queue", "dead_letter"), ("state", "visible")))] == 1
    assert found[("appsync_jobs_queue_messages", (("name", "jobs-dlq-archive"), ("queue", "archive"), ("state", "visible")))] == 4
    assert found[("appsync_jobs_jobs", (("status", "SUCCEEDED"),))] == 10
    assert text.count("# TYPE ") == text.count("# HELP ") == 2


def test_this_processes_counters_and_durations_are_counters_and_summaries() -> None:
    counters = InMemoryMetrics()
    counters.count(Metric.JOBS_SUBMITTED, 5)
    counters.count(Metric.FAILED_RECORDS, 2)
    counters.duration_ms(Metric.QUEUE_WAIT_MS, 12.5, task_type="sleep")
    counters.duration_ms(Metric.QUEUE_WAIT_MS, 7.5, task_type="sleep")
    counters.duration_ms(Metric.RUN_DURATION_MS, 3000, task_type='we"ird\\type')
    text = prometheus_text(STATS, counters)
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert families["appsync_jobs_jobs_submitted"].type == "counter"
    assert families["appsync_jobs_queue_wait_milliseconds"].type == "summary"
    found = samples(text)
    assert found[("appsync_jobs_jobs_submitted_total", ())] == 5
    assert found[("appsync_jobs_failed_records_total", ())] == 2
    assert found[("appsync_jobs_jobs_dead_lettered_total", ())] == 0  # every counter is present from the start
    assert found[("appsync_jobs_queue_wait_milliseconds_sum", (("task_type", "sleep"),))] == 20
    assert found[("appsync_jobs_queue_wait_milliseconds_count", (("task_type", "sleep"),))] == 2
    assert found[("appsync_jobs_run_duration_milliseconds_count", (("task_type", 'we"ird\\type'),))] == 1


def test_the_json_form_names_each_queue_and_count() -> None:
    assert STATS.to_json() == {
        "queues": {
            "jobs": {"name": "jobs", "visible": 3, "inFlight": 2, "delayed": 1},
            "dead_letter": {"name": "jobs-dlq", "visible": 1, "inFlight": 0, "delayed": 0},
            "archive": {"name": "jobs-dlq-archive", "visible": 4, "inFlight": 0, "delayed": 0},
        },
        "jobs": {"PENDING": 4, "RUNNING": 2, "SUCCEEDED": 10, "FAILED": 1, "CANCELLED": 0},
    }
