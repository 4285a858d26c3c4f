"""SQS-triggered worker Lambda: one record = one delivery of a job message.

Built on powertools batch processing with partial batch responses: a record whose job must be
retried is listed in ``batchItemFailures`` and only that message returns to the queue. The local
runtime feeds this same handler SQS-shaped events from its SQLite queue.

Observability: every line logged while a record is handled carries its ``job_id`` and a
``correlation_id`` (the SQS message id); the record's ``AWSTraceHeader`` (the submit's trace) is the
trace context of its ``updateJob`` calls; ``FailedRecords`` counts the records handed back to SQS,
which Lambda's ``Errors`` metric never sees (the invocation itself succeeds).
"""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from jobcore.adapters.observability import tracer
from jobcore.errors import ValidationError
from jobcore.runner import Delivery, Outcome, run_delivery
from jobcore.tracing import trace_context
from jobcore.wire import decode_message
from worker.deps import delivery_log_keys, deps, handle_batch, share_log_format

logger = Logger(service="appsync-jobs-worker")
share_log_format(logger)


def record_handler(record: SQSRecord, lambda_context: LambdaContext | None = None) -> str:
    try:
        job_id = decode_message(record.body)
    except ValidationError:
        # A body we cannot read will never become readable: acknowledge instead of poisoning the queue.
        logger.error("dropping malformed message", extra={"message_id": record.message_id})
        return Outcome.SKIPPED.value
    with delivery_log_keys(logger, job_id=job_id, correlation_id=record.message_id), \
            trace_context(record.attributes.aws_trace_header):
        return _run(record, job_id, lambda_context)


@tracer().capture_method(capture_response=False)
def _run(record: SQSRecord, job_id: str, lambda_context: LambdaContext | None) -> str:
    worker = deps()
    delivery = Delivery(
        job_id=job_id,
        receive_count=int(record.attributes.approximate_receive_count),
        max_receive_count=worker.settings.max_receive_count,
        extend_visibility=worker.visibility_extender(record.event_source_arn, record.receipt_handle),
        deadline=handback_deadline(lambda_context, worker.settings.handback_margin_seconds),
    )
    logger.info("delivery received", extra={"receive_count": delivery.receive_count})
    outcome = run_delivery(delivery, worker.reporter, worker.registry, worker.runner, metrics=worker.metrics,
                           artifacts=worker.artifacts)
    logger.info("delivery done", extra={"outcome": outcome.value})
    return outcome.value


def handback_deadline(context: LambdaContext | None, margin_seconds: int) -> float | None:
    """When this attempt must stop: the invocation's remaining time minus the margin, so the runner
    reports and releases the job before Lambda kills it (which would leave it to be dead-lettered)."""
    if context is None:
        return None
    return time.monotonic() + context.get_remaining_time_in_millis() / 1000 - margin_seconds


@logger.inject_lambda_context(clear_state=True)
@tracer().capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle_batch(event, context, record_handler, logger)

