"""The standard ``graphql-transport-ws`` endpoint at ``/graphql`` (plus GraphiQL on GET), via strawberry.

Auth travels in the ``connection_init`` payload or the upgrade headers, as an AppSync header object
(``x-api-key`` or SigV4 headers); it is checked exactly like the AppSync real-time endpoint's.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError

from devserver.auth.identity import AuthenticationFailed, appsync_identity, authenticate_realtime
from devserver.graphql.context import RequestContext
from devserver.state import ServerState
from jobcore.auth import API_KEY_CALLER


class TransportWsGraphQL(GraphQL[RequestContext, None]):
    def __init__(self, state: ServerState) -> None:
        super().__init__(state.schema, subscription_protocols=("graphql-transport-ws",), allow_queries_via_get=False)
        self.state = state

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> RequestContext:
        headers = {k.lower(): v for k, v in request.headers.items() if k.lower() != "cookie"}
        # Provisional: on_ws_connect replaces the caller once the connection's credentials are checked.
        return RequestContext(API_KEY_CALLER, None, headers, self.state.rules, self.state.pubsub)

    async def on_ws_connect(self, context: RequestContext) -> Any:
        params = context.connection_params if isinstance(context.connection_params, dict) else {}
        header = {**context.headers, **{str(k).lower(): v for k, v in params.items() if isinstance(v, str)}}
        try:
            caller = authenticate_realtime(
                header, body="{}", path="/graphql/connect", config=self.state.auth, now=datetime.now(UTC)
            )
        except AuthenticationFailed as exc:
            raise ConnectionRejectionError({"errorType": exc.error_type, "message": exc.message}) from exc
        context.caller = caller
        context.identity = appsync_identity(caller, ["127.0.0.1"])
        return None
