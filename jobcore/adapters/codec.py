"""How a job is flattened for storage - shared by every store adapter so they cannot drift.

Payload and result are kept as JSON text: DynamoDB would otherwise turn floats into Decimals and
SQLite has no map type, and the text round-trips exactly what the client sent.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from jobcore.domain.job import Job, JobFailure, JobStatus
from jobcore.wire import format_datetime, parse_datetime


def _dt(value: datetime | None) -> str | None:
    return format_datetime(value) if value is not None else None


def _parse_dt(value: str | None) -> datetime | None:
    return parse_datetime(value) if value else None


def job_to_record(job: Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "type": job.type,
        "status": job.status.value,
        "owner": job.owner,
        "payload": json.dumps(job.payload, separators=(",", ":")),
        "result": json.dumps(job.result, separators=(",", ":")),
        "error": {"type": job.error.type, "message": job.error.message} if job.error else None,
        "progress": job.progress,
        "message": job.message,
        "attempts": job.attempts,
        "cancelRequested": job.cancel_requested,
        "version": job.version,
        "createdAt": _dt(job.created_at),
        "updatedAt": _dt(job.updated_at),
        "startedAt": _dt(job.started_at),
        "finishedAt": _dt(job.finished_at),
        "idempotencyKey": job.idempotency_key,
        "leaseToken": job.lease_token,
        "leaseExpiresAt": _dt(job.lease_expires_at),
        "deadlineAt": _dt(job.deadline_at),
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
        started_at=_parse_dt(record.get("startedAt")),
        finished_at=_parse_dt(record.get("finishedAt")),
        idempotency_key=record.get("idempotencyKey"),
        lease_token=record.get("leaseToken"),
        lease_expires_at=_parse_dt(record.get("leaseExpiresAt")),
        deadline_at=_parse_dt(record.get("deadlineAt")),
    )


def stuck_marker(job: Job) -> tuple[str, str] | None:
    """(status, sortable instant) for the reaper's index; None once the job is finished."""
    if job.status is JobStatus.RUNNING and job.deadline_at is not None:
        return job.status.value, format_datetime(job.deadline_at)
    if job.status is JobStatus.PENDING:
        return job.status.value, format_datetime(job.created_at)
    return None
