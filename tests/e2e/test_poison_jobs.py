"""Poison jobs: retries with backoff up to the limit, then the dead-letter queue, then FAILED - and the
subscriber is told."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time

import pytest

from client.api import JobsClient
from client.config import ClientConfig
from client.models import Job, JobStatus
from support.server import API_KEY, ROOT, StartServer

FAST_RETRIES = {
    "APPSYNC_JOBS_TASK_MODULES": "support.tasks",
    "JOBS_LEASE_SECONDS": "2",
    "JOBS_VISIBILITY_MARGIN": "1",
    "JOBS_VISIBILITY_TIMEOUT": "3",
    "JOBS_RETRY_BACKOFF_BASE": "1",
    "JOBS_MAX_RECEIVE_COUNT": "3",
}


def test_a_task_that_keeps_raising_fails_after_its_retries(start_local_server: StartServer) -> None:
    server = start_local_server(env=FAST_RETRIES)

    async def run() -> tuple[Job, list[Job]]:
        async with JobsClient(ClientConfig(url=server.url, api_key=API_KEY)) as client:
            job = await client.submit("fail", {"message": "always broken", "retryable": True})
            seen: list[Job] = []
            final = await client.wait(job.id, on_update=seen.append, timeout=60)
            return final, seen

    final, seen = asyncio.run(run())
    server.stop()
    assert final.status is JobStatus.FAILED
    assert final.error is not None
    assert (final.error.type, final.error.message) == ("TaskError", "RuntimeError: always broken")
    assert final.attempts == 3
    assert any("retrying" in (j.message or "") for j in seen)  # subscribers saw the retries
    assert seen[-1].status is JobStatus.FAILED


@pytest.mark.slow
def test_a_job_that_kills_its_worker_is_dead_lettered_and_failed(start_local_server: StartServer) -> None:
    server = start_local_server("--no-worker", env=FAST_RETRIES)
    env = {**os.environ, **FAST_RETRIES, "PYTHONPATH": f"{ROOT}:{ROOT / 'tests'}"}
    command = [sys.executable, "-m", "devserver.cli", "worker", "--url", server.url, "--data-dir", str(server.data_dir)]

    async def run() -> Job:
        async with JobsClient(ClientConfig(url=server.url, api_key=API_KEY)) as client:
            job = await client.submit("test-crash")
            waiter = asyncio.ensure_future(client.wait(job.id, timeout=90))
            loop = asyncio.get_running_loop()
            deaths = 0
            deadline = time.monotonic() + 80
            while not waiter.done() and time.monotonic() < deadline:
                # Each worker process takes the job and dies with it; start the next one.
                worker = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                await asyncio.wait(
                    {waiter, loop.run_in_executor(None, worker.wait)}, return_when=asyncio.FIRST_COMPLETED
                )
                if worker.poll() is None:
                    worker.kill()
                    worker.wait()
                else:
                    deaths += worker.returncode == 17
            assert deaths >= 3
            return await waiter

    final = asyncio.run(run())
    server.stop()
    assert final.status is JobStatus.FAILED
    assert final.error is not None and final.error.type == "DeadLettered"
    assert final.attempts == 3
