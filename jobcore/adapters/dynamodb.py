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
from jobcore.ports import CreateResult, JobStore, Page, listing_position
from jobcore.table_schema import (
    IDEMPOTENCY_KEY_PREFIX,
    JOB_KEY_PREFIX,
    JOB_TYPE_ATTRIBUTE,
    LISTING_SORT_KEY,
    OWNER_INDEX,
    OWNER_INDEX_PARTITION_KEY,
    OWNER_STATUS_INDEX,
    OWNER_STATUS_INDEX_PARTITION_KEY,
    PARTITION_KEY,
    STUCK_INDEX,
    STUCK_INDEX_PARTITION_KEY,
    STUCK_INDEX_SORT_KEY,
    TTL_ATTRIBUTE,
)
from jobcore.wire import format_datetime


def _s(value: str) -> dict[str, str]:
    return {"S": value}


#: Index pages one listJobs call may read while a type filter discards entries: bounds its cost and
#: latency; what is left is behind the returned cursor (fewer items than asked, as DynamoDB does).
MAX_INDEX_QUERIES = 5
#: Index entries read per query when a type filter may discard some (entries are ~150 bytes).
FILTERED_QUERY_LIMIT = 100
#: BatchGetItem rounds for keys DynamoDB left unprocessed (throttling) before giving up.
MAX_BATCH_GET_ROUNDS = 5


def owner_status_key(owner: str, status: JobStatus) -> str:
    """``byOwnerStatus``' partition: unambiguous, since no status contains ``#``."""
    return f"{owner}#{status.value}"


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
            OWNER_INDEX_PARTITION_KEY: _s(job.owner),
            OWNER_STATUS_INDEX_PARTITION_KEY: _s(owner_status_key(job.owner, job.status)),
            LISTING_SORT_KEY: _s(listing_position(job)),
            JOB_TYPE_ATTRIBUTE: _s(job.type),
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

    def _list_by_owner(
        self, owner: str, status: JobStatus | None, job_type: str | None, limit: int, after: str | None
    ) -> Page:
        positions, cursor = self._index_page(owner, status, job_type, limit, after)
        jobs = self._batch_get([job_id for _, job_id in positions])
        items = []
        for _, job_id in positions:
            job = jobs.get(job_id)
            # Gone (TTL) or moved on since the eventually consistent index saw it: not on this page.
            if job is None or job.owner != owner or (status is not None and job.status is not status):
                continue
            items.append(job)
        return Page(items, cursor)

    def _index_page(
        self, owner: str, status: JobStatus | None, job_type: str | None, limit: int, after: str | None
    ) -> tuple[list[tuple[str, str]], str | None]:
        """(position, job id) of up to ``limit`` matching index entries, and the cursor after them."""
        names = {"#p": OWNER_INDEX_PARTITION_KEY}
        values: dict[str, Any] = {":p": _s(owner)}
        index = OWNER_INDEX
        if status is not None:
            index = OWNER_STATUS_INDEX
            names["#p"] = OWNER_STATUS_INDEX_PARTITION_KEY
            values[":p"] = _s(owner_status_key(owner, status))
        condition = "#p = :p"
        if after is not None:
            condition += " AND #pos < :after"
            names["#pos"] = LISTING_SORT_KEY  # DynamoDB refuses names an expression does not use
            values[":after"] = _s(after)
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": index,
            "KeyConditionExpression": condition,
            "ScanIndexForward": False,
        }
        if job_type is not None:
            request["FilterExpression"] = "#t = :t"
            names["#t"] = JOB_TYPE_ATTRIBUTE
            values[":t"] = _s(job_type)
        found: list[tuple[str, str]] = []
        start: dict[str, Any] | None = None
        for _ in range(MAX_INDEX_QUERIES):
            # One entry more than asked tells whether a next page exists without a second round trip.
            wanted = limit + 1 - len(found)
            reply = self.client.query(
                **request,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                Limit=max(wanted, FILTERED_QUERY_LIMIT) if job_type is not None else wanted,
                **({"ExclusiveStartKey": start} if start else {}),
            )
            for item in reply.get("Items", []):
                found.append((item[LISTING_SORT_KEY]["S"], item[PARTITION_KEY]["S"].removeprefix(JOB_KEY_PREFIX)))
            if len(found) > limit:
                return found[:limit], found[limit - 1][0]
            start = reply.get("LastEvaluatedKey")
            if not start:
                return found, None
        # Out of budget with more to read: resume after the last entry DynamoDB evaluated.
        assert start is not None
        return found, start[LISTING_SORT_KEY]["S"]

    def _batch_get(self, job_ids: list[str]) -> dict[str, Job]:
        """The current jobs (consistent reads), by id; ids with no item are simply absent."""
        jobs: dict[str, Job] = {}
        keys = [{PARTITION_KEY: _s(JOB_KEY_PREFIX + job_id)} for job_id in job_ids]
        for _ in range(MAX_BATCH_GET_ROUNDS):
            if not keys:
                return jobs
            reply = self.client.batch_get_item(
                RequestItems={self.table_name: {"Keys": keys, "ConsistentRead": True}}
            )
            for item in reply.get("Responses", {}).get(self.table_name, []):
                job = job_from_record(json.loads(item["record"]["S"]))
                jobs[job.id] = job
            keys = reply.get("UnprocessedKeys", {}).get(self.table_name, {}).get("Keys", [])
        if keys:
            raise TransitionConflict("the job table is throttling reads; retry the listing")
        return jobs
