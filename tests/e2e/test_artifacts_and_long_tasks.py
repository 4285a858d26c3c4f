"""Issue 11 end to end, over real sockets: large results and artifacts through gql and the CLI with
every event under the publish budget, signed URLs refused when tampered or re-purposed, owner-bound
uploads, and the long-task route (embedded, and as `appsync-jobs worker --queue long`)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests
from gql import Client, GraphQLRequest, gql
from gql.transport.appsync_auth import AppSyncApiKeyAuthentication

from client import ClientConfig, JobsClient
from client.api import JobsApiError, _AckingTransport
from client.models import JobStatus
from jobcore.limits import APPSYNC_SUBSCRIPTION_PAYLOAD_BYTES, PUBLISH_BUDGET_BYTES
from support.server import API_KEY, ROOT, LocalServer, StartServer, token_for

TASKS = ("--tasks", "support.tasks")
pytestmark = [pytest.mark.slow, pytest.mark.local_server(*TASKS)]
FIVE_MB = 5_000_000
ON_JOB_UPDATED = gql("""
subscription OnJobUpdated($id: ID!) {
  onJobUpdated(id: $id) {
    id type status payload result error { type message } progress message attempts cancelRequested version
    createdAt updatedAt startedAt finishedAt artifacts { name size contentType url expiresAt }
  }
}""")


def client(server: LocalServer, token: str | None = None) -> JobsClient:
    return JobsClient(ClientConfig(url=server.url, api_key=None if token else API_KEY, token=token))


def cli(server: LocalServer, *args: str, token: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "APPSYNC_JOBS_URL": server.url, "APPSYNC_JOBS_API_KEY": API_KEY, "COLUMNS": "200", "NO_COLOR": "1"}
    env.pop("APPSYNC_JOBS_TOKEN", None)
    if token:
        env["APPSYNC_JOBS_TOKEN"] = token
    return subprocess.run([sys.executable, "-m", "devserver.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


async def submit_and_follow(server: LocalServer, job_type: str, payload: Any) -> tuple[str, list[dict[str, Any]]]:
    """Submit, subscribe (the task waits a moment, so the subscription is live first), and collect the
    raw events - AWSJSON still as strings, as AppSync sends them - until the job finishes."""
    async with client(server) as jobs:
        job = await jobs.submit(job_type, payload)
    auth = AppSyncApiKeyAuthentication(host=server.host, api_key=API_KEY)
    events: list[dict[str, Any]] = []
    async with Client(transport=_AckingTransport(url=server.realtime_url, auth=auth, ssl=False)) as session:
        async def follow() -> None:
            async for data in session.subscribe(GraphQLRequest(ON_JOB_UPDATED, variable_values={"id": job.id})):
                events.append(data["onJobUpdated"])
                if data["onJobUpdated"]["status"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
                    return

        await asyncio.wait_for(follow(), timeout=90)
    return job.id, events


def message_size(event: dict[str, Any]) -> int:
    """The data message as the server sends it (the real-time protocol's envelope around the event)."""
    return len(json.dumps({"id": "0" * 36, "type": "data", "payload": {"data": {"onJobUpdated": event}}},
                          separators=(",", ":")))


async def test_a_5_mb_result_round_trips_and_its_succeeded_event_stays_under_the_budget(
        server: LocalServer, tmp_path: Path) -> None:
    job_id, events = await submit_and_follow(server, "test-big-result", {"bytes": FIVE_MB, "delay": 1.0})
    final = events[-1]
    assert final["status"] == "SUCCEEDED", final
    assert all(message_size(e) <= PUBLISH_BUDGET_BYTES < APPSYNC_SUBSCRIPTION_PAYLOAD_BYTES for e in events)
    assert json.loads(final["result"]) == {"$artifact": "result.json", "size": final["artifacts"][0]["size"]}
    assert final["artifacts"] == [{"name": "result.json", "size": final["artifacts"][0]["size"],
                                   "contentType": "application/json", "url": None, "expiresAt": None}]

    async with client(server) as jobs:
        job = await jobs.get(job_id)
        assert job.artifacts[0].url and job.artifacts[0].expires_at  # minted for this reader
        result = await jobs.result(job)
    assert len(result["text"]) == FIVE_MB and result["text"].startswith('say "hi" ')

    got = cli(server, "get", job_id, "--download", str(tmp_path))
    assert got.returncode == 0, got.stderr
    saved = tmp_path / "result.json"
    assert saved.stat().st_size == job.artifacts[0].size
    assert json.loads(saved.read_text())["text"] == result["text"]


async def test_a_job_whose_escaped_payload_and_result_exceed_240_kb_keeps_its_final_event(server: LocalServer) -> None:
    # ~96 KB of payload and ~150 KB of result as published: under the seed's two 100 KB caps as the
    # resolver measured them, over AppSync's 240 KB together - an event AppSync would have dropped.
    payload = {"bytes": 150_000, "pad": '"' * 24_000, "delay": 1.0}
    _, events = await submit_and_follow(server, "test-big-result", payload)
    final = events[-1]
    assert final["status"] == "SUCCEEDED"
    assert json.loads(final["result"])["$artifact"] == "result.json"
    assert json.loads(final["payload"]) == payload
    assert all(message_size(e) <= PUBLISH_BUDGET_BYTES for e in events)


async def test_three_artifacts_round_trip_through_gql_and_the_cli(server: LocalServer, tmp_path: Path) -> None:
    job_id, events = await submit_and_follow(server, "test-artifacts", {"kib": 256, "delay": 1.0})
    assert events[-1]["status"] == "SUCCEEDED"
    assert all(message_size(e) <= PUBLISH_BUDGET_BYTES for e in events)
    expected = {
        "data.bin": bytes(range(256)) * 4 * 256,
        "report.csv": ("n,square\n" + "".join(f"{i},{i * i}\n" for i in range(256))).encode(),
        "meta.json": json.dumps({"job": job_id}).encode(),
    }
    async with client(server) as jobs:
        job = await jobs.get(job_id)
        assert {a.name: (a.size, a.content_type) for a in job.artifacts} == {
            "data.bin": (len(expected["data.bin"]), "application/octet-stream"),
            "report.csv": (len(expected["report.csv"]), "text/csv"),
            "meta.json": (len(expected["meta.json"]), "application/json"),
        }
        via_gql = await jobs.download_all(job_id, tmp_path / "gql")
    assert {p.name: p.read_bytes() for p in via_gql} == expected

    got = cli(server, "get", job_id, "--download", str(tmp_path / "cli"))
    assert got.returncode == 0, got.stderr
    assert {p.name: p.read_bytes() for p in (tmp_path / "cli").iterdir()} == expected
    for name in expected:
        assert f"artifact {name}" in got.stdout


async def test_tampered_and_repurposed_urls_are_refused(server: LocalServer) -> None:
    job_id, _ = await submit_and_follow(server, "test-artifacts", {"kib": 1, "delay": 0.5})
    other_id, _ = await submit_and_follow(server, "test-artifacts", {"kib": 2, "delay": 0.5})
    async with client(server) as jobs:
        url = next(a.url for a in (await jobs.get(job_id)).artifacts if a.name == "data.bin")
    assert url is not None
    assert requests.get(url, timeout=10).status_code == 200
    # Another job's file with my signature, a longer life, another method: all 403, as S3 answers.
    assert requests.get(url.replace(job_id, other_id), timeout=10).status_code == 403
    expires = url.split("X-Expires=")[1].split("&")[0]
    assert requests.get(url.replace(expires, str(int(expires) + 3600)), timeout=10).status_code == 403
    refused = requests.put(url, data=b"overwrite", headers={"Content-Type": "application/octet-stream"}, timeout=10)
    assert refused.status_code == 403 and b"AccessDenied" in refused.content
    assert requests.get(url.split("?")[0], timeout=10).status_code == 403  # unsigned


async def test_another_user_can_neither_mint_links_nor_use_my_upload(server: LocalServer, tmp_path: Path) -> None:
    alice, bob = token_for("alice"), token_for("bob")
    source = tmp_path / "input.txt"
    source.write_bytes(b"alice's large input " * 1000)
    uploaded = cli(server, "upload", str(source), "--content-type", "text/plain", token=alice)
    assert uploaded.returncode == 0, uploaded.stderr
    ref = uploaded.stdout.strip()
    assert ref.startswith("upload:")

    async with client(server, token=bob) as as_bob:
        with pytest.raises(JobsApiError) as refused:
            await as_bob.submit("test-read-upload", {"input": ref})
        assert refused.value.error_type == "ValidationError"
    async with client(server, token=alice) as as_alice:
        job = await as_alice.submit("test-artifacts", {"kib": 1})
        done = await as_alice.wait(job.id, timeout=60)
        assert done.status is JobStatus.SUCCEEDED
        read = await as_alice.submit("test-read-upload", {"input": ref})
        finished = await as_alice.wait(read.id, timeout=60)
        assert finished.result == {"bytes": source.stat().st_size, "head": "alice's large in"}
    async with client(server, token=bob) as as_bob:
        with pytest.raises(JobsApiError) as hidden:
            await as_bob.get(job.id)  # no job for bob, so no URL for bob
        assert hidden.value.error_type == "NotFound"

    # A PUT must match what was signed: size and content type.
    async with client(server, token=alice) as as_alice:
        upload = await as_alice.create_upload("text/plain", 5)
    assert requests.put(upload.url, data=b"123456", headers=upload.headers, timeout=10).status_code == 400
    assert requests.put(upload.url, data=b"12345", headers={"Content-Type": "text/html"}, timeout=10).status_code == 403
    assert requests.put(upload.url, data=b"12345", headers=upload.headers, timeout=10).status_code == 200


async def test_a_twenty_minute_task_goes_to_the_embedded_long_worker(server: LocalServer) -> None:
    _, events = await submit_and_follow(server, "test-long", {"seconds": 1.5, "steps": 3})
    assert events[-1]["status"] == "SUCCEEDED" and events[-1]["attempts"] == 1
    assert [e["progress"] for e in events if e["status"] == "RUNNING"][-1] == 100


def test_a_task_longer_than_the_lambda_timeout_completes_on_worker_queue_long(
    tmp_path: Path, start_local_server: StartServer
) -> None:
    # The Lambda worker is scaled down to 3 s (1 s hand-back margin): test-slow (limit 60 s) cannot
    # fit it, so submit routes it to the long queue; `appsync-jobs worker --queue long` runs it.
    scaled = ("--lambda-timeout", "3", "--handback-margin", "1")
    api = start_local_server(*TASKS, *scaled)
    env = {**os.environ, "PYTHONPATH": f"{ROOT}:{ROOT / 'tests'}"}
    worker = subprocess.Popen(
        [sys.executable, "-m", "devserver.cli", "worker", "--queue", "long", "--url", api.url, "--data-dir", str(tmp_path),
         *TASKS, *scaled], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _, events = asyncio.run(submit_and_follow(api, "test-slow", {"seconds": 4, "steps": 8}))
        final = events[-1]
        assert final["status"] == "SUCCEEDED" and final["attempts"] == 1, final
        progress = [e["progress"] for e in events if e["status"] == "RUNNING" and e["message"]]
        assert len(progress) >= 3 and progress == sorted(progress)
        started, finished = (final["startedAt"], final["finishedAt"])
        assert started and finished and finished > started
        # On this server a Lambda-routed task that outruns its limit ends TimedOut, not DeadLettered.
        _, overrun = asyncio.run(submit_and_follow(api, "test-overrun", None))
        assert overrun[-1]["status"] == "FAILED" and overrun[-1]["error"]["type"] == "TimedOut"
    finally:
        worker.terminate()
        worker.wait(timeout=15)
