"""A minimal HTTP/1.1 keep-alive client on ``asyncio.Protocol``.

The load generator must cost far less than the servers it measures (both share one machine), so it
sends pre-built request bytes and parses only the status line, ``Content-Length`` or chunked framing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping


class HttpError(Exception):
    pass


def build_request(host: str, path: str, body: bytes, headers: Mapping[str, str] | None = None) -> bytes:
    """The bytes of one ``POST``: the given headers verbatim (a SigV4 signature covers some of them)."""
    given = dict(headers or {})
    lower = {k.lower() for k in given}
    lines = [f"POST {path} HTTP/1.1"]
    if "host" not in lower:
        lines.append(f"Host: {host}")
    if "content-type" not in lower:
        lines.append("Content-Type: application/json")
    lines.extend(f"{name}: {value}" for name, value in given.items())
    lines.append(f"Content-Length: {len(body)}")
    lines.append("Connection: keep-alive")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class HttpConnection(asyncio.Protocol):
    """One keep-alive connection; one request in flight at a time (closed-loop load)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self._buf = bytearray()
        self._waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self._lost: Exception | None = None
        #: perf_counter() when the last response was complete (taken in the protocol callback, so a busy
        #: client event loop does not add its own queueing to the measured response time).
        self.completed_at = 0.0

    @classmethod
    async def open(cls, host: str, port: int) -> HttpConnection:
        loop = asyncio.get_running_loop()
        _, protocol = await loop.create_connection(cls, host, port)
        return protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = exc or HttpError("connection closed by the server")
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(self._lost)

    def data_received(self, data: bytes) -> None:
        self._buf += data
        if self._waiter is not None and not self._waiter.done():
            self._try_complete()

    def _try_complete(self) -> None:
        end = self._buf.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self._buf[:end]).decode("latin-1")
        status_line, _, rest = head.partition("\r\n")
        status = int(status_line.split(" ", 2)[1])
        length = None
        chunked = False
        for line in rest.split("\r\n"):
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value.strip())
            elif name == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
        start = end + 4
        if chunked:
            parsed = _dechunk(self._buf, start)
            if parsed is None:
                return
            body, consumed = parsed
        else:
            if length is None:
                length = 0
            if len(self._buf) < start + length:
                return
            body, consumed = bytes(self._buf[start : start + length]), start + length
        del self._buf[:consumed]
        self.completed_at = time.perf_counter()
        assert self._waiter is not None
        self._waiter.set_result((status, body))

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        if self._lost is not None:
            raise self._lost
        assert self.transport is not None
        self._waiter = asyncio.get_running_loop().create_future()
        self.transport.write(raw)
        try:
            return await self._waiter
        finally:
            self._waiter = None

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


def _dechunk(buf: bytearray, start: int) -> tuple[bytes, int] | None:
    body = bytearray()
    pos = start
    while True:
        line_end = buf.find(b"\r\n", pos)
        if line_end < 0:
            return None
        size = int(bytes(buf[pos:line_end]).split(b";")[0], 16)
        pos = line_end + 2
        if size == 0:
            trailer_end = buf.find(b"\r\n", pos)
            if trailer_end < 0:
                return None
            return bytes(body), trailer_end + 2
        if len(buf) < pos + size + 2:
            return None
        body += buf[pos : pos + size]
        pos += size + 2
