"""Operating the local runtime (issue 12): ``appsync-jobs stats`` and ``/metrics`` while jobs run, one
job's log lines, and a second, untrusted IAM identity - all against the real server process."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from prometheus_client.parser import text_string_to_metric_families

from jobcore.settings import LOCAL_REGION
from support.server import API_KEY, ROOT, LocalServer, StartServer

pytestmark = pytest.mark.slow

SECOND_KEY_ID = "AKIASECONDLOCALKEY00"
SECOND_SECRET = "a-second-local-secret-for-the-untrusted-test"
TRACE = "Root=1-6750f0a1-0123456789abcdef01234567;Parent=0123456789abcdef;Sampled=0"
TRACE_ID = "1-6750f0a1-0123456789abcdef01234567"  # its Root: the correlation id of every line it caused


def gql(server: LocalServer, query: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    reply = requests.post(server.url, json={"query": query}, headers={"x-api-key": API_KEY, **(headers or {})}, timeout=10)
    assert reply.status_code == 200, reply.text
    return reply.json()  # type: ignore[no-any-return]


def signed(server: LocalServer, query: str, key_id: str, secret: str) -> dict[str, Any]:
    body = json.dumps({"query": query})
    request = AWSRequest(method="POST", url=server.url, data=body,
                         headers={"content-type": "application/json", "host": server.host})
    SigV4Auth(Credentials(key_id, secret), "appsync", LOCAL_REGION).add_auth(request)
    reply = requests.post(server.url, data=body, headers=dict(request.headers.items()), timeout=10)
    assert reply.status_code == 200, reply.text
    return reply.json()  # type: ignore[no-any-return]


def submit(server: LocalServer, payload: dict[str, Any], headers: dict[str, str] | None = None) -> str:
    text = json.dumps(json.dumps(payload))
    data = gql(server, f'mutation {{ submitJob(input: {{type: "sleep", payload: {text}}}) {{ id }} }}', headers)
    return str(data["data"]["submitJob"]["id"])


def wait_for(condition: Callable[[], Any], timeout: float = 60, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)  # polling interval of a bounded wait, not a race fix
    raise AssertionError(f"timed out waiting for {what}")


def cli_stats(data_dir: Path) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-m", "devserver.cli", "stats", "--data-dir", str(data_dir), "--json"],
                         cwd=ROOT, capture_output=True, text=True, timeout=30, check=True).stdout
    return json.loads(out)  # type: ignore[no-any-return]


def scrape(server: LocalServer) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    reply = requests.get(server.url.removesuffix("/graphql") + "/metrics", timeout=10)
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(reply.text) for s in family.samples}


def depth(metrics: dict[tuple[str, tuple[tuple[str, str], ...]], float], queue: str = "jobs") -> float:
    return sum(v for (name, labels), v in metrics.items() if name == "appsync_jobs_queue_messages" and ("queue", queue) in labels)


@pytest.fixture
def server(start_local_server: StartServer) -> LocalServer:
    """A server of its own per test (its metrics start at zero), one worker slot so a backlog builds."""
    return start_local_server("--concurrency", "1")


def test_stats_and_metrics_see_depth_rise_while_jobs_run_and_fall_to_zero(server: LocalServer) -> None:
    before = cli_stats(server.data_dir)
    assert before["queues"]["jobs"] == {"name": "jobs", "visible": 0, "inFlight": 0, "delayed": 0}
    assert depth(scrape(server)) == 0

    ids = [submit(server, {"seconds": 1.5, "steps": 3}) for _ in range(5)]  # one at a time: a backlog builds

    during = cli_stats(server.data_dir)
    waiting = during["queues"]["jobs"]["visible"] + during["queues"]["jobs"]["inFlight"]
    assert waiting >= 3, during  # 5 queued, one worker slot
    assert during["jobs"]["PENDING"] + during["jobs"]["RUNNING"] >= 3
    scraped = scrape(server)
    assert depth(scraped) >= 2
    assert scraped[("appsync_jobs_jobs_submitted_total", ())] == 5

    def drained() -> dict[str, Any] | None:
        now = cli_stats(server.data_dir)
        queue = now["queues"]["jobs"]
        return now if queue["visible"] + queue["inFlight"] + queue["delayed"] == 0 and now["jobs"]["SUCCEEDED"] == 5 else None

    after = wait_for(drained, what="the queue to drain")
    assert after["jobs"]["PENDING"] == after["jobs"]["RUNNING"] == 0
    final = wait_for(lambda: (m := scrape(server)) and m[("appsync_jobs_jobs_succeeded_total", ())] == 5 and m,
                     what="/metrics to count 5 successes")
    assert depth(final) == 0
    assert final[("appsync_jobs_jobs", (("status", "SUCCEEDED"),))] == 5
    assert final[("appsync_jobs_queue_wait_milliseconds_count", (("task_type", "sleep"),))] == 5
    assert final[("appsync_jobs_run_duration_milliseconds_sum", (("task_type", "sleep"),))] >= 5 * 1500
    assert final[("appsync_jobs_failed_records_total", ())] == 0
    assert len(set(ids)) == 5


def test_every_log_line_of_one_job_carries_its_job_id_and_correlation_id(start_local_server: StartServer) -> None:
    server = start_local_server(env={"POWERTOOLS_LOG_LEVEL": "DEBUG"})
    job_id = submit(server, {"seconds": 0.4, "steps": 2}, headers={"X-Amzn-Trace-Id": TRACE})
    wait_for(lambda: gql(server, f'{{ job(id: "{job_id}") {{ status }} }}')["data"]["job"]["status"] == "SUCCEEDED",
             what="the job to finish")
    server.stop()  # all its output is in
    mentioning = [line for line in server.output if job_id in line]
    assert mentioning, "the job left no log line"
    records = []
    for line in mentioning:
        record = json.loads(line)  # every line about the job is structured
        assert record.get("job_id") == job_id, line
        assert record.get("correlation_id"), line
        records.append(record)
    by_service: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        by_service.setdefault(record["service"], []).append(record)
    resolver, worker = by_service["appsync-jobs-resolvers"], by_service["appsync-jobs-worker"]
    # The resolver's lines for the submit and for every updateJob the worker sent share the submit's
    # trace id: the header travelled on the message and back on the worker's calls. (The test's own
    # job(id) polls are requests of their own, each with its own trace.)
    updates = [r for r in resolver if r.get("field") == "Mutation.updateJob"]
    assert len(updates) >= 3  # claim, progress, outcome
    submits = [r for r in resolver if r.get("field") == "Mutation.submitJob" or r["message"] == "job submitted"]
    assert len(submits) == 1  # (its "resolving" line came before the job had an id)
    assert {r["correlation_id"] for r in updates + submits} == {TRACE_ID}
    assert len({r["correlation_id"] for r in worker}) == 1  # the delivery's message id
    assert any(r["message"] == "delivery done" for r in worker)
    assert any(r.get("name") == "appsync_jobs.runner" or r["message"] == "delivery received" for r in worker)


def test_a_second_iam_identity_is_an_ordinary_caller(start_local_server: StartServer) -> None:
    server = start_local_server(env={"APPSYNC_JOBS_EXTRA_ACCESS_KEYS": f"{SECOND_KEY_ID}:{SECOND_SECRET}"})
    api_key_job = submit(server, {"seconds": 0, "steps": 1})
    theirs = signed(server, f'{{ job(id: "{api_key_job}") {{ id }} }}', SECOND_KEY_ID, SECOND_SECRET)
    assert theirs["errors"][0]["errorType"] == "NotFound"

    own = signed(server, 'mutation { submitJob(input: {type: "echo", payload: "{}"}) { id } }', SECOND_KEY_ID, SECOND_SECRET)
    own_id = own["data"]["submitJob"]["id"]
    seen = signed(server, f'{{ job(id: "{own_id}") {{ id status }} }}', SECOND_KEY_ID, SECOND_SECRET)
    assert seen["data"]["job"]["id"] == own_id

    forged = signed(server, f'mutation {{ updateJob(input: {{id: "{api_key_job}", status: FAILED, '
                            'error: {type: "Forged", message: "x"}}) { id } }', SECOND_KEY_ID, SECOND_SECRET)
    assert forged["errors"][0]["errorType"] == "Unauthorized"

    # The local key (the embedded worker's) is still the trusted reporter: both jobs finish.
    done = wait_for(lambda: (d := gql(server, f'{{ job(id: "{api_key_job}") {{ status error {{ type }} }} }}')["data"]["job"])
                    ["status"] == "SUCCEEDED" and d, what="the API-key job to succeed")
    assert done["error"] is None  # the forged verdict changed nothing
    wait_for(lambda: signed(server, f'{{ job(id: "{own_id}") {{ status }} }}', SECOND_KEY_ID, SECOND_SECRET)
             ["data"]["job"]["status"] == "SUCCEEDED", what="the second identity's job to succeed")
