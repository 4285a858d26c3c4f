"""In-process services for tests: a SQLite backend, a controllable clock, and a reporter that calls
the use cases directly (what the API would do for an IAM caller)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from jobcore import service
from jobcore.adapters.pagination_keys import FileKey
from jobcore.adapters.sqlite import SqliteDatabase, SqliteJobQueue, SqliteJobStore
from jobcore.auth import AuthMode, Caller, ReporterTrust
from jobcore.registry import TaskRegistry
from jobcore.service import Services
from jobcore.wire import JobShape, job_to_graphql, update_from_graphql

WORKER = Caller(AuthMode.AWS_IAM, "arn:aws:iam::000000000000:role/worker", trusted=True)
#: The stack's reporter roles as the tests' AppSync events name them (support.events.IAM_IDENTITY).
TRUST = ReporterTrust(role_names=frozenset({"worker"}))


@dataclass
class Clock:
    now: datetime = field(default_factory=lambda: datetime(2026, 1, 1, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def sqlite_services(tmp: Path, registry: TaskRegistry, clock: Clock | None = None) -> Services:
    db = SqliteDatabase(tmp / "jobs.sqlite3")
    dlq = SqliteJobQueue(db, "jobs-dlq")
    queue = SqliteJobQueue(db, "jobs", dead_letter=dlq, max_receive_count=3)
    return Services(
        store=SqliteJobStore(db), queue=queue, registry=registry, clock=clock or Clock(), reporter_trust=TRUST,
        pagination_key=FileKey(tmp / "pagination.key"),
    )


class DirectReporter:
    """``updateJob`` without the network: the same use case the resolver Lambda runs."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.calls: list[dict[str, Any]] = []

    def update(self, job_id: str, fields: dict[str, Any]) -> JobShape:
        self.calls.append({"id": job_id, **fields})
        return job_to_graphql(service.update_job(self.services, WORKER, job_id, update_from_graphql(fields)))
