"""Composition roots: the only place that picks adapters. Adapter imports stay inside each function
so a Lambda imports boto3 only when it runs in AWS, and the local server never needs it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from jobcore.lazy import Lazy
from jobcore.registry import TaskRegistry
from jobcore.service import Services
from jobcore.settings import Settings

#: The local nextToken signing key, in the data directory (created on first use, mode 0600).
PAGINATION_KEY_FILE = "pagination.key"

if TYPE_CHECKING:
    from jobcore.adapters.local_artifacts import LocalArtifactStore
    from jobcore.adapters.sqlite import SqliteDatabase, SqliteJobQueue
    from jobcore.artifacts import ArtifactStore
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
    data_dir: Path
    #: The long-task queue (``appsync-jobs worker --queue long`` consumes it; same DLQ).
    long_queue: SqliteJobQueue | None = None
    artifacts: LocalArtifactStore | None = None
    lambda_budget_seconds: int = 870
    artifact_url_seconds: int = 900


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
    from jobcore.adapters.local_artifacts import LocalArtifactStore

    long_queue = SqliteJobQueue(
        database,
        LONG_QUEUE_NAME,
        visibility_timeout=settings.visibility_timeout_seconds,
        dead_letter=dlq,
        max_receive_count=settings.max_receive_count,
    )
    artifacts = LocalArtifactStore(settings.data_dir, base_url=_server_base(settings.graphql_url))
    return LocalBackend(database, queue, dlq, archive, settings.data_dir, long_queue, artifacts,
                        settings.lambda_budget_seconds, settings.artifact_url_seconds)


#: The local long-task queue's name in the SQLite file.
LONG_QUEUE_NAME = "jobs-long"


def _server_base(graphql_url: str | None) -> str:
    return (graphql_url or "http://127.0.0.1:8000/graphql").removesuffix("/graphql")


def local_services(
    backend: LocalBackend,
    registry: TaskRegistry,
    *,
    metrics: MetricsSink | None = None,
    trust: ReporterTrust | None = None,
) -> Services:
    from jobcore.adapters.pagination_keys import FileKey
    from jobcore.adapters.sqlite import SqliteJobStore

    registry.check_routes(backend.lambda_budget_seconds)
    services = Services(store=SqliteJobStore(backend.database), queue=backend.queue, registry=registry,
                        pagination_key=FileKey(backend.data_dir / PAGINATION_KEY_FILE),
                        long_queue=backend.long_queue, lambda_budget_seconds=backend.lambda_budget_seconds,
                        artifacts=backend.artifacts, artifact_url_seconds=backend.artifact_url_seconds)
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
    sqs = boto3.client("sqs", region_name=settings.region)
    queue = SqsJobQueue(sqs, settings.queue_url)
    registry.check_routes(settings.lambda_budget_seconds)
    pagination_key = None
    if settings.pagination_secret_arn:
        from jobcore.adapters.pagination_keys import SecretsManagerKey

        pagination_key = SecretsManagerKey(settings.pagination_secret_arn)
    return Services(store=store, queue=queue, registry=registry, pagination_key=pagination_key,
                    metrics=metrics_from_settings(settings), reporter_trust=settings.reporter_trust(),
                    long_queue=SqsJobQueue(sqs, settings.long_queue_url) if settings.long_queue_url else None,
                    lambda_budget_seconds=settings.lambda_budget_seconds,
                    artifacts=artifact_store_from_settings(settings),
                    artifact_url_seconds=settings.artifact_url_seconds)


def artifact_store_from_settings(settings: Settings) -> ArtifactStore | None:
    """S3 when ``JOBS_ARTIFACT_BUCKET`` is set (cloud), files under the data directory locally."""
    if settings.backend == "local":
        from jobcore.adapters.local_artifacts import LocalArtifactStore

        return LocalArtifactStore(settings.data_dir, base_url=_server_base(settings.graphql_url))
    if not settings.artifact_bucket:
        return None
    import boto3
    from botocore.config import Config

    from jobcore.adapters.s3 import S3ArtifactStore

    def make_client() -> object:
        # SigV4 and the regional endpoint, so presigned URLs work in every region from the first minute.
        return boto3.client("s3", region_name=settings.region,
                            config=Config(signature_version="s3v4", s3={"addressing_style": "virtual"}))

    # Built on first use: most resolver calls never touch S3, and an S3 client costs cold-start time.
    return S3ArtifactStore(_Lazy(make_client), settings.artifact_bucket)


class _Lazy:
    """Stands in for an object until its first attribute is read, then builds it once (``Lazy``)."""

    def __init__(self, make: Callable[[], object]) -> None:
        self._target = Lazy(make)

    def __getattr__(self, name: str) -> object:
        return getattr(self._target(), name)


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


def reporter_from_settings(settings: Settings) -> JobReporter:
    """``updateJob`` client: Lambda role credentials in AWS, the documented local keys locally; an
    https URL is verified against ``settings.ca_bundle`` when set (a local ``--tls`` server's CA)."""
    from jobcore.adapters.appsync_reporter import AppSyncJobReporter

    if not settings.graphql_url:
        raise ValueError("GRAPHQL_URL must be set for the worker")
    credentials = None
    if settings.access_key_id and settings.secret_access_key:
        from botocore.credentials import Credentials

        credentials = Credentials(settings.access_key_id, settings.secret_access_key, settings.session_token)
    verify: bool | str = str(settings.ca_bundle) if settings.ca_bundle else True
    return AppSyncJobReporter(settings.graphql_url, region=settings.region, credentials=credentials, verify=verify)


def queue_for_visibility(settings: Settings, event_source_arn: str) -> JobQueue:
    """The queue a delivery came from, to extend its message's visibility while the task runs."""
    if settings.backend == "local":
        backend = local_backend(settings)
        if backend.long_queue is not None and event_source_arn.endswith(f":{LONG_QUEUE_NAME}"):
            return backend.long_queue
        return backend.queue
    import boto3

    from jobcore.adapters.sqs import SqsJobQueue, queue_url_from_arn

    return SqsJobQueue(boto3.client("sqs", region_name=settings.region), queue_url_from_arn(event_source_arn))
