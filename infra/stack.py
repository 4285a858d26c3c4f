"""The jobs stack: AppSync API + DynamoDB job table + SQS queue/DLQ + four Lambdas + alarms.

The stack takes everything that varies as explicit props (config, code asset, schema and resolver
paths), so tests can build it without bundling, and it imports nothing from the runtime packages
except ``jobcore.table_schema`` (stdlib-only constants shared with the DynamoDB adapter).

Least privilege, as the issue asks:

* resolvers Lambda - item read/write on the table and its ``stuck`` index, Query on the two listing
  indexes and BatchGetItem on the table (listJobs), read of the pagination secret, SendMessage on the queue;
* worker - ``appsync:GraphQL`` on ``Mutation.updateJob`` only (it reports every change through the
  API so subscribers hear it), ChangeMessageVisibility on the queue for heartbeats;
* DLQ consumer - consumes the DLQ, ``updateJob`` only, SendMessage on the dead-letter archive only;
* reaper - Query on the ``stuck`` index (+ GetItem on the table: the adapter re-reads each hit
  consistently), SendMessage on the queue, ``updateJob`` only.

Operations (issue 12): alarms on what actually happens (messages dead-lettered, failed records,
4XX/5XX, queue depth and age, worker duration near its timeout, DynamoDB throttles) with an SNS
topic CloudWatch may publish to, one CloudWatch dashboard, a WAFv2 rate limit in prod, and a
redrivable archive of every dead-lettered message.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from aws_cdk import (
    Acknowledgment,
    ArnFormat,
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
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_ecs_patterns as ecs_patterns
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct, IConstruct

from infra import outputs as keys
from infra.assets import (
    LAMBDA_ARCHITECTURE,
    LAMBDA_RUNTIME,
    PYTHON_VERSION,
    RESOLVER_JS_PATH,
    SCHEMA_PATH,
    long_worker_image,
)
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
    ("Mutation", "createUpload"),
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
#: One reaper at a time: a slow tick must not overlap the next one (they would race on the same
#: stuck jobs); a tick that cannot start within EventBridge's/Lambda's 60 s minimum is dropped, the
#: next tick does its work.
REAPER_RESERVED_CONCURRENCY: Final = 1
REAPER_MAX_EVENT_AGE_SECONDS: Final = 60

#: The dead-letter archive keeps a copy of every dead-lettered message for forensics and redrive
#: (``aws sqs start-message-move-task``, which only accepts a queue that is some queue's DLQ, so
#: the archive is also the DLQ's own dead-letter target: a message the DLQ consumer fails this many
#: times - about an hour at its 6-minute visibility timeout - is archived instead of expiring).
ARCHIVE_RETENTION_DAYS: Final = 14
DLQ_TO_ARCHIVE_MAX_RECEIVE_COUNT: Final = 10

# --- the custom-metrics contract with the runtime (powertools Metrics, EMF) -------------------
#: Every custom metric is in this namespace with exactly one dimension, service=METRICS_SERVICE
#: (QueueWaitMs and RunDurationMs are also emitted with an extra taskType dimension, unused here).
METRICS_NAMESPACE: Final = "AppSyncJobs"
METRICS_SERVICE: Final = "appsync-jobs"
JOB_COUNT_METRICS: Final = ("JobsSubmitted", "JobsSucceeded", "JobsFailed", "JobsCancelled", "JobsRetried", "JobsDeadLettered")
FAILED_RECORDS_METRIC: Final = "FailedRecords"
JOB_TIME_METRICS: Final = ("QueueWaitMs", "RunDurationMs")

#: The worker-duration alarm fires when a run reaches this fraction of the worker's timeout: the
#: next slower run is killed mid-job and retried.
WORKER_DURATION_ALARM_FRACTION: Final = 0.8
#: The DynamoDB operations the adapter makes; ThrottledRequests counts a request once if any part
#: of it (the table or an index, e.g. the ``stuck`` GSI's hot key) was throttled.
DYNAMODB_OPERATIONS: Final = ("GetItem", "BatchGetItem", "PutItem", "UpdateItem", "Query", "TransactWriteItems")
WAF_RULE_NAME: Final = "PerIpRateLimit"

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
VERBOSE_LOGS_REASON: Final = (
    "Request-level logging is on (field logs to CloudWatch with our own role); ExcludeVerboseContent is "
    "true on purpose, because verbose content would write every request's headers (Authorization, "
    "x-api-key) and resolved job payloads to the logs."
)
COGNITO_MFA_REASON: Final = (
    "The optional user pool offers TOTP MFA but does not force it; requiring MFA is the application "
    "owner's decision and would lock out scripted test users."
)
ARTIFACT_KEYS_REASON: Final = (
    "Artifacts live under jobs/<job id>/ and uploads under uploads/<owner>/<id>: the keys are created at "
    "run time, so each grant is scoped to its key prefix (one action per statement, never the whole bucket)."
)
BUCKET_ACCESS_LOGS_REASON: Final = (
    "Objects are only reached through short-lived presigned URLs minted by the resolvers for a caller "
    "the API authorised (logged by AppSync and the resolvers); S3 server access logs would add a second "
    "bucket and per-request log objects without identifying anyone the API has not already logged."
)
ECS_ENV_REASON: Final = (
    "The long worker's environment holds only resource names and URLs (queue URL, API URL, bucket name, "
    "timeouts) - no secrets; its credentials come from the task role."
)
ECS_EXECUTION_ROLE_REASON: Final = (
    "The task execution role needs ecr:GetAuthorizationToken, which supports no resource-level "
    "permissions (Resource '*'); the image pull and log writes are scoped to the repository and log group."
)
TASK_PROTECTION_REASON: Final = (
    "Scale-in protection (ecs:UpdateTaskProtection) for the worker's own tasks: task ARNs are created "
    "at run time, so the statement is scoped to this cluster's tasks (task/<cluster>/*)."
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


@dataclass(frozen=True)
class _AlarmSpec:
    """One alarm: its metric, when it fires (``evaluation_periods`` breaching periods in a row), and why."""

    metric: cloudwatch.IMetric
    threshold: float
    comparison: cloudwatch.ComparisonOperator
    description: str
    evaluation_periods: int = 1


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
        self.dead_letter_archive = self._dead_letter_archive()
        self.pagination_secret = self._pagination_secret()
        self.dead_letter_queue, self.queue = self._queues()
        self.long_queue = self._long_queue()
        self.artifact_bucket = self._artifact_bucket()
        self.user_pool: cognito.UserPool | None = None
        self.user_pool_client: cognito.UserPoolClient | None = None
        if config.enable_cognito:
            self.user_pool, self.user_pool_client = self._user_pool()
        self.api = self._api(schema_path)
        self.web_acl = self._web_acl() if config.waf_enabled else None

        env = self._environment()
        self.resolvers_fn = self._function(
            "ResolversFunction",
            handler=RESOLVERS_HANDLER,
            description="AppSync resolvers for every root field of the API (schema.graphql)",
            timeout_seconds=RESOLVERS_TIMEOUT_SECONDS,
            memory_mb=RESOLVERS_MEMORY_MB,
            environment={**env, PAGINATION_SECRET_ENV: self.pagination_secret.secret_arn},
        )
        self.worker_fn = self._function(
            "WorkerFunction",
            handler=WORKER_HANDLER,
            description="Runs queued jobs; reports through the updateJob mutation",
            timeout_seconds=config.worker_timeout_seconds,
            memory_mb=config.worker_memory_mb,
            environment=dict(env),
        )
        self.dlq_fn = self._function(
            "DeadLetterFunction",
            handler=DLQ_HANDLER,
            description="Marks dead-lettered jobs FAILED through the updateJob mutation",
            timeout_seconds=DLQ_CONSUMER_TIMEOUT_SECONDS,
            memory_mb=SMALL_FUNCTION_MEMORY_MB,
            environment={**env, "JOBS_DLQ_ARCHIVE_URL": self.dead_letter_archive.queue_url},
        )
        self.reaper_fn = self._function(
            "ReaperFunction",
            handler=REAPER_HANDLER,
            description="Every minute: re-enqueues stale PENDING jobs, fails RUNNING jobs past their deadline",
            timeout_seconds=REAPER_TIMEOUT_SECONDS,
            memory_mb=SMALL_FUNCTION_MEMORY_MB,
            environment=dict(env),
            reserved_concurrency=REAPER_RESERVED_CONCURRENCY,
        )
        self._trust_reporter_roles()

        self._resolvers(resolver_code_path)
        self._wire_resolvers_fn()
        self._wire_worker()
        self._wire_dead_letter_consumer()
        self._wire_reaper()
        self._wire_artifacts()
        self.long_worker = self._long_worker(env)
        self.alarm_topic = self._alarm_topic() if config.alarm_topic else None
        self.alarms = self._alarms()
        self.dashboard = self._dashboard()
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

    def _dead_letter_archive(self) -> sqs.Queue:
        """Where the DLQ consumer copies each dead-lettered message before failing its job.

        The consumer must delete what it handled (or the DLQ would redeliver it forever), so the
        copy is what survives for forensics and for ``start-message-move-task`` back to the job
        queue (docs/deploy.md). Nothing consumes it; messages expire after 14 days.
        """
        return sqs.Queue(
            self,
            "DeadLetterArchiveQueue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(ARCHIVE_RETENTION_DAYS),
            removal_policy=self._removal,
        )

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
            # Makes the archive "a DLQ" (start-message-move-task redrives only from DLQs) and keeps
            # a message the consumer keeps failing instead of letting it expire.
            dead_letter_queue=sqs.DeadLetterQueue(queue=self.dead_letter_archive, max_receive_count=DLQ_TO_ARCHIVE_MAX_RECEIVE_COUNT),
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
        callbacks = list(self.config.callback_urls)
        # CDK's default client enables OAuth with the implicit grant (tokens in the URL fragment,
        # no PKCE) and an https://example.com callback; only configured URLs get OAuth, and then
        # the authorization-code grant (PKCE, as Amplify's signInWithRedirect uses) only.
        oauth = (
            cognito.OAuthSettings(
                flows=cognito.OAuthFlows(authorization_code_grant=True, implicit_code_grant=False),
                scopes=[cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL, cognito.OAuthScope.PROFILE],
                callback_urls=callbacks,
                logout_urls=callbacks,
            )
            if callbacks
            else None
        )
        client = pool.add_client(
            "WebClient",
            auth_flows=cognito.AuthFlow(user_srp=True),
            generate_secret=False,
            prevent_user_existence_errors=True,
            disable_o_auth=not callbacks,
            o_auth=oauth,
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
            # Verbose content is the request headers (Authorization, x-api-key) and the resolved
            # context of every logged field: credentials and job payloads in the logs.
            exclude_verbose_content=True,
        )
        _acknowledge(api, "AwsSolutions-ASC3", VERBOSE_LOGS_REASON)
        if cfg.api_key_generation:
            # Rotation: a new logical id is a new key resource, created before the old one is deleted.
            key = api.node.find_child("DefaultApiKey")
            assert isinstance(key, appsync.CfnApiKey)
            key.override_logical_id(f"ApiKeyGeneration{cfg.api_key_generation}")
        log_group = logs.LogGroup(
            self,
            "ApiLogGroup",
            log_group_name=f"/aws/appsync/apis/{api.api_id}",
            retention=self._log_retention,
            removal_policy=self._removal,
        )
        log_group.grant(logs_role, "logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents")
        return api

    def _web_acl(self) -> wafv2.CfnWebACL:
        """A regional WAFv2 web ACL on the API: block a client IP past ``waf_rate_limit`` per 5 min.

        An API key is a public credential (it ships in the frontend), so without a rate limit
        anyone holding it can submit work we pay for as fast as they can send it.
        """
        cfg = self.config
        name = f"{cfg.stack_name}-api"

        def visibility(metric: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
            return wafv2.CfnWebACL.VisibilityConfigProperty(
                cloud_watch_metrics_enabled=True, metric_name=metric, sampled_requests_enabled=True
            )

        acl = wafv2.CfnWebACL(
            self,
            "ApiWebAcl",
            name=name,
            scope="REGIONAL",
            description=f"Per-IP rate limit in front of {cfg.stack_name}",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=visibility(name),
            rules=[
                wafv2.CfnWebACL.RuleProperty(
                    name=WAF_RULE_NAME,
                    priority=0,
                    action=wafv2.CfnWebACL.RuleActionProperty(block={}),
                    statement=wafv2.CfnWebACL.StatementProperty(
                        rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                            limit=cfg.waf_rate_limit, aggregate_key_type="IP", evaluation_window_sec=300
                        )
                    ),
                    visibility_config=visibility(WAF_RULE_NAME),
                )
            ],
        )
        wafv2.CfnWebACLAssociation(self, "ApiWebAclAssociation", resource_arn=self.api.arn, web_acl_arn=acl.attr_arn)
        return acl

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
            # powertools Logger/Metrics/Tracer defaults; the alarms and the dashboard read the
            # custom metrics under exactly this namespace and service dimension.
            "POWERTOOLS_SERVICE_NAME": METRICS_SERVICE,
            "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
            # Routing and the registry check need the worker Lambda's timeout (every function gets it).
            "JOBS_LAMBDA_TIMEOUT_SECONDS": str(cfg.worker_timeout_seconds),
            "JOBS_HANDBACK_MARGIN_SECONDS": str(cfg.handback_margin_seconds),
            "JOBS_LONG_QUEUE_URL": self.long_queue.queue_url,
            "JOBS_ARTIFACT_BUCKET": self.artifact_bucket.bucket_name,
            "JOBS_ARTIFACT_URL_SECONDS": str(cfg.artifact_url_seconds),
        }

    def _trust_reporter_roles(self) -> None:
        """Tell the resolvers which IAM callers are this stack's own reporters (JOBS_TRUSTED_REPORTER_ROLES).

        Only the worker, DLQ consumer and reaper roles may act as the trusted reporter; any other
        IAM principal with appsync:GraphQL gets an ordinary caller's visibility. The resolvers
        compare the role name of the caller's assumed-role ARN against these names. Role names
        (Refs) carry no dependency on the API or the resolvers, so this adds no cycle.
        """
        roles = [fn.role for fn in (self.worker_fn, self.dlq_fn, self.reaper_fn)]
        names = [role.role_name for role in roles if role is not None]
        assert len(names) == 3
        self.resolvers_fn.add_environment("JOBS_TRUSTED_REPORTER_ROLES", ",".join(names))

    def _function(
        self,
        construct_id: str,
        *,
        handler: str,
        description: str,
        timeout_seconds: int,
        memory_mb: int,
        environment: dict[str, str],
        reserved_concurrency: int | None = None,
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
            reserved_concurrent_executions=reserved_concurrency,
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
        # The consumer copies each message to the archive before failing its job; nobody else may.
        self.dead_letter_archive.grant_send_messages(self.dlq_fn)

    def _wire_reaper(self) -> None:
        self.reaper_fn.add_to_role_policy(
            iam.PolicyStatement(sid="StuckIndexQuery", actions=["dynamodb:Query"], resources=[self.stuck_index_arn])
        )
        # The adapter re-reads every index hit with a consistent GetItem before judging it.
        self.reaper_fn.add_to_role_policy(
            iam.PolicyStatement(sid="JobRead", actions=["dynamodb:GetItem"], resources=[self.table.table_arn])
        )
        # Re-enqueueing a stale PENDING job moves its index sort key to now (a conditional UpdateItem
        # of the index attributes only), so a backlog is not re-enqueued on every tick.
        self.reaper_fn.add_to_role_policy(
            iam.PolicyStatement(sid="RequeueMarker", actions=["dynamodb:UpdateItem"], resources=[self.table.table_arn])
        )
        self.queue.grant_send_messages(self.reaper_fn)
        self.api.grant_mutation(self.reaper_fn, WORKER_MUTATION)
        # No retries of a failed or throttled tick (Lambda's async queue would otherwise retry it
        # twice and keep throttled ticks for up to 6 h behind the reserved concurrency of 1).
        self.reaper_fn.configure_async_invoke(retry_attempts=0, max_event_age=Duration.seconds(REAPER_MAX_EVENT_AGE_SECONDS))
        events.Rule(
            self,
            "ReaperSchedule",
            description="Runs the reaper",
            schedule=events.Schedule.rate(Duration.minutes(self.config.reaper_rate_minutes)),
            # The next tick is the retry; a retried stale tick would only duplicate work.
            targets=[
                targets.LambdaFunction(
                    self.reaper_fn, retry_attempts=0, max_event_age=Duration.seconds(REAPER_MAX_EVENT_AGE_SECONDS)
                )
            ],
        )

    # --- long tasks and artifacts (issue 11) ---------------------------------------------------
    def _long_queue(self) -> sqs.Queue:
        """Tasks whose time limit does not fit the worker Lambda go here; the Fargate service consumes it.
        It redrives to the same DLQ, so the dead-letter consumer fails long jobs like any other."""
        cfg = self.config
        return sqs.Queue(
            self,
            "LongJobQueue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(cfg.queue_retention_days),
            # The runner ties each message to its lease right after receiving it; this only bounds
            # how long a message hides if a container dies between receive and claim.
            visibility_timeout=Duration.seconds(cfg.queue_visibility_timeout_seconds),
            dead_letter_queue=sqs.DeadLetterQueue(queue=self.dead_letter_queue, max_receive_count=cfg.max_receive_count),
            removal_policy=self._removal,
        )

    def _artifact_bucket(self) -> s3.Bucket:
        """Artifacts, large results and client uploads: private, encrypted, TLS-only, expiring with the jobs."""
        cfg = self.config
        bucket = s3.Bucket(
            self,
            "ArtifactBucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[
                # A job record lives job_retention_days after it finished (DynamoDB TTL); its files
                # as long from their upload, so a URL never outlives the job that lists it by much.
                s3.LifecycleRule(id="ExpireWithJobs", prefix="jobs/", expiration=Duration.days(cfg.job_retention_days)),
                s3.LifecycleRule(id="ExpireUploads", prefix="uploads/", expiration=Duration.days(cfg.job_retention_days)),
                s3.LifecycleRule(id="AbortIncompleteUploads", abort_incomplete_multipart_upload_after=Duration.days(1)),
            ],
            # Browsers (the web console) GET artifacts and PUT uploads with presigned URLs.
            cors=[s3.CorsRule(
                allowed_methods=[s3.HttpMethods.GET, s3.HttpMethods.PUT, s3.HttpMethods.HEAD],
                allowed_origins=["*"],
                allowed_headers=["content-type"],
                exposed_headers=["etag"],
                max_age=3000,
            )],
            removal_policy=self._removal,
        )
        _acknowledge(bucket, "AwsSolutions-S1", BUCKET_ACCESS_LOGS_REASON)
        return bucket

    def _object_grant(self, grantee: iam.IGrantable, sid: str, action: str, prefix: str) -> None:
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(sid=sid, actions=[action], resources=[self.artifact_bucket.arn_for_objects(f"{prefix}/*")])
        )

    def _wire_artifacts(self) -> None:
        """Presigning signs with the signer's own permissions, so the resolvers may GetObject on jobs/*
        (download links) and PutObject on uploads/* (createUpload), plus GetObject on uploads/* for the
        existence check at submit; the worker writes jobs/* and reads uploads/*. Nobody may delete."""
        self._object_grant(self.resolvers_fn, "PresignArtifactDownloads", "s3:GetObject", "jobs")
        self._object_grant(self.resolvers_fn, "PresignUploads", "s3:PutObject", "uploads")
        self._object_grant(self.resolvers_fn, "CheckUploads", "s3:GetObject", "uploads")
        self._object_grant(self.worker_fn, "WriteArtifacts", "s3:PutObject", "jobs")
        self._object_grant(self.worker_fn, "ReadUploads", "s3:GetObject", "uploads")
        for role_owner in (self.resolvers_fn, self.worker_fn):
            assert role_owner.role is not None
            _acknowledge(role_owner.role, f"AwsSolutions-IAM5[Resource::<{self._bucket_id()}.Arn>/jobs/*]", ARTIFACT_KEYS_REASON)
            _acknowledge(role_owner.role, f"AwsSolutions-IAM5[Resource::<{self._bucket_id()}.Arn>/uploads/*]", ARTIFACT_KEYS_REASON)
        # Submit routes long tasks to the long queue; the reaper re-enqueues stale PENDING jobs there too.
        self.long_queue.grant_send_messages(self.resolvers_fn)
        self.long_queue.grant_send_messages(self.reaper_fn)

    def _bucket_id(self) -> str:
        return self.get_logical_id(_cfn(self.artifact_bucket))

    def _long_worker(self, env: dict[str, str]) -> ecs_patterns.QueueProcessingFargateService:
        """The long-task worker: ``python -m worker.long_worker`` on Fargate, scaling 0..N on the long queue.

        Its task role gets what the Lambda worker gets - ``updateJob`` only on the API, the long
        queue's consume actions, jobs/* writes and uploads/* reads - plus scale-in protection for its
        own tasks, so scaling in on an emptied queue never stops a container mid-job.
        """
        cfg = self.config
        # Public subnets without NAT on purpose: the worker only makes outbound HTTPS calls (AppSync,
        # SQS, S3, ECR, CloudWatch), its security group allows no inbound traffic, and a NAT gateway
        # would cost ~$32/month per AZ before a single job runs. Pass your own VPC by editing here.
        vpc = ec2.Vpc(
            self,
            "LongWorkerVpc",
            max_azs=2,
            nat_gateways=0,
            subnet_configuration=[ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24)],
        )
        vpc.add_flow_log("FlowLog", destination=ec2.FlowLogDestination.to_cloud_watch_logs(
            logs.LogGroup(self, "LongWorkerVpcFlowLogs", retention=self._log_retention, removal_policy=self._removal)
        ))
        cluster = ecs.Cluster(self, "LongWorkerCluster", vpc=vpc, container_insights_v2=ecs.ContainerInsights.ENABLED)
        log_group = logs.LogGroup(self, "LongWorkerLogs", retention=self._log_retention, removal_policy=self._removal)
        service = ecs_patterns.QueueProcessingFargateService(
            self,
            "LongWorker",
            cluster=cluster,
            queue=self.long_queue,
            image=long_worker_image(),
            command=["python", "-m", "worker.long_worker"],
            environment={**env, "POWERTOOLS_SERVICE_NAME": f"{cfg.prefix}-long-worker", "JOBS_LONG_CONCURRENCY": "1"},
            cpu=cfg.long_worker_cpu,
            memory_limit_mib=cfg.long_worker_memory_mb,
            runtime_platform=ecs.RuntimePlatform(
                cpu_architecture=ecs.CpuArchitecture.ARM64, operating_system_family=ecs.OperatingSystemFamily.LINUX
            ),
            min_scaling_capacity=0,
            max_scaling_capacity=cfg.long_worker_max_tasks,
            # On visible messages: none waiting -> one fewer task (busy tasks are scale-in protected),
            # any waiting -> one more, a backlog of 5 -> three more.
            scaling_steps=[
                {"upper": 0, "change": -1},
                {"lower": 1, "change": +1},
                {"lower": 5, "change": +3},
            ],
            disable_cpu_based_scaling=True,
            assign_public_ip=True,
            task_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC),
            log_driver=ecs.LogDrivers.aws_logs(stream_prefix="long-worker", log_group=log_group),
            min_healthy_percent=0,
        )
        task_role = service.task_definition.task_role
        self.api.grant_mutation(task_role, WORKER_MUTATION)
        self._object_grant(task_role, "WriteArtifacts", "s3:PutObject", "jobs")
        self._object_grant(task_role, "ReadUploads", "s3:GetObject", "uploads")
        task_role.add_to_principal_policy(iam.PolicyStatement(
            sid="ScaleInProtection",
            actions=["ecs:UpdateTaskProtection"],
            resources=[self.format_arn(service="ecs", resource="task", resource_name=f"{cluster.cluster_name}/*")],
        ))
        _acknowledge(service.task_definition, "AwsSolutions-ECS2", ECS_ENV_REASON)
        _acknowledge(task_role, f"AwsSolutions-IAM5[Resource::<{self._bucket_id()}.Arn>/jobs/*]", ARTIFACT_KEYS_REASON)
        _acknowledge(task_role, f"AwsSolutions-IAM5[Resource::<{self._bucket_id()}.Arn>/uploads/*]", ARTIFACT_KEYS_REASON)
        cluster_id = self.get_logical_id(_cfn(cluster))
        protection_resource = f"arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:task/<{cluster_id}>/*"
        _acknowledge(task_role, f"AwsSolutions-IAM5[Resource::{protection_resource}]", TASK_PROTECTION_REASON)
        if service.task_definition.execution_role is not None:
            _acknowledge(service.task_definition.execution_role, "AwsSolutions-IAM5[Resource::*]", ECS_EXECUTION_ROLE_REASON)
        return service

    # --- operations --------------------------------------------------------------------------
    def _alarm_topic(self) -> sns.Topic:
        topic = sns.Topic(self, "AlarmTopic", display_name=f"{self.config.stack_name} alarms", enforce_ssl=True)
        # enforce_ssl gives the topic a policy with only a Deny in it, which replaces SNS's default
        # policy: without this Allow, CloudWatch cannot publish and every alarm reaches no one.
        # Scoped to this stack's alarms (their names start with the stack name) in this account.
        topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsPublish",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[topic.topic_arn],
                conditions={
                    "ArnLike": {"aws:SourceArn": self.alarm_arn_pattern},
                    "StringEquals": {"aws:SourceAccount": self.account},
                },
            )
        )
        if self.config.alarm_email:
            topic.add_subscription(subscriptions.EmailSubscription(self.config.alarm_email))
        return topic

    @property
    def alarm_arn_pattern(self) -> str:
        """``arn:<partition>:cloudwatch:<region>:<account>:alarm:<stack name>-*`` - every alarm of this stack."""
        return self.format_arn(
            service="cloudwatch",
            resource="alarm",
            resource_name=f"{self.config.stack_name}-*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )

    def custom_metric(self, name: str, *, statistic: str, period: Duration | None = None) -> cloudwatch.Metric:
        """One of the runtime's EMF metrics (namespace ``AppSyncJobs``, dimension ``service``)."""
        return cloudwatch.Metric(
            namespace=METRICS_NAMESPACE,
            metric_name=name,
            dimensions_map={"service": METRICS_SERVICE},
            statistic=statistic,
            period=period or Duration.minutes(5),
        )

    def _appsync_metric(self, name: str, *, statistic: str, period: Duration | None = None) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace="AWS/AppSync",
            metric_name=name,
            dimensions_map={"GraphQLAPIId": self.api.api_id},
            statistic=statistic,
            period=period or Duration.minutes(5),
        )

    def _dynamodb_throttles(self) -> cloudwatch.MathExpression:
        """ThrottledRequests summed over every operation the adapter makes (table and index throttles)."""
        metrics = {
            operation.lower(): cloudwatch.Metric(
                namespace="AWS/DynamoDB",
                metric_name="ThrottledRequests",
                dimensions_map={"TableName": self.table.table_name, "Operation": operation},
                statistic="Sum",
                period=Duration.minutes(5),
            )
            for operation in DYNAMODB_OPERATIONS
        }
        return cloudwatch.MathExpression(
            expression=f"SUM([{', '.join(metrics)}])",
            using_metrics=dict(metrics),
            label="DynamoDB throttled requests",
            period=Duration.minutes(5),
        )

    def _alarms(self) -> dict[str, cloudwatch.Alarm]:
        """Alarms on what happens, each with why its threshold is what it is (README "Operations").

        Lambda ``Errors`` alone misses most failures here: the worker and the DLQ consumer report
        per-record failures instead of raising, and the DLQ consumer drains the DLQ in seconds,
        so the alarms watch the records, the queues and the API's answers instead.
        """
        cfg = self.config
        one_minute = Duration.minutes(1)
        five_minutes = Duration.minutes(5)
        at_least = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
        above = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
        worker_timeout_ms = cfg.worker_timeout_seconds * 1000
        alarms: dict[str, _AlarmSpec] = {
            "DeadLetterQueueReceived": _AlarmSpec(
                self.dead_letter_queue.metric_number_of_messages_received(period=five_minutes, statistic="Sum"),
                1,
                at_least,
                "Jobs were dead-lettered: a job's message failed max_receive_count deliveries (the DLQ consumer "
                "marks them FAILED within seconds, so DLQ depth alone would never show it)",
            ),
            "DeadLetterQueueNotDrained": _AlarmSpec(
                self.dead_letter_queue.metric_approximate_number_of_messages_visible(period=five_minutes, statistic="Maximum"),
                0,
                above,
                "The DLQ has not been drained for 15 minutes: the DLQ consumer is failing, so dead-lettered jobs stay un-FAILED",
                evaluation_periods=3,
            ),
            "JobQueueDepth": _AlarmSpec(
                self.queue.metric_approximate_number_of_messages_visible(period=five_minutes, statistic="Maximum"),
                cfg.queue_depth_alarm_messages,
                at_least,
                "A backlog: this many jobs have waited (not in flight) for 15 minutes; workers are at max concurrency or failing",
                evaluation_periods=3,
            ),
            "JobQueueOldestMessageAge": _AlarmSpec(
                self.queue.metric_approximate_age_of_oldest_message(period=one_minute, statistic="Maximum"),
                cfg.queue_age_alarm_seconds,
                at_least,
                "Jobs wait too long in the queue: workers are failing, throttled or at max concurrency",
            ),
            "FailedRecords": _AlarmSpec(
                self.custom_metric(FAILED_RECORDS_METRIC, statistic="Sum"),
                1,
                at_least,
                "Worker/DLQ-consumer records failed and will be redelivered (e.g. 401/403 from AppSync on updateJob); "
                "these are reported per record, so Lambda Errors never counts them",
            ),
            "WorkerErrors": _AlarmSpec(
                self.worker_fn.metric_errors(period=five_minutes, statistic="Sum"),
                1,
                at_least,
                "Worker invocations failed as a whole (crash or timeout, not a reported job failure)",
            ),
            "WorkerThrottles": _AlarmSpec(
                self.worker_fn.metric_throttles(period=five_minutes, statistic="Sum"),
                1,
                at_least,
                "Worker invocations were throttled (account concurrency exhausted)",
            ),
            "WorkerDurationNearTimeout": _AlarmSpec(
                self.worker_fn.metric_duration(period=five_minutes, statistic="Maximum"),
                int(worker_timeout_ms * WORKER_DURATION_ALARM_FRACTION),
                at_least,
                f"A worker run took {int(WORKER_DURATION_ALARM_FRACTION * 100)} % of the worker timeout: a slightly slower "
                "job is killed mid-run and retried",
            ),
            "ResolversErrors": _AlarmSpec(
                self.resolvers_fn.metric_errors(period=five_minutes, statistic="Sum"),
                1,
                at_least,
                "The resolvers Lambda raised (clients saw Lambda:Unhandled)",
            ),
            "DeadLetterConsumerErrors": _AlarmSpec(
                self.dlq_fn.metric_errors(period=five_minutes, statistic="Sum"),
                1,
                at_least,
                "The DLQ consumer failed; dead-lettered jobs stay un-FAILED until it recovers",
            ),
            "ReaperErrors": _AlarmSpec(
                self.reaper_fn.metric_errors(period=five_minutes, statistic="Sum"),
                1,
                at_least,
                "The reaper failed; stuck jobs are not being recovered",
            ),
            "Api5xxErrors": _AlarmSpec(
                self._appsync_metric("5XXError", statistic="Sum"),
                1,
                at_least,
                "AppSync answered with 5xx (service-side errors)",
            ),
            "Api4xxErrors": _AlarmSpec(
                self._appsync_metric("4XXError", statistic="Sum"),
                cfg.api_4xx_alarm_threshold,
                at_least,
                "AppSync refused many requests for 15 minutes (expired/rotated API key, a role that lost appsync:GraphQL); "
                "a sustained count, because single clients with bad input or keys also produce 4XX",
                evaluation_periods=3,
            ),
            "DynamoDbThrottles": _AlarmSpec(
                self._dynamodb_throttles(),
                1,
                at_least,
                "DynamoDB throttled requests for 10 minutes (a hot partition, e.g. the stuck index's keys, or an account limit)",
                evaluation_periods=2,
            ),
        }
        created: dict[str, cloudwatch.Alarm] = {}
        for name, spec in alarms.items():
            alarm = cloudwatch.Alarm(
                self,
                f"{name}Alarm",
                metric=spec.metric,
                # Named after the stack: the topic policy trusts exactly "<stack name>-*" alarms.
                alarm_name=f"{self.config.stack_name}-{name}",
                alarm_description=spec.description,
                threshold=spec.threshold,
                comparison_operator=spec.comparison,
                evaluation_periods=spec.evaluation_periods,
                datapoints_to_alarm=spec.evaluation_periods,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            if self.alarm_topic is not None:
                alarm.add_alarm_action(cw_actions.SnsAction(self.alarm_topic))
            created[name] = alarm
        return created

    def _dashboard(self) -> cloudwatch.Dashboard:
        """One CloudWatch dashboard with the figures ``appsync-jobs stats`` prints locally, and more."""
        five_minutes = Duration.minutes(5)
        width = 12

        def graph(
            title: str, left: list[cloudwatch.IMetric], right: list[cloudwatch.IMetric] | None = None, **kwargs: Any
        ) -> cloudwatch.GraphWidget:
            return cloudwatch.GraphWidget(title=title, left=left, right=right or [], width=width, height=6, **kwargs)

        def biggest(queue: sqs.Queue, label: str) -> cloudwatch.Metric:
            return queue.metric_approximate_number_of_messages_visible(period=five_minutes, statistic="Maximum", label=label)

        def percentiles(name: str) -> list[cloudwatch.IMetric]:
            return [
                self.custom_metric(name, statistic=stat).with_(label=f"{name} {stat}")
                for stat in ("p50", "p99")
            ]

        worker_timeout_ms = self.config.worker_timeout_seconds * 1000
        widgets: list[cloudwatch.IWidget] = [
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=list(self.alarms.values()), width=24, height=4),
            graph("Jobs", [self.custom_metric(name, statistic="Sum") for name in JOB_COUNT_METRICS]),
            graph(
                "Job queue: depth and age",
                [
                    biggest(self.queue, "visible (waiting)"),
                    self.queue.metric_approximate_number_of_messages_not_visible(
                        period=five_minutes, statistic="Maximum", label="in flight"
                    ),
                ],
                [
                    self.queue.metric_approximate_age_of_oldest_message(
                        period=five_minutes, statistic="Maximum", label="oldest message age (s)"
                    )
                ],
            ),
            graph(
                "Dead letters and failed records",
                [
                    self.dead_letter_queue.metric_number_of_messages_received(
                        period=five_minutes, statistic="Sum", label="DLQ received"
                    ),
                    biggest(self.dead_letter_queue, "DLQ visible"),
                    biggest(self.dead_letter_archive, "archived"),
                    self.custom_metric(FAILED_RECORDS_METRIC, statistic="Sum"),
                ],
            ),
            graph("Queue wait and run duration (ms)", [line for name in JOB_TIME_METRICS for line in percentiles(name)]),
            graph(
                "AppSync API",
                [self._appsync_metric("4XXError", statistic="Sum"), self._appsync_metric("5XXError", statistic="Sum")],
                [self._appsync_metric("Latency", statistic=stat).with_(label=f"latency {stat}") for stat in ("p50", "p99")],
            ),
            graph(
                "Worker",
                [
                    self.worker_fn.metric_errors(period=five_minutes, statistic="Sum"),
                    self.worker_fn.metric_throttles(period=five_minutes, statistic="Sum"),
                ],
                [
                    self.worker_fn.metric_duration(period=five_minutes, statistic=stat).with_(label=f"duration {stat}")
                    for stat in ("p99", "Maximum")
                ],
                right_annotations=[cloudwatch.HorizontalAnnotation(value=worker_timeout_ms, label="worker timeout")],
            ),
            graph(
                "DynamoDB throttles",
                [
                    self._dynamodb_throttles(),
                    *(
                        cloudwatch.Metric(
                            namespace="AWS/DynamoDB",
                            metric_name=metric,
                            dimensions_map=dims,
                            statistic="Sum",
                            period=five_minutes,
                            label=f"{label} {metric}",
                        )
                        for metric in ("ReadThrottleEvents", "WriteThrottleEvents")
                        for label, dims in (
                            ("table", {"TableName": self.table.table_name}),
                            (
                                "stuck index",
                                {"TableName": self.table.table_name, "GlobalSecondaryIndexName": table_schema.STUCK_INDEX},
                            ),
                        )
                    ),
                ],
            ),
        ]
        if self.web_acl is not None:
            widgets.append(
                graph(
                    "WAF",
                    [
                        cloudwatch.Metric(
                            namespace="AWS/WAFV2",
                            metric_name=metric,
                            dimensions_map={"WebACL": str(self.web_acl.name), "Region": self.region, "Rule": rule},
                            statistic="Sum",
                            period=five_minutes,
                            label=f"{metric} ({rule})",
                        )
                        for metric, rule in (("AllowedRequests", "ALL"), ("BlockedRequests", WAF_RULE_NAME))
                    ],
                )
            )
        dashboard = cloudwatch.Dashboard(self, "Dashboard", dashboard_name=self.config.stack_name)
        for index in range(0, len(widgets), 2):
            dashboard.add_widgets(*widgets[index : index + 2])
        return dashboard

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
