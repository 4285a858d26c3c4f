"""Input limits, each named after the platform limit it protects.

A job is published to subscribers whole (the worker selects every field), and AppSync drops
subscription messages over 240 KB. Payload and result therefore share that budget with room to
spare for the other fields; anything larger belongs in S3 with a pointer in the payload.
"""

from __future__ import annotations

import json
import re
from typing import Any

from jobcore.errors import PayloadTooLarge, ValidationError

APPSYNC_SUBSCRIPTION_PAYLOAD_BYTES = 240_000
MAX_PAYLOAD_BYTES = 100_000
MAX_RESULT_BYTES = 100_000
MAX_JSON_DEPTH = 32
MAX_TYPE_LENGTH = 128
MAX_IDEMPOTENCY_KEY_LENGTH = 256
MAX_MESSAGE_LENGTH = 2_000
MAX_ERROR_MESSAGE_LENGTH = 4_000


def check_length(name: str, value: str | None, limit: int) -> None:
    if value is not None and len(value) > limit:
        raise ValidationError(f"{name} is {len(value)} characters; the limit is {limit}")


def json_size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def check_depth(name: str, value: Any) -> None:
    """Refuse JSON nested deeper than ``MAX_JSON_DEPTH`` (checked iteratively, before any recursion)."""
    depth = _depth(value)
    if depth > MAX_JSON_DEPTH:
        raise ValidationError(f"{name} is nested {depth} levels deep; the limit is {MAX_JSON_DEPTH}")


def check_json(name: str, value: Any, max_bytes: int) -> None:
    """Refuse values too deep or too large to store and publish."""
    check_depth(name, value)
    size = json_size(value)
    if size > max_bytes:
        raise PayloadTooLarge(
            f"{name} is {size} bytes; the limit is {max_bytes} bytes (a job is published whole and "
            f"AppSync drops subscription messages over {APPSYNC_SUBSCRIPTION_PAYLOAD_BYTES} bytes)",
            info={"limitBytes": max_bytes, "sizeBytes": size},
        )


def _depth(value: Any) -> int:
    # Iterative, so a hostile document cannot exhaust the interpreter's stack.
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict):
            deepest = max(deepest, level)
            if level > MAX_JSON_DEPTH:
                return level
            stack.extend((child, level + 1) for child in node.values())
        elif isinstance(node, list):
            deepest = max(deepest, level)
            if level > MAX_JSON_DEPTH:
                return level
            stack.extend((child, level + 1) for child in node)
    return deepest


def parse_awsjson(name: str, raw: Any) -> Any:
    """AWSJSON arrives as a JSON string on the wire; resolvers receive it parsed (as AppSync does)."""
    if raw is None or not isinstance(raw, str):
        return raw
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise ValidationError(f"{name} is not valid JSON: {exc}") from exc


# --- the publish budget -------------------------------------------------------------------------
#
# What counts is the message AppSync sends to a subscriber, not the values a resolver sees: AWSJSON
# fields travel as JSON *strings* inside that JSON message, so every quote and backslash of a
# payload or result is escaped once more. A job whose payload and result each fit a 100,000-byte
# cap measured unescaped could still exceed AppSync's 240 KB, and AppSync drops such an event
# without an error. Sizes here are the worst case: ASCII-escaped (``\uXXXX`` for every non-ASCII
# character), which is never smaller than the UTF-8 AppSync may send.

#: Fields of ``Job`` typed AWSJSON (published as JSON strings).
AWSJSON_JOB_FIELDS = ("payload", "result")
#: The longest subscription field name a job is published under, so the envelope is never underestimated.
_PUBLISHED_FIELD = "onMyJobsUpdated"
#: Left free under AppSync's limit for what a report may still change after the size is measured
#: (timestamps, version digits, status) and for AppSync's own envelope keys.
PUBLISH_SLACK_BYTES = 2_000
#: The budget every published job stays under.
PUBLISH_BUDGET_BYTES = APPSYNC_SUBSCRIPTION_PAYLOAD_BYTES - PUBLISH_SLACK_BYTES


