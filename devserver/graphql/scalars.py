"""AWS scalars with AppSync's wire rules: AWSJSON is a JSON *string* both ways (resolvers get it
parsed), AWSDateTime an ISO-8601 string. Malformed values are validation errors before any resolver."""

from __future__ import annotations

import json
import re
from typing import Any, NewType

import strawberry
from strawberry.types.scalar import ScalarDefinition

from jobcore.limits import MAX_JSON_DEPTH, check_json

_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}(:\d{2})?)$")


def _parse_awsjson(value: Any) -> Any:
    if not isinstance(value, str):
        raise ValueError(f"Variable has an invalid value: {json.dumps(value)[:100]} is not a valid 'AWSJSON' (a JSON string)")
    try:
        parsed = json.loads(value)
    except (ValueError, RecursionError) as exc:
        raise ValueError(f"Unable to parse {value[:100]!r} as valid JSON: {str(exc)[:200]}") from exc
    check_json("AWSJSON value", parsed, max_bytes=10_000_000)  # depth guard; sizes are checked per field
    return parsed


def _serialize_awsjson(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _parse_datetime(value: Any) -> str:
    if not isinstance(value, str) or not _DATETIME.match(value):
        raise ValueError(f"{str(value)[:100]!r} is not a valid 'AWSDateTime'")
    return value


_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^\s]+$")


def _parse_url(value: Any) -> str:
    if not isinstance(value, str) or not _URL.match(value):
        raise ValueError(f"{str(value)[:100]!r} is not a valid 'AWSURL'")
    return value


AWSJSON = NewType("AWSJSON", object)
AWSDateTime = NewType("AWSDateTime", str)
AWSURL = NewType("AWSURL", str)

#: For ``StrawberryConfig(scalar_map=...)``: the Python types above, as the GraphQL scalars AppSync defines.
SCALARS: dict[object, ScalarDefinition] = {
    AWSJSON: strawberry.scalar(
        name="AWSJSON",
        description=f"A JSON string (nested at most {MAX_JSON_DEPTH} levels).",
        serialize=_serialize_awsjson,
        parse_value=_parse_awsjson,
    ),
    AWSDateTime: strawberry.scalar(
        name="AWSDateTime",
        description="An ISO-8601 date and time, e.g. 2026-01-31T12:00:00.000Z.",
        serialize=str,
        parse_value=_parse_datetime,
    ),
    AWSURL: strawberry.scalar(
        name="AWSURL",
        description="A URL with a scheme, e.g. https://example.com/a?b=c.",
        serialize=str,
        parse_value=_parse_url,
    ),
}
