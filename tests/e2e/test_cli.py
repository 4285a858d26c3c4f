"""The README's CLI walk-through against the real local server: submit --wait, status, cancel, tokens."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from support.server import API_KEY, ROOT, LocalServer


def cli(server: LocalServer, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "APPSYNC_JOBS_URL": server.url, "APPSYNC_JOBS_API_KEY": API_KEY,
                   "COLUMNS": "200", "NO_COLOR": "1", **env}
    if "APPSYNC_JOBS_TOKEN" not in env:
        environment.pop("APPSYNC_JOBS_TOKEN", None)
    return subprocess.run([sys.executable, "-m", "devserver.cli", *args], cwd=ROOT, env=environment,
                          capture_output=True, text=True, timeout=60)


def job_id_in(output: str) -> str:
    found = re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", output)
    assert found, output
    return found.group(0)


def test_submit_wait_shows_the_outcome_and_status_agrees(server: LocalServer) -> None:
    done = cli(server, "submit", "sleep", "--payload", '{"seconds": 0.5, "steps": 2}', "--wait")
    assert done.returncode == 0, done.stderr
    assert "SUCCEEDED" in done.stdout and '"slept"' in done.stdout
    status = cli(server, "status", job_id_in(done.stdout))
    assert status.returncode == 0 and "SUCCEEDED" in status.stdout


def test_cancel_a_pending_or_running_job(server: LocalServer) -> None:
    submitted = cli(server, "submit", "sleep", "--payload", '{"seconds": 30, "steps": 30}')
    cancelled = cli(server, "cancel", job_id_in(submitted.stdout))
    assert cancelled.returncode == 0, cancelled.stderr
    # PENDING is cancelled at once; RUNNING records the request and the task stops cooperatively.
    assert "CANCELLED" in cancelled.stdout or "cancel requested" in cancelled.stdout


def test_a_failed_job_exits_nonzero_and_errors_name_their_type(server: LocalServer) -> None:
    failed = cli(server, "submit", "fail", "--wait")
    assert failed.returncode == 2 and "FAILED" in failed.stdout
    unknown = cli(server, "submit", "no-such-task")
    assert unknown.returncode == 1 and "UnknownTaskType" in unknown.stderr


def test_tokens_act_as_users_who_see_only_their_jobs(server: LocalServer) -> None:
    alice = cli(server, "token", "alice").stdout.strip()
    bob = cli(server, "token", "bob").stdout.strip()
    submitted = cli(server, "submit", "echo", "--payload", '{"n": 1}', "--wait", APPSYNC_JOBS_TOKEN=alice)
    assert submitted.returncode == 0, submitted.stderr
    job_id = job_id_in(submitted.stdout)
    assert "SUCCEEDED" in cli(server, "status", job_id, "--token", alice).stdout
    refused = cli(server, "status", job_id, "--token", bob)
    assert refused.returncode == 1 and "NotFound" in refused.stderr
