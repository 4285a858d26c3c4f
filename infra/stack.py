"""The jobs stack: AppSync API + DynamoDB job table + SQS queue/DLQ + four Lambdas + alarms.

The stack takes everything that varies as explicit props (config, code asset, schema and resolver
paths), so tests can build it without bundling, and it imports nothing from the runtime packages
except ``jobcore.table_schema`` (stdlib-only constants shared with the DynamoDB adapter).

Least privilege, as the issue asks:

* resolvers Lambda - item read/write on the table and its ``stuck`` index, Query on the two listing
  indexes and BatchGetItem on the table (listJobs), read of the pagination secret, SendMessage on the queue;
* worker - ``appsync:GraphQL`` on ``Mutation.updateJob`` only (it reports every change through the
  API so subscribers hear it), ChangeMessageVisibility on the queue for heartbeats;
* DLQ consumer - consumes the DLQ, ``updateJob`` only;
* reaper - Query on the ``stuck`` index (+ GetItem on the table: the adapter re-reads each hit
  consistently), SendMessage on the queue, ``updateJob`` only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from aws_cdk import (
    Acknowledgment,
    CfnElement,
    CfnOutput,
    Duration,
    Expiration,
    RemovalPolicy,
    Stack,
    Validations,
)
from aws_cdk import aws_appsync as appsync
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct, IConstruct

from infra import outputs as keys
from infra.assets import LAMBDA_ARCHITECTURE, LAMBDA_RUNTIME, PYTHON_VERSION, RESOLVER_JS_PATH, SCHEMA_PATH
from infra.config import (
    DLQ_HANDLER,
    REAPER_HANDLER,
    RESOLVERS_HANDLER,
    VISIBILITY_TIMEOUT_FACTOR,
    WORKER_HANDLER,
    JobsConfig,
)
from infra.schema import RenderedSchema
from jobcore import table_schema

#: Every root field is served by the resolvers Lambda through the same APPSYNC_JS unit resolver.
#: Subscription.onJobUpdated's resolver runs once per subscribe (the ownership check); the events
#: themselves are AppSync's fan-out of the mutations named in @aws_subscribe.
ROOT_FIELDS: Final = (
    ("Query", "job"),
    ("Query", "listJobs"),
    ("Mutation", "submitJob"),
    ("Mutation", "cancelJob"),
    ("Mutation", "retryJob"),
    ("Mutation", "updateJob"),
    ("Subscription", "onJobUpdated"),
    # Its resolver sets the subscriber's enhanced filter (owner = the caller) at subscribe time.
    ("Subscription", "onMyJobsUpdated"),
)
#: The one mutation the worker-side functions may call.
WORKER_MUTATION: Final = "updateJob"

#: AppSync stops waiting for a resolver after 30 s, so a longer resolver timeout buys nothing.
RESOLVERS_TIMEOUT_SECONDS: Final = 30
RESOLVERS_MEMORY_MB: Final = 512
DLQ_CONSUMER_TIMEOUT_SECONDS: Final = 60
DLQ_CONSUMER_BATCH_SIZE: Final = 10
REAPER_TIMEOUT_SECONDS: Final = 60
SMALL_FUNCTION_MEMORY_MB: Final = 256

# Item-level actions of the CAS store (jobcore/adapters/dynamodb.py: conditional PutItem, a
# TransactWriteItems of two conditional Puts for idempotency keys, consistent GetItem, Query).
# There is no IAM action named TransactWriteItems: DynamoDB authorises each item of a transaction
# by its own action (Put/Update/ConditionCheckItem). No DeleteItem: TTL deletes finished jobs.
_TABLE_ITEM_ACTIONS: Final = (
    "dynamodb:GetItem",
    "dynamodb:Query",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:ConditionCheckItem",
)

# Reasons for every cdk-nag finding we accept, next to the code that causes it.
XRAY_WILDCARD_REASON: Final = (
    "X-Ray tracing (tracing=ACTIVE) needs xray:PutTraceSegments/PutTelemetryRecords, which support no "
    "resource-level permissions, so Resource '*' is the only possible scope."
)
INVOKE_VERSIONS_REASON: Final = (
    "The AppSync Lambda data source role may invoke the resolvers function and its versions/aliases "
    "(<arn>:*); the wildcard never reaches another function."
)
LATEST_RUNTIME_REASON: Final = (
    f"Pinned to Python {PYTHON_VERSION} on purpose: the bundled wheels are resolved for exactly this "
    "version (pip --python-version) and the test suite runs it; move runtime and pip together in "
    "infra/assets.py when upgrading."
)
COGNITO_MFA_REASON: Final = (
    "The optional user pool offers TOTP MFA but does not force it; requiring MFA is the application "
    "owner's decision and would lock out scripted test users."
)
PAGINATION_SECRET_ROTATION_REASON: Final = (
    "The pagination secret only signs listJobs' nextToken (page positions of the caller's own jobs; "
    "a token reveals nothing and grants nothing beyond the caller's own listing). Rotating it would "
    "only invalidate the page tokens clients hold at that moment; rotate it by hand (a new value) if "
    "it ever leaks - the resolvers pick it up within their 5-minute cache."
)
#: Environment variable naming the secret that signs listJobs' nextToken (jobcore.settings).
PAGINATION_SECRET_ENV: Final = "JOBS_PAGINATION_SECRET_ARN"
COGNITO_PLUS_REASON: Final = (
    "Cognito Plus tier (threat protection) is a paid feature; the optional pool only gates API access "
    "for a frontend and uses the Essentials tier."
)


class JobsStack(Stack):
    """Deploys the runtime under ``jobcore/``, ``resolvers/`` and ``worker/`` behind AppSync.

    Parameters
    ----------
    config:
        Every knob (stage, timeouts, batch sizes, alarms) - see ``JobsConfig``.
    code:
        The ONE code asset all four functions run (``infra.assets.lambda_code()``).
    schema_path, resolver_code_path:
        ``schema.graphql`` and the APPSYNC_JS resolver file, loaded as they are (no copies).
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
        self._code = code
        self._removal = RemovalPolicy.RETAIN if config.retain_data else RemovalPolicy.DESTROY
        self._log_retention = retention_days(config.log_retention_days)

        self.table = self._job_table()
        self.pagination_secret = self._pagination_secret()
        self.dead_letter_queue, self.queue = self._queues()
        self.user_pool: cognito.UserPool | None = None
        self.user_pool_client: cognito.UserPoolClient | None = None
        if config.enable_cognito:
            self.user_pool, self.user_pool_client = self._user_pool()
        self.api = self._api(schema_path)

        env = self._environment()
        self.resolvers_fn = self._function(
            "ResolversFunction",
            handler=RESOLVERS_HANDLER,
            description="AppSync resolvers for every root field of the API (schema.graphql)",
            timeout_seconds=RESOLVERS_TIMEOUT_SECONDS,
            memory_mb=RESOLVERS_MEMORY_MB,
            environment={
                **env,
                "POWERTOOLS_SERVICE_NAME": f"{config.prefix}-resolvers",
                PAGINATION_SECRET_ENV: self.pagination_secret.secret_arn,
            },
        )
        self.worker_fn = self._function(
            "WorkerFunction",
            handler=WORKER_HANDLER,
            description="Runs queued jobs; reports through the updateJob mutation",
            timeout_seconds=config.worker_timeout_seconds,
            memory_mb=config.worker_memory_mb,
            environment={**env, "POWERTOOLS_SERVICE_NAME": f"{config.prefix}-worker"},
        )
        self.dlq_fn = self._function(
            "DeadLetterFunction",
            handler=DLQ_HANDLER,
            description="Marks dead-lettered jobs FAILED through the updateJob mutation",
            timeout_seconds=DLQ_CONSUMER_TIMEOUT_SECONDS,
            memory_mb=SMALL_FUNCTION_MEMORY_MB,
            environment={**env, "POWERTOOLS_SERVICE_NAME": f"{config.prefix}-dlq"},
        )
        self.reaper_fn = self._function(
            "ReaperFunction",
            handler=REAPER_HANDLER,
            description="Every minute: re-enqueues stale PENDING jobs, fails RUNNING jobs past their deadline",
            timeout_seconds=REAPER_TIMEOUT_SECONDS,
            memory_mb=SMALL_FUNCTION_MEMORY_MB,
            environment={**env, "POWERTOOLS_SERVICE_NAME": f"{config.prefix}-reaper"},
        )

        self._resolvers(resolver_code_path)
        self._wire_resolvers_fn()
        self._wire_worker()
        self._wire_dead_letter_consumer()
        self._wire_reaper()
        self.alarm_topic = self._alarm_topic() if config.alarm_topic else None
        self.alarms = self._alarms()
        self._outputs()

    # --- data --------------------------------------------------------------------------------
    def _job_table(self) -> dynamodb.Table:
        table = dynamodb.Table(
            self,
            "JobsTable",
            partition_key=dynamodb.Attribute(name=table_schema.PARTITION_KEY, type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(point_in_time_recovery_enabled=True),
            time_to_live_attribute=table_schema.TTL_ATTRIBUTE,
            deletion_protection=self.config.retain_data,
            removal_policy=self._removal,
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
        return table

    @property
    def stuck_index_arn(self) -> str:
        return f"{self.table.table_arn}/index/{table_schema.STUCK_INDEX}"

    @property
    def listing_index_arns(self) -> list[str]:
        return [
            f"{self.table.table_arn}/index/{name}"
            for name in (table_schema.OWNER_INDEX, table_schema.OWNER_STATUS_INDEX)
        ]

    def _pagination_secret(self) -> secretsmanager.Secret:
        """The key that signs listJobs' nextToken (read lazily by the resolvers, cached 5 minutes)."""
        secret = secretsmanager.Secret(
            self,
            "PaginationSecret",
            description=f"{self.config.stack_name}: signs listJobs nextToken values (HMAC-SHA256 key)",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=64, exclude_punctuation=True, include_space=False
            ),
            removal_policy=self._removal,
        )
        _acknowledge(secret, "AwsSolutions-SMG4", PAGINATION_SECRET_ROTATION_REASON)
        return secret

    def _queues(self) -> tuple[sqs.Queue, sqs.Queue]:
        cfg = self.config
        dead_letter_queue = sqs.Queue(
            self,
            "DeadLetterQueue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            # A redriven message keeps its original enqueue time, so the DLQ must keep messages
            # longer than the source queue or they could expire on arrival.
            retention_period=Duration.days(cfg.dlq_retention_days),
            visibility_timeout=Duration.seconds(VISIBILITY_TIMEOUT_FACTOR * DLQ_CONSUMER_TIMEOUT_SECONDS),
            removal_policy=self._removal,
        )
        queue = sqs.Queue(
            self,
            "JobQueue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(cfg.queue_retention_days),
            visibility_timeout=Duration.seconds(cfg.queue_visibility_timeout_seconds),
            dead_letter_queue=sqs.DeadLetterQueue(queue=dead_letter_queue, max_receive_count=cfg.max_receive_count),
            removal_policy=self._removal,
        )
        return dead_letter_queue, queue

    # --- API ---------------------------------------------------------------------------------
    def _user_pool(self) -> tuple[cognito.UserPool, cognito.UserPoolClient]:
        pool = cognito.UserPool(
            self,
            "UserPool",
            self_sign_up_enabled=False,
            sign_in_aliases=cognito.SignInAliases(email=True),
            password_policy=cognito.PasswordPolicy(
                min_length=12, require_digits=True, require_lowercase=True, require_uppercase=True, require_symbols=True
            ),
            mfa=cognito.Mfa.OPTIONAL,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            deletion_protection=self.config.retain_data,
            removal_policy=self._removal,
        )
        _acknowledge(pool, "AwsSolutions-COG2", COGNITO_MFA_REASON)
        _acknowledge(pool, "AwsSolutions-COG8", COGNITO_PLUS_REASON)
        client = pool.add_client(
            "WebClient",
            auth_flows=cognito.AuthFlow(user_srp=True),
            generate_secret=False,
            prevent_user_existence_errors=True,
        )
        return pool, client

    def _api(self, schema_path: Path) -> appsync.GraphqlApi:
        cfg = self.config
        additional = [appsync.AuthorizationMode(authorization_type=appsync.AuthorizationType.IAM)]
        if self.user_pool is not None:
            additional.append(
                appsync.AuthorizationMode(
                    authorization_type=appsync.AuthorizationType.USER_POOL,
                    user_pool_config=appsync.UserPoolConfig(user_pool=self.user_pool),
                )
            )
        # Our own logs role (instead of CDK's, which attaches the AWS managed
        # AWSAppSyncPushToCloudWatchLogs policy on '*'), scoped to the API's log group below.
        logs_role = iam.Role(
            self,
            "ApiLogsRole",
            assumed_by=iam.ServicePrincipal("appsync.amazonaws.com"),
            description="Lets AppSync write this API's field and request logs",
        )
        api = appsync.GraphqlApi(
            self,
            "Api",
            name=cfg.stack_name,
            definition=appsync.Definition.from_schema(RenderedSchema(schema_path, cognito=cfg.enable_cognito)),
            authorization_config=appsync.AuthorizationConfig(
                default_authorization=appsync.AuthorizationMode(
                    authorization_type=appsync.AuthorizationType.API_KEY,
                    api_key_config=appsync.ApiKeyConfig(
                        description=f"{cfg.stack_name} default key (browsers, CLI)",
                        expires=Expiration.after(Duration.days(cfg.api_key_expiry_days)),
                    ),
                ),
                additional_authorization_modes=additional,
            ),
            xray_enabled=True,
        )
        # Logging is set on the L1 resource on purpose: the L2 ``log_config`` always adds CDK's
        # LogRetention custom resource (a Node.js Lambda with a managed policy and Resource '*'),
        # which would also fight the log group below over who creates it. AppSync writes to
        # /aws/appsync/apis/<apiId>; creating that group here gives it retention and a removal
        # policy like every other log group of the stack.
        cfn_api = api.node.default_child
        assert isinstance(cfn_api, appsync.CfnGraphQLApi)
        cfn_api.log_config = appsync.CfnGraphQLApi.LogConfigProperty(
            cloud_watch_logs_role_arn=logs_role.role_arn,
            field_log_level=cfg.api_field_log_level,
            exclude_verbose_content=False,
        )
        log_group = logs.LogGroup(
            self,
            "ApiLogGroup",
            log_group_name=f"/aws/appsync/apis/{api.api_id}",
            retention=self._log_retention,
            removal_policy=self._removal,
        )
        log_group.grant(logs_role, "logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents")
        return api

    @property
    def api_key_resource(self) -> appsync.CfnApiKey:
        child = self.api.node.find_child("DefaultApiKey")
        assert isinstance(child, appsync.CfnApiKey)
        return child

    @property
    def api_key_value(self) -> str:
        key = self.api.api_key
        assert key is not None, "the default auth mode is API_KEY, so the API has a key"
        return key

    @property
    def realtime_url(self) -> str:
        """``wss://<id>.appsync-realtime-api.<region>.amazonaws.com/graphql`` (CloudFormation's RealtimeUrl)."""
        cfn_api = self.api.node.default_child
        assert isinstance(cfn_api, appsync.CfnGraphQLApi)
        return cfn_api.attr_realtime_url

    def _resolvers(self, resolver_code_path: Path) -> None:
        data_source = self.api.add_lambda_data_source(
            "ResolversDataSource",
            self.resolvers_fn,
            description="The resolvers Lambda (powertools AppSyncResolver) behind every root field",
        )
        for child in data_source.node.children:
            if isinstance(child, iam.Role):
                function_id = self.get_logical_id(_cfn(self.resolvers_fn))
                _acknowledge(child, f"AwsSolutions-IAM5[Resource::<{function_id}.Arn>:*]", INVOKE_VERSIONS_REASON)
        # One asset for all four resolvers (appsync.AssetCode binds its S3 asset once per stack).
        code = appsync.Code.from_asset(str(resolver_code_path))
        for type_name, field_name in ROOT_FIELDS:
            data_source.create_resolver(
                f"{type_name}{field_name[0].upper()}{field_name[1:]}Resolver",
                type_name=type_name,
                field_name=field_name,
                runtime=appsync.FunctionRuntime.JS_1_0_0,
                code=code,
            )

    # --- functions ---------------------------------------------------------------------------
    def _environment(self) -> dict[str, str]:
        """What ``jobcore.settings.Settings.from_env`` reads (AWS_REGION is set by Lambda itself)."""
        cfg = self.config
        return {
            "APPSYNC_JOBS_BACKEND": "aws",
            "GRAPHQL_URL": self.api.graphql_url,
            "JOBS_TABLE_NAME": self.table.table_name,
            "JOBS_QUEUE_URL": self.queue.queue_url,
            "JOBS_RETENTION_DAYS": str(cfg.job_retention_days),
            "JOBS_MAX_RECEIVE_COUNT": str(cfg.max_receive_count),
            "JOBS_VISIBILITY_TIMEOUT": str(cfg.queue_visibility_timeout_seconds),
        }

    def _function(
        self,
        construct_id: str,
        *,
        handler: str,
        description: str,
        timeout_seconds: int,
        memory_mb: int,
        environment: dict[str, str],
    ) -> lambda_.Function:
        # An explicit log group (retention, removal) and a role without the AWS managed
        # AWSLambdaBasicExecutionRole: the role may write to this one log group only.
        log_group = logs.LogGroup(self, f"{construct_id}Logs", retention=self._log_retention, removal_policy=self._removal)
        role = iam.Role(
            self,
            f"{construct_id}Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Execution role of {construct_id} ({handler})",
        )
        log_group.grant_write(role)
        function = lambda_.Function(
            self,
            construct_id,
            code=self._code,
            handler=handler,
            runtime=LAMBDA_RUNTIME,
            architecture=LAMBDA_ARCHITECTURE,
            timeout=Duration.seconds(timeout_seconds),
            memory_size=memory_mb,
            tracing=lambda_.Tracing.ACTIVE,
            log_group=log_group,
            role=role,
            environment=environment,
            description=description,
        )
        _acknowledge(role, "AwsSolutions-IAM5[Resource::*]", XRAY_WILDCARD_REASON)
        _acknowledge(function, "AwsSolutions-L1", LATEST_RUNTIME_REASON)
        return function

    def _wire_resolvers_fn(self) -> None:
        self.resolvers_fn.add_to_role_policy(
            iam.PolicyStatement(
                sid="JobTableItems",
                actions=list(_TABLE_ITEM_ACTIONS),
                resources=[self.table.table_arn, self.stuck_index_arn],
            )
        )
        self.queue.grant_send_messages(self.resolvers_fn)
        # listJobs: Query one owner's partition of a listing index, then re-read the page's jobs.
        self.resolvers_fn.add_to_role_policy(
            iam.PolicyStatement(sid="JobListingIndexes", actions=["dynamodb:Query"], resources=self.listing_index_arns)
        )
        self.resolvers_fn.add_to_role_policy(
            iam.PolicyStatement(sid="JobListingReads", actions=["dynamodb:BatchGetItem"], resources=[self.table.table_arn])
        )
        self.pagination_secret.grant_read(self.resolvers_fn)

    def _wire_worker(self) -> None:
        cfg = self.config
        window = cfg.worker_batching_window_seconds
        self.worker_fn.add_event_source(
            event_sources.SqsEventSource(
                self.queue,
                batch_size=cfg.worker_batch_size,
                max_batching_window=Duration.seconds(window) if window else None,
                report_batch_item_failures=True,
                max_concurrency=cfg.worker_max_concurrency,
            )
        )
        # Heartbeats: the worker extends its message's visibility while a long job runs.
        self.queue.grant(self.worker_fn, "sqs:ChangeMessageVisibility")
        self.api.grant_mutation(self.worker_fn, WORKER_MUTATION)

    def _wire_dead_letter_consumer(self) -> None:
        self.dlq_fn.add_event_source(
            event_sources.SqsEventSource(
                self.dead_letter_queue,
                batch_size=DLQ_CONSUMER_BATCH_SIZE,
                report_batch_item_failures=True,
                max_concurrency=2,
            )
        )
        self.api.grant_mutation(self.dlq_fn, WORKER_MUTATION)

    def _wire_reaper(self) -> None:
        self.reaper_fn.add_to_role_policy(
            iam.PolicyStatement(sid="StuckIndexQuery", actions=["dynamodb:Query"], resources=[self.stuck_index_arn])
        )
        # The adapter re-reads every index hit with a consistent GetItem before judging it.
        self.reaper_fn.add_to_role_policy(
            iam.PolicyStatement(sid="JobRead", actions=["dynamodb:GetItem"], resources=[self.table.table_arn])
        )
        self.queue.grant_send_messages(self.reaper_fn)
        self.api.grant_mutation(self.reaper_fn, WORKER_MUTATION)
        events.Rule(
            self,
            "ReaperSchedule",
            description="Runs the reaper",
            schedule=events.Schedule.rate(Duration.minutes(self.config.reaper_rate_minutes)),
            # The next tick is the retry; a retried stale tick would only duplicate work.
            targets=[targets.LambdaFunction(self.reaper_fn, retry_attempts=0)],
        )

    # --- operations --------------------------------------------------------------------------
    def _alarm_topic(self) -> sns.Topic:
        topic = sns.Topic(self, "AlarmTopic", display_name=f"{self.config.stack_name} alarms", enforce_ssl=True)
        if self.config.alarm_email:
            topic.add_subscription(subscriptions.EmailSubscription(self.config.alarm_email))
        return topic

    def _alarms(self) -> dict[str, cloudwatch.Alarm]:
        cfg = self.config
        one_minute = Duration.minutes(1)
        five_minutes = Duration.minutes(5)
        alarms = {
            "DeadLetterQueueNotEmpty": (
                self.dead_letter_queue.metric_approximate_number_of_messages_visible(period=one_minute, statistic="Maximum"),
                0,
                cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                "Messages wait in the DLQ: jobs failed max_receive_count times and the DLQ consumer has not marked them FAILED",
            ),
            "JobQueueOldestMessageAge": (
                self.queue.metric_approximate_age_of_oldest_message(period=one_minute, statistic="Maximum"),
                cfg.queue_age_alarm_seconds,
                cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                "Jobs wait too long in the queue: workers are failing, throttled or at max concurrency",
            ),
            "WorkerErrors": (
                self.worker_fn.metric_errors(period=five_minutes, statistic="Sum"),
                1,
                cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                "Worker invocations failed as a whole (crash or timeout, not a reported job failure)",
            ),
            "WorkerThrottles": (
                self.worker_fn.metric_throttles(period=five_minutes, statistic="Sum"),
                1,
                cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                "Worker invocations were throttled (account concurrency exhausted)",
            ),
            "ResolversErrors": (
                self.resolvers_fn.metric_errors(period=five_minutes, statistic="Sum"),
                1,
                cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                "The resolvers Lambda raised (clients saw Lambda:Unhandled)",
            ),
            "DeadLetterConsumerErrors": (
                self.dlq_fn.metric_errors(period=five_minutes, statistic="Sum"),
                1,
                cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                "The DLQ consumer failed; dead-lettered jobs stay un-FAILED until it recovers",
            ),
            "ReaperErrors": (
                self.reaper_fn.metric_errors(period=five_minutes, statistic="Sum"),
                1,
                cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                "The reaper failed; stuck jobs are not being recovered",
            ),
            "Api5xxErrors": (
                cloudwatch.Metric(
                    namespace="AWS/AppSync",
                    metric_name="5XXError",
                    dimensions_map={"GraphQLAPIId": self.api.api_id},
                    period=five_minutes,
                    statistic="Sum",
                ),
                1,
                cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                "AppSync answered with 5xx (service-side errors)",
            ),
        }
        created: dict[str, cloudwatch.Alarm] = {}
        for name, (metric, threshold, comparison, description) in alarms.items():
            alarm = metric.create_alarm(
                self,
                f"{name}Alarm",
                alarm_description=description,
                threshold=threshold,
                comparison_operator=comparison,
                evaluation_periods=1,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            if self.alarm_topic is not None:
                alarm.add_alarm_action(cw_actions.SnsAction(self.alarm_topic))
            created[name] = alarm
        return created

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
        )
        CfnOutput(
            self,
            keys.AMPLIFY_OUTPUTS,
            value=self.to_json_string(amplify),
            description="Amplify JS v6 amplify_outputs.json (save as-is and pass to Amplify.configure)",
        )


# CloudWatch Logs' retention periods in days, in the order aws_logs.RetentionDays lists them
# (jsii enums carry names, not day counts).
_RETENTION_BY_DAYS: Final = dict(
    zip(
        (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653),
        (r for r in logs.RetentionDays if r is not logs.RetentionDays.INFINITE),
        strict=True,
    )
)


def retention_days(days: int) -> logs.RetentionDays:
    return _RETENTION_BY_DAYS[days]


def _cfn(construct: IConstruct) -> CfnElement:
    child = construct.node.default_child
    assert isinstance(child, CfnElement)
    return child


def _acknowledge(construct: IConstruct, rule_id: str, reason: str) -> None:
    """Accept one cdk-nag finding on ``construct`` (and its children), with the reason on record."""
    Validations.of(construct).acknowledge(Acknowledgment(id=rule_id, reason=reason))
