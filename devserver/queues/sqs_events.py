"""SQS-shaped Lambda events from local queue deliveries, as Lambda's SQS event source builds them."""

from __future__ import annotations

import hashlib
from typing import Any

from jobcore.ports import ReceivedMessage

LOCAL_ACCOUNT = "000000000000"


def queue_arn(region: str, name: str) -> str:
    return f"arn:aws:sqs:{region}:{LOCAL_ACCOUNT}:{name}"


def sqs_record(message: ReceivedMessage, *, arn: str, region: str) -> dict[str, Any]:
    sent_ms = str(int(message.sent_at.timestamp() * 1000))
    attributes = {
        "ApproximateReceiveCount": str(message.receive_count),
        "SentTimestamp": sent_ms,
        "SenderId": LOCAL_ACCOUNT,
        "ApproximateFirstReceiveTimestamp": sent_ms,
    }
    if message.trace_header:
        attributes["AWSTraceHeader"] = message.trace_header  # as Lambda passes SQS's system attribute
    return {
        "messageId": message.message_id,
        "receiptHandle": message.receipt_handle,
        "body": message.body,
        "attributes": attributes,
        "messageAttributes": {
            name: {"stringValue": value, "stringListValues": [], "binaryListValues": [], "dataType": "String"}
            for name, value in message.attributes.items()
        },
        "md5OfBody": hashlib.md5(message.body.encode(), usedforsecurity=False).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": arn,
        "awsRegion": region,
    }


def sqs_event(messages: list[ReceivedMessage], *, arn: str, region: str) -> dict[str, Any]:
    return {"Records": [sqs_record(m, arn=arn, region=region) for m in messages]}
