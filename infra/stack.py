"""The jobs stack: one ``JobsApi`` (infra/constructs/) in a Stack of its own, plus the stack outputs.

``infra.app`` deploys this stack; to put the kit into your own CDK app instead, instantiate
``infra.constructs.JobsApi`` in any Stack (README "Compose it into your CDK app").

The stack keeps the logical ids of the flat stack it replaced (issue 13): CDK derives a logical id
from the construct path, so nesting every resource under ``JobsApi/<layer>`` would have renamed
them all - and CloudFormation replaces a resource whose logical id changes, which for the job table,
the queues, the bucket, the user pool and the pagination secret means losing their data. So
``_allocate_logical_id`` computes each id from the path without the JobsApi and layer components;
the template of this stack is the one the flat stack synthesized.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from aws_cdk import CfnElement, CfnOutput, Stack
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra import outputs as keys
from infra.assets import RESOLVER_JS_PATH, SCHEMA_PATH
from infra.config import JobsConfig
from infra.constructs.api import PAGINATION_SECRET_ENV, ROOT_FIELDS, WORKER_MUTATION
from infra.constructs.base import make_unique_id, retention_days
from infra.constructs.jobs_api import LAYER_IDS, JobsApi
from infra.constructs.monitoring import DYNAMODB_OPERATIONS, METRICS_NAMESPACE, METRICS_SERVICE

#: The JobsApi's id inside this stack (left out of logical ids with the layer ids).
JOBS_API_ID: Final = "Jobs"

__all__ = [
    "DYNAMODB_OPERATIONS",
    "JOBS_API_ID",
    "METRICS_NAMESPACE",
    "METRICS_SERVICE",
    "PAGINATION_SECRET_ENV",
    "ROOT_FIELDS",
    "WORKER_MUTATION",
    "JobsStack",
    "retention_days",
]


class JobsStack(Stack):
    """The stack ``cdk deploy`` creates: ``JobsApi`` with the config, and the outputs clients read.

    Parameters
    ----------
    config:
        Every knob (stage, timeouts, batch sizes, alarms) - see ``JobsConfig``.
    code:
        The ONE code asset all four functions run (``infra.assets.lambda_code()``).
    schema_path, resolver_code_path:
        ``schema.graphql`` and the APPSYNC_JS resolver file, loaded as they are (no copies).

    The JobsApi's resources stay reachable as attributes of the stack (``stack.table``,
    ``stack.queue``, ``stack.resolvers_fn``, ``stack.alarms``, ...), which the tests and scripts use.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: JobsConfig,
        code: lambda_.Code,
        schema_path: Path = SCHEMA_PATH,
        resolver_code_path: Path = RESOLVER_JS_PATH,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            stack_name=config.stack_name,
            description=f"appsync-jobs ({config.stage}): long-running jobs behind an AppSync GraphQL API",
            **kwargs,
        )
        self.config = config
        jobs = JobsApi(self, JOBS_API_ID, config=config, code=code, schema_path=schema_path, resolver_code_path=resolver_code_path)
        self.jobs = jobs
        # The flat stack's attributes, delegating to the construct.
        self.table = jobs.data.table
        self.queue = jobs.queues.queue
        self.long_queue = jobs.queues.long_queue
        self.dead_letter_queue = jobs.queues.dead_letter_queue
        self.dead_letter_archive = jobs.queues.dead_letter_archive
        self.artifact_bucket = jobs.artifacts.bucket
        self.api = jobs.graphql.api
        self.pagination_secret = jobs.graphql.pagination_secret
        self.user_pool = jobs.graphql.user_pool
        self.user_pool_client = jobs.graphql.user_pool_client
        self.web_acl = jobs.graphql.web_acl
        self.resolvers_fn = jobs.functions.resolvers_fn
        self.worker_fn = jobs.functions.worker_fn
        self.dlq_fn = jobs.functions.dlq_fn
        self.reaper_fn = jobs.functions.reaper_fn
        self.long_worker = jobs.long_tasks.service
        self.alarm_topic = jobs.monitoring.alarm_topic
        self.alarms = jobs.monitoring.alarms
        self.dashboard = jobs.monitoring.dashboard
        self.custom_metric = jobs.monitoring.custom_metric
        self._outputs()

    def _allocate_logical_id(self, cfn_element: CfnElement) -> str:
        """The flat stack's id: the path below the stack without ``Jobs/<layer>`` (see the module docstring)."""
        scopes = cfn_element.node.scopes
        components = [scope.node.id for scope in scopes[scopes.index(self) + 1 :]]
        if len(components) > 2 and components[0] == JOBS_API_ID and components[1] in LAYER_IDS:
            components = components[2:]
        return make_unique_id(components)

    @property
    def stuck_index_arn(self) -> str:
        return self.jobs.data.stuck_index_arn

    @property
    def listing_index_arns(self) -> list[str]:
        return self.jobs.data.listing_index_arns

    @property
    def alarm_arn_pattern(self) -> str:
        return self.jobs.monitoring.alarm_arn_pattern

    @property
    def api_key_resource(self) -> Any:
        return self.jobs.graphql.api_key_resource

    @property
    def api_key_value(self) -> str:
        return self.jobs.graphql.api_key_value

    @property
    def realtime_url(self) -> str:
        return self.jobs.graphql.realtime_url

    def _outputs(self) -> None:
        region = self.region
        user_pool_id = self.user_pool.user_pool_id if self.user_pool else None
        client_id = self.user_pool_client.user_pool_client_id if self.user_pool_client else None
        values = {
            keys.GRAPHQL_URL: (self.api.graphql_url, "GraphQL endpoint (queries, mutations)"),
            keys.REALTIME_URL: (self.realtime_url, "Real-time (subscriptions) WebSocket endpoint"),
            keys.API_ID: (self.api.api_id, "AppSync API id"),
            keys.API_KEY_ID: (self.api_key_resource.attr_api_key_id, "Id of the default API key"),
            # The key VALUE, because Amplify's config needs it. Anyone who can read this stack's
            # outputs can call the API with it - see docs/deploy.md.
            keys.API_KEY: (self.api_key_value, "Default API key value (a client credential)"),
            keys.REGION: (region, "Region of the API"),
            keys.TABLE_NAME: (self.table.table_name, "DynamoDB job table"),
            keys.QUEUE_URL: (self.queue.queue_url, "SQS job queue"),
            keys.DLQ_URL: (self.dead_letter_queue.queue_url, "SQS dead-letter queue"),
            keys.LONG_QUEUE_URL: (self.long_queue.queue_url, "SQS queue of the long-task (Fargate) worker"),
            keys.QUEUE_ARN: (self.queue.queue_arn, "SQS job queue ARN (the redrive destination)"),
            keys.DLQ_ARCHIVE_URL: (self.dead_letter_archive.queue_url, "SQS archive of dead-lettered messages"),
            keys.DLQ_ARCHIVE_ARN: (self.dead_letter_archive.queue_arn, "Archive ARN (the redrive source)"),
            keys.DASHBOARD_NAME: (self.dashboard.dashboard_name, "CloudWatch dashboard"),
        }
        if user_pool_id and client_id:
            values[keys.USER_POOL_ID] = (user_pool_id, "Cognito user pool (optional auth mode)")
            values[keys.USER_POOL_CLIENT_ID] = (client_id, "Cognito app client for a frontend")
        for key, (value, description) in values.items():
            CfnOutput(self, key, value=value, description=description)
        amplify = keys.amplify_document(
            url=self.api.graphql_url,
            region=region,
            api_key=self.api_key_value,
            user_pool_id=user_pool_id,
            user_pool_client_id=client_id,
            operations={key: values[key][0] for key in keys.OPERATIONS_KEYS},
        )
        CfnOutput(
            self,
            keys.AMPLIFY_OUTPUTS,
            value=self.to_json_string(amplify),
            description="Amplify JS v6 amplify_outputs.json (save as-is and pass to Amplify.configure)",
        )
