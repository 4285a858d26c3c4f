"""Dead-letter handler: a message that exhausted its deliveries means its job will never finish by
itself, so tell its subscribers (FAILED via ``updateJob``) instead of leaving them waiting forever.

Consuming the DLQ deletes its messages, so each one is first copied to the archive queue
(``JOBS_DLQ_ARCHIVE_URL``; locally the ``jobs-dlq-archive`` queue): the body unchanged (redrivable
as it is, ``jobcore.redrive``) with where and when it died as message attributes. A copy that cannot
be written fails the record, which stays in the DLQ and is retried - the message is never lost.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from jobcore.adapters.observability import tracer
from jobcore.errors import InvalidTransition, JobNotFound, LeaseHeld, ValidationError
from jobcore.metrics import Metric, record
from jobcore.runner import RetryLater
from jobcore.tracing import trace_context
from jobcore.wire import decode_message, format_datetime
from worker.deps import delivery_log_keys, deps, handle_batch

logger = Logger(service="appsync-jobs-dlq")


def archive_attributes(record: SQSRecord, job_id: str | None) -> dict[str, str]:
    """What an operator needs to know about a dead letter, beside its body."""
    attributes = {
        "deadLetteredAt": format_datetime(datetime.now(UTC)),
        "originalMessageId": record.message_id,
        "originalSentTimestamp": str(record.attributes.sent_timestamp),
        "deadLetterQueueArn": record.event_source_arn,
        "receiveCount": str(record.attributes.approximate_receive_count),
    }
    if job_id is not None:
        attributes["jobId"] = job_id
    return attributes


def _archive(record: SQSRecord, job_id: str | None) -> None:
    archive = deps().archive
    if archive is None:
        logger.warning("no dead-letter archive configured (JOBS_DLQ_ARCHIVE_URL): the message is not kept")
        return
    archive.send(record.body, attributes=archive_attributes(record, job_id), trace_header=record.attributes.aws_trace_header)


def record_handler(record: SQSRecord) -> str:
    try:
        job_id = decode_message(record.body)
    except ValidationError:
        _archive(record, None)
        logger.error("malformed dead letter archived", extra={"message_id": record.message_id})
        return "SKIPPED"
    with delivery_log_keys(logger, job_id=job_id, correlation_id=record.message_id), \
            trace_context(record.attributes.aws_trace_header):
        return _fail(record, job_id)


@tracer().capture_method(capture_response=False)
def _fail(record: SQSRecord, job_id: str) -> str:
    _archive(record, job_id)
    verdict = {
        "status": "FAILED",
        "error": {
            "type": "DeadLettered",
            "message": "the job's message was dead-lettered after its deliveries were exhausted",
        },
        # A redriven message keeps its original SentTimestamp: if the job was retried after it was
        # sent, the verdict is about an earlier attempt and is refused (InvalidTransition, skipped).
        "messageSentAt": _sent_at(record),
    }
    try:
        deps().reporter.update(job_id, verdict)
    except (InvalidTransition, JobNotFound):
        record_dead_letter()
        logger.info("dead letter archived; its job had already finished")
        return "SKIPPED"  # already finished (the worker recorded the real error) or gone
    except LeaseHeld as exc:
        raise RetryLater(f"job {job_id} still has a live attempt") from exc
    record_dead_letter()
    logger.warning("job failed as dead-lettered")
    return "FAILED"


def record_dead_letter() -> None:
    record(deps().metrics, Metric.JOBS_DEAD_LETTERED)


def _sent_at(record: SQSRecord) -> str | None:
    sent = record.attributes.get("SentTimestamp")
    if not sent:
        return None
    return format_datetime(datetime.fromtimestamp(int(sent) / 1000, UTC))


@logger.inject_lambda_context(clear_state=True)
@tracer().capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle_batch(event, context, record_handler, logger)
