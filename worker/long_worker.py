"""The long-task worker: the same runner as the worker Lambda, as a loop that polls the long queue.

Tasks whose time limit does not fit the Lambda worker (its timeout minus the hand-back margin) are
routed at submit to the long queue. This loop consumes it - in the cloud as the container of an ECS
Fargate service that scales on the queue's depth (``python -m worker.long_worker``), locally as
``appsync-jobs worker --queue long`` (and inside ``appsync-jobs dev``) against the SQLite queue. It
claims, heartbeats and reports through ``updateJob`` exactly like the Lambda; only the deadline
differs: there is no invocation to outlive, so an attempt stops at its task's own time limit.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
import urllib.request
from collections.abc import Callable

from jobcore.errors import JobsError, ValidationError
from jobcore.ports import JobQueue, ReceivedMessage
from jobcore.runner import Delivery, Outcome, RetryLater, run_delivery
from jobcore.tracing import trace_context
from jobcore.wire import decode_message
from worker.deps import WorkerDeps

logger = logging.getLogger("appsync_jobs.long_worker")

#: How long an idle loop waits before looking at the queue again (SQS long-polls on top of it).
IDLE_SECONDS = 1.0


def handle(queue: JobQueue, message: ReceivedMessage, worker: WorkerDeps,
           protect: Callable[[bool], None] = lambda on: None) -> Outcome | None:
    """One delivery: run it, delete the message when it reached an outcome, leave it otherwise."""
    try:
        job_id = decode_message(message.body)
    except ValidationError:
        logger.error("dropping malformed message %s", message.message_id)
        queue.delete(message.receipt_handle)
        return None

    def extend(seconds: int) -> None:
        try:
            queue.change_visibility(message.receipt_handle, seconds)
        except JobsError as exc:  # no longer ours to hide; the lease still rules
            logger.warning("could not extend visibility: %s", exc)

    delivery = Delivery(job_id, message.receive_count, worker.settings.max_receive_count, extend)
    protect(True)
    try:
        # Under the submit's trace, like the Lambda worker (the message carries it; jobcore.tracing).
        with trace_context(message.trace_header):
            outcome = run_delivery(delivery, worker.reporter, worker.registry, worker.runner,
                                   metrics=worker.metrics, artifacts=worker.artifacts)
    except RetryLater as exc:
        logger.info("job %s returns to the queue: %s", job_id, exc)
        return None
    except Exception:
        # Like a Lambda error: the message comes back after its visibility (lease + margin).
        logger.exception("delivery of job %s failed", job_id)
        return None
    finally:
        protect(False)
    queue.delete(message.receipt_handle)
    logger.info("job %s: %s", job_id, outcome.value)
    return outcome


def serve(queue: JobQueue, worker: WorkerDeps, stop: threading.Event, *, wake: threading.Event | None = None,
          protect: Callable[[bool], None] = lambda on: None) -> None:
    """Consume ``queue`` one message at a time until ``stop`` is set."""
    wake = wake or threading.Event()
    while not stop.is_set():
        wake.clear()
        try:
            messages = queue.receive(1)
        except JobsError as exc:
            logger.warning("receive failed: %s", exc)
            messages = []
        if not messages:
            wake.wait(IDLE_SECONDS)
            continue
        for message in messages:
            handle(queue, message, worker, protect)


def ecs_task_protection(agent_uri: str | None = os.environ.get("ECS_AGENT_URI"),
                        minutes: int = 720) -> Callable[[bool], None]:
    """Scale-in protection while a job runs (ECS task protection), so scaling in on an emptied queue
    never stops a container mid-job. A no-op outside ECS."""
    if not agent_uri:
        return lambda on: None

    def protect(on: bool) -> None:
        body = json.dumps({"ProtectionEnabled": on, **({"ExpiresInMinutes": minutes} if on else {})}).encode()
        request = urllib.request.Request(f"{agent_uri}/task-protection/v1/state", data=body, method="PUT",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=5):
                pass
        except OSError as exc:
            logger.warning("could not set task protection: %s", exc)

    return protect


def main(argv: list[str] | None = None) -> None:
    """The Fargate container's command: poll ``JOBS_LONG_QUEUE_URL`` until SIGTERM."""
    import boto3

    from jobcore.adapters.sqs import SqsJobQueue
    from worker.deps import deps

    logging.basicConfig(level=os.environ.get("POWERTOOLS_LOG_LEVEL", "INFO"))
    worker = deps()
    url = worker.settings.long_queue_url
    if not url:
        raise SystemExit("JOBS_LONG_QUEUE_URL must be set")
    queue = SqsJobQueue(boto3.client("sqs", region_name=worker.settings.region), url, wait_seconds=20)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())  # finish the running job's report, take no new one
    concurrency = worker.settings.long_concurrency
    protect = ecs_task_protection()
    threads = [threading.Thread(target=serve, args=(queue, worker, stop), kwargs={"protect": protect},
                                name=f"long-{i}") for i in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


if __name__ == "__main__":
    main()
