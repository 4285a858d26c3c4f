"""A local stand-in for Lambda's SQS event source mapping.

It leases batches from the SQLite queue, hands them to a Lambda handler as SQS events, deletes what
succeeded and leaves the ``batchItemFailures`` to reappear after their visibility timeout - the
contract the worker Lambda is written against. Sends from this process wake it at once; sends from
other processes (several ``appsync-jobs worker`` processes share one file) are seen by a bounded
idle poll, like SQS long polling.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from devserver.graphql.lambda_invoke import InvocationContext, LocalLambdaContext
from devserver.queues.sqs_events import sqs_event
from jobcore.adapters.sqlite import SqliteJobQueue

logger = logging.getLogger("appsync_jobs.devserver.event_source")

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


@dataclass(frozen=True)
class EventSourceConfig:
    batch_size: int = 1
    concurrency: int = 4
    #: Longest wait between looks at the queue when nothing woke us (other processes' sends).
    idle_poll_seconds: float = 0.5
    #: The function's timeout: each invocation's context counts down from it (None: a fixed context).
    timeout_seconds: float | None = None


class QueueEventSource:
    def __init__(
        self,
        queue: SqliteJobQueue,
        handler: Handler,
        *,
        arn: str,
        region: str,
        config: EventSourceConfig | None = None,
        function_name: str = "worker",
    ) -> None:
        self.queue = queue
        self.handler = handler
        self.arn = arn
        self.region = region
        self.config = config or EventSourceConfig()
        self._context = LocalLambdaContext(function_name=function_name)
        self._wake = asyncio.Event()
        self._executor = ThreadPoolExecutor(max_workers=self.config.concurrency, thread_name_prefix=function_name)
        self._slots = asyncio.Semaphore(self.config.concurrency)
        self._running: set[asyncio.Task[None]] = set()
        self.invocations = 0

    def wake(self) -> None:
        self._wake.set()

    def wake_threadsafe(self, loop: asyncio.AbstractEventLoop) -> Callable[[], None]:
        def wake() -> None:
            loop.call_soon_threadsafe(self._wake.set)

        return wake

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                await self._slots.acquire()
                self._wake.clear()
                messages = await loop.run_in_executor(None, self.queue.receive, self.config.batch_size)
                if not messages:
                    self._slots.release()
                    await self._idle()
                    continue
                task = asyncio.create_task(self._invoke(messages))
                self._running.add(task)
                task.add_done_callback(self._running.discard)
        finally:
            for task in self._running:
                task.cancel()
            self._executor.shutdown(wait=False, cancel_futures=True)

    async def _idle(self) -> None:
        next_visible = await asyncio.get_running_loop().run_in_executor(None, self.queue.next_visible_in)
        timeout = self.config.idle_poll_seconds if next_visible is None else min(next_visible, self.config.idle_poll_seconds)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=max(timeout, 0.001))

    async def _invoke(self, messages: list[Any]) -> None:
        loop = asyncio.get_running_loop()
        try:
            event = sqs_event(messages, arn=self.arn, region=self.region)
            self.invocations += 1
            try:
                context = self._context
                if self.config.timeout_seconds is not None:
                    context = InvocationContext.starting_now(self._context.function_name, self.config.timeout_seconds)
                response = await loop.run_in_executor(self._executor, self.handler, event, context)
                failed = {f["itemIdentifier"] for f in (response or {}).get("batchItemFailures", [])}
            except Exception:
                logger.exception("handler failed; the whole batch returns to the queue")
                failed = {m.message_id for m in messages}
            for message in messages:
                if message.message_id not in failed:
                    await loop.run_in_executor(None, self.queue.delete, message.receipt_handle)
        finally:
            self._slots.release()
            self._wake.set()
