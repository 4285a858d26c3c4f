"""The seam between the realtime protocol and the GraphQL server: where subscriptions come from.

The protocol knows the AppSync wire format; the server engineer's implementation knows the schema,
``@aws_subscribe`` wiring, auth directives and filtering. Neither needs the other's details.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any, Protocol

from jobcore.auth import Caller


class StartRejected(Exception):
    """A start that cannot run: errors are AppSync error dicts, e.g.
    {"errorType": "UnsupportedOperation", "message": "query not supported through the realtime channel"},
    {"message": "Validation error of type FieldUndefined: ..."} or
    {"errorType": "Unauthorized", "message": "Not Authorized to access onJobUpdated on type Subscription"}."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("; ".join(str(error.get("message", error)) for error in errors))
        self.errors = errors


class SubscriptionSource(Protocol):
    async def subscribe(self, caller: Caller, request: Mapping[str, Any]) -> AsyncIterator[dict[str, Any]]:
        """request = the decoded start payload.data: {"query": str, "variables": dict, "operationName"?: str}.
        Validates and authorizes (raising StartRejected) BEFORE returning; the returned iterator yields
        payloads {"data": {...}} (or {"data": ..., "errors": [...]}) to send as `data` messages.
        Closing the iterator (aclose) ends the subscription."""
        ...
