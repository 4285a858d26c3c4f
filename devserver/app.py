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

from devserver.graphql.http_graphql import graphql_post
from devserver.realtime.asgi import make_realtime_endpoint
from devserver.realtime.subscriptions import LocalSubscriptionSource
from devserver.realtime.transport_ws import TransportWsGraphQL
from devserver.routes.web_console import web_console_routes
from devserver.state import ServerState

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


async def amplify_outputs(request: Request) -> JSONResponse:
    """An ``amplify_outputs.json`` describing this server, the same shape the CDK stack outputs, so a
    frontend switches between local and deployed by swapping one file."""
    state: ServerState = request.app.state.appsync
    base = f"{request.url.scheme}://{request.url.netloc}"
    return JSONResponse({
        "version": "1",
        "data": {
            "url": f"{base}/graphql",
            "aws_region": state.auth.region,
            "api_key": sorted(state.auth.api_keys)[0],
            "default_authorization_type": "API_KEY",
            "authorization_types": ["AWS_IAM"],
        },
    })


def create_app(state: ServerState, *, extra_routes: list[BaseRoute] | None = None) -> Starlette:
    transport_ws = TransportWsGraphQL(state)
    realtime = make_realtime_endpoint(LocalSubscriptionSource(state), state.auth)
    routes: list[BaseRoute] = [
        Route("/graphql", graphql_post, methods=["POST"]),
        Route("/graphql", transport_ws, methods=["GET"]),
        WebSocketRoute("/graphql/realtime", realtime),
        WebSocketRoute("/graphql", transport_ws),
        Route("/health", health),
        Route("/amplify_outputs.json", amplify_outputs),
        *(extra_routes or []),
        *web_console_routes(),  # the web console at / (catch-all, so last)
    ]
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(
                CORSMiddleware,
                allow_origins=["*"],
                allow_methods=["GET", "POST", "PUT", "OPTIONS"],  # PUT: artifact uploads (/artifacts)
                allow_headers=CORS_ALLOW_HEADERS,
                expose_headers=CORS_EXPOSE_HEADERS,
            )
        ],
    )
    app.state.appsync = state
    return app
