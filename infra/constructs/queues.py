"""The job queue, the long-task queue, their shared dead-letter queue and the redrivable dead-letter archive."""

from __future__ import annotations

from typing import Final

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.config import VISIBILITY_TIMEOUT_FACTOR, JobsConfig
from infra.constructs.base import removal_policy

#: The DLQ consumer's timeout; the DLQ's visibility timeout is derived from it.
DLQ_CONSUMER_TIMEOUT_SECONDS: Final = 60

#: The dead-letter archive keeps a copy of every dead-lettered message for forensics and redrive
#: (``aws sqs start-message-move-task``, which only accepts a queue that is some queue's DLQ, so
#: the archive is also the DLQ's own dead-letter target: a message the DLQ consumer fails this many
#: times - about an hour at its 6-minute visibility timeout - is archived instead of expiring).
ARCHIVE_RETENTION_DAYS: Final = 14
DLQ_TO_ARCHIVE_MAX_RECEIVE_COUNT: Final = 10


class JobQueues(Construct):
    """``queue`` (Lambda worker), ``long_queue`` (Fargate worker), ``dead_letter_queue``, ``dead_letter_archive``."""

    def __init__(self, scope: Construct, construct_id: str, *, config: JobsConfig) -> None:
        super().__init__(scope, construct_id)
        removal = removal_policy(config)
        # Where the DLQ consumer copies each dead-lettered message before failing its job. The
        # consumer must delete what it handled (or the DLQ would redeliver it forever), so the copy
        # is what survives for forensics and for ``start-message-move-task`` back to the job queue
        # (docs/deploy.md). Nothing consumes it; messages expire after 14 days.
        self.dead_letter_archive = sqs.Queue(
            self,
            "DeadLetterArchiveQueue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(ARCHIVE_RETENTION_DAYS),
            removal_policy=removal,
        )
        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetterQueue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            # A redriven message keeps its original enqueue time, so the DLQ must keep messages
            # longer than the source queue or they could expire on arrival.
            retention_period=Duration.days(config.dlq_retention_days),
            visibility_timeout=Duration.seconds(VISIBILITY_TIMEOUT_FACTOR * DLQ_CONSUMER_TIMEOUT_SECONDS),
            # Makes the archive "a DLQ" (start-message-move-task redrives only from DLQs) and keeps
            # a message the consumer keeps failing instead of letting it expire.
            dead_letter_queue=sqs.DeadLetterQueue(queue=self.dead_letter_archive, max_receive_count=DLQ_TO_ARCHIVE_MAX_RECEIVE_COUNT),
            removal_policy=removal,
        )
        # Both job queues redrive to the same DLQ, so the dead-letter consumer fails long jobs like any
        # other. The runner ties each message to its lease right after receiving it; the visibility
        # timeout only bounds how long a message hides if its consumer dies between receive and claim.
        self.queue = self._job_queue("JobQueue", config, removal)
        # Tasks whose time limit does not fit the worker Lambda go here; the Fargate service consumes it.
        self.long_queue = self._job_queue("LongJobQueue", config, removal)

    def _job_queue(self, construct_id: str, config: JobsConfig, removal: RemovalPolicy) -> sqs.Queue:
        return sqs.Queue(
            self,
            construct_id,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(config.queue_retention_days),
            visibility_timeout=Duration.seconds(config.queue_visibility_timeout_seconds),
            dead_letter_queue=sqs.DeadLetterQueue(queue=self.dead_letter_queue, max_receive_count=config.max_receive_count),
            removal_policy=removal,
        )
