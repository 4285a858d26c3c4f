"""A lightweight AppSync real-time (``graphql-ws``) subscriber: raw RFC 6455 framing on ``asyncio.Protocol``.

Thousands of these share one client process, so each costs a socket, a few small objects and a
timestamp per frame; frames are parsed as JSON only after the measurement. The handshake is what
gql's ``AppSyncWebsocketsTransport`` sends (spec section 2.3): subprotocol ``graphql-ws``, the auth
header object as ``?header=<base64 JSON>&payload=e30=``, ``connection_init``, then one ``start``
whose ``payload.data`` is the JSON string of ``{query, variables}`` with ``extensions.authorization``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import struct
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0, 1, 2, 8, 9, 10


def realtime_path(host: str, api_key: str, path: str = "/graphql/realtime") -> str:
    header = base64.b64encode(json.dumps({"host": host, "x-api-key": api_key}, separators=(",", ":")).encode()).decode()
    # Percent-encoded so that form decoding (the simulator's URLSearchParams) keeps any "+".
    return f"{path}?header={quote(header, safe='')}&payload=e30="


def start_message(sub_id: str, query: str, variables: dict[str, Any], host: str, api_key: str) -> str:
    data = json.dumps({"query": query, "variables": variables}, separators=(",", ":"))
    return json.dumps(
        {"id": sub_id, "type": "start",
         "payload": {"data": data, "extensions": {"authorization": {"host": host, "x-api-key": api_key}}}},
        separators=(",", ":"),
    )


def _frame(opcode: int, payload: bytes) -> bytes:
    """A masked client frame (clients must mask, RFC 6455 section 5.3)."""
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
    key = os.urandom(4)
    if n:
        repeated = (key * (n // 4 + 1))[:n]
        masked = (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(n, "big")
    else:
        masked = b""
    return head + key + masked


class Subscriber(asyncio.Protocol):
    """One connection carrying one subscription. ``frames`` holds (perf_counter, text) of every ``data``."""

    def __init__(self, on_data: Callable[[Subscriber], None] | None = None) -> None:
        self.transport: asyncio.Transport | None = None
        self._buf = bytearray()
        self._handshaken = False
        self._fragments: list[bytes] = []
        self._handshake: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._acked = asyncio.Event()
        self._started = asyncio.Event()
        self._starts: dict[str, asyncio.Future[None]] = {}
        self.frames: list[tuple[float, str]] = []
        self.errors: list[str] = []
        self.closed = False
        self.on_data = on_data
        self.setup_ms: float | None = None

    # --- asyncio.Protocol -----------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self._handshake.done():
            self._handshake.set_exception(ConnectionError(f"closed during handshake: {exc}"))
        self._acked.set()
        self._started.set()
        for waiter in self._starts.values():
            if not waiter.done():
                waiter.set_exception(ConnectionError("connection closed"))

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        self._buf += data
        if not self._handshaken:
            end = self._buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self._buf[:end]).decode("latin-1")
            del self._buf[: end + 4]
            if not head.startswith("HTTP/1.1 101"):
                self._handshake.set_exception(ConnectionError(f"upgrade refused: {head.splitlines()[0]}"))
                return
            self._handshaken = True
            self._handshake.set_result(None)
        self._parse(now)

    def _parse(self, now: float) -> None:
        buf = self._buf
        while True:
            if len(buf) < 2:
                return
            b0, b1 = buf[0], buf[1]
            n = b1 & 0x7F
            pos = 2
            if n == 126:
                if len(buf) < 4:
                    return
                n = struct.unpack_from("!H", buf, 2)[0]
                pos = 4
            elif n == 127:
                if len(buf) < 10:
                    return
                n = struct.unpack_from("!Q", buf, 2)[0]
                pos = 10
            if b1 & 0x80:  # servers never mask; tolerate it anyway
                pos += 4
            if len(buf) < pos + n:
                return
            payload = bytes(buf[pos : pos + n])
            del buf[: pos + n]
            opcode, fin = b0 & 0x0F, b0 & 0x80
            if opcode in (OP_TEXT, OP_BINARY, OP_CONT):
                self._fragments.append(payload)
                if fin:
                    self._message(now, b"".join(self._fragments).decode("utf-8"))
                    self._fragments = []
            elif opcode == OP_PING:
                self._write(OP_PONG, payload)
            elif opcode == OP_CLOSE:
                self._write(OP_CLOSE, payload[:2])
                if self.transport is not None:
                    self.transport.close()

    def _message(self, now: float, text: str) -> None:
        # Cheap classification first: data frames are the hot path and are parsed after the run.
        if '"type":"data"' in text or '"type": "data"' in text:
            self.frames.append((now, text))
            if self.on_data is not None:
                self.on_data(self)
            return
        try:
            message = json.loads(text)
        except ValueError:
            self.errors.append(text)
            return
        kind, sub_id = message.get("type"), str(message.get("id"))
        if kind == "connection_ack":
            self._acked.set()
        elif kind == "start_ack":
            self._started.set()
            waiter = self._starts.pop(sub_id, None)
            if waiter is not None and not waiter.done():
                waiter.set_result(None)
        elif kind in ("error", "connection_error"):
            self.errors.append(text)
            self._acked.set()
            self._started.set()
            waiter = self._starts.pop(sub_id, None)
            if waiter is not None and not waiter.done():
                waiter.set_exception(ConnectionError(f"start {sub_id} failed: {text[:300]}"))

    def _write(self, opcode: int, payload: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(_frame(opcode, payload))

    # --- client API -------------------------------------------------------------------------------
    def send_text(self, text: str) -> None:
        self._write(OP_TEXT, text.encode("utf-8"))

    async def connect(self, host: str, port: int, path: str, timeout: float = 30.0) -> None:
        """TCP connect, upgrade with ``graphql-ws``, ``connection_init`` -> ``connection_ack``."""
        loop = asyncio.get_running_loop()
        await loop.create_connection(lambda: self, host, port)
        key = base64.b64encode(os.urandom(16)).decode()
        assert self.transport is not None
        self.transport.write(
            (f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: graphql-ws\r\n\r\n")
            .encode("latin-1")
        )
        await asyncio.wait_for(self._handshake, timeout)
        self.send_text('{"type":"connection_init","payload":{}}')
        await asyncio.wait_for(self._acked.wait(), timeout)
        if self.errors or self.closed:
            raise ConnectionError(f"connection_init failed: {self.errors[-1] if self.errors else 'closed'}")

    async def subscribe(self, start: str, timeout: float = 30.0) -> None:
        self.send_text(start)
        await asyncio.wait_for(self._started.wait(), timeout)
        if self.errors or self.closed:
            raise ConnectionError(f"start failed: {self.errors[-1] if self.errors else 'closed'}")

    async def start(self, sub_id: str, start: str, timeout: float = 30.0) -> None:
        """One more subscription on this connection (``start`` must carry ``sub_id``); waits for its ack."""
        waiter = asyncio.get_running_loop().create_future()
        self._starts[sub_id] = waiter
        self.send_text(start)
        await asyncio.wait_for(waiter, timeout)

    def stop(self, sub_id: str) -> None:
        self.send_text(json.dumps({"type": "stop", "id": sub_id}))

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self._write(OP_CLOSE, struct.pack("!H", 1000))
            self.transport.close()


async def open_subscriber(
    host: str, port: int, path: str, start: str, on_data: Callable[[Subscriber], None] | None = None
) -> Subscriber:
    """Connect and subscribe; ``setup_ms`` is TCP connect to ``start_ack``."""
    began = time.perf_counter()
    subscriber = Subscriber(on_data)
    try:
        await subscriber.connect(host, port, path)
        await subscriber.subscribe(start)
    except BaseException:
        subscriber.close()
        raise
    subscriber.setup_ms = (time.perf_counter() - began) * 1000
    return subscriber
