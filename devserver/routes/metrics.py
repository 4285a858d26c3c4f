"""``GET /metrics``: the local runtime's figures in the Prometheus text format.

Gauges come from the SQLite file (queue depth per queue and state, jobs per status: the same
snapshot ``appsync-jobs stats`` prints, so they include work from other worker processes); counters
and duration summaries are what this server's resolvers and embedded worker recorded
(``jobcore.metrics.InMemoryMetrics``, the local twin of the cloud's EMF metrics). Unauthenticated,
like ``/health``: it carries no job content and no credential, and the server binds 127.0.0.1.
"""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from jobcore.adapters.stats import local_stats
from jobcore.bootstrap import LocalBackend
from jobcore.metrics import InMemoryMetrics
from jobcore.stats import prometheus_text

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def metrics_route(backend: LocalBackend, counters: InMemoryMetrics) -> Route:
    async def metrics(request: Request) -> PlainTextResponse:
        # SQLite reads off the event loop: a busy writer must not stall the API.
        stats = await asyncio.get_running_loop().run_in_executor(None, local_stats, backend)
        return PlainTextResponse(prometheus_text(stats, counters), media_type=CONTENT_TYPE)

    return Route("/metrics", metrics, methods=["GET"])
