"""Timeouts and heartbeats: a vanished worker's job is failed as TimedOut by the reaper; a lost message is
re-enqueued; a slow but healthy task keeps its lease and is not run twice."""

from __future__ import annotations

from pathlib import Path

import pytest

from jobcore import service
from jobcore.auth import API_KEY_CALLER
from jobcore.domain.job import JobStatus
from jobcore.runner import Delivery, RunnerConfig, run_delivery
from jobcore.service import DEADLINE_GRACE_SECONDS, Services
from support.services import Clock, DirectReporter, sqlite_services
from worker.reaper import reap
from worker.tasks import load_registry


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def services(tmp_path: Path, clock: Clock) -> Services:
    return sqlite_services(tmp_path, load_registry(["support.tasks"]), clock)


def claim(services: Services, job_id: str) -> None:
    DirectReporter(services).update(job_id, {"leaseToken": "gone", "status": "RUNNING", "leaseSeconds": 30})


def test_a_running_job_past_its_deadline_is_failed_as_timed_out(services: Services, clock: Clock) -> None:
    job_id = service.submit_job(services, API_KEY_CALLER, "echo", 1).id
    claim(services, job_id)  # ...and the worker vanishes for good
    limit = services.registry.get("echo").time_limit_seconds
    clock.advance(limit + DEADLINE_GRACE_SECONDS - 1)
    assert reap(services, DirectReporter(services)).timed_out == []  # not yet
    clock.advance(2)
    report = reap(services, DirectReporter(services))
    job = services.store.get(job_id)
    assert report.timed_out == [job_id]
    assert job is not None and job.status is JobStatus.FAILED and job.error is not None
    assert job.error.type == "TimedOut"
    assert reap(services, DirectReporter(services)).timed_out == []  # finished jobs are never reaped again


def test_a_stale_pending_job_is_enqueued_again(services: Services, clock: Clock) -> None:
    job_id = service.submit_job(services, API_KEY_CALLER, "echo", 1).id
    services.queue.receive(1)  # the message is taken and lost
    clock.advance(services.requeue_pending_after.total_seconds() + 1)
    assert reap(services, DirectReporter(services)).requeued == [job_id]
    assert services.queue.depth() == 2  # type: ignore[attr-defined]


def test_a_slow_healthy_task_renews_its_lease_and_visibility(services: Services) -> None:
    job_id = service.submit_job(services, API_KEY_CALLER, "test-count", {"seconds": 2.5}).id
    extensions: list[int] = []
    reporter = DirectReporter(services)
    delivery = Delivery(job_id, receive_count=1, max_receive_count=3, extend_visibility=extensions.append)
    # Real clock for the heartbeat thread; the lease is much shorter than the task.
    services.clock = service.utc_now
    outcome = run_delivery(delivery, reporter, services.registry, RunnerConfig(lease_seconds=3, visibility_margin_seconds=1))
    heartbeats = [c for c in reporter.calls if set(c) == {"id", "leaseToken", "leaseSeconds"}]
    assert outcome.value == "SUCCEEDED"
    assert heartbeats, "no heartbeat renewed the lease"
    assert len(extensions) >= 1 + len(heartbeats)  # each claim/heartbeat also hides the message longer
    job = services.store.get(job_id)
    assert job is not None and job.attempts == 1
