"""The artifact store port: where task files, large results and client uploads live (claim check).

A job record and its events stay small: they carry artifact *descriptions* (name, size, content
type); the bytes live in object storage - S3 in the cloud, files under the data directory locally -
and readers fetch them through short-lived presigned URLs minted for a caller who may read the job.

Keys: ``jobs/<job id>/<name>`` for artifacts, ``uploads/<owner key>/<id>`` for client uploads. The
owner key is a digest of the uploader's principal, and an upload reference names it, so a payload
can only name its submitter's own uploads (``check_upload_refs``) and a task can open it without a
lookup.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from jobcore.errors import ValidationError

#: The name a result too large to publish is saved under; the job's ``result`` then points to it.
RESULT_ARTIFACT = "result.json"
#: The key of the small pointer that replaces an offloaded result: ``{"$artifact": "result.json", "size": n}``.
RESULT_POINTER_KEY = "$artifact"
#: How a payload names an upload: ``upload:<owner key>/<id>`` (``Upload.ref``).
UPLOAD_REF_PREFIX = "upload:"
_UPLOAD_REF = re.compile(r"^upload:([0-9a-f]{32})/([0-9a-f-]{36})$")


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    size: int
    content_type: str


@dataclass(frozen=True, slots=True)
class PresignedUrl:
    url: str
    expires_at: datetime
    #: Headers the request must carry for the signature to hold (e.g. Content-Type of a PUT).
    headers: dict[str, str] = field(default_factory=dict)


class ArtifactStore(ABC):
    """Put, presign and read objects. Adapters: ``S3ArtifactStore``, ``LocalArtifactStore``."""

    @abstractmethod
    def put_bytes(self, key: str, data: bytes, content_type: str) -> int:
        """Store ``data`` under ``key``; returns its size."""

    @abstractmethod
    def put_file(self, key: str, path: Path, content_type: str) -> int:
        """Store the file at ``path`` under ``key`` (streamed, never read whole); returns its size."""

    @abstractmethod
    def presign_get(self, key: str, *, expires_in: int, filename: str | None = None) -> PresignedUrl: ...

    @abstractmethod
    def presign_put(self, key: str, *, content_type: str, size: int, expires_in: int) -> PresignedUrl: ...

    @abstractmethod
    def head(self, key: str) -> ObjectInfo | None:
        """The object's size and content type, or None if there is none."""

    @abstractmethod
    def open(self, key: str) -> BinaryIO:
        """A readable binary stream of the object (raises ``ValidationError`` if it does not exist)."""


def artifact_key(job_id: str, name: str) -> str:
    return f"jobs/{job_id}/{name}"


def owner_key(principal: str) -> str:
    """A fixed-length, path-safe stand-in for a principal (ARNs and subs contain '/' and ':')."""
    return hashlib.sha256(principal.encode()).hexdigest()[:32]


def new_upload_ref(principal: str) -> str:
    return f"{UPLOAD_REF_PREFIX}{owner_key(principal)}/{uuid.uuid4()}"


def upload_key(ref: str) -> str:
    match = _UPLOAD_REF.match(ref)
    if not match:
        raise ValidationError(f"{ref[:100]!r} is not an upload reference (createUpload returns them)")
    return f"uploads/{match.group(1)}/{match.group(2)}"


def upload_refs(value: Any) -> Iterator[str]:
    """Every string in a payload that claims to be an upload reference."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            if node.startswith(UPLOAD_REF_PREFIX):
                yield node
        elif isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def check_upload_refs(store: ArtifactStore | None, principal: str, payload: Any) -> None:
    """Refuse a payload naming an upload that is not the submitter's own, or was never uploaded.

    Another owner's reference and a made-up one get the same answer, so references cannot be probed.
    """
    mine = f"{UPLOAD_REF_PREFIX}{owner_key(principal)}/"
    for ref in upload_refs(payload):
        key = upload_key(ref)
        if not ref.startswith(mine) or store is None or store.head(key) is None:
            raise ValidationError(f"upload {ref[:100]} was not found (upload it first, with your own createUpload)",
                                  info={"ref": ref[:100]})


def result_pointer(size: int) -> dict[str, Any]:
    return {RESULT_POINTER_KEY: RESULT_ARTIFACT, "size": size}
