"""Scenarios 1 and 2: ``submitJob`` over HTTP, and subscription delivery and fan-out over real-time.

The same functions drive both servers; only the ``Server`` differs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from typing import Any

from bench.api import data_of, list_request, new_lease_token, submit_request, subscription_start
from bench.httpclient import HttpConnection
from bench.realtime import Subscriber, open_subscriber, realtime_path
from bench.servers import API_KEY, ROOT, Server
from bench.stats import summarize


async def submit_load(server: Server, *, concurrency: int, requests: int, warmup: int) -> dict[str, Any]:
    """Closed loop: ``concurrency`` connections each send ``SubmitJob`` back to back."""
    raw = submit_request(server.authority, "echo", {"n": 1})
    connections = [await HttpConnection.open(server.host, server.port) for _ in range(concurrency)]
    try:
        # The first answer is checked in full; the rest by status and shape.
        data_of(*await connections[0].request(raw), "submitJob")
        latencies: list[float] = []
        errors = 0
        remaining = warmup

        async def run(connection: HttpConnection, record: bool) -> None:
            nonlocal remaining, errors
            while remaining > 0:
                remaining -= 1
                began = time.perf_counter()
                status, body = await connection.request(raw)
                elapsed = (time.perf_counter() - began) * 1000
                if status != 200 or b'"submitJob":{"id"' not in body:
                    errors += 1
                if record:
                    latencies.append(elapsed)

        await asyncio.gather(*(run(c, False) for c in connections))
        remaining = requests
        cpu_before = server.cpu_seconds()
        began = time.perf_counter()
        await asyncio.gather(*(run(c, True) for c in connections))
        wall = time.perf_counter() - began
        cpu = server.cpu_seconds() - cpu_before
    finally:
        for connection in connections:
            connection.close()
    return {
        **summarize(latencies),
        "rps": len(latencies) / wall,
        "errors": errors,
        "concurrency": concurrency,
        # Server CPU per request: robust where wall-clock figures suffer from other load on the machine.
        "server_cpu_ms": cpu * 1000 / max(1, len(latencies)),
        "server_cpu_util": cpu / wall,
    }


async def list_load(server: Server, *, jobs: int, limit: int, requests: int, warmup: int) -> dict[str, Any]:
    """``listJobs`` of ``limit`` items, back to back on one connection, once ``jobs`` jobs exist.

    The API-key principal owns every job the benchmark submits, so its first page is full; the server's
    CPU per call is what the owner index, the signed ``nextToken`` and encoding ``limit`` jobs cost.
    """
    http = await HttpConnection.open(server.host, server.port)
    try:
        submit = submit_request(server.authority, "echo", {"n": 1})
        for _ in range(jobs):
            data_of(*await http.request(submit), "submitJob")
        raw = list_request(server.authority, limit)
        status, body = await http.request(raw)
        first = data_of(status, body, "listJobs")
        if len(first["items"]) != limit:
            raise RuntimeError(f"listJobs returned {len(first['items'])} items, wanted {limit}")
        errors = 0
        for _ in range(warmup):
            await http.request(raw)
        latencies: list[float] = []
        cpu_before = server.cpu_seconds()
        began = time.perf_counter()
        for _ in range(requests):
            sent = time.perf_counter()
            status, answer = await http.request(raw)
            latencies.append((time.perf_counter() - sent) * 1000)
            if status != 200 or b'"errors"' in answer or answer.count(b'"owner"') != limit:
                errors += 1
        wall = time.perf_counter() - began
        cpu = server.cpu_seconds() - cpu_before
    finally:
        http.close()
    return {
        **summarize(latencies),
        "rps": len(latencies) / wall,
        "errors": errors,
        "items": limit,
        "response_kib": len(body) / 1024,
        "server_cpu_ms": cpu * 1000 / max(1, len(latencies)),
    }


class Publisher:
    """``updateJob`` sent from its own process (bench.publisher); see there for why."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    @classmethod
    async def start(cls, server: Server) -> Publisher:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.publisher", server.host, str(server.port),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, cwd=ROOT,
        )
        return cls(process)

    async def update(self, job_id: str, fields: dict[str, Any]) -> tuple[float, float, dict[str, Any]]:
        """(sent, answered) as perf_counter() values, and the ``updateJob`` object."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write((json.dumps({"job": job_id, "fields": fields}) + "\n").encode())
        await self.process.stdin.drain()
        line = await asyncio.wait_for(self.process.stdout.readline(), 60)
        if not line:
            raise RuntimeError("the publisher process died")
        answer = json.loads(line)
        return answer["sent"], answer["answered"], data_of(answer["status"], answer["body"].encode(), "updateJob")

    async def close(self) -> None:
        if self.process.returncode is None:
            assert self.process.stdin is not None
            self.process.stdin.write(b"\n")
            with contextlib.suppress(Exception):
                await self.process.stdin.drain()
                await asyncio.wait_for(self.process.wait(), 5)
        if self.process.returncode is None:
            self.process.kill()
            await self.process.wait()


async def _claimed_job(server: Server, publisher: Publisher) -> tuple[str, str]:
    """A job that is RUNNING under our lease (no worker runs on these servers)."""
    http = await HttpConnection.open(server.host, server.port)
    try:
        job = data_of(*await http.request(submit_request(server.authority, "sleep", {"seconds": 1})), "submitJob")
    finally:
        http.close()
    token = new_lease_token()
    await publisher.update(job["id"], {"status": "RUNNING", "leaseToken": token, "leaseSeconds": 3600})
    return job["id"], token


async def delivery(server: Server, *, updates: int, warmup: int, mine: bool = False) -> dict[str, Any]:
    """One subscriber: time from sending ``updateJob`` to the subscriber holding the event.

    ``mine``: the subscriber follows ``onMyJobsUpdated`` (every job of its principal, filtered on ``owner``
    by the server) instead of ``onJobUpdated(id)``.
    """
    field = "onMyJobsUpdated" if mine else "onJobUpdated"
    publisher = await Publisher.start(server)
    path = realtime_path(server.authority, API_KEY)
    try:
        job_id, token = await _claimed_job(server, publisher)
        arrived: asyncio.Future[float] | None = None

        def on_data(subscriber: Subscriber) -> None:
            if arrived is not None and not arrived.done():
                arrived.set_result(subscriber.frames[-1][0])

        subscriber = await open_subscriber(
            server.host, server.port, path, subscription_start("1", None if mine else job_id, server.authority), on_data
        )
        loop = asyncio.get_running_loop()
        deliveries: list[float] = []
        responses: list[float] = []
        try:
            for i in range(warmup + updates):
                arrived = loop.create_future()
                sent, answered, _ = await publisher.update(job_id, {"leaseToken": token, "progress": i % 101})
                got = await asyncio.wait_for(arrived, 10)
                if i >= warmup:
                    deliveries.append((got - sent) * 1000)
                    responses.append((answered - sent) * 1000)
            received = [json.loads(text)["payload"]["data"][field]["progress"] for _, text in subscriber.frames]
            missed = (warmup + updates) - len(received)
            if received != [i % 101 for i in range(warmup + updates)]:
                raise RuntimeError(f"subscriber saw the wrong events: {received[:10]}...")
        finally:
            subscriber.close()
    finally:
        await publisher.close()
    return {"delivery": summarize(deliveries), "update_response": summarize(responses), "missed": missed}


async def fanout(server: Server, *, subscribers: int, publishes: int, connect_concurrency: int = 50) -> dict[str, Any]:
    """``subscribers`` connections, one subscription each, all on one job; then ``publishes`` updates.

    Reports connection setup (TCP connect to ``start_ack``), time until the last subscriber holds
    each event, the ``updateJob`` response time meanwhile, missed events and server RSS per connection.
    """
    publisher = await Publisher.start(server)
    path = realtime_path(server.authority, API_KEY)
    job_id, token = await _claimed_job(server, publisher)
    await asyncio.sleep(0.5)
    rss_before = server.rss_kib()

    state: dict[str, Any] = {"count": 0, "all": None}

    def on_data(_: Subscriber) -> None:
        state["count"] += 1
        if state["count"] >= subscribers and state["all"] is not None and not state["all"].done():
            state["all"].set_result(None)

    limit = asyncio.Semaphore(connect_concurrency)
    start = subscription_start("1", job_id, server.authority)

    async def one() -> Subscriber:
        async with limit:
            return await open_subscriber(server.host, server.port, path, start, on_data)

    began = time.perf_counter()
    results = await asyncio.gather(*(one() for _ in range(subscribers)), return_exceptions=True)
    setup_wall = time.perf_counter() - began
    subs = [r for r in results if isinstance(r, Subscriber)]
    failures = [repr(r) for r in results if not isinstance(r, Subscriber)]
    try:
        await asyncio.sleep(1.0)
        rss_after = server.rss_kib()
        loop = asyncio.get_running_loop()
        last: list[float] = []
        median_receipt: list[float] = []
        responses: list[float] = []
        missed = 0
        for i in range(publishes):
            for s in subs:
                s.frames.clear()
            state["count"] = 0
            state["all"] = loop.create_future()
            # The publisher reconnects by itself if the server closed its idle keep-alive connection
            # (uvicorn does after 5 s), which then counts in this one response time.
            sent, answered, _ = await publisher.update(job_id, {"leaseToken": token, "progress": i % 101})
            responses.append((answered - sent) * 1000)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(state["all"], 30)
            await asyncio.sleep(0.05)  # let stragglers (duplicates would show here) arrive
            times = sorted(s.frames[0][0] for s in subs if s.frames)
            missed += len(subs) - len(times)
            for s in subs:
                for _, text in s.frames:
                    if json.loads(text)["payload"]["data"]["onJobUpdated"]["progress"] != i % 101:
                        raise RuntimeError(f"publish {i}: a subscriber got another event: {text[:200]}")
            if times:
                last.append((times[-1] - sent) * 1000)
                median_receipt.append((times[len(times) // 2] - sent) * 1000)
            await asyncio.sleep(0.2)
    finally:
        for s in subs:
            s.close()
        await publisher.close()
    setups = [s.setup_ms for s in subs if s.setup_ms is not None]
    return {
        "subscribers": subscribers,
        "connected": len(subs),
        "connect_failures": len(failures),
        "connect_failure_sample": failures[:3],
        "setup": summarize(setups),
        "setup_total_s": setup_wall,
        "last_subscriber": summarize(last),
        "median_subscriber": summarize(median_receipt),
        "update_response": summarize(responses),
        "missed": missed,
        "publishes": publishes,
        "rss_before_mib": rss_before / 1024,
        "rss_after_mib": rss_after / 1024,
        "rss_per_connection_kib": (rss_after - rss_before) / max(1, len(subs)),
    }
