"""Start the servers under test as separate processes, each pinned to the server core.

The benchmark process pins itself to the other core (``pin_self``), so client load and server never
share a CPU or a GIL. On a one-core machine nothing is pinned and the report says so.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
#: Where the local server's code is taken from: this checkout, or another one (``--server-root``) to
#: measure a change before/after with the same load generator.
SERVER_ROOT = Path(os.environ.get("BENCH_SERVER_ROOT", ROOT)).resolve()
API_KEY = "da2-appsyncjobslocal0000000000"
ACCESS_KEY_ID = "AKIAAPPSYNCJOBSLOCAL"
SECRET_ACCESS_KEY = "appsync-jobs-local-secret-access-key"
REGION = "us-east-1"


def cores() -> list[int]:
    return sorted(os.sched_getaffinity(0))


def pinning() -> tuple[list[int] | None, list[int] | None]:
    """(server cores, client cores): the first core for servers, the rest for the load generator."""
    available = cores()
    if len(available) < 2 or shutil.which("taskset") is None:
        return None, None
    return available[:1], available[1:]


def pin_self() -> str:
    server, client = pinning()
    if client is None:
        return "not pinned (fewer than 2 cores or no taskset)"
    os.sched_setaffinity(0, client)
    return f"servers on core {server}, load generator on cores {client}"


def _taskset() -> list[str]:
    server, _ = pinning()
    return ["taskset", "-c", ",".join(map(str, server))] if server else []


def rss_kib(pid: int) -> int:
    """Resident set size of a process (VmRSS) in KiB."""
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (all its threads)."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """A running server under test."""

    name: str
    process: subprocess.Popen[str]
    port: int
    host: str = "127.0.0.1"
    data_dir: Path | None = None
    log: Path | None = None

    @property
    def authority(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def rss_kib(self) -> int:
        return rss_kib(self.pid)

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.pid)

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        if self.data_dir is not None:
            shutil.rmtree(self.data_dir, ignore_errors=True)
        if self.log is not None:
            self.log.unlink(missing_ok=True)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _spawn(
    args: list[str], *, cwd: Path, env: dict[str, str] | None, marker: str, timeout: float
) -> tuple[subprocess.Popen[str], str, Path]:
    """Start a server with its output going to a file (never a pipe: a pipe the benchmark reads would
    block the server's logging whenever the load generator holds the GIL), and wait for ``marker``."""
    log = Path(tempfile.mkstemp(prefix="bench-server-", suffix=".log")[1])
    with log.open("w") as sink:
        process = subprocess.Popen(args, cwd=cwd, env=env, stdout=sink, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace")
        for line in text.splitlines():
            if marker in line:
                return process, line, log
        if process.poll() is not None:
            break
        time.sleep(0.05)
    process.kill()
    process.wait()
    raise RuntimeError(f"server did not print {marker!r} within {timeout}s:\n" + log.read_text(errors="replace")[-3000:])


def start_ours(*, worker: bool, concurrency: int | None = None, extra: tuple[str, ...] = ()) -> Server:
    """``appsync-jobs dev`` (what ``make dev`` runs) on a fresh data dir and a free port."""
    port = free_port()
    data_dir = Path(tempfile.mkdtemp(prefix="appsync-jobs-bench-"))
    args = [*_taskset(), sys.executable, "-m", "devserver.cli", "dev", "--port", str(port), "--data-dir", str(data_dir)]
    if not worker:
        args.append("--no-worker")
    if concurrency is not None:
        args += ["--concurrency", str(concurrency)]
    args += list(extra)
    env = {**os.environ, "PYTHONPATH": str(SERVER_ROOT), "COLUMNS": "200", "NO_COLOR": "1"}
    process, _, log = _spawn(args, cwd=SERVER_ROOT, env=env, marker="local API on", timeout=60)
    return Server("ours", process, port, data_dir=data_dir, log=log)


def simulator_dir() -> Path:
    return BENCH


def ensure_simulator() -> str | None:
    """Install the simulator from bench/package-lock.json if needed; the reason it is unusable, or None."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        return "node/npm not found on PATH"
    modules = BENCH / "node_modules"
    stamp = modules / ".bench-installed"
    lock = BENCH / "package-lock.json"
    if not stamp.exists() or stamp.stat().st_mtime < lock.stat().st_mtime:
        try:
            subprocess.run(
                ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                cwd=BENCH, check=True, capture_output=True, text=True, timeout=300,
            )
        except subprocess.CalledProcessError as exc:
            return f"npm ci failed: {(exc.stderr or exc.stdout or '').strip()[-400:]}"
        except subprocess.TimeoutExpired:
            return "npm ci took over 300 s"
        stamp.touch()
    return None


def start_simulator() -> Server:
    port = free_port()
    args = [*_taskset(), "node", str(BENCH / "simulator" / "server.js"), "--port", str(port),
            "--schema", str(ROOT / "schema.graphql")]
    process, line, log = _spawn(args, cwd=BENCH, env=None, marker="READY", timeout=60)
    return Server("simulator", process, int(line.split()[1]), log=log)


def wait_until(predicate: object, timeout: float, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(interval)
    return False
