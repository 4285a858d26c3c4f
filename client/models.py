"""Client-side job types: decoded from the wire (AWSJSON strings parsed), independent of the server code."""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class JobStatus(StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"

    @property
    def is_terminal(self) -> bool:
        return self in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)


@dataclass(frozen=True)
class JobError:
    type: str
    message: str


@dataclass(frozen=True)
class Artifact:
    """A file of a job; ``url`` is a presigned GET URL (from ``job(id)``), None in subscription events."""

    name: str
    size: int
    content_type: str
    url: str | None = None
    expires_at: str | None = None


#: The key of the pointer that replaces a result too large to publish: ``{"$artifact": "result.json", "size": n}``.
RESULT_POINTER_KEY = "$artifact"


@dataclass(frozen=True)
class Upload:
    ref: str
    url: str
    headers: dict[str, str]
    expires_at: str


@dataclass(frozen=True)
class Job:
    id: str
    type: str
    status: JobStatus
    version: int
    attempts: int
    created_at: str
    updated_at: str
    #: Who submitted it: "api-key", an IAM ARN or a user's sub (what onMyJobsUpdated filters on).
    owner: str
    payload: Any = None
    result: Any = None
    error: JobError | None = None
    progress: int | None = None
    message: str | None = None
    cancel_requested: bool = False
    started_at: str | None = None
    finished_at: str | None = None
    artifacts: tuple[Artifact, ...] = ()

    @property
    def result_artifact(self) -> str | None:
        """The artifact holding the result when it was too large to publish inline, else None."""
        if isinstance(self.result, dict) and isinstance(self.result.get(RESULT_POINTER_KEY), str):
            return str(self.result[RESULT_POINTER_KEY])
        return None

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> Job:
        error = data.get("error")
        return cls(
            id=data["id"],
            type=data["type"],
            status=JobStatus(data["status"]),
            version=int(data["version"]),
            attempts=int(data["attempts"]),
            created_at=data["createdAt"],
            updated_at=data["updatedAt"],
            owner=data["owner"],
            payload=_json(data.get("payload")),
            result=_json(data.get("result")),
            error=JobError(error["type"], error["message"]) if error else None,
            progress=data.get("progress"),
            message=data.get("message"),
            cancel_requested=bool(data.get("cancelRequested")),
            started_at=data.get("startedAt"),
            finished_at=data.get("finishedAt"),
            artifacts=tuple(
                Artifact(a["name"], int(a["size"]), a["contentType"], a.get("url"), a.get("expiresAt"))
                for a in data.get("artifacts") or ()
            ),
        )


@dataclass(frozen=True)
class JobPage:
    """One page of ``listJobs``: newest first; ``next_token`` is opaque (pass it back), None on the last page."""

    items: tuple[Job, ...]
    next_token: str | None = None

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> JobPage:
        return cls(items=tuple(Job.from_wire(item) for item in data["items"]), next_token=data.get("nextToken"))


def _json(value: Any) -> Any:
    """AWSJSON arrives as a JSON string."""
    return json.loads(value) if isinstance(value, str) else value
