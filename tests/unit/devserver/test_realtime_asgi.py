"""The realtime endpoint under a real uvicorn, driven by gql's real AppSync transport and by an
Amplify-style raw websocket. Everything waits on real events with bounded timeouts."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvicorn
import websockets
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from gql import Client, gql
from gql.transport.appsync_auth import AppSyncApiKeyAuthentication, AppSyncIAMAuthentication
from gql.transport.appsync_websockets import AppSyncWebsocketsTransport
from gql.transport.exceptions import TransportQueryError, TransportServerError
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from websockets.typing import Subprotocol

from devserver.auth.identity import AuthConfig, AuthenticationFailed
from devserver.realtime import connection_header, decode_header_object, make_realtime_endpoint
from devserver.realtime.source import StartRejected
from jobcore.auth import API_KEY_CALLER, AuthMode, Caller
from jobcore.settings import LOCAL_ACCESS_KEY_ID, LOCAL_API_KEY, LOCAL_REGION, LOCAL_SECRET_ACCESS_KEY

WAIT = 5.0
SUBSCRIPTION = "subscription OnJob { onJobUpdated { id status } }"
EVENTS = [{"data": {"onJobUpdated": {"id": "j-1", "status": status}}} for status in ("QUEUED", "RUNNING", "SUCCEEDED")]


@dataclass
class EventSource:
    """Yields the three events, then stays open until the subscription is closed."""

    calls: list[tuple[Caller, Mapping[str, Any]]] = field(default_factory=list)
    closed: asyncio.Event = field(default_factory=asyncio.Event)

    async def subscribe(self, caller: Caller, request: Mapping[str, Any]) -> AsyncIterator[dict[str, Any]]:
        if not request["query"].lstrip().startswith("subscription"):
            raise StartRejected(
                [{"errorType": "UnsupportedOperation", "message": "query not supported through the realtime channel"}]
            )
        self.calls.append((caller, request))
        return self._events()

    async def _events(self) -> AsyncIterator[dict[str, Any]]:
        try:
            for event in EVENTS:
                yield event
            await asyncio.Event().wait()
        finally:
            self.closed.set()


@dataclass
class Server:
    port: int
    source: EventSource

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"ws://{self.host}/graphql/realtime"


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    """uvicorn with the sans-I/O websockets implementation, the one the local runtime uses."""
    source = EventSource()
    endpoint = make_realtime_endpoint(source, AuthConfig.local_default())
    app = Starlette(routes=[WebSocketRoute("/graphql/realtime", endpoint), WebSocketRoute("/graphql", endpoint)])
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    # Listening before uvicorn starts: early clients wait in the backlog, so no start-up polling.
    sock.listen(64)
    config = uvicorn.Config(app, lifespan="off", log_config=None, log_level="warning", ws="websockets-sansio")
    uv = uvicorn.Server(config)
    task = asyncio.create_task(uv.serve(sockets=[sock]))
    try:
        yield Server(sock.getsockname()[1], source)
    finally:
        uv.should_exit = True
        await asyncio.wait_for(task, WAIT)
        sock.close()


def api_key_auth(server: Server, key: str = LOCAL_API_KEY) -> AppSyncApiKeyAuthentication:
    return AppSyncApiKeyAuthentication(host=server.host, api_key=key)


def iam_auth(server: Server) -> AppSyncIAMAuthentication:
    return AppSyncIAMAuthentication(
        host=server.host,
        region_name=LOCAL_REGION,
        credentials=Credentials(LOCAL_ACCESS_KEY_ID, LOCAL_SECRET_ACCESS_KEY),
    )


async def subscribe_then_close(server: Server, auth: Any) -> tuple[list[dict[str, Any]], float]:
    """Receive the events while subscribed, then close the client with the subscription still open,
    which makes gql send ``stop`` and wait (up to 10 s) for ``complete``."""
    client = Client(transport=AppSyncWebsocketsTransport(url=server.url, auth=auth))
    session = await asyncio.wait_for(client.connect_async(), WAIT)  # type: ignore[no-untyped-call]
    received: list[dict[str, Any]] = []
    all_in = asyncio.Event()

    async def consume() -> None:
        async for result in session.subscribe(gql(SUBSCRIPTION)):
            received.append(result)
            if len(received) == len(EVENTS):
                all_in.set()

    consumer = asyncio.create_task(consume())
    await asyncio.wait_for(all_in.wait(), WAIT)
    started = time.monotonic()
    await asyncio.wait_for(client.close_async(), WAIT)  # type: ignore[no-untyped-call]
    elapsed = time.monotonic() - started
    await asyncio.wait_for(consumer, WAIT)  # ended by ``complete``, not by an error
    await asyncio.wait_for(server.source.closed.wait(), WAIT)
    return received, elapsed


# --- gql --------------------------------------------------------------------------------------------------


async def test_gql_api_key_subscribes_receives_and_closes_promptly(server: Server) -> None:
    received, elapsed = await subscribe_then_close(server, api_key_auth(server))
    assert received == [event["data"] for event in EVENTS]
    assert elapsed < 2.0, f"close took {elapsed:.2f}s: complete not sent?"
    [(caller, request)] = server.source.calls
    assert caller == API_KEY_CALLER
    assert request["variables"] == {}, "gql omits empty variables; the protocol defaults them"
    assert "subscription OnJob" in request["query"]


async def test_gql_iam_subscribes_receives_and_closes_promptly(server: Server) -> None:
    received, elapsed = await subscribe_then_close(server, iam_auth(server))
    assert received == [event["data"] for event in EVENTS]
    assert elapsed < 2.0
    [(caller, _)] = server.source.calls
    assert caller == Caller(AuthMode.AWS_IAM, f"arn:aws:iam::000000000000:user/{LOCAL_ACCESS_KEY_ID}")


async def test_gql_on_the_graphql_path_works_too(server: Server) -> None:
    auth = api_key_auth(server)
    transport = AppSyncWebsocketsTransport(url=f"ws://{server.host}/graphql", auth=auth)
    async with Client(transport=transport) as session:
        stream = session.subscribe(gql(SUBSCRIPTION))
        assert await asyncio.wait_for(anext(stream), WAIT) == EVENTS[0]["data"]
        await stream.aclose()


async def test_gql_wrong_api_key_gets_a_connection_error(server: Server) -> None:
    transport = AppSyncWebsocketsTransport(url=server.url, auth=api_key_auth(server, "da2-wrong"))
    with pytest.raises(TransportServerError, match="UnauthorizedException"):
        await asyncio.wait_for(Client(transport=transport).connect_async(), WAIT)  # type: ignore[no-untyped-call]
    assert server.source.calls == []


async def test_gql_query_over_the_socket_is_refused_for_that_subscription_only(server: Server) -> None:
    async with Client(transport=AppSyncWebsocketsTransport(url=server.url, auth=api_key_auth(server))) as session:
        with pytest.raises(TransportQueryError, match="not supported through the realtime channel"):
            async for _ in session.subscribe(gql("query { a }")):
                pass
        stream = session.subscribe(gql(SUBSCRIPTION))
        assert await asyncio.wait_for(anext(stream), WAIT) == EVENTS[0]["data"]
        await stream.aclose()


# --- Amplify-style raw sockets ----------------------------------------------------------------------------


def protocols(*names: str) -> list[Subprotocol]:
    return [Subprotocol(name) for name in names]


def b64url(header: Mapping[str, Any]) -> str:
    """Amplify's encoding: base64url of the JSON, padding stripped."""
    return base64.urlsafe_b64encode(json.dumps(header).encode()).decode().rstrip("=")


