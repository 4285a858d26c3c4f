"""The worker's SigV4 reporter, shared by threads (a task and its heartbeat; the local event source's
pool), never mixes up two jobs' updates."""

from __future__ import annotations

import sys
import threading

import pytest
import requests
from botocore.credentials import Credentials

from jobcore.adapters.appsync_reporter import AppSyncJobReporter
from jobcore.settings import LOCAL_ACCESS_KEY_ID, LOCAL_REGION, LOCAL_SECRET_ACCESS_KEY
from support.server import API_KEY, LocalServer

pytestmark = pytest.mark.local_server("--no-worker")


def test_concurrent_reports_from_one_reporter_stay_with_their_job(server: LocalServer) -> None:
    reporter = AppSyncJobReporter(server.url, region=LOCAL_REGION,
                                  credentials=Credentials(LOCAL_ACCESS_KEY_ID, LOCAL_SECRET_ACCESS_KEY))
    ids = [requests.post(server.url, json={"query": 'mutation { submitJob(input: {type: "echo"}) { id } }'},
                         headers={"x-api-key": API_KEY}, timeout=10).json()["data"]["submitJob"]["id"] for _ in range(8)]
    mixups: list[str] = []
    barrier = threading.Barrier(len(ids))

    def report(job_id: str) -> None:
        token = f"lease-{job_id}"
        barrier.wait()
        try:
            reporter.update(job_id, {"leaseToken": token, "status": "RUNNING", "leaseSeconds": 60})
            for percent in range(1, 30):
                job = reporter.update(job_id, {"leaseToken": token, "progress": percent})
                if job["id"] != job_id or job["progress"] != percent:
                    mixups.append(f"{job_id}: got {job['id']} at {job['progress']}")
        except Exception as exc:  # a refused update is a mix-up too: it carried another job's lease
            mixups.append(f"{job_id}: {exc!r}")

    threads = [threading.Thread(target=report, args=(job_id,)) for job_id in ids]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: races show up when they exist
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        sys.setswitchinterval(interval)
    assert mixups == []
