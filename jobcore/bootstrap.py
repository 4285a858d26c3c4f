"""Composition roots: the only place that picks adapters. Adapter imports stay inside each function
so a Lambda imports boto3 only when it runs in AWS, and the local server never needs it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from jobcore.registry import TaskRegistry
from jobcore.service import Services
from jobcore.settings import Settings

#: The local nextToken signing key, in the data directory (created on first use, mode 0600).
PAGINATION_KEY_FILE = "pagination.key"

if TYPE_CHECKING:
    from jobcore.adapters.sqlite import SqliteDatabase, SqliteJobQueue
    from jobcore.ports import JobQueue
    from jobcore.runner import JobReporter


@dataclass
class LocalBackend:
    """The local runtime's single SQLite file with its job queue and dead-letter queue."""

    database: SqliteDatabase
    queue: SqliteJobQueue
    dead_letter_queue: SqliteJobQueue
    data_dir: Path


def local_backend(settings: Settings) -> LocalBackend:
    from jobcore.adapters.sqlite import SqliteDatabase, SqliteJobQueue

    database = SqliteDatabase(settings.data_dir / "jobs.sqlite3")
    dlq = SqliteJobQueue(database, "jobs-dlq", visibility_timeout=settings.visibility_timeout_seconds)
    queue = SqliteJobQueue(
        database,
        "jobs",
        visibility_timeout=settings.visibility_timeout_seconds,
        dead_letter=dlq,
        max_receive_count=settings.max_receive_count,
    )
    return LocalBackend(database, queue, dlq, settings.data_dir)


def local_services(backend: LocalBackend, registry: TaskRegistry) -> Services:
    from jobcore.adapters.pagination_keys import FileKey
    from jobcore.adapters.sqlite import SqliteJobStore

    return Services(
        store=SqliteJobStore(backend.database),
        queue=backend.queue,
        registry=registry,
        pagination_key=FileKey(backend.data_dir / PAGINATION_KEY_FILE),
    )


def aws_services(settings: Settings, registry: TaskRegistry) -> Services:
    import boto3

    from jobcore.adapters.dynamodb import DynamoDbJobStore
    from jobcore.adapters.sqs import SqsJobQueue

    if not settings.table_name or not settings.queue_url:
        raise ValueError("JOBS_TABLE_NAME and JOBS_QUEUE_URL must be set for the aws backend")
    store = DynamoDbJobStore(
        boto3.client("dynamodb", region_name=settings.region),
        settings.table_name,
        retention_days=settings.retention_days,
    )
    queue = SqsJobQueue(boto3.client("sqs", region_name=settings.region), settings.queue_url)
    pagination_key = None
    if settings.pagination_secret_arn:
        from jobcore.adapters.pagination_keys import SecretsManagerKey

        pagination_key = SecretsManagerKey(settings.pagination_secret_arn)
    return Services(store=store, queue=queue, registry=registry, pagination_key=pagination_key)


def services_from_settings(settings: Settings, registry: TaskRegistry) -> Services:
    if settings.backend == "local":
        return local_services(local_backend(settings), registry)
    return aws_services(settings, registry)


def reporter_from_settings(settings: Settings, *, verify: bool | str = True) -> JobReporter:
    """``updateJob`` client: Lambda role credentials in AWS, the documented local keys locally."""
    from jobcore.adapters.appsync_reporter import AppSyncJobReporter

    if not settings.graphql_url:
        raise ValueError("GRAPHQL_URL must be set for the worker")
    credentials = None
    if settings.access_key_id and settings.secret_access_key:
        from botocore.credentials import Credentials

        credentials = Credentials(settings.access_key_id, settings.secret_access_key, settings.session_token)
    return AppSyncJobReporter(settings.graphql_url, region=settings.region, credentials=credentials, verify=verify)


def queue_for_visibility(settings: Settings, event_source_arn: str) -> JobQueue:
    """The queue a delivery came from, to extend its message's visibility while the task runs."""
    if settings.backend == "local":
        return local_backend(settings).queue
    import boto3

    from jobcore.adapters.sqs import SqsJobQueue, queue_url_from_arn

    return SqsJobQueue(boto3.client("sqs", region_name=settings.region), queue_url_from_arn(event_source_arn))