def escaped_json_size(value: Any) -> int:
    """Bytes ``value`` takes as an AWSJSON field of a published message (a JSON string, escaped again)."""
    return len(json.dumps(json.dumps(value, separators=(",", ":"))))


def published_size(job: dict[str, Any]) -> int:
    """Bytes of the subscription message AppSync publishes for ``job`` (its GraphQL shape, AWSJSON parsed).

    The one measure used by ``submitJob`` (the payload) and by every ``updateJob`` (the whole job),
    and by the worker before its final report, so an event can never exceed the budget unnoticed.
    """
    shaped = {
        key: (json.dumps(value, separators=(",", ":")) if key in AWSJSON_JOB_FIELDS and value is not None else value)
        for key, value in job.items()
    }
    message = {"id": "00000000-0000-0000-0000-000000000000", "type": "data",
               "payload": {"data": {_PUBLISHED_FIELD: shaped}}}
    return len(json.dumps(message, separators=(",", ":")))


def check_published_payload(payload: Any) -> None:
    """A payload is published in every event of its job: cap it as it travels (escaped)."""
    if payload is None:
        return
    check_depth("payload", payload)
    size = escaped_json_size(payload)
    if size > MAX_PAYLOAD_BYTES:
        raise PayloadTooLarge(
            f"payload is {size} bytes as published (AWSJSON is an escaped string); the limit is "
            f"{MAX_PAYLOAD_BYTES} bytes. Upload larger inputs with createUpload and name the reference instead",
            info={"limitBytes": MAX_PAYLOAD_BYTES, "sizeBytes": size},
        )


def check_published_job(job: dict[str, Any]) -> None:
    """Refuse a change that would publish an event over the budget (AppSync would drop it silently)."""
    size = published_size(job)
    if size > PUBLISH_BUDGET_BYTES:
        raise PayloadTooLarge(
            f"the job would be published as {size} bytes; the budget is {PUBLISH_BUDGET_BYTES} bytes "
            f"(AppSync drops subscription messages over {APPSYNC_SUBSCRIPTION_PAYLOAD_BYTES} bytes). "
            "Large results go to the artifact store",
            info={"limitBytes": PUBLISH_BUDGET_BYTES, "sizeBytes": size},
        )


# --- artifacts ---------------------------------------------------------------------------------

#: Artifacts one job may record (their descriptions are published with the job: ~150 bytes each).
MAX_ARTIFACTS = 100
MAX_CONTENT_TYPE_LENGTH = 255
#: A file name, never a path: it becomes the last segment of ``jobs/<job id>/<name>``.
ARTIFACT_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"
_CONTENT_TYPE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*(;.*)?$"
#: S3's largest single PUT (5 GiB): the most one presigned upload or saved artifact may hold.
MAX_OBJECT_BYTES = 5 * 1024**3


def check_artifact_name(name: str) -> None:
    if not isinstance(name, str) or not re.match(ARTIFACT_NAME_PATTERN, name) or ".." in name:
        raise ValidationError(
            f"artifact name {str(name)[:140]!r} must be 1-128 characters of letters, digits, '.', '_' or '-' "
            "(a file name, not a path)"
        )


def check_content_type(content_type: str) -> None:
    if (not isinstance(content_type, str) or len(content_type) > MAX_CONTENT_TYPE_LENGTH
            or not re.match(_CONTENT_TYPE_PATTERN, content_type)):
        raise ValidationError(f"contentType {str(content_type)[:100]!r} is not a media type like 'text/csv'")


def check_artifacts(artifacts: Any) -> None:
    """Names unique and file-like, sizes in range, content types well-formed, not too many."""
    if len(artifacts) > MAX_ARTIFACTS:
        raise ValidationError(f"a job may record at most {MAX_ARTIFACTS} artifacts, not {len(artifacts)}")
    seen: set[str] = set()
    for artifact in artifacts:
        check_artifact_name(artifact.name)
        check_content_type(artifact.content_type)
        if not 0 <= artifact.size <= MAX_OBJECT_BYTES:
            raise ValidationError(f"artifact {artifact.name} size must be 0-{MAX_OBJECT_BYTES} bytes")
        if artifact.name in seen:
            raise ValidationError(f"artifact {artifact.name} is listed twice")
        seen.add(artifact.name)
