"""Metrics are recorded where the decisions are made, in the shape CloudWatch EMF expects; the submit's
trace header reaches the worker's updateJob calls (issue 12)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

import worker.handler as handler
from devserver.queues.sqs_events import sqs_event as local_sqs_event
from jobcore import service
from jobcore.adapters.appsync_reporter import SigV4RequestsAuth
from jobcore.adapters.observability import PowertoolsMetrics, tracer
from jobcore.auth import API_KEY_CALLER
from jobcore.metrics import InMemoryMetrics, Metric
from jobcore.runner import RunnerConfig
from jobcore.service import Services
from jobcore.settings import Settings
from jobcore.tracing import current_trace_header, trace_context
from jobcore.wire import JobShape
from support.events import CONTEXT, sqs_event
from support.services import Clock, DirectReporter, sqlite_services
from worker.deps import WorkerDeps, configure
from worker.tasks import load_registry

TRACE = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"


class TracingReporter(DirectReporter):
    """Records the trace header each ``updateJob`` would carry (what ``AppSyncJobReporter`` sends)."""

    def __init__(self, services: Services) -> None:
        super().__init__(services)
        self.traces: list[str | None] = []

    def update(self, job_id: str, fields: dict[str, Any]) -> JobShape:
        self.traces.append(current_trace_header())
        return super().update(job_id, fields)


@pytest.fixture
def metrics() -> InMemoryMetrics:
    return InMemoryMetrics()


@pytest.fixture
def services(tmp_path: Path, metrics: InMemoryMetrics) -> Services:
    services = sqlite_services(tmp_path, load_registry(["support.tasks"]), Clock())
    services.metrics = metrics
    return services


@pytest.fixture
def reporter(services: Services, metrics: InMemoryMetrics) -> Iterator[TracingReporter]:
    reporter = TracingReporter(services)
    configure(WorkerDeps(
        reporter=reporter, registry=services.registry, settings=Settings(backend="local", region="us-east-1"),
        queue_for=lambda arn: services.queue, runner=RunnerConfig(lease_seconds=30), metrics=metrics,
    ))
    yield reporter
    import worker.deps

    worker.deps.reset()


class TestLifecycleMetrics:
    def test_a_submit_counts_once_an_idempotent_replay_does_not(self, services: Services, metrics: InMemoryMetrics) -> None:
        service.submit_job(services, API_KEY_CALLER, "echo", 1, idempotency_key="k")
        service.submit_job(services, API_KEY_CALLER, "echo", 1, idempotency_key="k")
        assert metrics.counts()[Metric.JOBS_SUBMITTED] == 1

    def test_claim_and_outcome_record_queue_wait_and_run_duration(self, services: Services, metrics: InMemoryMetrics) -> None:
        clock: Clock = services.clock  # type: ignore[assignment]
        job_id = service.submit_job(services, API_KEY_CALLER, "echo", 1).id
        clock.advance(1.5)
        DirectReporter(services).update(job_id, {"leaseToken": "t", "status": "RUNNING", "leaseSeconds": 30})
        clock.advance(0.25)
        DirectReporter(services).update(job_id, {"leaseToken": "t", "status": "SUCCEEDED", "result": 1})
        durations = metrics.durations()
        assert (durations[(Metric.QUEUE_WAIT_MS, "echo")].count, durations[(Metric.QUEUE_WAIT_MS, "echo")].sum_ms) == (1, 1500)
        assert (durations[(Metric.RUN_DURATION_MS, "echo")].count, durations[(Metric.RUN_DURATION_MS, "echo")].sum_ms) == (1, 250)
        assert metrics.counts()[Metric.JOBS_SUCCEEDED] == 1

    def test_each_terminal_status_is_counted_by_whoever_decided_it(self, services: Services, metrics: InMemoryMetrics) -> None:
        cancelled = service.submit_job(services, API_KEY_CALLER, "echo", 1).id
        service.cancel_job(services, API_KEY_CALLER, cancelled)
        timed_out = service.submit_job(services, API_KEY_CALLER, "echo", 2).id
        DirectReporter(services).update(timed_out, {"status": "FAILED", "error": {"type": "TimedOut", "message": "x"}})
        counts = metrics.counts()
        assert (counts[Metric.JOBS_CANCELLED], counts[Metric.JOBS_FAILED], counts[Metric.JOBS_SUCCEEDED]) == (1, 1, 0)
        assert (Metric.RUN_DURATION_MS, "echo") not in metrics.durations()  # never started: no run time

    def test_a_retried_attempt_counts_as_retried_then_the_last_as_failed(
        self, services: Services, reporter: TracingReporter, metrics: InMemoryMetrics
    ) -> None:
        job_id = service.submit_job(services, API_KEY_CALLER, "test-flaky", {}).id
        services.clock = service.utc_now  # real leases: each attempt re-claims after releasing
        for attempt in (1, 2, 3):
            answer = handler.lambda_handler(sqs_event(job_id, receive_count=attempt), CONTEXT)  # type: ignore[arg-type]
            assert len(answer["batchItemFailures"]) == 1
        counts = metrics.counts()
        assert (counts[Metric.JOBS_RETRIED], counts[Metric.JOBS_FAILED], counts[Metric.FAILED_RECORDS]) == (2, 1, 3)
        assert metrics.durations()[(Metric.QUEUE_WAIT_MS, "test-flaky")].count == 3  # one per claim


class TestEmf:
    def test_counts_and_durations_are_emf_in_the_appsyncjobs_namespace(self, capsys: pytest.CaptureFixture[str]) -> None:
        sink = PowertoolsMetrics()
        sink.count(Metric.JOBS_SUBMITTED)
        sink.duration_ms(Metric.RUN_DURATION_MS, 1234.0, task_type="report")
        sink.flush()
        blobs = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
        per_type = next(b for b in blobs if "taskType" in b)
        invocation = next(b for b in blobs if "taskType" not in b)
        for blob in (per_type, invocation):
            [directive] = blob["_aws"]["CloudWatchMetrics"]
            assert directive["Namespace"] == "AppSyncJobs"
            assert blob["service"] == "appsync-jobs"
        assert per_type["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["service", "taskType"]]
        assert per_type["taskType"] == "report" and per_type["RunDurationMs"] == [1234.0]
        units = {m["Name"]: m["Unit"] for m in invocation["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
        assert units == {"JobsSubmitted": "Count", "RunDurationMs": "Milliseconds"}
        assert invocation["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["service"]]

    def test_an_invocation_that_recorded_nothing_prints_nothing(self, capsys: pytest.CaptureFixture[str]) -> None:
        PowertoolsMetrics().flush()
        assert capsys.readouterr().out == ""

    def test_the_tracer_is_a_no_op_outside_lambda(self) -> None:
        assert tracer().disabled  # type: ignore[attr-defined]


class TestTraceContext:
    def test_the_worker_reports_under_the_submits_trace(self, services: Services, reporter: TracingReporter) -> None:
        with trace_context(TRACE):
            job_id = service.submit_job(services, API_KEY_CALLER, "echo", 1).id
        [message] = services.queue.receive(1)
        assert message.trace_header == TRACE
        event = local_sqs_event([message], arn="arn:aws:sqs:us-east-1:000000000000:jobs", region="us-east-1")
        assert event["Records"][0]["attributes"]["AWSTraceHeader"] == TRACE  # as Lambda delivers it
        assert handler.lambda_handler(event, CONTEXT) == {"batchItemFailures": []}  # type: ignore[arg-type]
        assert reporter.traces and set(reporter.traces) == {TRACE}
        assert services.store.get(job_id).status.value == "SUCCEEDED"  # type: ignore[union-attr]
        assert current_trace_header() is None  # nothing leaks past the record

    def test_the_reporter_sends_the_trace_header_with_each_update(self) -> None:
        class Signer:
            def get_headers(self, body: str, headers: dict[str, str]) -> dict[str, str]:
                return {"authorization": "signed"}

        auth = SigV4RequestsAuth(Signer())  # type: ignore[arg-type]
        request = requests.Request("POST", "https://example.invalid/graphql", data="{}").prepare()
        with trace_context(TRACE):
            sent = auth(request)
        assert sent.headers["X-Amzn-Trace-Id"] == TRACE
        assert "X-Amzn-Trace-Id" not in auth(requests.Request("POST", "https://example.invalid/graphql", data="{}").prepare()).headers
