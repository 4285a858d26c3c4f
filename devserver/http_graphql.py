"""``POST /graphql``: authenticate as AppSync does, execute, answer in AppSync's shape.

Request-level auth failures are HTTP 401 with ``x-amzn-ErrorType`` (clients such as Amplify name the
error from that header); everything else - validation, authorization directives, resolver errors -
is HTTP 200 with ``errors[]``. Never 5xx for application errors: Amplify retries those.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.types.graphql import OperationType

from devserver.context import RequestContext
from devserver.errors import appsync_errors, request_error
from devserver.identity import AuthenticationFailed, authenticate_http, iam_identity
from devserver.state import ServerState

#: Larger bodies are refused before parsing (AppSync's own request cap is in this range).
MAX_BODY_BYTES = 1_048_576
#: A query document longer than this is refused without being parsed.
MAX_QUERY_CHARS = 65_536

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
        payload = json.loads(body)
        if not isinstance(payload, dict):
            raise TypeError("the body must be a JSON object")
        query = payload.get("query")
        variables = payload.get("variables") or {}
        operation_name = payload.get("operationName")
        if not isinstance(query, str) or not isinstance(variables, dict):
            raise TypeError("'query' must be a string and 'variables' an object")
        if operation_name is not None and not isinstance(operation_name, str):
            raise TypeError("'operationName' must be a string")
    except (ValueError, TypeError) as exc:
        return _error_response(400, "BadRequestException", f"Invalid request body: {exc}")
    if len(query) > MAX_QUERY_CHARS:
        return JSONResponse(
            {"data": None, "errors": [{"errorType": "ValidationError", "path": None, "locations": None,
                                       "message": f"Query document is {len(query)} characters; the limit is "
                                                  f"{MAX_QUERY_CHARS}"}]},
            headers=AWS_RESPONSE_HEADERS,
        )

    context = RequestContext(
        caller=caller,
        identity=iam_identity(caller, _source_ips(request, headers)),
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
