"""Issue 10 from the CLI, against the real local server: `list` (filters, pages), `watch` (live, only mine) and `retry`."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import uuid

import pytest

from support.server import API_KEY, ROOT, LocalServer

pytestmark = pytest.mark.slow

ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def environment(server: LocalServer, token: str | None) -> dict[str, str]:
    env = {**os.environ, "APPSYNC_JOBS_URL": server.url, "APPSYNC_JOBS_API_KEY": API_KEY, "COLUMNS": "220", "NO_COLOR": "1"}
    env.pop("APPSYNC_JOBS_TOKEN", None)
    if token:
        env["APPSYNC_JOBS_TOKEN"] = token
    return env


def cli(server: LocalServer, *args: str, token: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "devserver.cli", *args], cwd=ROOT, env=environment(server, token),
                          capture_output=True, text=True, timeout=90)


def user(server: LocalServer, name: str) -> str:
    """A token for a user of this test only (a fresh name: no jobs from other tests)."""
    return cli(server, "token", f"{name}-{uuid.uuid4().hex[:8]}").stdout.strip()


def submit(server: LocalServer, token: str, job_type: str, payload: str = "{}", *flags: str) -> str:
    done = cli(server, "submit", job_type, "--payload", payload, *flags, token=token)
    assert done.returncode in (0, 2), done.stderr
    return ID.findall(done.stdout)[0]


def ids_in(output: str) -> list[str]:
    return list(dict.fromkeys(ID.findall(output)))


def test_list_shows_only_my_jobs_newest_first_filtered_and_paged(server: LocalServer) -> None:
    alice, bob = user(server, "alice"), user(server, "bob")
    mine = [submit(server, alice, "echo", json.dumps({"n": n}), "--wait") for n in range(3)]
    failed = submit(server, alice, "fail", '{"message": "boom", "retryable": false}', "--wait")
    theirs = submit(server, bob, "echo", "{}", "--wait")
    newest_first = [failed, *reversed(mine)]

    listed = cli(server, "list", token=alice)
    assert listed.returncode == 0, listed.stderr
    assert ids_in(listed.stdout) == newest_first
    assert theirs not in listed.stdout
    assert "SUCCEEDED" in listed.stdout and "DemoFailure: boom" in listed.stdout

    assert ids_in(cli(server, "list", "--status", "FAILED", token=alice).stdout) == [failed]
    assert ids_in(cli(server, "list", "--type", "echo", token=alice).stdout) == list(reversed(mine))
    assert ids_in(cli(server, "list", token=bob).stdout) == [theirs]
    assert cli(server, "list", "--status", "RUNNING", token=bob).stdout.strip() == "no jobs"

    first = cli(server, "list", "--limit", "3", token=alice)
    assert ids_in(first.stdout) == newest_first[:3]
    more = re.search(r"more: appsync-jobs list --next-token (\S+)", first.stdout)
    assert more, first.stdout
    rest = cli(server, "list", "--limit", "3", "--next-token", more.group(1), token=alice)
    assert ids_in(rest.stdout) == newest_first[3:] and "more:" not in rest.stdout
    assert ids_in(cli(server, "list", "--all", "--limit", "2", token=alice).stdout) == newest_first

    # The token is signed for its caller: bob cannot page through alice's jobs with it.
    forged = cli(server, "list", "--next-token", more.group(1), token=bob)
    assert forged.returncode == 1 and "ValidationError" in forged.stderr


def test_retry_runs_a_failed_job_again_and_refuses_a_finished_one(server: LocalServer) -> None:
    alice, bob = user(server, "alice"), user(server, "bob")
    failed = submit(server, alice, "fail", '{"message": "again", "retryable": false}', "--wait")
    retried = cli(server, "retry", failed, "--wait", token=alice)
    assert retried.returncode == 2, retried.stderr  # it fails again, as a second attempt of the same job
    assert failed in retried.stdout and "FAILED" in retried.stdout and "attempts=2" in retried.stdout

    refused = cli(server, "retry", failed, token=bob)
    assert refused.returncode == 1 and "NotFound" in refused.stderr  # not bob's job

    succeeded = submit(server, alice, "echo", "{}", "--wait")
    finished = cli(server, "retry", succeeded, token=alice)
    assert finished.returncode == 1 and "InvalidTransition" in finished.stderr


class Watch:
    """`appsync-jobs watch` as a process whose output lines are read as they come."""

    def __init__(self, server: LocalServer, token: str, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "devserver.cli", "watch", *args], cwd=ROOT, env=environment(server, token),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._queue.put(line)
        self._queue.put(None)

    def wait_for(self, pattern: str, timeout: float = 30) -> str:
        """The first line (from now on) matching ``pattern``; fails after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._queue.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                break
            self.lines.append(line)
            if re.search(pattern, line):
                return line
        raise AssertionError(f"no line matching {pattern!r} in:\n{''.join(self.lines)}")

    def finish(self, timeout: float = 30) -> str:
        self.process.wait(timeout=timeout)
        while (line := self._queue.get(timeout=10)) is not None:
            self.lines.append(line)
        return "".join(self.lines)


