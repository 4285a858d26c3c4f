"""The four Lambdas (resolvers, worker, DLQ consumer, reaper), each with its own log group and a
least-privilege role, their event sources and the reaper's schedule.

Least privilege:

* resolvers - item read/write on the table and its ``stuck`` index, Query on the two listing indexes
  and BatchGetItem on the table (listJobs), read of the pagination secret, SendMessage on both job queues;
* worker - ``appsync:GraphQL`` on ``Mutation.updateJob`` only (it reports every change through the
  API so subscribers hear it), ChangeMessageVisibility on the queue for heartbeats;
* DLQ consumer - consumes the DLQ, ``updateJob`` only, SendMessage on the dead-letter archive only;
* reaper - Query on the ``stuck`` index (+ GetItem on the table: the adapter re-reads each hit
  consistently), SendMessage on both job queues, ``updateJob`` only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.assets import LAMBDA_ARCHITECTURE, LAMBDA_RUNTIME, PYTHON_VERSION
from infra.config import DLQ_HANDLER, REAPER_HANDLER, RESOLVERS_HANDLER, WORKER_HANDLER, JobsConfig
from infra.constructs import base
from infra.constructs.api import PAGINATION_SECRET_ENV, WORKER_MUTATION, JobsGraphqlApi
from infra.constructs.artifacts import ArtifactStore
from infra.constructs.queues import DLQ_CONSUMER_TIMEOUT_SECONDS, JobQueues
from infra.constructs.table import JobTable

#: AppSync stops waiting for a resolver after 30 s, so a longer resolver timeout buys nothing.
RESOLVERS_TIMEOUT_SECONDS: Final = 30
RESOLVERS_MEMORY_MB: Final = 512
DLQ_CONSUMER_BATCH_SIZE: Final = 10
REAPER_TIMEOUT_SECONDS: Final = 60
SMALL_FUNCTION_MEMORY_MB: Final = 256
#: One reaper at a time: a slow tick must not overlap the next one (they would race on the same
#: stuck jobs); a tick that cannot start within EventBridge's/Lambda's 60 s minimum is dropped, the
#: next tick does its work.
REAPER_RESERVED_CONCURRENCY: Final = 1
REAPER_MAX_EVENT_AGE_SECONDS: Final = 60

# Item-level actions of the CAS store (jobcore/adapters/dynamodb.py: conditional PutItem, a
# TransactWriteItems of two conditional Puts for idempotency keys, consistent GetItem, Query).
# There is no IAM action named TransactWriteItems: DynamoDB authorises each item of a transaction
# by its own action (Put/Update/ConditionCheckItem). No DeleteItem: TTL deletes finished jobs.
TABLE_ITEM_ACTIONS: Final = (
    "dynamodb:GetItem",
    "dynamodb:Query",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:ConditionCheckItem",
)

XRAY_WILDCARD_REASON: Final = (
    "X-Ray tracing (tracing=ACTIVE) needs xray:PutTraceSegments/PutTelemetryRecords, which support no "
    "resource-level permissions, so Resource '*' is the only possible scope."
)
LATEST_RUNTIME_REASON: Final = (
    f"Pinned to Python {PYTHON_VERSION} on purpose: the bundled wheels are resolved for exactly this "
    "version (pip --python-version) and the test suite runs it; move runtime and pip together in "
    "infra/assets.py when upgrading."
)


class JobFunctions(Construct):
    """``resolvers_fn``, ``worker_fn``, ``dlq_fn``, ``reaper_fn``: one code asset, one environment."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: JobsConfig,
        code: lambda_.Code,
        environment: Mapping[str, str],
        table: JobTable,
        queues: JobQueues,
        graphql: JobsGraphqlApi,
        artifacts: ArtifactStore,
    ) -> None:
        super().__init__(scope, construct_id)
        self.config = config
        self._code = code
        self._table = table
        self._queues = queues
        self._graphql = graphql
        self._artifacts = artifacts
        env = dict(environment)
        self.resolvers_fn = self._function(
            "ResolversFunction",
            handler=RESOLVERS_HANDLER,
            description="AppSync resolvers for every root field of the API (schema.graphql)",
            timeout_seconds=RESOLVERS_TIMEOUT_SECONDS,
            memory_mb=RESOLVERS_MEMORY_MB,
            environment={**env, PAGINATION_SECRET_ENV: graphql.pagination_secret.secret_arn},
        )
        self.worker_fn = self._function(
            "WorkerFunction",
            handler=WORKER_HANDLER,
            description="Runs queued jobs; reports through the updateJob mutation",
            timeout_seconds=config.worker_timeout_seconds,
            memory_mb=config.worker_memory_mb,
            environment=dict(env),
        )
        self.dlq_fn = self._function(
            "DeadLetterFunction",
            handler=DLQ_HANDLER,
            description="Marks dead-lettered jobs FAILED through the updateJob mutation",
            timeout_seconds=DLQ_CONSUMER_TIMEOUT_SECONDS,
            memory_mb=SMALL_FUNCTION_MEMORY_MB,
            environment={**env, "JOBS_DLQ_ARCHIVE_URL": queues.dead_letter_archive.queue_url},
        )
        self.reaper_fn = self._function(
            "ReaperFunction",
            handler=REAPER_HANDLER,
            description="Every minute: re-enqueues stale PENDING jobs, fails RUNNING jobs past their deadline",
            timeout_seconds=REAPER_TIMEOUT_SECONDS,
            memory_mb=SMALL_FUNCTION_MEMORY_MB,
            environment=dict(env),
            reserved_concurrency=REAPER_RESERVED_CONCURRENCY,
        )
        self._trust_reporter_roles()

    def wire(self) -> None:
        """Grants and event sources; called after the API's resolvers exist (the original order of the
        flat stack, which keeps the IAM policy documents statement-for-statement identical)."""
        self._wire_resolvers_fn()
        self._wire_worker()
        self._wire_dead_letter_consumer()
        self._wire_reaper()
        self._wire_artifacts()

    def _trust_reporter_roles(self) -> None:
        """Tell the resolvers which IAM callers are this kit's own reporters (JOBS_TRUSTED_REPORTER_ROLES).

        Only the worker, DLQ consumer and reaper roles may act as the trusted reporter; any other
        IAM principal with appsync:GraphQL gets an ordinary caller's visibility. The resolvers
        compare the role name of the caller's assumed-role ARN against these names. Role names
        (Refs) carry no dependency on the API or the resolvers, so this adds no cycle.
        """
        roles = [fn.role for fn in (self.worker_fn, self.dlq_fn, self.reaper_fn)]
        names = [role.role_name for role in roles if role is not None]
        assert len(names) == 3
        self.resolvers_fn.add_environment("JOBS_TRUSTED_REPORTER_ROLES", ",".join(names))

    def _function(
        self,
        construct_id: str,
        *,
        handler: str,
        description: str,
        timeout_seconds: int,
        memory_mb: int,
        environment: dict[str, str],
        reserved_concurrency: int | None = None,
    ) -> lambda_.Function:
        # An explicit log group (retention, removal) and a role without the AWS managed
        # AWSLambdaBasicExecutionRole: the role may write to this one log group only.
        log_group = logs.LogGroup(
            self,
            f"{construct_id}Logs",
            retention=base.log_retention(self.config),
            removal_policy=base.removal_policy(self.config),
        )
        role = iam.Role(
            self,
            f"{construct_id}Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Execution role of {construct_id} ({handler})",
        )
        log_group.grant_write(role)
        function = lambda_.Function(
            self,
            construct_id,
            code=self._code,
            handler=handler,
            runtime=LAMBDA_RUNTIME,
            architecture=LAMBDA_ARCHITECTURE,
            timeout=Duration.seconds(timeout_seconds),
            memory_size=memory_mb,
            tracing=lambda_.Tracing.ACTIVE,
            log_group=log_group,
            role=role,
            environment=environment,
            description=description,
            reserved_concurrent_executions=reserved_concurrency,
        )
        base.acknowledge(role, "AwsSolutions-IAM5[Resource::*]", XRAY_WILDCARD_REASON)
        base.acknowledge(function, "AwsSolutions-L1", LATEST_RUNTIME_REASON)
        return function

    def _wire_resolvers_fn(self) -> None:
        table = self._table
        self.resolvers_fn.add_to_role_policy(
            iam.PolicyStatement(
                sid="JobTableItems",
                actions=list(TABLE_ITEM_ACTIONS),
                resources=[table.table.table_arn, table.stuck_index_arn],
            )
        )
        self._queues.queue.grant_send_messages(self.resolvers_fn)
        # listJobs: Query one owner's partition of a listing index, then re-read the page's jobs.
        self.resolvers_fn.add_to_role_policy(
            iam.PolicyStatement(sid="JobListingIndexes", actions=["dynamodb:Query"], resources=table.listing_index_arns)
        )
        self.resolvers_fn.add_to_role_policy(
            iam.PolicyStatement(sid="JobListingReads", actions=["dynamodb:BatchGetItem"], resources=[table.table.table_arn])
        )
        self._graphql.pagination_secret.grant_read(self.resolvers_fn)

    def _wire_worker(self) -> None:
        cfg = self.config
        window = cfg.worker_batching_window_seconds
        self.worker_fn.add_event_source(
            event_sources.SqsEventSource(
                self._queues.queue,
                batch_size=cfg.worker_batch_size,
                max_batching_window=Duration.seconds(window) if window else None,
                report_batch_item_failures=True,
                max_concurrency=cfg.worker_max_concurrency,
            )
        )
        # Heartbeats: the worker extends its message's visibility while a long job runs.
        self._queues.queue.grant(self.worker_fn, "sqs:ChangeMessageVisibility")
        self._graphql.api.grant_mutation(self.worker_fn, WORKER_MUTATION)

    def _wire_dead_letter_consumer(self) -> None:
        self.dlq_fn.add_event_source(
            event_sources.SqsEventSource(
                self._queues.dead_letter_queue,
                batch_size=DLQ_CONSUMER_BATCH_SIZE,
                report_batch_item_failures=True,
                max_concurrency=2,
            )
        )
        self._graphql.api.grant_mutation(self.dlq_fn, WORKER_MUTATION)
        # The consumer copies each message to the archive before failing its job; nobody else may.
        self._queues.dead_letter_archive.grant_send_messages(self.dlq_fn)

    def _wire_reaper(self) -> None:
        table = self._table
        self.reaper_fn.add_to_role_policy(
            iam.PolicyStatement(sid="StuckIndexQuery", actions=["dynamodb:Query"], resources=[table.stuck_index_arn])
        )
        # The adapter re-reads every index hit with a consistent GetItem before judging it.
        self.reaper_fn.add_to_role_policy(
            iam.PolicyStatement(sid="JobRead", actions=["dynamodb:GetItem"], resources=[table.table.table_arn])
        )
        # Re-enqueueing a stale PENDING job moves its index sort key to now (a conditional UpdateItem
        # of the index attributes only), so a backlog is not re-enqueued on every tick.
        self.reaper_fn.add_to_role_policy(
            iam.PolicyStatement(sid="RequeueMarker", actions=["dynamodb:UpdateItem"], resources=[table.table.table_arn])
        )
        self._queues.queue.grant_send_messages(self.reaper_fn)
        self._graphql.api.grant_mutation(self.reaper_fn, WORKER_MUTATION)
        # No retries of a failed or throttled tick (Lambda's async queue would otherwise retry it
        # twice and keep throttled ticks for up to 6 h behind the reserved concurrency of 1).
        self.reaper_fn.configure_async_invoke(retry_attempts=0, max_event_age=Duration.seconds(REAPER_MAX_EVENT_AGE_SECONDS))
        events.Rule(
            self,
            "ReaperSchedule",
            description="Runs the reaper",
            schedule=events.Schedule.rate(Duration.minutes(self.config.reaper_rate_minutes)),
            # The next tick is the retry; a retried stale tick would only duplicate work.
            targets=[
                targets.LambdaFunction(
                    self.reaper_fn, retry_attempts=0, max_event_age=Duration.seconds(REAPER_MAX_EVENT_AGE_SECONDS)
                )
            ],
        )

    def _wire_artifacts(self) -> None:
        """Presigning signs with the signer's own permissions, so the resolvers may GetObject on jobs/*
        (download links) and PutObject on uploads/* (createUpload), plus GetObject on uploads/* for the
        existence check at submit; the worker writes jobs/* and reads uploads/*. Nobody may delete."""
        artifacts = self._artifacts
        artifacts.grant_objects(self.resolvers_fn, "PresignArtifactDownloads", "s3:GetObject", "jobs")
        artifacts.grant_objects(self.resolvers_fn, "PresignUploads", "s3:PutObject", "uploads")
        artifacts.grant_objects(self.resolvers_fn, "CheckUploads", "s3:GetObject", "uploads")
        artifacts.grant_objects(self.worker_fn, "WriteArtifacts", "s3:PutObject", "jobs")
        artifacts.grant_objects(self.worker_fn, "ReadUploads", "s3:GetObject", "uploads")
        for role_owner in (self.resolvers_fn, self.worker_fn):
            assert role_owner.role is not None
            artifacts.acknowledge_prefix_grants(role_owner.role)
        # Submit routes long tasks to the long queue; the reaper re-enqueues stale PENDING jobs there too.
        self._queues.long_queue.grant_send_messages(self.resolvers_fn)
        self._queues.long_queue.grant_send_messages(self.reaper_fn)
