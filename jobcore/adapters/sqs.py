"""Amazon SQS queue adapter (the cloud's queue; redrive to the DLQ is SQS's own)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from jobcore.errors import QueueError
from jobcore.ports import JobQueue, ReceivedMessage


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

    def _send(self, body: str, delay_seconds: int) -> str:
        try:
            reply = self.client.send_message(QueueUrl=self.queue_url, MessageBody=body, DelaySeconds=delay_seconds)
        except ClientError as exc:
            raise QueueError(f"could not send to {self.queue_url}: {exc}") from exc
        return str(reply["MessageId"])

    def _receive(self, max_messages: int, visibility_timeout: int | None) -> list[ReceivedMessage]:
        kwargs: dict[str, Any] = {
            "QueueUrl": self.queue_url,
            "MaxNumberOfMessages": max_messages,
            "MessageSystemAttributeNames": ["ApproximateReceiveCount", "SentTimestamp"],
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
            )
            for m in reply.get("Messages", [])
        ]

    def _delete(self, receipt_handle: str) -> None:
        try:
            self.client.delete_message(QueueUrl=self.queue_url, ReceiptHandle=receipt_handle)
        except ClientError as exc:
            raise QueueError(f"could not delete from {self.queue_url}: {exc}") from exc

    def _change_visibility(self, receipt_handle: str, seconds: int) -> None:
        try:
            self.client.change_message_visibility(
                QueueUrl=self.queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=seconds
            )
        except ClientError as exc:
            raise QueueError(f"could not change visibility: {exc}") from exc
