"""How a job is flattened for storage - shared by every store adapter so they cannot drift.

Payload and result are kept as JSON text: DynamoDB would otherwise turn floats into Decimals and
SQLite has no map type, and the text round-trips exactly what the client sent.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from jobcore.domain.job import Artifact, Job, JobFailure, JobStatus
from jobcore.table_schema import STUCK_INDEX_SHARDS
from jobcore.wire import (
    format_datetime,
    format_optional_datetime,
    job_to_graphql,
    parse_datetime,
    parse_optional_datetime,
)


def job_to_record(job: Job) -> dict[str, Any]:
    """The GraphQL shape plus what only the store knows (owner, lease, deadline, idempotency key)."""
    return {
        **job_to_graphql(job),
        "owner": job.owner,
        "payload": json.dumps(job.payload, separators=(",", ":")),
        "result": json.dumps(job.result, separators=(",", ":")),
        "idempotencyKey": job.idempotency_key,
        "leaseToken": job.lease_token,
        "leaseExpiresAt": format_optional_datetime(job.lease_expires_at),
        "deadlineAt": format_optional_datetime(job.deadline_at),
        "queuedAt": format_optional_datetime(job.queued_at),
    }


def job_from_record(record: dict[str, Any]) -> Job:
    error = record.get("error")
    return Job(
        id=record["id"],
        type=record["type"],
        status=JobStatus(record["status"]),
        owner=record["owner"],
        payload=json.loads(record["payload"]),
        result=json.loads(record["result"]),
        error=JobFailure(error["type"], error["message"]) if error else None,
        progress=record.get("progress"),
        message=record.get("message"),
        attempts=int(record["attempts"]),
        cancel_requested=bool(record["cancelRequested"]),
        version=int(record["version"]),
        created_at=parse_datetime(record["createdAt"]),
        updated_at=parse_datetime(record["updatedAt"]),
        started_at=parse_optional_datetime(record.get("startedAt")),
        finished_at=parse_optional_datetime(record.get("finishedAt")),
        idempotency_key=record.get("idempotencyKey"),
        lease_token=record.get("leaseToken"),
        lease_expires_at=parse_optional_datetime(record.get("leaseExpiresAt")),
        deadline_at=parse_optional_datetime(record.get("deadlineAt")),
        artifacts=tuple(
            Artifact(a["name"], int(a["size"]), a["contentType"]) for a in record.get("artifacts") or ()
        ),
        queued_at=parse_optional_datetime(record.get("queuedAt")),
    )


def stuck_shard(job_id: str) -> int:
    """A stable shard of the stuck index for a job (the same in every process and language)."""
    return int.from_bytes(hashlib.sha256(job_id.encode()).digest()[:4], "big") % STUCK_INDEX_SHARDS


def stuck_key(status: JobStatus, job_id: str) -> str:
    return f"{status.value}#{stuck_shard(job_id)}"


def stuck_keys(status: JobStatus) -> list[str]:
    """Every partition-key value the reaper must query for ``status`` (all shards)."""
    return [f"{status.value}#{shard}" for shard in range(STUCK_INDEX_SHARDS)]


def stuck_marker(job: Job) -> tuple[str, str] | None:
    """(sharded status, sortable instant) for the reaper's index; None once the job is finished.

    A PENDING job is indexed at its creation; when the reaper re-enqueues it, ``pending_marker``
    moves it to the re-enqueue time, so a backlog is not re-sent every run.
    """
    if job.status is JobStatus.RUNNING and job.deadline_at is not None:
        return stuck_key(job.status, job.id), format_datetime(job.deadline_at)
    if job.status is JobStatus.PENDING:
        # Since when it has been PENDING: its creation, or the retry that queued it again (a retried
        # job is as fresh as a new one; its old creation time must not make the reaper re-enqueue it).
        return pending_marker(job, job.updated_at)
    return None


def pending_marker(job: Job, at: datetime) -> tuple[str, str]:
    return stuck_key(JobStatus.PENDING, job.id), format_datetime(at)
