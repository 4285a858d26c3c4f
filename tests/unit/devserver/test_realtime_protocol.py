"""The AppSync real-time state machine, message by message, with fakes: no sockets, no sleeps.

Time only passes when a test fires the fake clock; waits are on real events with a bounded timeout.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

import pytest

from devserver.auth.identity import AuthenticationFailed
from devserver.realtime.protocol import ConnectionState, ProtocolConfig, RealtimeConnection
from devserver.realtime.source import StartRejected
from jobcore.auth import API_KEY_CALLER, AuthMode, Caller

WAIT = 2.0
IAM_CALLER = Caller(AuthMode.AWS_IAM, "arn:aws:iam::000000000000:user/AKIATEST")
API_HEADER = {"host": "localhost:8000", "x-api-key": "good"}
IAM_HEADER = {"host": "localhost:8000", "Authorization": "AWS4-HMAC-SHA256 fake"}
QUERY = "subscription OnJob { onJobUpdated(id: $id) { id status } }"
END = object()


# --- fakes ----------------------------------------------------------------------------------------------


class FakeTransport:
    def __init__(self) -> None:
        self.sent: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.closed_with: tuple[int, str] | None = None
        self.closed = asyncio.Event()
        self.fail_sends = False

    async def send_text(self, text: str) -> None:
        if self.fail_sends:
            raise ConnectionError("socket gone")
        await self.sent.put(json.loads(text))  # each frame must be one JSON object

    async def close(self, code: int, reason: str) -> None:
        self.closed_with = (code, reason)
        self.closed.set()

    async def next(self) -> dict[str, Any]:
        return await asyncio.wait_for(self.sent.get(), WAIT)

    async def next_of(self, kind: str) -> dict[str, Any]:
        """The next message of a type, skipping keep-alives."""
        while True:
            message = await self.next()
            if message["type"] == kind or message["type"] != "ka":
                assert message["type"] == kind, message
                return message

    def pending(self) -> list[dict[str, Any]]:
        out = []
        while not self.sent.empty():
            out.append(self.sent.get_nowait())
        return out


class Stream:
    """A controllable event stream, as a SubscriptionSource would return."""

    def __init__(self) -> None:
        self.items: asyncio.Queue[Any] = asyncio.Queue()
        self.closed = asyncio.Event()

    def __aiter__(self) -> Stream:
        return self

    async def __anext__(self) -> dict[str, Any]:
        item = await self.items.get()
        if item is END:
            raise StopAsyncIteration
        if isinstance(item, Exception):
            raise item
        return item  # type: ignore[no-any-return]

    async def aclose(self) -> None:
        self.closed.set()

    def push(self, *items: Any) -> None:
        for item in items:
            self.items.put_nowait(item)


class FakeSource:
    def __init__(self) -> None:
        self.calls: list[tuple[Caller, Mapping[str, Any]]] = []
        self.streams: list[Stream] = []
        self.rejections: dict[str, list[dict[str, Any]]] = {}
        self.gate: asyncio.Event | None = None
        self.entered = asyncio.Event()
        self.subscribed = asyncio.Event()
        self.cancelled = asyncio.Event()

    async def subscribe(self, caller: Caller, request: Mapping[str, Any]) -> AsyncIterator[dict[str, Any]]:
        self.calls.append((caller, request))
        self.entered.set()
        if self.gate is not None:
            try:
                await self.gate.wait()
            except asyncio.CancelledError:
                self.cancelled.set()
                raise
        if request["query"] in self.rejections:
            raise StartRejected(self.rejections[request["query"]])
        stream = Stream()
        self.streams.append(stream)
        self.subscribed.set()
        return stream


class FakeClock:
    """``sleep`` that returns only when the test fires that duration."""

    def __init__(self) -> None:
        self.sleepers: list[tuple[float, asyncio.Future[None]]] = []
        self.changed = asyncio.Condition()

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (seconds, future)
        async with self.changed:
            self.sleepers.append(entry)
            self.changed.notify_all()
        try:
            await future
        finally:
            self.sleepers.remove(entry)

    def waiting(self, seconds: float) -> bool:
        return any(d == seconds and not f.done() for d, f in self.sleepers)

    async def fire(self, seconds: float) -> None:
        async with self.changed:
            await asyncio.wait_for(self.changed.wait_for(lambda: self.waiting(seconds)), WAIT)
        next(f for d, f in self.sleepers if d == seconds and not f.done()).set_result(None)


class Authenticator:
    def __init__(self) -> None:
        self.seen: list[tuple[Mapping[str, Any], str]] = []

    def __call__(self, header: Mapping[str, Any], data: str) -> Caller:
        self.seen.append((header, data))
        if header.get("x-api-key") == "good":
            return API_KEY_CALLER
        if str(header.get("Authorization", "")).startswith("AWS4-HMAC-SHA256"):
            return IAM_CALLER
        raise AuthenticationFailed("Valid authorization header not provided.")


class Harness:
    def __init__(self, *, config: ProtocolConfig | None = None, auth: Caller | AuthenticationFailed = API_KEY_CALLER):
        self.transport = FakeTransport()
        self.source = FakeSource()
        self.clock = FakeClock()
        self.authenticate = Authenticator()
        self.conn = RealtimeConnection(
            self.transport,
            self.source,
            connection_auth=auth,
            authenticate_start=self.authenticate,
            config=config,
            sleep=self.clock.sleep,
        )

    async def send(self, message: Any) -> None:
        await self.conn.handle(message if isinstance(message, str) else json.dumps(message))

    async def acked(self) -> Harness:
        await self.conn.open()
        await self.send({"type": "connection_init", "payload": {}})
        assert (await self.transport.next())["type"] == "connection_ack"
        assert await self.transport.next() == {"type": "ka"}
        return self

    async def subscribed(self, sub_id: Any = "1", **kw: Any) -> Stream:
        count = len(self.source.streams)
        await self.send(start(sub_id, **kw))
        assert await self.transport.next_of("start_ack") == {"type": "start_ack", "id": sub_id}
        assert len(self.source.streams) == count + 1
        return self.source.streams[-1]


def start(
    sub_id: Any = "1",
    *,
    query: str = QUERY,
    variables: dict[str, Any] | None = None,
    operation_name: str | None = None,
    header: Mapping[str, Any] | None = API_HEADER,
    data: Any = None,
) -> dict[str, Any]:
    if data is None:
        request: dict[str, Any] = {"query": query}
        if operation_name is not None:
            request["operationName"] = operation_name
        if variables is not None:
            request["variables"] = variables
        data = json.dumps(request, separators=(",", ":"))
    payload: dict[str, Any] = {"data": data}
    if header is not None:
        payload["extensions"] = {"authorization": dict(header)}
    return {"id": sub_id, "type": "start", "payload": payload}


def state(conn: RealtimeConnection) -> ConnectionState:
    """Read through a call so mypy does not narrow the property across awaits."""
    return conn.state


async def wait_for(event: asyncio.Event) -> None:
    await asyncio.wait_for(event.wait(), WAIT)


@pytest.fixture
async def h() -> AsyncIterator[Harness]:
    harness = Harness()
    yield harness
    await harness.conn.aclose()


@pytest.fixture
async def acked(h: Harness) -> Harness:
    return await h.acked()


UNSUPPORTED = {
    "type": "error",
    "payload": {
        "errors": [
            {"errorType": "UnsupportedOperation", "message": "unknown not supported through the realtime channel"}
        ]
    },
}


# --- connection_init / connection_ack / ka ----------------------------------------------------------------


@pytest.mark.parametrize("init", [{"type": "connection_init"}, {"type": "connection_init", "payload": {}}])
async def test_connection_init_with_or_without_payload_is_acked(h: Harness, init: dict[str, Any]) -> None:
    await h.conn.open()
    assert state(h.conn) is ConnectionState.AWAITING_INIT
    await h.send(init)
    assert await h.transport.next() == {"type": "connection_ack", "payload": {"connectionTimeoutMs": 300000}}
    assert state(h.conn) is ConnectionState.ACKED
    assert await h.transport.next() == {"type": "ka"}, "first ka right after the ack"


async def test_handle_opens_implicitly(h: Harness) -> None:
    await h.send({"type": "connection_init"})
    assert (await h.transport.next())["type"] == "connection_ack"


async def test_ka_repeats_at_the_configured_interval() -> None:
    h = await Harness(config=ProtocolConfig(ka_interval_s=7.5)).acked()
    for _ in range(3):
        await h.clock.fire(7.5)
        assert await h.transport.next() == {"type": "ka"}
    await h.conn.aclose()


async def test_default_ka_interval_is_sixty_seconds(acked: Harness) -> None:
    await acked.clock.fire(60.0)
    assert await acked.transport.next() == {"type": "ka"}


async def test_messages_before_init_are_ignored(h: Harness) -> None:
    await h.conn.open()
    for message in [start("1"), {"type": "stop", "id": "1"}, {"type": "subscribe"}, "not json", "[1]", {"x": 1}]:
        await h.send(message)
    assert h.transport.pending() == []
    assert h.source.calls == []
    assert state(h.conn) is ConnectionState.AWAITING_INIT
    await h.send({"type": "connection_init"})
    assert (await h.transport.next())["type"] == "connection_ack"


async def test_repeated_connection_init_is_ignored(acked: Harness) -> None:
    await acked.send({"type": "connection_init"})
    assert acked.transport.pending() == []
    assert state(acked.conn) is ConnectionState.ACKED


# --- start / start_ack / data ---------------------------------------------------------------------------


async def test_start_is_acked_and_events_become_data_messages(acked: Harness) -> None:
    stream = await acked.subscribed("1", variables={"id": "j-1"})
    assert acked.source.calls == [(API_KEY_CALLER, {"query": QUERY, "variables": {"id": "j-1"}})]
    stream.push({"data": {"onJobUpdated": {"id": "j-1", "status": "RUNNING"}}})
    stream.push({"data": {"onJobUpdated": {"id": "j-1", "status": "SUCCEEDED"}}})
    assert await acked.transport.next_of("data") == {
        "type": "data",
        "id": "1",
        "payload": {"data": {"onJobUpdated": {"id": "j-1", "status": "RUNNING"}}},
    }
    assert (await acked.transport.next_of("data"))["payload"]["data"]["onJobUpdated"]["status"] == "SUCCEEDED"


async def test_missing_variables_default_to_empty_and_operation_name_is_passed(acked: Harness) -> None:
    await acked.subscribed("1", operation_name="OnJob")
    assert acked.source.calls[0][1] == {"query": QUERY, "variables": {}, "operationName": "OnJob"}


async def test_null_variables_default_to_empty(acked: Harness) -> None:
    await acked.subscribed("1", data=json.dumps({"query": QUERY, "variables": None}))
    assert acked.source.calls[0][1] == {"query": QUERY, "variables": {}}


@pytest.mark.parametrize("sub_id", ["1", "5d2b7c1e-9f0a-4a43-9a51-0e3c8f1b2d4e", 7])
async def test_ids_are_echoed_verbatim(acked: Harness, sub_id: Any) -> None:
    stream = await acked.subscribed(sub_id)
    stream.push({"data": {"onJobUpdated": None}})
    assert (await acked.transport.next_of("data"))["id"] == sub_id
    await acked.send({"type": "stop", "id": sub_id})
    assert await acked.transport.next_of("complete") == {"type": "complete", "id": sub_id}


async def test_start_authenticates_its_own_header_over_the_exact_data_string(acked: Harness) -> None:
    message = start("1", variables={"id": "j-1"})
    await acked.send(message)
    await acked.transport.next_of("start_ack")
    assert acked.authenticate.seen == [(API_HEADER, message["payload"]["data"])]


async def test_one_connection_mixes_auth_modes_per_start(acked: Harness) -> None:
    await acked.subscribed("1", header=API_HEADER)
    await acked.subscribed("2", header=IAM_HEADER)
    assert [caller for caller, _ in acked.source.calls] == [API_KEY_CALLER, IAM_CALLER]


@pytest.mark.parametrize("header", [None, {"host": "x", "x-api-key": "bad"}, {"Authorization": "eyJ.jwt"}])
async def test_unauthorized_start_gets_an_error_with_its_id(acked: Harness, header: Any) -> None:
    await acked.send(start("1", header=header))
    assert await acked.transport.next_of("error") == {
        "type": "error",
        "id": "1",
        "payload": {
            "errors": [{"errorType": "UnauthorizedException", "message": "Valid authorization header not provided."}]
        },
    }
    assert acked.source.calls == []
    await acked.subscribed("1")  # the connection and even the id remain usable


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ("{not json", "not valid JSON"),
        ({"query": QUERY}, "must be a JSON string"),
        (json.dumps(["a"]), "object with a query string"),
        (json.dumps({"variables": {}}), "object with a query string"),
        (json.dumps({"query": QUERY, "variables": [1]}), "variables must be an object"),
    ],
)
async def test_malformed_start_data_gets_an_error_with_its_id(acked: Harness, data: Any, reason: str) -> None:
    await acked.send(start("9", data=data))
    message = await acked.transport.next_of("error")
    assert message["id"] == "9"
    [error] = message["payload"]["errors"]
    assert error["errorType"] == "BadRequestException"
    assert reason in error["message"]
    assert acked.source.calls == []


async def test_start_without_id_gets_an_idless_error(acked: Harness) -> None:
    await acked.send({"type": "start", "payload": {"data": "{}"}})
    message = await acked.transport.next_of("error")
    assert "id" not in message
    assert message["payload"]["errors"][0]["errorType"] == "BadRequestException"


async def test_duplicate_id_is_refused_and_the_first_subscription_survives(acked: Harness) -> None:
    stream = await acked.subscribed("1")
    await acked.send(start("1"))
    assert await acked.transport.next_of("error") == {
        "type": "error",
        "id": "1",
        "payload": {"errors": [{"errorType": "DuplicatedOperationError", "message": "Duplicated operation with id 1"}]},
    }
    assert len(acked.source.calls) == 1
    stream.push({"data": {"onJobUpdated": {"id": "a"}}})
    assert (await acked.transport.next_of("data"))["id"] == "1"


async def test_duplicate_of_a_start_still_subscribing_is_refused() -> None:
    h = await Harness().acked()
    h.source.gate = asyncio.Event()
    await h.send(start("1"))
    await wait_for(h.source.entered)
    await h.send(start("1"))
    assert (await h.transport.next_of("error"))["payload"]["errors"][0]["errorType"] == "DuplicatedOperationError"
    h.source.gate.set()
    assert await h.transport.next_of("start_ack") == {"type": "start_ack", "id": "1"}
    await h.conn.aclose()


async def test_more_than_the_subscription_limit_is_refused() -> None:
    h = await Harness(config=ProtocolConfig(subscription_limit=2)).acked()
    await h.subscribed("1")
    await h.subscribed("2")
    await h.send(start("3"))
    assert await h.transport.next_of("error") == {
        "type": "error",
        "id": "3",
        "payload": {
            "errors": [
                {"errorType": "MaxSubscriptionsReachedError", "message": "Max number of 2 subscriptions reached"}
            ]
        },
    }
    await h.send({"type": "stop", "id": "1"})
    await h.transport.next_of("complete")
    await h.subscribed("3")
    await h.conn.aclose()


async def test_default_subscription_limit_is_one_hundred(acked: Harness) -> None:
    for n in range(100):
        await acked.subscribed(str(n))
    await acked.send(start("100"))
    message = await acked.transport.next_of("error")
    assert message["payload"]["errors"][0]["message"] == "Max number of 100 subscriptions reached"


async def test_start_rejected_by_the_source_sends_its_errors_with_the_id(acked: Harness) -> None:
    errors = [{"errorType": "UnsupportedOperation", "message": "query not supported through the realtime channel"}]
    acked.source.rejections["query { a }"] = errors
    await acked.send(start("1", query="query { a }"))
    assert await acked.transport.next_of("error") == {"type": "error", "id": "1", "payload": {"errors": errors}}
    assert acked.transport.pending() == []
    assert acked.conn.active_subscription_ids == frozenset()
    await acked.subscribed("1")  # the id is free again


async def test_validation_errors_without_error_type_pass_through(acked: Harness) -> None:
    errors = [{"message": "Validation error of type FieldUndefined: Field 'x' in type 'Job' is undefined @ 'onX/x'"}]
    acked.source.rejections["subscription { onX { x } }"] = errors
    await acked.send(start("1", query="subscription { onX { x } }"))
    assert (await acked.transport.next_of("error"))["payload"] == {"errors": errors}


async def test_event_with_data_and_errors_is_sent_as_data(acked: Harness) -> None:
    stream = await acked.subscribed("1")
    payload = {"data": {"onJobUpdated": {"id": "a", "result": None}}, "errors": [{"message": "partial"}]}
    stream.push(payload)
    assert (await acked.transport.next_of("data"))["payload"] == payload


async def test_event_with_null_data_and_errors_becomes_an_error_and_ends_the_subscription(acked: Harness) -> None:
    stream = await acked.subscribed("1")
    errors = [{"errorType": "Unauthorized", "message": "Not Authorized to access onJobUpdated on type Subscription"}]
    stream.push({"data": None, "errors": errors})
    assert await acked.transport.next_of("error") == {"type": "error", "id": "1", "payload": {"errors": errors}}
    await wait_for(stream.closed)
    assert acked.conn.active_subscription_ids == frozenset()


async def test_event_without_data_or_errors_is_dropped(acked: Harness) -> None:
    stream = await acked.subscribed("1")
    stream.push({"data": None}, "not an object", {"data": {"onJobUpdated": {"id": "kept"}}})
    assert (await acked.transport.next_of("data"))["payload"] == {"data": {"onJobUpdated": {"id": "kept"}}}


async def test_oversized_event_is_dropped_like_appsync_does(acked: Harness, caplog: pytest.LogCaptureFixture) -> None:
    stream = await acked.subscribed("1")
    stream.push({"data": {"onJobUpdated": {"blob": "x" * (240 * 1024)}}}, {"data": {"onJobUpdated": {"id": "small"}}})
    assert (await acked.transport.next_of("data"))["payload"]["data"]["onJobUpdated"] == {"id": "small"}
    assert "dropping subscription '1' event of" in caplog.text


async def test_event_just_under_the_limit_is_delivered() -> None:
    h = await Harness(config=ProtocolConfig(payload_limit_bytes=100)).acked()
    stream = await h.subscribed("1")
    envelope = len(json.dumps({"data": {"v": ""}}, separators=(",", ":")))
    stream.push({"data": {"v": "y" * (101 - envelope)}}, {"data": {"v": "z" * (100 - envelope)}})
    assert (await h.transport.next_of("data"))["payload"]["data"]["v"].startswith("z")
    await h.conn.aclose()


async def test_source_that_ends_completes_the_subscription(acked: Harness) -> None:
    stream = await acked.subscribed("1")
    stream.push({"data": {"n": 1}}, END)
    await acked.transport.next_of("data")
    assert await acked.transport.next_of("complete") == {"type": "complete", "id": "1"}
    assert acked.conn.active_subscription_ids == frozenset()


async def test_source_that_fails_sends_an_error_with_the_id(acked: Harness) -> None:
    stream = await acked.subscribed("1")
    stream.push(RuntimeError("boom"))
    message = await acked.transport.next_of("error")
    assert message["id"] == "1"
    assert message["payload"]["errors"][0]["errorType"] == "InternalFailure"
    assert acked.conn.active_subscription_ids == frozenset()


# --- stop / complete ------------------------------------------------------------------------------------


async def test_stop_answers_complete_and_closes_the_stream(acked: Harness) -> None:
    stream = await acked.subscribed("1")
    await acked.send({"type": "stop", "id": "1"})
    assert await acked.transport.next_of("complete") == {"type": "complete", "id": "1"}
    await wait_for(stream.closed)
    stream.push({"data": {"late": True}})
    assert [m for m in acked.transport.pending() if m["type"] != "ka"] == []
    assert acked.conn.active_subscription_ids == frozenset()


async def test_stop_of_an_unknown_id_is_still_completed(acked: Harness) -> None:
    await acked.send({"type": "stop", "id": "42"})
    assert await acked.transport.next_of("complete") == {"type": "complete", "id": "42"}


async def test_stop_while_subscribing_cancels_it_without_start_ack(acked: Harness) -> None:
    acked.source.gate = asyncio.Event()
    await acked.send(start("1"))
    await wait_for(acked.source.entered)
    await acked.send({"type": "stop", "id": "1"})
    assert await acked.transport.next_of("complete") == {"type": "complete", "id": "1"}
    await wait_for(acked.source.cancelled)
    assert [m for m in acked.transport.pending() if m["type"] != "ka"] == []


async def test_stop_only_ends_its_own_subscription(acked: Harness) -> None:
    first = await acked.subscribed("1")
    second = await acked.subscribed("2")
    await acked.send({"type": "stop", "id": "1"})
    await acked.transport.next_of("complete")
    second.push({"data": {"n": 2}})
    assert (await acked.transport.next_of("data"))["id"] == "2"
    assert first.closed.is_set()
    assert not second.closed.is_set()


# --- unknown / invalid ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "message",
    [
        {"type": "subscribe", "id": "1", "payload": {"query": "subscription { a }"}},
        {"type": "ka"},
        {"id": "1"},
        "not json",
        "[]",
        '"start"',
    ],
)
async def test_unknown_or_invalid_messages_get_an_idless_unsupported_error(acked: Harness, message: Any) -> None:
    await acked.send(message)
    assert await acked.transport.next_of("error") == UNSUPPORTED
    assert state(acked.conn) is ConnectionState.ACKED


# --- connection_error / close ---------------------------------------------------------------------------


async def test_rejected_connection_gets_connection_error_then_closes_on_the_next_message() -> None:
    h = Harness(auth=AuthenticationFailed("You are not authorized to make this call."))
    await h.conn.open()
    assert await h.transport.next() == {
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
    assert state(h.conn) is ConnectionState.REJECTED
    assert not h.transport.closed.is_set(), "left open so the client can read the error"
    await h.send({"type": "connection_init", "payload": {}})
    assert h.transport.closed_with == (1000, "Unauthorized")
    assert state(h.conn) is ConnectionState.CLOSED
    assert h.transport.pending() == []
    assert h.conn.caller is None


async def test_rejected_connection_closes_after_the_linger_even_if_the_client_is_silent() -> None:
    h = Harness(auth=AuthenticationFailed("x"), config=ProtocolConfig(reject_linger_s=3.0))
    await h.conn.open()
    await h.transport.next()
    await h.clock.fire(3.0)
    await wait_for(h.transport.closed)
    await asyncio.wait_for(h.conn.wait_closed(), WAIT)


async def test_connection_closes_after_its_maximum_lifetime() -> None:
    h = await Harness().acked()
    stream = await h.subscribed("1")
    await h.clock.fire(24 * 60 * 60.0)
    await wait_for(h.transport.closed)
    assert h.transport.closed_with == (1000, "Connection lifetime exceeded")
    await wait_for(stream.closed)
    assert state(h.conn) is ConnectionState.CLOSED


async def test_configured_lifetime_is_honoured() -> None:
    h = await Harness(config=ProtocolConfig(max_lifetime_s=5.0)).acked()
    await h.clock.fire(5.0)
    await wait_for(h.transport.closed)


async def test_aclose_cancels_every_subscription_and_timer(acked: Harness) -> None:
    streams = [await acked.subscribed(str(n)) for n in range(3)]
    acked.source.gate = asyncio.Event()
    await acked.send(start("pending"))
    await wait_for(acked.source.entered)
    await acked.conn.aclose()
    assert all(stream.closed.is_set() for stream in streams)
    assert acked.source.cancelled.is_set()
    assert acked.conn.active_subscription_ids == frozenset()
    assert not any(not future.done() for _, future in acked.clock.sleepers), "no ka or lifetime timer left"
    assert state(acked.conn) is ConnectionState.CLOSED
    await acked.send(start("after"))
    await acked.send({"type": "stop", "id": "0"})
    assert [m for m in acked.transport.pending() if m["type"] != "ka"] == []
    assert acked.transport.closed_with is None, "aclose is the socket's end, not a protocol close"
    await acked.conn.aclose()  # idempotent


async def test_a_failing_transport_does_not_break_the_connection(acked: Harness) -> None:
    stream = await acked.subscribed("1")
    acked.transport.fail_sends = True
    stream.push({"data": {"n": 1}})
    await acked.send({"type": "stop", "id": "1"})
    await wait_for(stream.closed)
    acked.transport.fail_sends = False
    await acked.subscribed("2")
