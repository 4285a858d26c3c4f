"""Operator commands behind ``appsync-jobs stats`` and ``redrive``: read the runtime's own stores.

Unlike the client's commands, these do not go through the GraphQL API: queue depth is not part of
it. Locally they open the data directory's SQLite file; for a deployed stack they read the queue
URLs and table name from the ``custom`` section of its ``amplify_outputs.json`` and call SQS and
DynamoDB with your AWS credentials. Both halves use the runtime's own adapters (``jobcore``), which is
why they live beside the local server and not in ``client/``. Adapters are imported inside the
functions, so the other commands never load them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jobcore.settings import Settings

if TYPE_CHECKING:
    from jobcore.bootstrap import LocalBackend

#: Keys of the stack's ``amplify_outputs.json`` ``custom`` section that ``stats``/``redrive`` read.
QUEUE_URL_KEY = "jobsQueueUrl"
LONG_QUEUE_URL_KEY = "longQueueUrl"
DLQ_URL_KEY = "deadLetterQueueUrl"
ARCHIVE_URL_KEY = "deadLetterArchiveUrl"
TABLE_NAME_KEY = "jobsTableName"


@dataclass(frozen=True)
class StackResources:
    region: str | None
    queue_url: str
    long_queue_url: str | None
    dlq_url: str | None
    archive_url: str | None
    table_name: str | None


def stack_resources(outputs: dict[str, Any]) -> StackResources:
    """The queues and table named in an ``amplify_outputs.json`` (``custom`` section)."""
    custom = outputs.get("custom") or {}
    if not custom.get(QUEUE_URL_KEY):
        raise ValueError(f"the outputs file has no custom.{QUEUE_URL_KEY} (deploy a stack that writes it)")
    data = outputs.get("data") or {}
    return StackResources(
        region=data.get("aws_region") or custom.get("aws_region"),
        queue_url=custom[QUEUE_URL_KEY],
        long_queue_url=custom.get(LONG_QUEUE_URL_KEY),
        dlq_url=custom.get(DLQ_URL_KEY),
        archive_url=custom.get(ARCHIVE_URL_KEY),
        table_name=custom.get(TABLE_NAME_KEY),
    )


def load_stats(settings: Settings, *, outputs: Path | None = None) -> dict[str, Any]:
    """The stats snapshot as JSON-able data, from a deployed stack (``outputs``) or the local data dir."""
    if outputs is not None:
        import boto3

        from jobcore.adapters.stats import aws_stats

        stack = stack_resources(json.loads(outputs.read_text()))
        urls = {"jobs": stack.queue_url, "long": stack.long_queue_url or "", "dead_letter": stack.dlq_url or "",
                "archive": stack.archive_url or ""}
        dynamodb = boto3.client("dynamodb", region_name=stack.region) if stack.table_name else None
        snapshot = aws_stats(
            boto3.client("sqs", region_name=stack.region), urls, dynamodb=dynamodb, table_name=stack.table_name
        )
        return snapshot.to_json()
    from jobcore.adapters.stats import local_stats

    backend = _local_backend(settings)
    try:
        return local_stats(backend).to_json()
    finally:
        backend.database.close()


def redrive_archive(settings: Settings, *, outputs: Path | None = None, limit: int = 100) -> list[str]:
    from jobcore.redrive import redrive

    if outputs is not None:
        import boto3

        from jobcore.adapters.sqs import SqsJobQueue

        stack = stack_resources(json.loads(outputs.read_text()))
        if not stack.archive_url:
            raise ValueError(f"the outputs file has no custom.{ARCHIVE_URL_KEY}")
        sqs = boto3.client("sqs", region_name=stack.region)
        return redrive(SqsJobQueue(sqs, stack.archive_url), SqsJobQueue(sqs, stack.queue_url), limit=limit)
    backend = _local_backend(settings)
    try:
        return redrive(backend.archive, backend.queue, limit=limit)
    finally:
        backend.database.close()


def _local_backend(settings: Settings) -> LocalBackend:
    from jobcore.bootstrap import local_backend

    if not (settings.data_dir / "jobs.sqlite3").exists():
        raise ValueError(f"no local runtime data in {settings.data_dir.resolve()} "
                         "(start `appsync-jobs dev` or pass --data-dir)")
    return local_backend(settings)
