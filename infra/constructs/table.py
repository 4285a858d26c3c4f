"""The DynamoDB job table with its three indexes (``stuck`` for the reaper, two listing indexes for listJobs)."""

from __future__ import annotations

from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from infra.config import JobsConfig
from infra.constructs.base import removal_policy
from jobcore import table_schema


class JobTable(Construct):
    """The CAS job store of ``jobcore/adapters/dynamodb.py``; key names come from ``jobcore.table_schema``."""

    def __init__(self, scope: Construct, construct_id: str, *, config: JobsConfig) -> None:
        super().__init__(scope, construct_id)
        table = dynamodb.Table(
            self,
            "JobsTable",
            partition_key=dynamodb.Attribute(name=table_schema.PARTITION_KEY, type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(point_in_time_recovery_enabled=True),
            time_to_live_attribute=table_schema.TTL_ATTRIBUTE,
            deletion_protection=config.retain_data,
            removal_policy=removal_policy(config),
        )
        # Sparse: only unfinished jobs carry the index keys, so the reaper's Query reads just those.
        # KEYS_ONLY: the adapter re-reads each hit with a consistent GetItem (the index is only
        # eventually consistent), so copying whole job records into the index would buy nothing
        # but index write units.
        table.add_global_secondary_index(
            index_name=table_schema.STUCK_INDEX,
            partition_key=dynamodb.Attribute(name=table_schema.STUCK_INDEX_PARTITION_KEY, type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name=table_schema.STUCK_INDEX_SORT_KEY, type=dynamodb.AttributeType.STRING),
            projection_type=dynamodb.ProjectionType.KEYS_ONLY,
        )
        # listJobs: the caller's jobs newest first (byOwner) and of one status (byOwnerStatus, keyed on
        # owner#status, so a status filter is a Query of its own partition, never a scan or a filter).
        # Keys + jobType only (for the type FilterExpression): the adapter re-reads the page's jobs
        # with a consistent BatchGetItem, and these index entries change only when the status does.
        for index_name, partition_key in (
            (table_schema.OWNER_INDEX, table_schema.OWNER_INDEX_PARTITION_KEY),
            (table_schema.OWNER_STATUS_INDEX, table_schema.OWNER_STATUS_INDEX_PARTITION_KEY),
        ):
            table.add_global_secondary_index(
                index_name=index_name,
                partition_key=dynamodb.Attribute(name=partition_key, type=dynamodb.AttributeType.STRING),
                sort_key=dynamodb.Attribute(name=table_schema.LISTING_SORT_KEY, type=dynamodb.AttributeType.STRING),
                projection_type=dynamodb.ProjectionType.INCLUDE,
                non_key_attributes=list(table_schema.LISTING_PROJECTED_ATTRIBUTES),
            )
        self.table = table

    @property
    def stuck_index_arn(self) -> str:
        return f"{self.table.table_arn}/index/{table_schema.STUCK_INDEX}"

    @property
    def listing_index_arns(self) -> list[str]:
        return [
            f"{self.table.table_arn}/index/{name}"
            for name in (table_schema.OWNER_INDEX, table_schema.OWNER_STATUS_INDEX)
        ]
