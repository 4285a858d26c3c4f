"""Follow all of the caller's jobs: ``onMyJobsUpdated`` first, then one ``listJobs``, then every event.

The order is what makes it gap-free. The subscription is started and its ``start_ack`` awaited before
the list is read, so a change made between the two is either in the list or delivered as an event
(or both: the board keeps the higher ``version``). If the socket drops, the same three steps run
again, which also picks up whatever changed while it was down.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from gql.transport.exceptions import TransportClosed, TransportError

from client.api import JobsApiError, JobsClient
from client.board import JobBoard
from client.models import Job

#: How long the server may take to acknowledge the subscription before we give up on this socket.
ACK_TIMEOUT = 30.0
#: Reconnection backoff bounds (seconds) after a lost socket.
BACKOFF_FIRST, BACKOFF_MAX = 1.0, 30.0


async def watch_mine(
    client: JobsClient,
    board: JobBoard,
    *,
    limit: int | None = None,
    until_idle: bool = False,
    on_ready: Callable[[JobBoard], None] = lambda _: None,
    on_change: Callable[[Job], None] = lambda _: None,
    on_lost: Callable[[BaseException, float], None] = lambda _exc, _delay: None,
) -> None:
    """Keep ``board`` current until cancelled, or with ``until_idle`` until no job on it is PENDING or RUNNING.

    ``on_ready`` runs once the subscription is live and the first page of ``listJobs`` is merged;
    ``on_change`` for every event that changed the board (older versions are dropped); ``on_lost``
    when the socket dropped, before waiting to reconnect. API errors (e.g. an expired token) end it.
    """
    delay = BACKOFF_FIRST
    while True:
        try:
            async with client.subscription("OnMyJobsUpdated") as (events, acknowledged):
                iterator = events.__aiter__()
                next_event: asyncio.Future[Job] = asyncio.ensure_future(iterator.__anext__())  # sends the start
                try:
                    ack = asyncio.ensure_future(acknowledged.wait())
                    first: set[asyncio.Future[Any]] = {ack, next_event}
                    try:
                        await asyncio.wait(first, timeout=ACK_TIMEOUT, return_when=asyncio.FIRST_COMPLETED)
                    finally:
                        ack.cancel()
                    if next_event.done():
                        if next_event.exception() is not None:
                            raise next_event.exception()  # type: ignore[misc]
                    elif not acknowledged.is_set():
                        raise JobsApiError(None, f"onMyJobsUpdated was not acknowledged within {ACK_TIMEOUT:.0f} s")
                    # Live now: whatever changes from here on arrives as an event.
                    board.extend((await client.list_jobs(limit=limit)).items)
                    delay = BACKOFF_FIRST
                    on_ready(board)
                    while not (until_idle and not board.active):
                        job = await next_event
                        next_event = asyncio.ensure_future(iterator.__anext__())
                        if board.apply(job):
                            on_change(job)
                    return
                finally:
                    next_event.cancel()
                    with contextlib.suppress(BaseException):
                        await next_event
        except (TransportError, TransportClosed, OSError, StopAsyncIteration) as exc:
            # Refusals (bad credentials) arrive as JobsApiError and end the watch; only a lost socket retries.
            on_lost(exc, delay)
            await asyncio.sleep(delay)  # reconnection backoff, not a wait for a condition
            delay = min(delay * 2, BACKOFF_MAX)

