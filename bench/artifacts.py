"""Artifact throughput on the local runtime: presigned PUT (upload) and GET (download), in MB/s.

What it measures is the local server's ``/artifacts`` path - signature check, streaming to or from
the data directory - over real HTTP on 127.0.0.1, the way the CLI and browsers use it. S3's own
throughput in the cloud is not this number.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from typing import Any

import aiohttp

from bench import servers

CHUNK = 1 << 20


async def _graphql(http: aiohttp.ClientSession, url: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    async with http.post(url, json={"query": query, "variables": variables},
                         headers={"x-api-key": servers.API_KEY}) as response:
        body = await response.json()
    if body.get("errors"):
        raise RuntimeError(body["errors"])
    return dict(body["data"])


async def _upload(http: aiohttp.ClientSession, url: str, size: int) -> float:
    data = await _graphql(http, url, "mutation($t: String!, $s: Float!) { createUpload(contentType: $t, size: $s) "
                                     "{ ref url headers } }", {"t": "application/octet-stream", "s": size})
    target = data["createUpload"]
    payload = os.urandom(CHUNK)

    async def body() -> Any:
        sent = 0
        while sent < size:
            piece = payload[: min(CHUNK, size - sent)]
            sent += len(piece)
            yield piece

    began = time.perf_counter()
    async with http.put(target["url"], data=body(), headers={"Content-Type": "application/octet-stream",
                                                            "Content-Length": str(size)}) as response:
        if response.status != 200:
            raise RuntimeError(f"upload answered {response.status}: {await response.text()}")
    return time.perf_counter() - began


async def _artifact_url(http: aiohttp.ClientSession, url: str, mib: int) -> tuple[str, int]:
    submitted = await _graphql(http, url, "mutation($i: SubmitJobInput!) { submitJob(input: $i) { id } }",
                               {"i": {"type": "bench-artifact", "payload": f'{{"mib": {mib}}}'}})
    job_id = submitted["submitJob"]["id"]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        data = await _graphql(http, url, "query($id: ID!) { job(id: $id) { status artifacts { url size } } }", {"id": job_id})
        job = data["job"]
        if job["status"] == "SUCCEEDED":
            return job["artifacts"][0]["url"], int(job["artifacts"][0]["size"])
        if job["status"] in ("FAILED", "CANCELLED"):
            raise RuntimeError(f"bench-artifact ended {job['status']}")
        await asyncio.sleep(0.1)  # polling a job's status, bounded by the deadline above
    raise RuntimeError("bench-artifact did not finish in 120 s")


async def _download(http: aiohttp.ClientSession, artifact_url: str) -> tuple[float, int]:
    began = time.perf_counter()
    received = 0
    async with http.get(artifact_url) as response:
        if response.status != 200:
            raise RuntimeError(f"download answered {response.status}")
        async for chunk in response.content.iter_chunked(CHUNK):
            received += len(chunk)
    return time.perf_counter() - began, received


async def measure(server: servers.Server, *, mib: int, repeats: int) -> dict[str, Any]:
    url = f"http://{server.authority}/graphql"
    size = mib * CHUNK
    uploads: list[float] = []
    downloads: list[float] = []
    timeout = aiohttp.ClientTimeout(total=600)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        for _ in range(repeats):
            uploads.append(size / 1e6 / await _upload(http, url, size))
        artifact_url, stored = await _artifact_url(http, url, mib)
        for _ in range(repeats):
            seconds, received = await _download(http, artifact_url)
            assert received == stored == size
            downloads.append(size / 1e6 / seconds)
    return {
        "object_mib": mib,
        "repeats": repeats,
        "upload_mb_per_s": statistics.median(uploads),
        "download_mb_per_s": statistics.median(downloads),
        "upload_runs_mb_per_s": uploads,
        "download_runs_mb_per_s": downloads,
    }


def start() -> servers.Server:
    return servers.start_ours(worker=True, extra=("--tasks", "bench.tasks"))
