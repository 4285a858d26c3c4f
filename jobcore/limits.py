"""Input limits, each named after the platform limit it protects.

A job is published to subscribers whole (the worker selects every field), and AppSync drops
subscription messages over 240 KB. Payload and result therefore share that budget with room to
spare for the other fields; anything larger belongs in S3 with a pointer in the payload.
"""

from __future__ import annotations

import json
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


def check_json(name: str, value: Any, max_bytes: int) -> None:
    """Refuse values too deep or too large to store and publish."""
    depth = _depth(value)
    if depth > MAX_JSON_DEPTH:
        raise ValidationError(f"{name} is nested {depth} levels deep; the limit is {MAX_JSON_DEPTH}")
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
