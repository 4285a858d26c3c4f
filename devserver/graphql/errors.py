"""GraphQL errors in AppSync's shape (graphql-java style): errorType, errorInfo, data, path, locations.

One function for every local transport (HTTP, graphql-transport-ws, the AppSync real-time socket),
so clients see the same error from each, and the same as from the deployed API.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError

from resolvers.envelope import FieldError

VALIDATION_ERROR_TYPE = "ValidationError"


def _locations(error: GraphQLError) -> list[dict[str, Any]] | None:
    if not error.locations:
        return None
    return [{"line": loc.line, "column": loc.column, "sourceName": None} for loc in error.locations]


def appsync_error(error: GraphQLError) -> dict[str, Any]:
    original = error.original_error
    if isinstance(original, FieldError):
        return {
            "path": error.path,
            "data": None,
            "errorType": original.error_type,
            "errorInfo": original.error_info,
            "locations": _locations(error),
            "message": original.message,
        }
    if error.path is None:
        # Parse, validation and variable-coercion errors: nothing ran. AppSync words these
        # "Validation error of type ..."; the errorType lets clients branch without parsing text.
        return {
            "path": None,
            "data": None,
            "errorType": VALIDATION_ERROR_TYPE,
            "errorInfo": None,
            "locations": _locations(error),
            "message": f"Validation error: {error.message}",
        }
    return {
        "path": error.path,
        "data": None,
        "errorType": type(original).__name__ if original else "GraphQLError",
        "errorInfo": None,
        "locations": _locations(error),
        "message": error.message,
    }


def appsync_errors(errors: list[GraphQLError] | None) -> list[dict[str, Any]]:
    return [appsync_error(e) for e in errors or []]


def request_error(error_type: str, message: str) -> dict[str, Any]:
    """A whole-request error body (auth failures, malformed requests), as AppSync sends them."""
    return {"errors": [{"errorType": error_type, "message": message}]}
