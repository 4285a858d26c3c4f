"""The local runtime as a real process (what `make dev` runs), for end-to-end tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
API_KEY = "da2-appsyncjobslocal0000000000"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LocalServer:
    process: subprocess.Popen[str]
    port: int
    data_dir: Path
    tls: bool = False
    #: Everything the server printed so far (stdout and stderr), kept by a reader thread.
    output: list[str] = field(default_factory=list)
    reader: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}/graphql"

    @property
    def realtime_url(self) -> str:
        return f"{'wss' if self.tls else 'ws'}://127.0.0.1:{self.port}/graphql/realtime"

    @property
    def ca_file(self) -> Path:
        """The local CA that signed the --tls certificate (trust it: NODE_EXTRA_CA_CERTS, verify=...)."""
        return self.data_dir / "tls" / "ca.pem"

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self, *, kill: bool = False) -> None:
        """SIGTERM (graceful, bounded by the server's 2 s shutdown timeout), or SIGKILL with ``kill``."""
        if self.process.poll() is None:
            if kill:
                self.process.kill()
            else:
                self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self.reader is not None:
            self.reader.join(timeout=10)  # the pipe closes with the process: all its output is in


#: ``start_local_server``'s type (tests/e2e/conftest.py): ``(*flags, env=None, data_dir=None) -> LocalServer``.
StartServer = Callable[..., "LocalServer"]


def token_for(username: str) -> str:
    """A local user pool token for ``username`` (what `appsync-jobs token` prints)."""
    printed = subprocess.run(
        [sys.executable, "-m", "devserver.cli", "token", username],
        cwd=ROOT, capture_output=True, text=True, check=True, timeout=60,
    )
    return printed.stdout.strip()


def start_server(data_dir: Path, *extra: str, env: dict[str, str] | None = None, port: int | None = None) -> LocalServer:
    """Start `appsync-jobs dev` and return once it printed its URL (the port is bound by then)."""
    port = port or free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "devserver.cli", "dev", "--port", str(port), "--data-dir", str(data_dir), *extra],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": f"{ROOT}:{ROOT / 'tests'}", "COLUMNS": "200", **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 30
    assert process.stdout is not None
    seen = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        seen.append(line)
        if "local API on" in line:
            return LocalServer(process, port, data_dir, tls="--tls" in extra, output=seen, reader=_drain(process, seen))
    process.kill()
    raise RuntimeError("local server did not start:\n" + "".join(seen))


def _drain(process: subprocess.Popen[str], into: list[str]) -> threading.Thread:
    """Keep reading the server's output (so a full pipe never blocks it), keeping it for tests."""

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            into.append(line)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    return reader
