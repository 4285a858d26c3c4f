"""DynamoDB job store: one table, compare-and-set through condition expressions.

Items: ``JOB#<id>`` holds the job; ``IDEM#<owner>#<key>`` reserves an idempotency key and points at
its job. Both are written in one transaction, so a key can never point at a job that does not exist
and two submits racing with the same key create exactly one job.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from jobcore.adapters.codec import job_from_record, job_to_record, pending_marker, stuck_keys, stuck_marker
from jobcore.domain.job import Job, JobStatus
from jobcore.errors import TransitionConflict, ValidationError
from jobcore.ports import CreateResult, JobStore
from jobcore.table_schema import (
    IDEMPOTENCY_KEY_PREFIX,
    JOB_KEY_PREFIX,
    PARTITION_KEY,
    STUCK_INDEX,
    STUCK_INDEX_PARTITION_KEY,
    STUCK_INDEX_SORT_KEY,
    TTL_ATTRIBUTE,
)
from jobcore.wire import format_datetime


def _s(value: str) -> dict[str, str]:
    return {"S": value}


class DynamoDbJobStore(JobStore):
    def __init__(self, client: Any, table_name: str, *, retention_days: int = 30) -> None:
        self.client = client
        self.table_name = table_name
        self.retention = timedelta(days=retention_days)

    def _item(self, job: Job) -> dict[str, Any]:
        item: dict[str, Any] = {
            PARTITION_KEY: _s(JOB_KEY_PREFIX + job.id),
            "version": {"N": str(job.version)},
            "record": _s(json.dumps(job_to_record(job))),
        }
        marker = stuck_marker(job)
        if marker is not None:
            item[STUCK_INDEX_PARTITION_KEY] = _s(marker[0])
            item[STUCK_INDEX_SORT_KEY] = _s(marker[1])
        if job.finished_at is not None:
            item[TTL_ATTRIBUTE] = {"N": str(int((job.finished_at + self.retention).timestamp()))}
        return item

    def _create(self, job: Job) -> CreateResult:
        put_job = {
            "TableName": self.table_name,
            "Item": self._item(job),
            "ConditionExpression": "attribute_not_exists(#pk)",
            "ExpressionAttributeNames": {"#pk": PARTITION_KEY},
        }
        if job.idempotency_key is None:
            try:
                self.client.put_item(**put_job)
            except ClientError as exc:
                if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                    raise ValidationError(f"job {job.id} already exists") from exc
                raise
            return CreateResult(job, created=True)

        idem_key = self._idempotency_pk(job.owner, job.idempotency_key)
        try:
            self.client.transact_write_items(
                TransactItems=[
                    {"Put": put_job},
                    {
                        "Put": {
                            "TableName": self.table_name,
                            "Item": {PARTITION_KEY: _s(idem_key), "jobId": _s(job.id)},
                            "ConditionExpression": "attribute_not_exists(#pk)",
                            "ExpressionAttributeNames": {"#pk": PARTITION_KEY},
                        }
                    },
                ]
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            existing = self._by_idempotency_key(idem_key)
            if existing is None:
                raise TransitionConflict("idempotency key is being claimed concurrently; retry") from exc
            return CreateResult(existing, created=False)
        return CreateResult(job, created=True)

    @staticmethod
    def _idempotency_pk(owner: str, key: str) -> str:
        return f"{IDEMPOTENCY_KEY_PREFIX}{owner}#{key}"

    def _by_idempotency_key(self, idem_pk: str) -> Job | None:
        reply = self.client.get_item(
            TableName=self.table_name, Key={PARTITION_KEY: _s(idem_pk)}, ConsistentRead=True
        )
        item = reply.get("Item")
        return self._get(item["jobId"]["S"]) if item else None

    def _get(self, job_id: str) -> Job | None:
        reply = self.client.get_item(
            TableName=self.table_name, Key={PARTITION_KEY: _s(JOB_KEY_PREFIX + job_id)}, ConsistentRead=True
        )
        item = reply.get("Item")
        return job_from_record(json.loads(item["record"]["S"])) if item else None

    def _replace(self, new: Job, expected_version: int) -> None:
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item=self._item(new),
                ConditionExpression="#v = :expected",
                ExpressionAttributeNames={"#v": "version"},
                ExpressionAttributeValues={":expected": {"N": str(expected_version)}},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise TransitionConflict(f"Job {new.id} changed since version {expected_version}") from exc
            raise

    def _find_stuck(self, now: datetime, pending_before: datetime, limit: int) -> Iterator[Job]:
        remaining = limit
        for status, until in ((JobStatus.RUNNING, now), (JobStatus.PENDING, pending_before)):
            # Every shard, plus the unsharded value items written before sharding still carry.
            for key in (*stuck_keys(status), status.value):
                if remaining <= 0:
                    return
                reply = self.client.query(
                    TableName=self.table_name,
                    IndexName=STUCK_INDEX,
                    KeyConditionExpression="#s = :s AND #at <= :at",
                    ExpressionAttributeNames={"#s": STUCK_INDEX_PARTITION_KEY, "#at": STUCK_INDEX_SORT_KEY},
                    ExpressionAttributeValues={":s": _s(key), ":at": _s(format_datetime(until))},
                    Limit=remaining,
                )
                for item in reply.get("Items", []):
                    job = self._get(item[PARTITION_KEY]["S"].removeprefix(JOB_KEY_PREFIX))
                    if job is not None:
                        remaining -= 1
                        yield job

    def _mark_requeued(self, job: Job, at: datetime) -> bool:
        key, sort = pending_marker(job, at)
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key={PARTITION_KEY: _s(JOB_KEY_PREFIX + job.id)},
                UpdateExpression="SET #s = :s, #at = :at",
                # Only while the job is still the PENDING version the reaper saw.
                ConditionExpression="#v = :v",
                ExpressionAttributeNames={"#s": STUCK_INDEX_PARTITION_KEY, "#at": STUCK_INDEX_SORT_KEY, "#v": "version"},
                ExpressionAttributeValues={":s": _s(key), ":at": _s(sort), ":v": {"N": str(job.version)}},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def count_unfinished(self) -> dict[str, int]:
        """PENDING and RUNNING jobs, counted on the sparse stuck index (finished jobs leave it, so
        counting them would need a table scan; ``stats`` shows only these in the cloud)."""
        counts: dict[str, int] = {}
        for status in (JobStatus.PENDING, JobStatus.RUNNING):
            total = 0
            for key in (*stuck_keys(status), status.value):
                kwargs: dict[str, Any] = {
                    "TableName": self.table_name,
                    "IndexName": STUCK_INDEX,
                    "KeyConditionExpression": "#s = :s",
                    "ExpressionAttributeNames": {"#s": STUCK_INDEX_PARTITION_KEY},
                    "ExpressionAttributeValues": {":s": _s(key)},
                    "Select": "COUNT",
                }
                while True:
                    reply = self.client.query(**kwargs)
                    total += int(reply.get("Count", 0))
                    if "LastEvaluatedKey" not in reply:
                        break
                    kwargs["ExclusiveStartKey"] = reply["LastEvaluatedKey"]
            counts[status.value] = total
        return counts
