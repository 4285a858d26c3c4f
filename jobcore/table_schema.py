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
