"""``POST /graphql``: authenticate as AppSync does, execute, answer in AppSync's shape.

Request-level auth failures are HTTP 401 with ``x-amzn-ErrorType`` (clients such as Amplify name the
error from that header); everything else - validation, authorization directives, resolver errors -
is HTTP 200 with ``errors[]``. Never 5xx for application errors: Amplify retries those.
"""

from __future__ import annotations

import functools
import json
from datetime import UTC, datetime
from typing import Any

from graphql import GraphQLError, OperationDefinitionNode, parse
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.types.graphql import OperationType

from devserver.auth.identity import AuthenticationFailed, appsync_identity, authenticate_http
from devserver.graphql.context import RequestContext
from devserver.graphql.errors import appsync_errors, request_error
from devserver.state import ServerState

#: Larger bodies are refused before parsing (AppSync's own request cap is in this range).
MAX_BODY_BYTES = 1_048_576
#: A query document longer than this is refused without being parsed.
MAX_QUERY_CHARS = 65_536
#: Token budget of one document (aliases and selections included): stops amplification before execution.
MAX_QUERY_TOKENS = 5_000

AWS_RESPONSE_HEADERS = {"content-type": "application/json;charset=UTF-8"}


def _error_response(status: int, error_type: str, message: str) -> JSONResponse:
    return JSONResponse(
        request_error(error_type, message),
        status_code=status,
        headers={"x-amzn-ErrorType": error_type, **AWS_RESPONSE_HEADERS},
    )


def request_headers(request: Request) -> dict[str, str]:
    """Lower-case headers without ``cookie``, as AppSync exposes them to resolvers."""
    return {k.lower(): v for k, v in request.headers.items() if k.lower() != "cookie"}


async def graphql_post(request: Request) -> Response:
    state: ServerState = request.app.state.appsync
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        return _error_response(413, "PayloadTooLargeException", f"Request body is over {MAX_BODY_BYTES} bytes")
    headers = request_headers(request)
    try:
        caller = authenticate_http(
            headers, body, request.url.path, state.auth, datetime.now(UTC), query=request.url.query
        )
    except AuthenticationFailed as exc:
        return _error_response(401, exc.error_type, exc.message)

    try:
        payload = json.loads(body)  # RecursionError for absurd nesting is caught below
        if not isinstance(payload, dict):
            raise TypeError("the body must be a JSON object")
        query = payload.get("query")
        variables = payload.get("variables") or {}
        operation_name = payload.get("operationName")
        if not isinstance(query, str) or not isinstance(variables, dict):
            raise TypeError("'query' must be a string and 'variables' an object")
        if operation_name is not None and not isinstance(operation_name, str):
            raise TypeError("'operationName' must be a string")
    except (ValueError, TypeError, RecursionError) as exc:
        return _error_response(400, "BadRequestException", f"Invalid request body: {str(exc)[:200]}")

    refusal = _document_refusal(query, operation_name)
    if refusal is not None:
        return JSONResponse(
            {"data": None, "errors": [{"errorType": "ValidationError", "path": None, "locations": None, "data": None,
                                       "errorInfo": None, "message": refusal}]},
            headers=AWS_RESPONSE_HEADERS,
        )

    context = RequestContext(
        caller=caller,
        identity=appsync_identity(caller, _source_ips(request, headers)),
        headers=headers,
        rules=state.rules,
        pubsub=state.pubsub,
    )
    try:
        result = await state.schema.execute(
            query,
            variable_values=variables,
            context_value=context,
            operation_name=operation_name,
            allowed_operation_types=(OperationType.QUERY, OperationType.MUTATION),
        )
    except InvalidOperationTypeError:
        # What AppSync answers for a subscription posted to the HTTP endpoint.
        return _error_response(400, "BadRequestException", "Subscriptions over MQTT is not supported.")
    answer: dict[str, Any] = {"data": result.data}
    if result.errors:
        answer["errors"] = appsync_errors(result.errors)
    return JSONResponse(answer, headers=AWS_RESPONSE_HEADERS)


def _source_ips(request: Request, headers: dict[str, str]) -> list[str]:
    forwarded = [ip.strip() for ip in headers.get("x-forwarded-for", "").split(",") if ip.strip()]
    peer = request.client.host if request.client else "127.0.0.1"
    return [*forwarded, peer]


@functools.lru_cache(maxsize=256)
def _document_refusal(query: str, operation_name: str | None) -> str | None:
    """Why a document is refused before execution, or None. Cheap checks that keep hostile documents
    (huge, token floods, ambiguous operations) from reaching the executor."""
    if len(query) > MAX_QUERY_CHARS:
        return f"Query document is {len(query)} characters; the limit is {MAX_QUERY_CHARS}"
    try:
        document = parse(query, max_tokens=MAX_QUERY_TOKENS)
    except GraphQLError as exc:
        return f"Validation error: {exc.message}"
    except RecursionError:
        return "Validation error: the document is nested too deeply"
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is None and len(operations) > 1:
        return "Validation error: an operationName is required when the document has several operations"
    if operation_name is not None and operation_name not in {op.name.value for op in operations if op.name}:
        return f"Validation error: unknown operation named '{operation_name[:100]}'"
    if not operations:
        return "Validation error: the document has no operation to run"
    return None