def test_watch_shows_my_jobs_live_and_nobody_elses_until_ctrl_c(server: LocalServer) -> None:
    alice, bob = user(server, "alice"), user(server, "bob")
    earlier = submit(server, alice, "echo", '{"before": true}', "--wait")
    watch = Watch(server, alice, "--timeout", "120")
    try:
        watch.wait_for("^live: following changes")  # subscribed (start_ack), then listed
        assert earlier in "".join(watch.lines)  # the initial listJobs

        theirs = submit(server, bob, "echo", '{"bob": true}', "--wait")
        failed = submit(server, alice, "fail", '{"message": "x", "retryable": false}', "--wait")
        watch.wait_for(rf"^{failed}\s+fail\s+FAILED")
        assert cli(server, "retry", failed, "--wait", token=alice).returncode == 2
        watch.wait_for(rf"^{failed}\s+fail\s+PENDING")  # retryJob's event
        watch.wait_for(rf"^{failed}\s+fail\s+FAILED")  # the second attempt's end
        last = submit(server, alice, "sleep", '{"seconds": 0.4, "steps": 2}')
        watch.wait_for(rf"^{last}\s+sleep\s+RUNNING")
        watch.wait_for(rf"^{last}\s+sleep\s+SUCCEEDED")
    finally:
        watch.process.send_signal(signal.SIGINT)  # Ctrl-C
    output = watch.finish()
    assert watch.process.returncode == 0, output
    assert theirs not in output  # bob's job never reached alice's watch
    final = output.split("- stopped")[-1]
    assert ids_in(final) == [last, failed, earlier]  # the final table, newest first
    versions = [int(v) for v in re.findall(rf"^{failed}\s+fail\s+\w+\s+v(\d+)", output, re.MULTILINE)]
    assert versions == sorted(set(versions)), versions  # each change once, in order


def test_watch_until_idle_ends_when_my_jobs_have_finished(server: LocalServer) -> None:
    alice = user(server, "alice")
    job = submit(server, alice, "sleep", '{"seconds": 1.5, "steps": 3}')
    done = subprocess.run([sys.executable, "-m", "devserver.cli", "watch", "--until-idle", "--timeout", "60"], cwd=ROOT,
                          env=environment(server, alice), capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, done.stdout + done.stderr
    final = done.stdout.split("- stopped")[-1]
    assert "my jobs: 1 shown, 0 active - stopped" in done.stdout
    assert job in final and "SUCCEEDED" in final

    # --timeout first: the exit status says some job is still running.
    slow = submit(server, alice, "sleep", '{"seconds": 30, "steps": 30}')
    timed_out = subprocess.run([sys.executable, "-m", "devserver.cli", "watch", "--until-idle", "--timeout", "2"], cwd=ROOT,
                               env=environment(server, alice), capture_output=True, text=True, timeout=60)
    assert timed_out.returncode == 3, timed_out.stdout + timed_out.stderr
    assert "1 active - stopped" in timed_out.stdout
    assert cli(server, "cancel", slow, token=alice).returncode == 0


def test_watch_with_bad_credentials_stops_with_appsyncs_error_instead_of_retrying(server: LocalServer) -> None:
    env = {**environment(server, None), "APPSYNC_JOBS_API_KEY": "da2-thisisnotthekey0000000000"}
    refused = subprocess.run([sys.executable, "-m", "devserver.cli", "watch", "--timeout", "30"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "UnauthorizedException" in refused.stderr and "Traceback" not in refused.stderr


async def test_the_python_client_lists_pages_retries_and_follows_all_of_mine(server: LocalServer) -> None:
    import asyncio

    from client import ClientConfig, JobsClient
    from client.models import Job

    alice, bob = user(server, "alice"), user(server, "bob")
    config = ClientConfig(url=server.url, token=alice)
    async with JobsClient(config) as jobs, JobsClient(ClientConfig(url=server.url, token=bob)) as bobs:
        seen: list[Job] = []
        live = asyncio.Event()
        stream = jobs.subscribe_mine(live=live)
        first = asyncio.ensure_future(stream.__anext__())  # subscribes
        await asyncio.wait_for(live.wait(), 30)  # start_ack: from here on nothing is missed
        submitted = [await jobs.submit("fail", {"message": "py", "retryable": False})]
        await bobs.submit("echo", {"bob": True})
        seen.append(await asyncio.wait_for(first, 30))
        assert seen[0].status.value == "PENDING"  # submitJob publishes to onMyJobsUpdated too
        while not any(j.id == submitted[0].id and j.status.value == "FAILED" for j in seen):
            seen.append(await asyncio.wait_for(stream.__anext__(), 30))
        retried = await jobs.retry(submitted[0].id)
        assert retried.id == submitted[0].id and retried.status.value == "PENDING"
        while not any(j.id == retried.id and j.status.value == "FAILED" and j.attempts == 2 for j in seen):
            seen.append(await asyncio.wait_for(stream.__anext__(), 30))
        await stream.aclose()
        assert {j.id for j in seen} == {submitted[0].id}  # bob's job never arrived
        assert {j.owner for j in seen} == {submitted[0].owner}

        submitted += [await jobs.submit("echo", {"n": n}) for n in range(4)]
        page = await jobs.list_jobs(limit=2)
        assert [j.id for j in page.items] == [j.id for j in reversed(submitted)][:2] and page.next_token
        everything = [j.id async for j in jobs.iter_jobs(page_size=2)]
        assert everything == [j.id for j in reversed(submitted)]
        assert [j.id async for j in jobs.iter_jobs(status="FAILED")] == [submitted[0].id]
