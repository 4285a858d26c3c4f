"""The local server's ASGI application: AppSync's endpoints on one port.

- ``POST /graphql``: queries and mutations (AppSync HTTP semantics)
- ``GET /graphql``: GraphiQL
- ``WS /graphql``: ``graphql-transport-ws`` (standard GraphQL clients)
- ``WS /graphql/realtime``: the AppSync real-time protocol (gql's AppSync transport, Amplify JS)
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route, WebSocketRoute

from devserver.http_graphql import graphql_post
from devserver.realtime.asgi import make_realtime_endpoint
from devserver.realtime_source import LocalSubscriptionSource
from devserver.state import ServerState
from devserver.transport_ws import TransportWsGraphQL

# What browsers preflight for AppSync clients (Amplify sends these), and what AppSync exposes.
CORS_ALLOW_HEADERS = [
    "content-type", "x-api-key", "authorization", "x-amz-user-agent", "x-amz-date", "x-amz-security-token",
    "x-amz-content-sha256",
]
CORS_EXPOSE_HEADERS = [
    "x-amzn-RequestId", "x-amzn-ErrorType", "x-amz-user-agent", "x-amzn-ErrorMessage", "Date", "x-amz-schema-version",
]


async def health(request: Request) -> JSONResponse:
    state: ServerState = request.app.state.appsync
    return JSONResponse({"status": "ok", "subscribers": state.pubsub.subscriber_count()})


def create_app(state: ServerState, *, extra_routes: list[BaseRoute] | None = None) -> Starlette:
    transport_ws = TransportWsGraphQL(state)
    realtime = make_realtime_endpoint(LocalSubscriptionSource(state), state.auth)
    routes: list[BaseRoute] = [
        Route("/graphql", graphql_post, methods=["POST"]),
        Route("/graphql", transport_ws, methods=["GET"]),
        WebSocketRoute("/graphql/realtime", realtime),
        WebSocketRoute("/graphql", transport_ws),
        Route("/health", health),
        *(extra_routes or []),
    ]
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(
                CORSMiddleware,
                allow_origins=["*"],
                allow_methods=["GET", "POST", "OPTIONS"],
                allow_headers=CORS_ALLOW_HEADERS,
                expose_headers=CORS_EXPOSE_HEADERS,
            )
        ],
    )
    app.state.appsync = state
    return app
