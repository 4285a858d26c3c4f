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

JOB_KEY_PREFIX: Final = "JOB#"
IDEMPOTENCY_KEY_PREFIX: Final = "IDEM#"

DEFAULT_RETENTION_DAYS: Final = 30
