"""Issue 10 with Amplify JS v6: two users subscribed to onMyJobsUpdated at once each receive only their own jobs.

Each user is its own Node process (Amplify's configuration is process-wide) running tests/amplify/mine.mjs in
`userPool` mode against the local TLS server; the test drives them over stdin and reads their JSON lines.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from support.server import LocalServer

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("mine.mjs")

pytestmark = pytest.mark.slow


class Follower:
    """One user's mine.mjs process: every event it printed, and a way to wait for one."""

    def __init__(self, node: str, server: LocalServer, token: str) -> None:
        self.process = subprocess.Popen(
            [node, str(SCRIPT), "--endpoint", server.url, "--token", token, "--timeout-ms", "60000"],
            cwd=ROOT, env={**os.environ, "NODE_EXTRA_CA_CERTS": str(server.ca_file)},
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        self.events: list[dict[str, Any]] = []
        self._lines: queue.Queue[dict[str, Any] | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.startswith("{"):
                self._lines.put(json.loads(line))
        self._lines.put(None)

    def wait_for(self, match: Callable[[dict[str, Any]], bool], timeout: float = 30, since: int = 0) -> dict[str, Any]:
        """The first event from index ``since`` on that matches, reading more lines for up to ``timeout`` s."""
        deadline = time.monotonic() + timeout
        for event in self.events[since:]:
            if match(event):
                return event
        while (left := deadline - time.monotonic()) > 0:
            try:
                event = self._lines.get(timeout=left)
            except queue.Empty:
                break
            if event is None:
                break
            self.events.append(event)
            if event["event"] in {"error", "timeout"}:
                raise AssertionError(f"mine.mjs failed: {event}")
            if match(event):
                return event
        raise AssertionError(f"not seen in {timeout} s; events so far: {self.events}")

    def send(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def submit(self, job_type: str, payload: dict[str, Any]) -> str:
        since = len(self.events)
        self.send(f"submit {job_type} {json.dumps(payload)}")
        return str(self.wait_for(lambda e: e["event"] == "submitted", since=since)["job"]["id"])

    def finished(self, job_id: str) -> dict[str, Any]:
        return self.wait_for(lambda e: e["event"] == "data" and e["job"]["id"] == job_id and e["job"]["status"] == "SUCCEEDED")

    def stop(self) -> str:
        if self.process.poll() is None:
            self.send("quit")
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        while (event := self._lines.get(timeout=10)) is not None:
            self.events.append(event)
        assert self.process.stderr is not None
        return self.process.stderr.read()


def test_two_users_subscribed_at_once_each_receive_only_their_own_jobs(node: str, tls_server: LocalServer) -> None:
    from devserver.auth.user_pool import LocalUserPool

    pool, suffix = LocalUserPool(), uuid.uuid4().hex[:8]
    alice_name, bob_name = f"alice-{suffix}", f"bob-{suffix}"
    alice = Follower(node, tls_server, pool.mint(alice_name))
    bob = Follower(node, tls_server, pool.mint(bob_name))
    try:
        for follower in (alice, bob):
            follower.wait_for(lambda e: e["event"] == "ready")  # both subscriptions live at once from here

        alice_first = alice.submit("sleep", {"seconds": 0.4, "steps": 2})
        alice.finished(alice_first)
        bob_job = bob.submit("echo", {"from": "bob"})
        bob.finished(bob_job)
        alice_second = alice.submit("echo", {"from": "alice"})
        alice.finished(alice_second)
    finally:
        alice_stderr, bob_stderr = alice.stop(), bob.stop()
    assert alice.process.returncode == 0 and bob.process.returncode == 0, (alice_stderr, bob_stderr)

    def received(follower: Follower) -> list[dict[str, Any]]:
        return [e["job"] for e in follower.events if e["event"] == "data"]

    alice_events, bob_events = received(alice), received(bob)
    assert {j["id"] for j in alice_events} == {alice_first, alice_second}
    assert {j["id"] for j in bob_events} == {bob_job}
    assert {j["owner"] for j in alice_events} == {pool.sub_for(alice_name)}
    assert {j["owner"] for j in bob_events} == {pool.sub_for(bob_name)}
    # submitJob publishes too: each user's stream starts each job at PENDING, and versions only grow.
    for events in (alice_events, bob_events):
        by_job: dict[str, list[dict[str, Any]]] = {}
        for job in events:
            by_job.setdefault(job["id"], []).append(job)
        for jobs in by_job.values():
            assert jobs[0]["status"] == "PENDING" and jobs[-1]["status"] == "SUCCEEDED", jobs
            versions = [j["version"] for j in jobs]
            assert versions == sorted(set(versions)), versions
