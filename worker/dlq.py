"""Dead-letter handler: a message that exhausted its deliveries means its job will never finish by
itself, so tell its subscribers (FAILED via ``updateJob``) instead of leaving them waiting forever."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from jobcore.errors import InvalidTransition, JobNotFound, LeaseHeld, ValidationError
from jobcore.runner import RetryLater
from jobcore.wire import decode_message, format_datetime
from worker.deps import batch_processor, deps

logger = Logger(service="appsync-jobs-dlq")


def record_handler(record: SQSRecord) -> str:
    try:
        job_id = decode_message(record.body)
    except ValidationError:
        logger.error("dropping malformed dead letter", extra={"message_id": record.message_id})
        return "SKIPPED"
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
        return "SKIPPED"  # already finished (the worker recorded the real error) or gone
    except LeaseHeld as exc:
        raise RetryLater(f"job {job_id} still has a live attempt") from exc
    logger.warning("job failed as dead-lettered", extra={"job_id": job_id})
    return "FAILED"


def _sent_at(record: SQSRecord) -> str | None:
    sent = record.attributes.get("SentTimestamp")
    if not sent:
        return None
    return format_datetime(datetime.fromtimestamp(int(sent) / 1000, UTC))


def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return dict(process_partial_response(
        event=event, record_handler=record_handler, processor=batch_processor(), context=context
    ))
