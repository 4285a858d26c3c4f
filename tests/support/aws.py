"""The job table as the CDK stack declares it (from jobcore.table_schema), for moto-backed tests."""

from __future__ import annotations

from typing import Any

from jobcore.table_schema import (
    LISTING_PROJECTED_ATTRIBUTES,
    LISTING_SORT_KEY,
    OWNER_INDEX,
    OWNER_INDEX_PARTITION_KEY,
    OWNER_STATUS_INDEX,
    OWNER_STATUS_INDEX_PARTITION_KEY,
    PARTITION_KEY,
    STUCK_INDEX,
    STUCK_INDEX_PARTITION_KEY,
    STUCK_INDEX_SORT_KEY,
)

#: listJobs' two indexes as deployed (infra/stack.py): keys plus the job type only.
LISTING_ATTRIBUTE_DEFINITIONS = [
    {"AttributeName": OWNER_INDEX_PARTITION_KEY, "AttributeType": "S"},
    {"AttributeName": OWNER_STATUS_INDEX_PARTITION_KEY, "AttributeType": "S"},
    {"AttributeName": LISTING_SORT_KEY, "AttributeType": "S"},
]
LISTING_INDEXES = [
    {
        "IndexName": name,
        "KeySchema": [
            {"AttributeName": partition, "KeyType": "HASH"},
            {"AttributeName": LISTING_SORT_KEY, "KeyType": "RANGE"},
        ],
        "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": list(LISTING_PROJECTED_ATTRIBUTES)},
    }
    for name, partition in ((OWNER_INDEX, OWNER_INDEX_PARTITION_KEY), (OWNER_STATUS_INDEX, OWNER_STATUS_INDEX_PARTITION_KEY))
]


def create_jobs_table(client: Any, name: str = "jobs") -> str:
    client.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": PARTITION_KEY, "AttributeType": "S"},
            {"AttributeName": STUCK_INDEX_PARTITION_KEY, "AttributeType": "S"},
            {"AttributeName": STUCK_INDEX_SORT_KEY, "AttributeType": "S"},
            *LISTING_ATTRIBUTE_DEFINITIONS,
        ],
        KeySchema=[{"AttributeName": PARTITION_KEY, "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": STUCK_INDEX,
                "KeySchema": [
                    {"AttributeName": STUCK_INDEX_PARTITION_KEY, "KeyType": "HASH"},
                    {"AttributeName": STUCK_INDEX_SORT_KEY, "KeyType": "RANGE"},
                ],
                # As deployed: the adapter re-reads every index hit with a consistent GetItem, so the index
                # projects keys only - the strictest shape, which an adapter reading projected attributes fails.
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            },
            *LISTING_INDEXES,
        ],
    )
    return name
