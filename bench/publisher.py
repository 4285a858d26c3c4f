"""A separate process that sends ``updateJob`` (SigV4) for the real-time scenarios.

Its own process, so the response time it measures is what a worker would see, not delayed by the
parent's event loop handling thousands of subscriber frames at that very moment. Timestamps are
``time.perf_counter()``, which on Linux is CLOCK_MONOTONIC and so comparable across processes.

Protocol on stdin/stdout, one JSON object per line: ``{"job": id, "fields": {...}}`` ->
``{"sent": t, "answered": t, "status": 200, "body": "..."}``; an empty line ends it.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time

from bench.api import Signer


class BlockingHttp:
    def __init__(self, host: str, port: int) -> None:
        self.address = (host, port)
        self.sock: socket.socket | None = None
        self.buf = b""

    def _connect(self) -> socket.socket:
        sock = socket.create_connection(self.address)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        return sock

    def request(self, raw: bytes) -> tuple[float, float, int, bytes]:
        for attempt in range(2):
            if self.sock is None:
                self.sock = self._connect()
            sent = time.perf_counter()
            try:
                self.sock.sendall(raw)
                status, body = self._read()
                return sent, time.perf_counter(), status, body
            except (ConnectionError, OSError):
                self.sock.close()
                self.sock = None
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def _read(self) -> tuple[int, bytes]:
        assert self.sock is not None
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk
        head, _, rest = self.buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        if "chunked" in headers.get("transfer-encoding", "").lower():
            while not rest.endswith(b"0\r\n\r\n"):
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise ConnectionError("closed")
                rest += chunk
            body, pos = b"", 0
            while True:
                end = rest.index(b"\r\n", pos)
                size = int(rest[pos:end].split(b";")[0], 16)
                if size == 0:
                    break
                body += rest[end + 2 : end + 2 + size]
                pos = end + 2 + size + 2
            self.buf = b""
            return status, body
        length = int(headers.get("content-length", "0"))
        while len(rest) < length:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            rest += chunk
        self.buf = rest[length:]
        return status, rest[:length]


def _prefer_this_process() -> str:
    """Run ahead of the subscriber process that shares this core, so its response timestamps are not
    delayed behind a burst of incoming frames (real-time priority where allowed, else a better nice)."""
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))
        return "SCHED_FIFO"
    except (PermissionError, OSError, AttributeError):
        pass
    try:
        os.nice(-10)
        return "nice -10"
    except OSError:
        return "normal"


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    _prefer_this_process()
    signer = Signer(f"{host}:{port}")
    http = BlockingHttp(host, port)
    for line in sys.stdin:
        if not line.strip():
            break
        command = json.loads(line)
        raw = signer.update_request(command["job"], command["fields"])
        sent, answered, status, body = http.request(raw)
        sys.stdout.write(json.dumps({"sent": sent, "answered": answered, "status": status,
                                     "body": body.decode("utf-8", "replace")}) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
