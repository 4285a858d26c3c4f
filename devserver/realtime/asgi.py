"""The Starlette websocket endpoint speaking AppSync's real-time protocol.

It does what only the socket layer can: negotiate ``graphql-ws``, find the connection's auth header
object in any of the three places AppSync reads it from (spec §1.2, checklist item 4), decide the
connection's auth, and pump frames into ``RealtimeConnection``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from starlette.types import Scope
from starlette.websockets import WebSocket, WebSocketDisconnect

from devserver.auth.identity import NOT_AUTHORIZED, AuthConfig, AuthenticationFailed, authenticate_realtime
from devserver.realtime.protocol import (
    KA_INTERVAL_S,
    MAX_LIFETIME_S,
    PAYLOAD_LIMIT_BYTES,
    SUBSCRIPTION_LIMIT,
    ProtocolConfig,
    RealtimeConnection,
)
from devserver.realtime.source import SubscriptionSource
from devserver.realtime.types import SUBPROTOCOL
from jobcore.auth import Caller

log = logging.getLogger(__name__)

#: Prefix of the subprotocol entry that carries the header object (Amplify v6).
HEADER_SUBPROTOCOL_PREFIX = "header-"
#: What clients sign for the connection (spec §1.3); the realtime path they dial is irrelevant.
CONNECT_PATH = "/graphql/connect"
START_PATH = "/graphql"
#: Close code for a client that did not offer ``graphql-ws`` (RFC 6455 "protocol error").
PROTOCOL_ERROR = 1002

WebSocketEndpoint = Callable[[WebSocket], Awaitable[None]]
Clock = Callable[[], datetime]


def make_realtime_endpoint(
    source: SubscriptionSource,
    auth_config: AuthConfig,
    *,
    ka_interval_s: float = KA_INTERVAL_S,
    subscription_limit: int = SUBSCRIPTION_LIMIT,
    max_lifetime_s: float = MAX_LIFETIME_S,
    payload_limit_bytes: int = PAYLOAD_LIMIT_BYTES,
    clock: Clock | None = None,
) -> WebSocketEndpoint:
    """A websocket endpoint for ``starlette.routing.WebSocketRoute`` (mount it at ``/graphql/realtime``
    for Amplify and wherever gql is pointed). ``clock`` is injectable for SigV4 date checks."""
    config = ProtocolConfig(
        ka_interval_s=ka_interval_s,
        subscription_limit=subscription_limit,
        max_lifetime_s=max_lifetime_s,
        payload_limit_bytes=payload_limit_bytes,
    )
    now = clock or _utcnow

    def authenticate_start(header: Mapping[str, Any], data: str) -> Caller:
        return authenticate_realtime(header, body=data, path=START_PATH, config=auth_config, now=now())

    async def endpoint(websocket: WebSocket) -> None:
        if SUBPROTOCOL not in websocket.scope.get("subprotocols", []):
            # AppSync negotiates nothing else and drops such sockets; an explicit 1002 says why.
            await websocket.accept()
            await websocket.close(PROTOCOL_ERROR, f"the {SUBPROTOCOL} subprotocol is required")
            return
        connection_auth: Caller | AuthenticationFailed
        try:
            header = connection_header(websocket.scope)
            connection_auth = authenticate_realtime(header, body="{}", path=CONNECT_PATH, config=auth_config, now=now())
        except AuthenticationFailed as failure:
            log.info("realtime connection refused: %s", failure.message)
            connection_auth = failure
        # Answer exactly graphql-ws, never the header- entry: browsers, undici and ws abort otherwise.
        await websocket.accept(subprotocol=SUBPROTOCOL)
        connection = RealtimeConnection(
            _StarletteTransport(websocket),
            source,
            connection_auth=connection_auth,
            authenticate_start=authenticate_start,
            config=config,
        )
        await _serve(websocket, connection)

    return endpoint


def connection_header(scope: Scope) -> dict[str, Any]:
    """The connection's auth header object, from the first place that has one.

    1. ``?header=<base64 JSON>`` read from the *raw* query string: gql does not percent-encode the
       base64, so form decoding (``parse_qs``, Starlette's ``query_params``) would turn ``+`` into
       spaces.
    2. A ``header-<base64url, no padding>`` subprotocol entry (Amplify v6).
    3. The upgrade request's own headers (curl, wscat).

    Raises ``AuthenticationFailed`` when a header object is present but undecodable.
    """
    raw_query = scope.get("query_string", b"")
    encoded = _raw_query_param(raw_query.decode("latin-1"), "header")
    if encoded:
        return decode_header_object(encoded)
    for protocol in scope.get("subprotocols", []):
        if protocol.startswith(HEADER_SUBPROTOCOL_PREFIX) and len(protocol) > len(HEADER_SUBPROTOCOL_PREFIX):
            return decode_header_object(protocol[len(HEADER_SUBPROTOCOL_PREFIX) :])
    return {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope.get("headers", [])}


def decode_header_object(encoded: str) -> dict[str, Any]:
    """Decode standard or URL-safe base64, padded or not, into the JSON header object."""
    text = encoded.strip().replace(" ", "+").replace("-", "+").replace("_", "/").rstrip("=")
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
        decoded = json.loads(raw)
    except (binascii.Error, ValueError):
        raise AuthenticationFailed(NOT_AUTHORIZED) from None
    if not isinstance(decoded, dict):
        raise AuthenticationFailed(NOT_AUTHORIZED)
    return decoded


def _raw_query_param(query: str, name: str) -> str | None:
    """Percent-decode (never ``+`` -> space) the first value of ``name``."""
    for item in query.split("&"):
        key, _, value = item.partition("=")
        if unquote(key) == name:
            return unquote(value)
    return None


async def _serve(websocket: WebSocket, connection: RealtimeConnection) -> None:
    await connection.open()
    reader = asyncio.create_task(_read(websocket, connection))
    closed = asyncio.create_task(connection.wait_closed())
    try:
        await asyncio.wait({reader, closed}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (reader, closed):
            task.cancel()
        await asyncio.gather(reader, closed, return_exceptions=True)
        await connection.aclose()


async def _read(websocket: WebSocket, connection: RealtimeConnection) -> None:
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            if text is None and message.get("bytes") is not None:
                text = message["bytes"].decode("utf-8", errors="replace")
            if text is not None:
                await connection.handle(text)


class _StarletteTransport:
    def __init__(self, websocket: WebSocket) -> None:
        self._websocket = websocket

    async def send_text(self, text: str) -> None:
        await self._websocket.send_text(text)

    async def close(self, code: int, reason: str) -> None:
        await self._websocket.close(code, reason)


def _utcnow() -> datetime:
    return datetime.now(UTC)
