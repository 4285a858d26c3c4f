"""How a handler's answer becomes a GraphQL field result - the Python twin of appsync_function.js.

Domain errors travel as ``{"appsyncJobsError": {...}}`` in a *successful* Lambda response, and the
AppSync JS response handler raises them with ``util.error``. The local server calls ``unwrap`` on
the same answer, so both runtimes produce identical ``errorType``/``message``/``errorInfo``.
"""

from __future__ import annotations

from typing import Any

ERROR_KEY = "appsyncJobsError"
#: A subscription resolver's answer that sets the subscriber's filter (AppSync enhanced filtering):
#: ``{"appsyncJobsSubscriptionFilter": {"owner": {"eq": "<principal>"}}}``. The JS response handler
#: passes it to ``extensions.setSubscriptionFilter`` and returns null; the local server applies it
#: itself (``devserver.realtime.subscription_filter``).
FILTER_KEY = "appsyncJobsSubscriptionFilter"
#: What AppSync reports for an exception the Lambda did not turn into an envelope.
UNHANDLED_ERROR_TYPE = "Lambda:Unhandled"


class FieldError(Exception):
    """A GraphQL field error as AppSync's ``util.error(message, errorType, data, errorInfo)`` raises it."""

    def __init__(self, message: str, error_type: str, error_info: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.error_type = error_type
        self.error_info = error_info


def wrap_error(error_type: str, message: str, error_info: Any = None) -> dict[str, Any]:
    return {ERROR_KEY: {"errorType": error_type, "message": message, "errorInfo": error_info}}


def unwrap(result: Any) -> Any:
    """The field value, or ``FieldError`` if the handler answered with an error envelope."""
    if isinstance(result, dict) and isinstance(result.get(ERROR_KEY), dict):
        failure = result[ERROR_KEY]
        raise FieldError(str(failure.get("message")), str(failure.get("errorType")), failure.get("errorInfo"))
    return result


def unhandled(exc: BaseException) -> FieldError:
    """A raised exception, as AppSync shows it: ``Lambda:Unhandled`` with the message only."""
    return FieldError(str(exc), UNHANDLED_ERROR_TYPE)


def subscription_filter(result: Any) -> dict[str, Any] | None:
    """The filter a subscription resolver set, if any (its field value is then null, as on AppSync)."""
    if isinstance(result, dict) and isinstance(result.get(FILTER_KEY), dict):
        return dict(result[FILTER_KEY])
    return None


def with_subscription_filter(filter_: dict[str, Any]) -> dict[str, Any]:
    return {FILTER_KEY: filter_}
