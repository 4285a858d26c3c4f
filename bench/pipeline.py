"""Scenario 3: the whole local pipeline with its worker.

``submitJob`` -> SQLite queue -> event source -> worker Lambda handler -> ``updateJob`` RUNNING and
SUCCEEDED over HTTP with SigV4 -> ``onJobUpdated`` to a subscriber.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import time
from datetime import datetime
from typing import Any

from bench.api import data_of, submit_request, subscription_start
from bench.httpclient import HttpConnection
from bench.realtime import Subscriber, realtime_path
from bench.servers import API_KEY, Server
from bench.stats import summarize


async def end_to_end(server: Server, *, jobs: int, warmup: int) -> dict[str, Any]:
    """Per job: send ``submitJob``, subscribe to the id it returns, time until SUCCEEDED arrives.

    The subscription can only start once the id is known, so a job that finishes before its
    ``start`` is registered sends its SUCCEEDED event to nobody: those are counted as ``raced``
    (found SUCCEEDED by a query instead) and left out of the latency figures.
    """
    http = await HttpConnection.open(server.host, server.port)
    subscriber = Subscriber()
    await subscriber.connect(server.host, server.port, realtime_path(server.authority, API_KEY))
    waiting: dict[str, asyncio.Future[float]] = {}

    finished: dict[str, dict[str, Any]] = {}

    def on_data(s: Subscriber) -> None:
        arrived, text = s.frames[-1]
        message = json.loads(text)
        job = message["payload"]["data"]["onJobUpdated"]
        waiter = waiting.get(str(message["id"]))
        if job and job["status"] == "SUCCEEDED" and waiter is not None and not waiter.done():
            finished[str(message["id"])] = job
            waiter.set_result(arrived)

    subscriber.on_data = on_data
    raw = submit_request(server.authority, "echo", {"n": 1})
    latencies: list[float] = []
    submit_ms: list[float] = []
    # Where the time goes, from the job's own timestamps (wall clock, millisecond precision).
    phases: dict[str, list[float]] = {"to_created": [], "created_to_started": [], "started_to_finished": [],
                                      "finished_to_event": []}
    raced = 0
    failed = 0
    loop = asyncio.get_running_loop()
    try:
        for i in range(warmup + jobs):
            sub_id = str(i + 1)
            waiting[sub_id] = loop.create_future()
            began = time.perf_counter()
            began_wall = time.time()
            status, body = await http.request(raw)
            answered = http.completed_at
            job_id = data_of(status, body, "submitJob")["id"]
            await subscriber.start(sub_id, subscription_start(sub_id, job_id, server.authority))
            try:
                arrived = await asyncio.wait_for(waiting[sub_id], 2.0)
            except TimeoutError:
                query = ('{"query":"query($id: ID!){ job(id: $id) { status } }","variables":{"id":"' + job_id + '"}}').encode()
                from bench.httpclient import build_request

                status, body = await http.request(
                    build_request(server.authority, "/graphql", query, {"host": server.authority, "x-api-key": API_KEY})
                )
                if i >= warmup:
                    if b"SUCCEEDED" in body:
                        raced += 1
                    else:
                        failed += 1
                arrived = None
            finally:
                subscriber.stop(sub_id)
                waiting.pop(sub_id, None)
            if i >= warmup and arrived is not None:
                latencies.append((arrived - began) * 1000)
                submit_ms.append((answered - began) * 1000)
                job = finished.pop(sub_id, None)
                if job and job.get("startedAt") and job.get("finishedAt"):
                    created, started, done = (_epoch(job[k]) for k in ("createdAt", "startedAt", "finishedAt"))
                    event_wall = began_wall + (arrived - began)
                    phases["to_created"].append((created - began_wall) * 1000)
                    phases["created_to_started"].append((started - created) * 1000)
                    phases["started_to_finished"].append((done - started) * 1000)
                    phases["finished_to_event"].append((event_wall - done) * 1000)
    finally:
        subscriber.close()
        http.close()
    return {"latency": summarize(latencies), "submit_response": summarize(submit_ms), "raced": raced, "failed": failed,
            "jobs": jobs, "phases_p50": {name: summarize(values)["p50"] for name, values in phases.items()}}


def _epoch(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def _succeeded(db: sqlite3.Connection) -> int:
    row = db.execute("SELECT count(*) FROM jobs WHERE json_extract(record, '$.status') = 'SUCCEEDED'").fetchone()
    return int(row[0])


async def sustained(
    server: Server, *, seconds: float, warmup_seconds: float, clients: int, max_backlog: int, window: float = 5.0
) -> dict[str, Any]:
    """``clients`` connections submit ``echo`` jobs as fast as the backlog allows; the worker drains them.

    Completions are counted in the server's SQLite file (read-only), so counting costs the server
    nothing; the backlog (submitted, not yet SUCCEEDED) is capped so the queue cannot grow without
    bound and the figure is the pipeline's rate, not the submit rate.
    """
    assert server.data_dir is not None
    db = sqlite3.connect(f"file:{server.data_dir / 'jobs.sqlite3'}?mode=ro", uri=True, timeout=30, check_same_thread=False)
    raw = submit_request(server.authority, "echo", {"n": 1})
    connections = [await HttpConnection.open(server.host, server.port) for _ in range(clients)]
    state = {"submitted": 0, "completed": 0, "errors": 0, "stop": False}
    samples: list[tuple[float, int]] = []

    async def submitter(connection: HttpConnection) -> None:
        while not state["stop"]:
            if state["submitted"] - state["completed"] >= max_backlog:
                await asyncio.sleep(0.01)
                continue
            state["submitted"] += 1
            status, body = await connection.request(raw)
            if status != 200 or b'"submitJob":{"id"' not in body:
                state["errors"] += 1

    async def counter() -> None:
        while not state["stop"]:
            state["completed"] = await asyncio.to_thread(_succeeded, db)
            samples.append((time.perf_counter(), state["completed"]))
            await asyncio.sleep(0.25)

    tasks = [asyncio.create_task(submitter(c)) for c in connections]
    counting = asyncio.create_task(counter())
    cpu_before = server.cpu_seconds()
    began = time.perf_counter()
    try:
        await asyncio.sleep(warmup_seconds + seconds)
    finally:
        state["stop"] = True
        wall = time.perf_counter() - began
        cpu = server.cpu_seconds() - cpu_before
        for task in [*tasks, counting]:
            with contextlib.suppress(Exception):
                await task
        for connection in connections:
            connection.close()
    start_at = began + warmup_seconds
    measured = [(t, n) for t, n in samples if t >= start_at]
    if len(measured) < 2:
        db.close()
        return {"jobs_per_s": float("nan"), "error": "too few samples"}
    (t0, n0), (t1, n1) = measured[0], measured[-1]
    rates = []
    i = 0
    for j in range(len(measured)):
        if measured[j][0] - measured[i][0] >= window:
            rates.append((measured[j][1] - measured[i][1]) / (measured[j][0] - measured[i][0]))
            i = j
    # Drain what is left, so a stuck or failing pipeline shows up as unfinished jobs.
    deadline = time.monotonic() + 30
    total = state["submitted"]
    while time.monotonic() < deadline and _succeeded(db) < total - state["errors"]:
        await asyncio.sleep(0.25)
    unfinished = total - state["errors"] - _succeeded(db)
    failed = db.execute(
        "SELECT count(*) FROM jobs WHERE json_extract(record, '$.status') IN ('FAILED', 'CANCELLED')"
    ).fetchone()[0]
    db.close()
    return {
        "jobs_per_s": (n1 - n0) / (t1 - t0),
        "window_rates": {"min": min(rates) if rates else None, "median": sorted(rates)[len(rates) // 2] if rates else None,
                         "max": max(rates) if rates else None, "window_s": window},
        "measured_s": t1 - t0,
        "completed_in_window": n1 - n0,
        "submitted": total,
        "submit_errors": state["errors"],
        "unfinished_after_drain": unfinished,
        "failed_jobs": failed,
        "clients": clients,
        "max_backlog": max_backlog,
        "server_cpu_util": cpu / wall,
    }
