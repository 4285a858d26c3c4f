"""The AppSync real-time protocol for one connection, free of any socket library.

Kept transport-free so every message and timer can be tested without sockets or sleeps: the caller
feeds text frames to ``handle`` and gives a tiny ``RealtimeTransport``; time passes only through
the injected ``sleep``. The wire rules come from ``/work/shared/design/appsync-spec.md`` §1 and the
emulator checklist at its end; where AppSync's behaviour is unobserved the choice is marked.

States: ``AWAITING_INIT`` -> ``ACKED`` -> ``CLOSED``, or ``REJECTED`` -> ``CLOSED`` when the
connection's own auth failed (decided by the endpoint before the protocol starts).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol, TypeGuard

from devserver.auth.identity import AuthenticationFailed
from devserver.object_id_cache import ObjectIdCache
from devserver.realtime.source import StartRejected, SubscriptionSource
from devserver.realtime.types import AppSyncError, StartRequest, SubscriptionId
from jobcore.auth import Caller

log = logging.getLogger(__name__)

#: AppSync's subscription payload quota: 240 KB (spec §1.6), counted here as 240 KiB of UTF-8 JSON.
PAYLOAD_LIMIT_BYTES = 240 * 1024
CONNECTION_TIMEOUT_MS = 300_000
KA_INTERVAL_S = 60.0
SUBSCRIPTION_LIMIT = 100
MAX_LIFETIME_S = 24 * 60 * 60.0
#: How long a rejected connection stays open for the client to read ``connection_error``.
REJECT_LINGER_S = 10.0

NORMAL_CLOSURE = 1000

# Error entries AppSync is seen sending (spec §1.4) or, where unobserved, our closest rendering.
UNSUPPORTED_OPERATION: AppSyncError = {
    "errorType": "UnsupportedOperation",
    "message": "unknown not supported through the realtime channel",
}
CONNECTION_UNAUTHORIZED: AppSyncError = {
    "errorType": "UnauthorizedException",
    "message": "You are not authorized to make this call.",
    "errorCode": 401,
}
INTERNAL_FAILURE: AppSyncError = {"errorType": "InternalFailure", "message": "An internal failure occurred."}


def duplicated_operation(sub_id: SubscriptionId) -> AppSyncError:
    """Observed from AppSync (amplify-js #12818)."""
    return {"errorType": "DuplicatedOperationError", "message": f"Duplicated operation with id {sub_id}"}


def max_subscriptions_reached(limit: int) -> AppSyncError:
    """AppSync's errorType (Amplify's iOS client matches on it) and message (amplify-cli #7427)."""
    return {"errorType": "MaxSubscriptionsReachedError", "message": f"Max number of {limit} subscriptions reached"}


def bad_request(message: str) -> AppSyncError:
    """For malformed starts; AppSync's exact wording for these is not observed."""
    return {"errorType": "BadRequestException", "message": message}


class RealtimeTransport(Protocol):
    """What the protocol needs from a socket."""

    async def send_text(self, text: str) -> None: ...

    async def close(self, code: int, reason: str) -> None: ...


#: Authenticates a start's ``extensions.authorization`` over its exact ``payload.data`` string.
StartAuthenticator = Callable[[Mapping[str, Any], str], Caller]
Sleep = Callable[[float], Awaitable[None]]


class ConnectionState(Enum):
    AWAITING_INIT = "awaiting_init"
    ACKED = "acked"
    REJECTED = "rejected"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class ProtocolConfig:
    ka_interval_s: float = KA_INTERVAL_S
    connection_timeout_ms: int = CONNECTION_TIMEOUT_MS
    subscription_limit: int = SUBSCRIPTION_LIMIT
    max_lifetime_s: float = MAX_LIFETIME_S
    payload_limit_bytes: int = PAYLOAD_LIMIT_BYTES
    reject_linger_s: float = REJECT_LINGER_S


class RealtimeConnection:
    """One client connection: feed it frames with ``handle``; call ``aclose`` when the socket ends."""

    def __init__(
        self,
        transport: RealtimeTransport,
        source: SubscriptionSource,
        *,
        connection_auth: Caller | AuthenticationFailed,
        authenticate_start: StartAuthenticator,
        config: ProtocolConfig | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._transport = transport
        self._source = source
        self._auth = connection_auth
        self._authenticate_start = authenticate_start
        self._config = config or ProtocolConfig()
        self._sleep = sleep
        self._state = ConnectionState.AWAITING_INIT
        self._subscriptions: dict[SubscriptionId, asyncio.Task[None]] = {}
        self._timers: set[asyncio.Task[None]] = set()
        self._send_lock = asyncio.Lock()
        self._closed = asyncio.Event()
        self._opened = False

    @property
    def state(self) -> ConnectionState:
        return self._state

    @property
    def caller(self) -> Caller | None:
        """Who opened the connection, or ``None`` if that failed."""
        return self._auth if isinstance(self._auth, Caller) else None

    @property
    def active_subscription_ids(self) -> frozenset[SubscriptionId]:
        return frozenset(self._subscriptions)

    async def wait_closed(self) -> None:
        await self._closed.wait()

    async def open(self) -> None:
        """Start the connection's clocks; a connection whose auth failed gets ``connection_error`` now."""
        if self._opened:
            return
        self._opened = True
        if isinstance(self._auth, AuthenticationFailed):
            self._state = ConnectionState.REJECTED
            await self._send({"type": "connection_error", "payload": {"errors": [dict(CONNECTION_UNAUTHORIZED)]}})
            # Close only once the client has had a chance to read it: closing at once races gql,
            # whose connection_init would then fail with "connection closed" instead of this error.
            self._start_timer(self._close_after(self._config.reject_linger_s, "Unauthorized"))
            return
        self._start_timer(self._close_after(self._config.max_lifetime_s, "Connection lifetime exceeded"))

    async def handle(self, text: str) -> None:
        """Process one text frame from the client."""
        if not self._opened:
            await self.open()
        if self._state is ConnectionState.CLOSED:
            return
        if self._state is ConnectionState.REJECTED:
            await self._close("Unauthorized")
            return
        message = _decode(text)
        if self._state is ConnectionState.AWAITING_INIT:
            if message is not None and message.get("type") == "connection_init":
                await self._acknowledge()
            else:
                # AppSync ignores everything before connection_ack.
                log.debug("ignoring message before connection_init: %.200s", text)
            return
        kind = message.get("type") if message is not None else None
        if message is None or kind not in ("start", "stop", "connection_init"):
            await self._send({"type": "error", "payload": {"errors": [dict(UNSUPPORTED_OPERATION)]}})
        elif kind == "start":
            await self._start(message)
        elif kind == "stop":
            await self._stop(message)
        else:
            log.debug("ignoring repeated connection_init")

    async def aclose(self) -> None:
        """Tear down: cancel every subscription and timer. Idempotent; sends nothing."""
        self._state = ConnectionState.CLOSED
        self._closed.set()
        current = asyncio.current_task()
        tasks = [task for task in (*self._subscriptions.values(), *self._timers) if task is not current]
        self._subscriptions.clear()
        self._timers.clear()
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    # --- connection ------------------------------------------------------------------------------------

    async def _acknowledge(self) -> None:
        self._state = ConnectionState.ACKED
        await self._send(
            {"type": "connection_ack", "payload": {"connectionTimeoutMs": self._config.connection_timeout_ms}}
        )
        self._start_timer(self._keep_alive())

    async def _keep_alive(self) -> None:
        while self._state is ConnectionState.ACKED:
            await self._send({"type": "ka"})
            await self._sleep(self._config.ka_interval_s)

    async def _close_after(self, seconds: float, reason: str) -> None:
        await self._sleep(seconds)
        await self._close(reason)

    async def _close(self, reason: str) -> None:
        if self._state is ConnectionState.CLOSED:
            return
        self._state = ConnectionState.CLOSED
        try:
            await self._transport.close(NORMAL_CLOSURE, reason)
        except Exception:
            log.debug("closing the transport failed", exc_info=True)
        await self.aclose()

    def _start_timer(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._timers.add(task)
        task.add_done_callback(self._timers.discard)

    # --- subscriptions ---------------------------------------------------------------------------------

    async def _start(self, message: Mapping[str, Any]) -> None:
        sub_id = message.get("id")
        if not _is_id(sub_id):
            await self._send({"type": "error", "payload": {"errors": [dict(bad_request("start requires an id"))]}})
            return
        if sub_id in self._subscriptions:
            await self._send_errors(sub_id, [dict(duplicated_operation(sub_id))])
            return
        if len(self._subscriptions) >= self._config.subscription_limit:
            await self._send_errors(sub_id, [dict(max_subscriptions_reached(self._config.subscription_limit))])
            return
        payload = message.get("payload")
        data = payload.get("data") if isinstance(payload, Mapping) else None
        if not isinstance(data, str):
            await self._send_errors(sub_id, [dict(bad_request("start payload.data must be a JSON string"))])
            return
        extensions = payload.get("extensions") if isinstance(payload, Mapping) else None
        header = extensions.get("authorization") if isinstance(extensions, Mapping) else None
        try:
            caller = self._authenticate_start(header if isinstance(header, Mapping) else {}, data)
        except AuthenticationFailed as failure:
            await self._send_errors(sub_id, [{"errorType": failure.error_type, "message": failure.message}])
            return
        request = _decode_request(data)
        if isinstance(request, str):
            await self._send_errors(sub_id, [dict(bad_request(request))])
            return
        task = asyncio.create_task(self._run(sub_id, caller, request))
        self._subscriptions[sub_id] = task
        task.add_done_callback(lambda done: self._forget(sub_id, done))

    async def _stop(self, message: Mapping[str, Any]) -> None:
        sub_id = message.get("id")
        if not _is_id(sub_id):
            return
        task = self._subscriptions.pop(sub_id, None)
        if task is not None:
            # Cancelled before ``complete`` goes out, so no frame for this id can follow it.
            task.cancel()
        # Unknown ids are answered too: the source may have just ended it, and gql waits for this.
        await self._send({"type": "complete", "id": sub_id})

    def _forget(self, sub_id: SubscriptionId, task: asyncio.Task[None]) -> None:
        if self._subscriptions.get(sub_id) is task:
            del self._subscriptions[sub_id]

    async def _run(self, sub_id: SubscriptionId, caller: Caller, request: StartRequest) -> None:
        events: AsyncIterator[dict[str, Any]] | None = None
        try:
            try:
                events = await self._source.subscribe(caller, request)
            except StartRejected as rejected:
                await self._send_errors(sub_id, rejected.errors)
                return
            await self._send({"type": "start_ack", "id": sub_id})
            async for payload in events:
                if not await self._deliver(sub_id, payload):
                    return
            await self._send({"type": "complete", "id": sub_id})
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("subscription %r failed", sub_id)
            await self._send_errors(sub_id, [dict(INTERNAL_FAILURE)])
        finally:
            if events is not None:
                await _aclose(events)

    async def _deliver(self, sub_id: SubscriptionId, payload: Any) -> bool:
        """Send one event; ``False`` ends the subscription (its errors went out as ``error``)."""
        if not isinstance(payload, Mapping):
            log.warning("dropping subscription %r event that is not an object: %r", sub_id, payload)
            return True
        if payload.get("data") is None:
            errors = payload.get("errors")
            if errors:
                # Amplify drops data frames with null data, so errors travel as ``error``, which
                # both clients treat as the end of that subscription.
                await self._send_errors(sub_id, list(errors))
                return False
            log.warning("dropping subscription %r event without data", sub_id)
            return True
        encoded, size = _encoded(payload)
        if size > self._config.payload_limit_bytes:
            # AppSync drops these too (counted as InboundMessageError); subscribers never see them.
            log.warning(
                "dropping subscription %r event of %d bytes (limit %d)", sub_id, size, self._config.payload_limit_bytes
            )
            return True
        await self._send_text(f'{{"type":"data","id":{json.dumps(sub_id)},"payload":{encoded}}}')
        return True

    # --- output ----------------------------------------------------------------------------------------

    async def _send_errors(self, sub_id: SubscriptionId, errors: list[Any]) -> None:
        await self._send({"type": "error", "id": sub_id, "payload": {"errors": errors}})

    async def _send(self, message: Mapping[str, Any]) -> None:
        await self._send_text(json.dumps(message, separators=(",", ":"), ensure_ascii=False))

    async def _send_text(self, text: str) -> None:
        if self._state is ConnectionState.CLOSED:
            return
        async with self._send_lock:
            try:
                await self._transport.send_text(text)
            except Exception:
                # The socket is going away; the endpoint notices and calls ``aclose``.
                log.debug("sending %.40s failed", text, exc_info=True)


#: Encoded payloads by identity: subscribers that share a payload object (``subscriptions`` gives
#: every subscriber with the same document the same one) share its encoding too.
_ENCODED: ObjectIdCache[Mapping[str, Any], tuple[str, int]] = ObjectIdCache(256)


def _encode(payload: Mapping[str, Any]) -> tuple[str, int]:
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    return text, len(text.encode("utf-8"))


def _encoded(payload: Mapping[str, Any]) -> tuple[str, int]:
    """The payload as JSON text and its size in bytes (what the 240 KB limit counts)."""
    return _ENCODED.get_or_compute(payload, _encode)


def _decode(text: str) -> dict[str, Any] | None:
    try:
        message = json.loads(text)
    except (TypeError, ValueError):
        return None
    return message if isinstance(message, dict) else None


def _decode_request(data: str) -> StartRequest | str:
    """The start's ``data`` as a request, or the reason it is not one."""
    try:
        decoded = json.loads(data)
    except ValueError:
        return "start payload.data is not valid JSON"
    if not isinstance(decoded, dict) or not isinstance(decoded.get("query"), str):
        return "start payload.data must be an object with a query string"
    variables = decoded.get("variables")
    if variables is None:
        variables = {}
    if not isinstance(variables, dict):
        return "start payload.data variables must be an object"
    request: StartRequest = {"query": decoded["query"], "variables": variables}
    operation = decoded.get("operationName")
    if isinstance(operation, str):
        request["operationName"] = operation
    return request


def _is_id(value: object) -> TypeGuard[SubscriptionId]:
    return (isinstance(value, str) and value != "") or (isinstance(value, int) and not isinstance(value, bool))


async def _aclose(events: AsyncIterator[dict[str, Any]]) -> None:
    close = getattr(events, "aclose", None)
    if close is None:
        return
    with contextlib.suppress(Exception):
        await close()
