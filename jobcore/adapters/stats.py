"""Collecting ``jobcore.stats.RuntimeStats`` from each runtime's real stores.

Local: the SQLite file's four queues (jobs, long, dead letter, archive) and its jobs table. AWS: ``GetQueueAttributes`` on the job
queue, the DLQ and the archive (exactly the seed's ``aws sqs get-queue-attributes`` check), and the
PENDING/RUNNING counts from the table's sparse stuck index (never a table scan).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from jobcore.adapters.sqs import queue_depth
from jobcore.stats import RuntimeStats

if TYPE_CHECKING:
    from jobcore.bootstrap import LocalBackend

#: The queue roles, in display order, the same in both runtimes.
ROLES = ("jobs", "long", "dead_letter", "archive")


def local_stats(backend: LocalBackend) -> RuntimeStats:
    from jobcore.adapters.sqlite import SqliteJobStore

    queues = {"jobs": backend.queue, "long": backend.long_queue, "dead_letter": backend.dead_letter_queue,
              "archive": backend.archive}
    depths = {role: queue.approximate_depth() for role, queue in queues.items() if queue is not None}
    return RuntimeStats(queues=depths, jobs=SqliteJobStore(backend.database).count_by_status())


def aws_stats(
    sqs: Any, queue_urls: Mapping[str, str], *, dynamodb: Any | None = None, table_name: str | None = None
) -> RuntimeStats:
    """``queue_urls``: role -> URL (any of ``ROLES``); jobs are counted only with a table."""
    queues = {role: queue_depth(sqs, queue_urls[role]) for role in ROLES if queue_urls.get(role)}
    jobs: dict[str, int] = {}
    if dynamodb is not None and table_name:
        from jobcore.adapters.dynamodb import DynamoDbJobStore

        jobs = DynamoDbJobStore(dynamodb, table_name).count_unfinished()
    return RuntimeStats(queues=queues, jobs=jobs)
