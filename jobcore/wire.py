"""Wire formats shared by every runtime: the GraphQL shape of a job and the queue message body.

The queue message carries only the job id. The worker learns everything else from the job that its
claiming ``updateJob`` returns, so a message can never disagree with the store and stays tiny.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, TypedDict

from jobcore.domain.job import Artifact, Job, JobFailure, JobStatus, JobUpdate
from jobcore.errors import ValidationError

MESSAGE_VERSION = 1


class JobErrorShape(TypedDict):
    type: str
    message: str


class ArtifactShape(TypedDict):
    """An ``Artifact``: ``url``/``expiresAt`` are minted per reader by ``job(id)``, null elsewhere."""

    name: str
    size: int
    contentType: str
    url: str | None
    expiresAt: str | None


class JobShape(TypedDict):
    """A job as the GraphQL schema describes it (AWSJSON fields still parsed, as resolvers see them)."""

    id: str
    type: str
    status: str
    payload: Any
    result: Any
    error: JobErrorShape | None
    progress: int | None
    message: str | None
    attempts: int
    cancelRequested: bool
    version: int
    owner: str
    createdAt: str
    updatedAt: str
    startedAt: str | None
    finishedAt: str | None
    artifacts: list[ArtifactShape]


def format_datetime(value: datetime) -> str:
    """AWSDateTime as AppSync emits it: UTC, millisecond precision, ``Z`` suffix."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def parse_datetime(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def format_optional_datetime(value: datetime | None) -> str | None:
    return format_datetime(value) if value is not None else None


def parse_optional_datetime(value: str | None) -> datetime | None:
    return parse_datetime(value) if value else None


def job_to_graphql(job: Job) -> JobShape:
    return {
        "id": job.id,
        "type": job.type,
        "status": job.status.value,
        "payload": job.payload,
        "result": job.result,
        "error": {"type": job.error.type, "message": job.error.message} if job.error else None,
        "progress": job.progress,
        "message": job.message,
        "attempts": job.attempts,
        "cancelRequested": job.cancel_requested,
        "version": job.version,
        "owner": job.owner,
        "createdAt": format_datetime(job.created_at),
        "updatedAt": format_datetime(job.updated_at),
        "startedAt": format_optional_datetime(job.started_at),
        "finishedAt": format_optional_datetime(job.finished_at),
        "artifacts": [artifact_to_graphql(a) for a in job.artifacts],
    }


def artifact_to_graphql(artifact: Artifact) -> ArtifactShape:
    return {"name": artifact.name, "size": artifact.size, "contentType": artifact.content_type,
            "url": None, "expiresAt": None}


def artifacts_from_graphql(items: Any) -> tuple[Artifact, ...]:
    """``[ArtifactInput]`` (or stored artifact shapes) as domain artifacts, validated."""
    from jobcore.limits import check_artifacts

    if not isinstance(items, list):
        raise ValidationError("artifacts must be a list")
    artifacts = []
    for item in items:
        if not isinstance(item, dict):
            raise ValidationError("each artifact must be an object with name, size and contentType")
        try:
            artifacts.append(Artifact(str(item["name"]), int(item["size"]), str(item["contentType"])))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValidationError(f"malformed artifact: {exc}") from exc
    check_artifacts(artifacts)
    return tuple(artifacts)


def job_from_graphql(data: dict[str, Any]) -> JobShape:
    """Validate the fields a worker relies on in a ``updateJob`` response (AWSJSON already decoded)."""
    try:
        JobStatus(data["status"])
        str(data["id"])
    except (KeyError, ValueError) as exc:
        raise ValidationError(f"not a job: {exc}") from exc
    return data  # type: ignore[return-value]


def failure_from_graphql(data: JobErrorShape | None) -> JobFailure | None:
    return JobFailure(data["type"], data["message"]) if data else None


def encode_message(job_id: str) -> str:
    return json.dumps({"v": MESSAGE_VERSION, "jobId": job_id}, separators=(",", ":"))


def decode_message(body: str) -> str:
    """The job id in a queue message; a malformed body is a permanent error (it can never work)."""
    try:
        data = json.loads(body)
        job_id = data["jobId"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ValidationError(f"malformed job message: {body[:200]!r}") from exc
    if not isinstance(job_id, str) or not job_id:
        raise ValidationError(f"malformed job message: {body[:200]!r}")
    return job_id


def update_from_graphql(fields: dict[str, Any]) -> JobUpdate:
    """``UpdateJobInput`` (AWSJSON already parsed) as the state machine's ``JobUpdate``."""
    error = fields.get("error")
    try:
        message_sent_at = parse_optional_datetime(fields.get("messageSentAt"))
    except (TypeError, ValueError) as exc:
        raise ValidationError("messageSentAt must be an AWSDateTime") from exc
    return JobUpdate(
        lease_token=fields.get("leaseToken"),
        status=JobStatus(fields["status"]) if fields.get("status") else None,
        progress=fields.get("progress"),
        message=fields.get("message"),
        result=fields.get("result"),
        error=JobFailure(str(error["type"]), str(error["message"])) if error else None,
        lease_seconds=fields.get("leaseSeconds"),
        artifacts=artifacts_from_graphql(fields["artifacts"]) if fields.get("artifacts") is not None else None,
        message_sent_at=message_sent_at,
    )