def amplify_iam_header(server: Server, path: str, body: str) -> dict[str, str]:
    request = AWSRequest(
        method="POST",
        url=f"https://{server.host}{path}",
        data=body,
        headers={
            "accept": "application/json, text/javascript",
            "content-encoding": "amz-1.0",
            "content-type": "application/json; charset=UTF-8",
        },
    )
    SigV4Auth(Credentials(LOCAL_ACCESS_KEY_ID, LOCAL_SECRET_ACCESS_KEY), "appsync", LOCAL_REGION).add_auth(request)
    return {name.lower(): value for name, value in request.headers.items()} | {"host": server.host}


async def recv(ws: Any) -> dict[str, Any]:
    """The next non-ka message."""
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), WAIT))
        if message["type"] != "ka":
            return message  # type: ignore[no-any-return]


async def amplify_session(ws: Any, sub_id: str, header: Mapping[str, Any]) -> None:
    await ws.send(json.dumps({"type": "connection_init"}))
    assert json.loads(await asyncio.wait_for(ws.recv(), WAIT)) == {
        "type": "connection_ack",
        "payload": {"connectionTimeoutMs": 300000},
    }
    data = json.dumps({"query": SUBSCRIPTION, "variables": {}})
    start = {
        "id": sub_id,
        "payload": {
            "data": data,
            "extensions": {"authorization": {**header, "x-amz-user-agent": "aws-amplify/6.22.1"}},
        },
        "type": "start",
    }
    await ws.send(json.dumps(start))
    assert await recv(ws) == {"type": "start_ack", "id": sub_id}
    for event in EVENTS:
        assert await recv(ws) == {"type": "data", "id": sub_id, "payload": event}
    await ws.send(json.dumps({"id": sub_id, "type": "stop"}))
    assert await recv(ws) == {"type": "complete", "id": sub_id}


async def test_amplify_header_subprotocol_negotiates_exactly_graphql_ws(server: Server) -> None:
    header = {"host": server.host, "x-amz-date": "20250101T000000Z", "x-api-key": LOCAL_API_KEY}
    async with websockets.connect(server.url, subprotocols=protocols("graphql-ws", f"header-{b64url(header)}")) as ws:
        assert ws.subprotocol == "graphql-ws"
        await amplify_session(ws, str(uuid.uuid4()), header)


