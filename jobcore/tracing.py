"""The X-Ray trace context of the current request, carried from submit to the worker and back.

How one job becomes one trace: ``submitJob`` sends its message with the request's trace header as
SQS's ``AWSTraceHeader`` system attribute (not in the body: the body stays the tiny, versioned job
id, and ``AWSTraceHeader`` is what X-Ray's SQS -> Lambda trace linking reads). The worker reads it
from the record and sends it as ``X-Amzn-Trace-Id`` on its ``updateJob`` calls, so AppSync - and the
resolver behind it - record those calls under the submit's trace id.

In Lambda the current header is the runtime's ``_X_AMZN_TRACE_ID`` variable (set per invocation).
The local server and the local worker set it per request/record with ``trace_context``, which takes
precedence. Stdlib only; no X-Ray SDK needed to carry the header.
"""

from __future__ import annotations

import os
import re
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

#: The HTTP header (lower case, as AppSync passes headers to resolvers).
TRACE_HEADER = "x-amzn-trace-id"
#: What Lambda sets for the invocation being served.
LAMBDA_TRACE_ENV = "_X_AMZN_TRACE_ID"

_ROOT = re.compile(r"(?:^|;)\s*Root=(1-[0-9a-f]{8}-[0-9a-f]{24})(?:;|$)")
_current: ContextVar[str | None] = ContextVar("appsync_jobs_trace_header", default=None)


def current_trace_header() -> str | None:
    """The trace header of what is being served now: a local ``trace_context``, else Lambda's."""
    return _current.get() or os.environ.get(LAMBDA_TRACE_ENV) or None


@contextmanager
def trace_context(header: str | None) -> Iterator[None]:
    """Serve the enclosed code under ``header`` (``None`` keeps the enclosing one)."""
    if not header:
        yield
        return
    token = _current.set(header)
    try:
        yield
    finally:
        _current.reset(token)


def trace_root(header: str | None) -> str | None:
    """The ``Root=1-...`` trace id of a header, or None when it has none (or is malformed)."""
    match = _ROOT.search(header or "")
    return match.group(1) if match else None


def is_trace_header(header: str) -> bool:
    """True for a header SQS accepts as ``AWSTraceHeader`` (it must carry a well-formed Root)."""
    return trace_root(header) is not None and len(header) <= 256


def new_trace_header() -> str:
    """A fresh, sampled-out X-Ray trace header, as AppSync starts one per request."""
    root = f"1-{int(time.time()):08x}-{secrets.token_hex(12)}"
    return f"Root={root};Parent={secrets.token_hex(8)};Sampled=0"
