"""How long a delivery's message stays hidden, at each point a worker can die or step aside.

A message is received hidden for the queue's whole visibility timeout (6x the worker timeout on the
cloud stack). The runner ties it to the lease before anything else, so a worker that dies during or
after its claim is replaced once the lease lapsed, not an hour and a half later.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from jobcore import service
from jobcore.auth import API_KEY_CALLER
from jobcore.runner import Delivery, RetryLater, RunnerConfig, run_delivery
from jobcore.service import Services
from jobcore.wire import JobShape
from support.services import DirectReporter, sqlite_services
from worker.tasks import load_registry

CONFIG = RunnerConfig(lease_seconds=30, visibility_margin_seconds=5, visibility_timeout_seconds=5400)


@pytest.fixture
def services(tmp_path: Path) -> Services:
    return sqlite_services(tmp_path, load_registry(["support.tasks"]))


class DiesDuringClaim:
    """A worker whose first call to the API never returns (the process is killed mid-request)."""

    def update(self, job_id: str, fields: dict[str, Any]) -> JobShape:
        raise SystemExit("killed")


def test_a_worker_killed_during_its_claim_leaves_the_message_hidden_only_for_the_lease(services: Services) -> None:
    job_id = service.submit_job(services, API_KEY_CALLER, "echo", 1).id
    hidden: list[int] = []
    with pytest.raises(SystemExit):
        run_delivery(Delivery(job_id, 1, 3, extend_visibility=hidden.append), DiesDuringClaim(), services.registry, CONFIG)
    assert hidden == [35]  # lease + margin, already set when the worker died


def test_a_duplicate_of_a_live_attempt_hides_for_the_queues_full_timeout(services: Services) -> None:
    job_id = service.submit_job(services, API_KEY_CALLER, "echo", 1).id
    DirectReporter(services).update(job_id, {"leaseToken": "the-other-worker", "status": "RUNNING", "leaseSeconds": 30})
    hidden: list[int] = []
    with pytest.raises(RetryLater):
        run_delivery(Delivery(job_id, 1, 3, extend_visibility=hidden.append), DirectReporter(services), services.registry, CONFIG)
    assert hidden[-1] == 5400  # not back every lease while the other attempt runs for a long time


def test_the_queue_timeout_comes_from_the_settings(services: Services) -> None:
    from jobcore.settings import Settings

    settings = Settings.from_env({"JOBS_VISIBILITY_TIMEOUT": "1234"})
    assert RunnerConfig.from_settings(settings).visibility_timeout_seconds == 1234
