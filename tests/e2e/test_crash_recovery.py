"""Nothing lost, nothing done twice: worker processes killed with SIGKILL at random points, again and again.

The server runs alone (`dev --no-worker`); separate `appsync-jobs worker` processes share its SQLite data.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from support.server import API_KEY, ROOT, LocalServer, start_server

JOBS = 24
KILLS = 20
SEED = int(os.environ.get("CRASH_TEST_SEED", "20261126"))

WORKER_ENV = {
    "APPSYNC_JOBS_TASK_MODULES": "support.tasks",
    "JOBS_LEASE_SECONDS": "2",
    "JOBS_VISIBILITY_MARGIN": "1",
    "JOBS_VISIBILITY_TIMEOUT": "3",
    "JOBS_RETRY_BACKOFF_BASE": "1",
    # Killing is not the task's fault: allow enough deliveries that no job is dead-lettered for it.
    "JOBS_MAX_RECEIVE_COUNT": "100",
    "JOBS_REAPER_INTERVAL": "3600",
}


def graphql(server: LocalServer, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    response = requests.post(server.url, json={"query": query, "variables": variables or {}},
                             headers={"x-api-key": API_KEY}, timeout=10)
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    return body["data"]  # type: ignore[no-any-return]


def start_worker(server: LocalServer, ledger: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "devserver.cli", "worker", "--url", server.url, "--data-dir", str(server.data_dir),
         "--concurrency", "4"],
        cwd=ROOT,
        env={**os.environ, **WORKER_ENV, "APPSYNC_JOBS_TEST_LEDGER": str(ledger),
             "PYTHONPATH": f"{ROOT}:{ROOT / 'tests'}"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def statuses(server: LocalServer, ids: list[str]) -> dict[str, dict[str, Any]]:
    fields = "id status result attempts version error { type message }"
    query = "query {" + " ".join(f'j{i}: job(id: "{job_id}") {{ {fields} }}' for i, job_id in enumerate(ids)) + "}"
    data = graphql(server, query)
    return {job["id"]: job for job in data.values()}


def progress(server: LocalServer, ids: list[str]) -> int:
    """Sum of job versions: grows with every claim, progress report and outcome."""
    return sum(job["version"] for job in statuses(server, ids).values())


@pytest.mark.slow
def test_jobs_survive_twenty_sigkills_and_run_their_effects_once(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    ledger = tmp_path / "ledger"
    ledger.mkdir()
    server = start_server(tmp_path / "data", "--no-worker", env=WORKER_ENV)
    try:
        # Given a batch of accepted jobs whose task sleeps in slices, then writes an effect keyed by its idempotency key
        ids = []
        for value in range(JOBS):
            payload = json.dumps({"steps": 4, "slice": 0.12, "value": value})
            data = graphql(server, "mutation($i: SubmitJobInput!) { submitJob(input: $i) { id } }",
                           {"i": {"type": "test-ledger", "payload": payload}})
            ids.append(data["submitJob"]["id"])

        # When worker processes are killed at random points, at least twenty times
        kills = 0
        deadline = time.monotonic() + 150
        while kills < KILLS and time.monotonic() < deadline:
            before = progress(server, ids)
            worker = start_worker(server, ledger)
            # Kill only once this worker has changed some job (it is past start-up, mid-work), then at a
            # random point: a slow machine must not turn the kills into kills of idle processes.
            while progress(server, ids) == before and time.monotonic() < deadline and worker.poll() is None:
                time.sleep(0.05)
            time.sleep(rng.uniform(0.0, 0.6))  # the random kill point, not a wait for a result
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=10)
            kills += 1
            if all(j["status"] == "SUCCEEDED" for j in statuses(server, ids).values()):
                # Everything finished early: add work so the remaining kills still land mid-task.
                payload = json.dumps({"steps": 4, "slice": 0.12, "value": len(ids)})
                ids.append(graphql(server, "mutation($i: SubmitJobInput!) { submitJob(input: $i) { id } }",
                                   {"i": {"type": "test-ledger", "payload": payload}})["submitJob"]["id"])
        assert kills >= KILLS

        # Then one last worker, left alone, finishes every job
        worker = start_worker(server, ledger)
        try:
            final: dict[str, dict[str, Any]] = {}
            while time.monotonic() < deadline + 60:
                final = statuses(server, ids)
                if all(j["status"] in ("SUCCEEDED", "FAILED", "CANCELLED") for j in final.values()):
                    break
                time.sleep(0.5)  # polling the API for the outcome, bounded by the deadline
        finally:
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=10)
    finally:
        server.stop()

    expected = sorted(range(len(ids)))
    assert {job["status"] for job in final.values()} == {"SUCCEEDED"}, final
    assert sorted(json.loads(job["result"])["value"] for job in final.values()) == expected
    assert sum(job["attempts"] for job in final.values()) > len(ids), "no kill landed mid-task"
    effects = sorted(p for p in ledger.iterdir() if p.name.startswith("appsync-jobs_"))
    assert len(effects) == len(ids)  # each effect exactly once, however often its task ran
    assert sorted(json.loads(p.read_text())["value"] for p in effects) == expected
    writes = (ledger / "writes.log").read_text().split()
    assert set(writes) == {f"appsync-jobs:{job_id}" for job_id in ids}
