"""The DynamoDB job table's shape: the single place both the store adapter and the CDK stack read.

Stdlib-only data, so ``infra/`` may import it without pulling in any runtime dependency.
"""

from __future__ import annotations

from typing import Final

PARTITION_KEY: Final = "pk"
#: Epoch seconds after which DynamoDB's TTL deletes a finished job (and its idempotency record).
TTL_ATTRIBUTE: Final = "expiresAt"
#: Sparse index over unfinished jobs only, so the reaper finds stuck work without a scan.
STUCK_INDEX: Final = "stuck"
STUCK_INDEX_PARTITION_KEY: Final = "stuckStatus"
STUCK_INDEX_SORT_KEY: Final = "stuckAt"
#: The index's partition key is ``<STATUS>#<shard>`` (``RUNNING#0`` .. ``PENDING#7``): one DynamoDB
#: partition takes ~1,000 writes/s, and every claim, heartbeat and finish writes the index, so two
#: partition-key values would cap the whole system there. The shard comes from the job id's hash; the
#: reaper queries every shard (2 x 8 small queries a run).
STUCK_INDEX_SHARDS: Final = 8

JOB_KEY_PREFIX: Final = "JOB#"
IDEMPOTENCY_KEY_PREFIX: Final = "IDEM#"

DEFAULT_RETENTION_DAYS: Final = 30

#: listJobs' indexes. Both sort on ``position`` = ``<createdAt>#<id>`` (``jobcore.ports.listing_position``),
#: unique and time-ordered, so "newest first, after this one" is one key range of one partition.
#: ``byOwner`` is keyed on the owner alone; ``byOwnerStatus`` on ``<owner>#<status>``, so a status
#: filter is a Query of its own partition - never a scan, never a FilterExpression over other statuses.
#: Both project the keys plus ``jobType`` only: a type filter is a FilterExpression on the index, and
#: the adapter re-reads the page's jobs with one consistent BatchGetItem (indexes are eventually
#: consistent; a job's record changes on every update, and projecting it would add an index write to
#: each of them, while these keys change only with the status).
OWNER_INDEX: Final = "byOwner"
OWNER_INDEX_PARTITION_KEY: Final = "owner"
OWNER_STATUS_INDEX: Final = "byOwnerStatus"
OWNER_STATUS_INDEX_PARTITION_KEY: Final = "ownerStatus"
LISTING_SORT_KEY: Final = "position"
JOB_TYPE_ATTRIBUTE: Final = "jobType"
LISTING_PROJECTED_ATTRIBUTES: Final = (JOB_TYPE_ATTRIBUTE,)
