"""The job table as the CDK stack declares it (from jobcore.table_schema), for moto-backed tests."""

from __future__ import annotations

from typing import Any

from jobcore.table_schema import PARTITION_KEY, STUCK_INDEX, STUCK_INDEX_PARTITION_KEY, STUCK_INDEX_SORT_KEY


def create_jobs_table(client: Any, name: str = "jobs") -> str:
    client.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": PARTITION_KEY, "AttributeType": "S"},
            {"AttributeName": STUCK_INDEX_PARTITION_KEY, "AttributeType": "S"},
            {"AttributeName": STUCK_INDEX_SORT_KEY, "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": PARTITION_KEY, "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": STUCK_INDEX,
                "KeySchema": [
                    {"AttributeName": STUCK_INDEX_PARTITION_KEY, "KeyType": "HASH"},
                    {"AttributeName": STUCK_INDEX_SORT_KEY, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
    )
    return name
