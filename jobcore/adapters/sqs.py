"""Amazon SQS queue adapter (the cloud's queue; redrive to the DLQ is SQS's own)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from jobcore.errors import QueueError
from jobcore.ports import JobQueue, QueueDepth, ReceivedMessage
from jobcore.tracing import is_trace_header

#: The three counts ``approximate_depth`` reads (what ``aws sqs get-queue-attributes`` shows).
DEPTH_ATTRIBUTES = (
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
)


def queue_depth(client: Any, queue_url: str) -> QueueDepth:
    """One ``GetQueueAttributes`` call: the queue's visible, in-flight and delayed message counts."""
    try:
        reply = client.get_queue_attributes(QueueUrl=queue_url, AttributeNames=list(DEPTH_ATTRIBUTES))
    except ClientError as exc:
        raise QueueError(f"could not read the attributes of {queue_url}: {exc}") from exc
    values = reply.get("Attributes", {})
    visible, in_flight, delayed = (int(values.get(name, 0)) for name in DEPTH_ATTRIBUTES)
    return QueueDepth(queue_url.rsplit("/", 1)[-1], visible, in_flight, delayed)


def queue_url_from_arn(arn: str) -> str:
    """The queue URL for an ``eventSourceARN`` (``arn:aws:sqs:region:account:name``)."""
    _, partition, _, region, account, name = arn.split(":", 5)
    domain = "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com"
    return f"https://sqs.{region}.{domain}/{account}/{name}"


class SqsJobQueue(JobQueue):
    def __init__(self, client: Any, queue_url: str, *, wait_seconds: int = 0) -> None:
        self.client = client
        self.queue_url = queue_url
        #: Long polling (ReceiveMessage WaitTimeSeconds) for consumers that poll, like the long worker.
        self.wait_seconds = wait_seconds

    def _send(self, body: str, delay_seconds: int, attributes: dict[str, str], trace_header: str | None) -> str:
        kwargs: dict[str, Any] = {"QueueUrl": self.queue_url, "MessageBody": body, "DelaySeconds": delay_seconds}
        if attributes:
            kwargs["MessageAttributes"] = {
                name: {"DataType": "String", "StringValue": value} for name, value in attributes.items()
            }
        # SQS refuses a malformed AWSTraceHeader; a bad header must never cost the job its message.
        if trace_header and is_trace_header(trace_header):
            kwargs["MessageSystemAttributes"] = {"AWSTraceHeader": {"DataType": "String", "StringValue": trace_header}}
        try:
            reply = self.client.send_message(**kwargs)
        except ClientError as exc:
            raise QueueError(f"could not send to {self.queue_url}: {exc}") from exc
        return str(reply["MessageId"])

    def _receive(self, max_messages: int, visibility_timeout: int | None) -> list[ReceivedMessage]:
        kwargs: dict[str, Any] = {
            "QueueUrl": self.queue_url,
            "MaxNumberOfMessages": max_messages,
            "MessageSystemAttributeNames": ["ApproximateReceiveCount", "SentTimestamp", "AWSTraceHeader"],
            "MessageAttributeNames": ["All"],
        }
        if visibility_timeout is not None:
            kwargs["VisibilityTimeout"] = visibility_timeout
        if self.wait_seconds:
            kwargs["WaitTimeSeconds"] = self.wait_seconds
        try:
            reply = self.client.receive_message(**kwargs)
        except ClientError as exc:
            raise QueueError(f"could not receive from {self.queue_url}: {exc}") from exc
        return [
            ReceivedMessage(
                message_id=m["MessageId"],
                receipt_handle=m["ReceiptHandle"],
                body=m["Body"],
                receive_count=int(m["Attributes"]["ApproximateReceiveCount"]),
                sent_at=datetime.fromtimestamp(int(m["Attributes"]["SentTimestamp"]) / 1000, UTC),
                attributes={
                    name: str(value.get("StringValue", ""))
                    for name, value in m.get("MessageAttributes", {}).items()
                },
                trace_header=m["Attributes"].get("AWSTraceHeader"),
            )
            for m in reply.get("Messages", [])
        ]

    def _delete(self, receipt_handle: str) -> None:
        try:
            self.client.delete_message(QueueUrl=self.queue_url, ReceiptHandle=receipt_handle)
        except ClientError as exc:
            raise QueueError(f"could not delete from {self.queue_url}: {exc}") from exc

    def _approximate_depth(self) -> QueueDepth:
        return queue_depth(self.client, self.queue_url)

    def _change_visibility(self, receipt_handle: str, seconds: int) -> None:
        try:
            self.client.change_message_visibility(
                QueueUrl=self.queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=seconds
            )
        except ClientError as exc:
            raise QueueError(f"could not change visibility: {exc}") from exc
