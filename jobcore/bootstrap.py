"""Composition roots: the only place that picks adapters. Adapter imports stay inside each function
so a Lambda imports boto3 only when it runs in AWS, and the local server never needs it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from jobcore.registry import TaskRegistry
from jobcore.service import Services
from jobcore.settings import Settings

if TYPE_CHECKING:
    from jobcore.adapters.sqlite import SqliteDatabase, SqliteJobQueue
    from jobcore.auth import ReporterTrust
    from jobcore.metrics import MetricsSink
    from jobcore.ports import JobQueue
    from jobcore.runner import JobReporter

#: The local dead-letter archive queue (``JOBS_DLQ_ARCHIVE_URL``'s local twin).
LOCAL_ARCHIVE_QUEUE = "jobs-dlq-archive"


@dataclass
class LocalBackend:
    """The local runtime's single SQLite file with its job queue, dead-letter queue and the archive
    where the dead-letter consumer keeps a redrivable copy of every dead letter."""

    database: SqliteDatabase
    queue: SqliteJobQueue
    dead_letter_queue: SqliteJobQueue
    archive: SqliteJobQueue

    @property
    def queues(self) -> list[SqliteJobQueue]:
        return [self.queue, self.dead_letter_queue, self.archive]


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
    # Nothing consumes the archive: messages wait there (14 days on SQS) until redriven.
    archive = SqliteJobQueue(database, LOCAL_ARCHIVE_QUEUE, visibility_timeout=settings.visibility_timeout_seconds)
    return LocalBackend(database, queue, dlq, archive)


def local_services(
    backend: LocalBackend,
    registry: TaskRegistry,
    *,
    metrics: MetricsSink | None = None,
    trust: ReporterTrust | None = None,
) -> Services:
    from jobcore.adapters.sqlite import SqliteJobStore

    services = Services(store=SqliteJobStore(backend.database), queue=backend.queue, registry=registry)
    if metrics is not None:
        services.metrics = metrics
    if trust is not None:
        services.reporter_trust = trust
    return services


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
    return Services(
        store=store, queue=queue, registry=registry, metrics=metrics_from_settings(settings),
        reporter_trust=settings.reporter_trust(),
    )


def services_from_settings(settings: Settings, registry: TaskRegistry) -> Services:
    if settings.backend == "local":
        return local_services(local_backend(settings), registry, trust=settings.reporter_trust())
    return aws_services(settings, registry)


def metrics_from_settings(settings: Settings) -> MetricsSink:
    """CloudWatch EMF through powertools in AWS; in memory locally (the local server shows it at /metrics)."""
    if settings.backend == "local":
        from jobcore.metrics import InMemoryMetrics

        return InMemoryMetrics()
    from jobcore.adapters.observability import PowertoolsMetrics

    return PowertoolsMetrics()


def dead_letter_archive(settings: Settings) -> JobQueue | None:
    """Where the dead-letter consumer copies each dead letter before failing its job, or None."""
    if settings.backend == "local":
        return local_backend(settings).archive
    if not settings.dlq_archive_url:
        return None
    import boto3

    from jobcore.adapters.sqs import SqsJobQueue

    return SqsJobQueue(boto3.client("sqs", region_name=settings.region), settings.dlq_archive_url)


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