async def test_amplify_iam_over_the_header_subprotocol(server: Server) -> None:
    connect = amplify_iam_header(server, "/graphql/connect", "{}")
    async with websockets.connect(server.url, subprotocols=protocols("graphql-ws", f"header-{b64url(connect)}")) as ws:
        assert ws.subprotocol == "graphql-ws"
        await ws.send(json.dumps({"type": "connection_init"}))
        assert (await recv(ws))["type"] == "connection_ack"
        sub_id = str(uuid.uuid4())
        data = json.dumps({"query": SUBSCRIPTION, "variables": {}})
        header = amplify_iam_header(server, "/graphql", data)
        start = {"id": sub_id, "type": "start", "payload": {"data": data, "extensions": {"authorization": header}}}
        await ws.send(json.dumps(start))
        assert await recv(ws) == {"type": "start_ack", "id": sub_id}
        assert (await recv(ws))["payload"] == EVENTS[0]
    assert server.source.calls[0][0].mode is AuthMode.AWS_IAM


async def test_bad_header_subprotocol_gets_connection_error(server: Server) -> None:
    header = {"host": server.host, "x-api-key": "da2-wrong"}
    async with websockets.connect(server.url, subprotocols=protocols("graphql-ws", f"header-{b64url(header)}")) as ws:
        assert ws.subprotocol == "graphql-ws"
        assert json.loads(await asyncio.wait_for(ws.recv(), WAIT)) == {
            "type": "connection_error",
            "payload": {
                "errors": [
                    {
                        "errorType": "UnauthorizedException",
                        "message": "You are not authorized to make this call.",
                        "errorCode": 401,
                    }
                ]
            },
        }
        await ws.send(json.dumps({"type": "connection_init"}))
        with pytest.raises(websockets.ConnectionClosed):
            await asyncio.wait_for(ws.recv(), WAIT)


async def test_plain_upgrade_headers_carry_auth(server: Server) -> None:
    async with websockets.connect(
        server.url, subprotocols=protocols("graphql-ws"), additional_headers={"x-api-key": LOCAL_API_KEY}
    ) as ws:
        await amplify_session(ws, "plain-1", {"host": server.host, "x-api-key": LOCAL_API_KEY})


async def test_without_graphql_ws_the_socket_is_closed_with_protocol_error(server: Server) -> None:
    async with websockets.connect(server.url, subprotocols=protocols("graphql-transport-ws")) as ws:
        assert ws.subprotocol is None
        with pytest.raises(websockets.ConnectionClosed) as caught:
            await asyncio.wait_for(ws.recv(), WAIT)
    assert caught.value.rcvd is not None
    assert caught.value.rcvd.code == 1002


# --- header extraction ------------------------------------------------------------------------------------


def scope(
    query: bytes = b"", subprotocols: list[str] | None = None, headers: list[tuple[bytes, bytes]] | None = None
) -> dict[str, Any]:
    return {"type": "websocket", "query_string": query, "subprotocols": subprotocols or [], "headers": headers or []}


def test_query_header_keeps_raw_plus_signs() -> None:
    header = {"x-api-key": ">>>?"}  # encodes with '+' and '/' in standard base64
    encoded = base64.b64encode(json.dumps(header).encode()).decode()
    assert "+" in encoded or "/" in encoded
    assert connection_header(scope(f"header={encoded}&payload=e30=".encode())) == header


def test_query_header_may_be_percent_encoded() -> None:
    header = {"x-api-key": ">>>?"}
    encoded = base64.b64encode(json.dumps(header).encode()).decode()
    quoted = encoded.replace("+", "%2B").replace("/", "%2F").replace("=", "%3D")
    assert connection_header(scope(f"payload=e30%3D&header={quoted}".encode())) == header


def test_query_header_wins_over_the_subprotocol_and_headers() -> None:
    query = {"x-api-key": "from-query"}
    proto = {"x-api-key": "from-protocol"}
    s = scope(
        f"header={base64.b64encode(json.dumps(query).encode()).decode()}".encode(),
        ["graphql-ws", f"header-{b64url(proto)}"],
        [(b"x-api-key", b"from-headers")],
    )
    assert connection_header(s) == query
    s["query_string"] = b""
    assert connection_header(s) == proto


def test_empty_header_subprotocol_falls_back_to_upgrade_headers() -> None:
    s = scope(b"", ["graphql-ws", "header-"], [(b"X-Api-Key", b"k"), (b"Host", b"h")])
    assert connection_header(s) == {"x-api-key": "k", "host": "h"}


@pytest.mark.parametrize("padding", [0, 1, 2])
def test_header_object_decodes_any_padding_and_alphabet(padding: int) -> None:
    header = {"host": "localhost:8000", "x-api-key": "k" * padding + "?>"}
    for encoded in (
        base64.b64encode(json.dumps(header).encode()).decode(),
        b64url(header),
        base64.urlsafe_b64encode(json.dumps(header).encode()).decode(),
    ):
        assert decode_header_object(encoded) == header


@pytest.mark.parametrize("encoded", ["!!!", base64.b64encode(b"not json").decode(), base64.b64encode(b"[1]").decode()])
def test_undecodable_header_object_is_an_authentication_failure(encoded: str) -> None:
    with pytest.raises(AuthenticationFailed):
        decode_header_object(encoded)
