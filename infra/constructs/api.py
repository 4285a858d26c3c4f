"""The AppSync GraphQL API: schema, auth modes (API key, IAM, optional Cognito), logs, WAF, the
pagination secret, and the APPSYNC_JS resolvers that put the resolvers Lambda behind every root field."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from aws_cdk import Duration, Expiration, Stack
from aws_cdk import aws_appsync as appsync
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from infra.config import JobsConfig
from infra.constructs import base
from infra.schema import RenderedSchema

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
WAF_RULE_NAME: Final = "PerIpRateLimit"
#: Environment variable naming the secret that signs listJobs' nextToken (jobcore.settings).
PAGINATION_SECRET_ENV: Final = "JOBS_PAGINATION_SECRET_ARN"

INVOKE_VERSIONS_REASON: Final = (
    "The AppSync Lambda data source role may invoke the resolvers function and its versions/aliases "
    "(<arn>:*); the wildcard never reaches another function."
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
COGNITO_PLUS_REASON: Final = (
    "Cognito Plus tier (threat protection) is a paid feature; the optional pool only gates API access "
    "for a frontend and uses the Essentials tier."
)
PAGINATION_SECRET_ROTATION_REASON: Final = (
    "The pagination secret only signs listJobs' nextToken (page positions of the caller's own jobs; "
    "a token reveals nothing and grants nothing beyond the caller's own listing). Rotating it would "
    "only invalidate the page tokens clients hold at that moment; rotate it by hand (a new value) if "
    "it ever leaks - the resolvers pick it up within their 5-minute cache."
)


class JobsGraphqlApi(Construct):
    """``api`` (+ ``user_pool``/``user_pool_client`` when Cognito is on, ``web_acl`` when WAF is) and ``pagination_secret``.

    The resolvers are attached later (``add_resolvers``), once the resolvers Lambda exists: the
    functions read the API's URL, and the API's data source needs the function.
    """

    def __init__(self, scope: Construct, construct_id: str, *, config: JobsConfig, schema_path: Path) -> None:
        super().__init__(scope, construct_id)
        self.config = config
        self._removal = base.removal_policy(config)
        self.pagination_secret = self._pagination_secret()
        self.user_pool: cognito.UserPool | None = None
        self.user_pool_client: cognito.UserPoolClient | None = None
        if config.enable_cognito:
            self.user_pool, self.user_pool_client = self._user_pool()
        self.api = self._api(schema_path)
        self.web_acl = self._web_acl() if config.waf_enabled else None

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
        base.acknowledge(secret, "AwsSolutions-SMG4", PAGINATION_SECRET_ROTATION_REASON)
        return secret

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
        base.acknowledge(pool, "AwsSolutions-COG2", COGNITO_MFA_REASON)
        base.acknowledge(pool, "AwsSolutions-COG8", COGNITO_PLUS_REASON)
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
        base.acknowledge(api, "AwsSolutions-ASC3", VERBOSE_LOGS_REASON)
        if cfg.api_key_generation:
            # Rotation: a new logical id is a new key resource, created before the old one is deleted.
            key = api.node.find_child("DefaultApiKey")
            assert isinstance(key, appsync.CfnApiKey)
            key.override_logical_id(f"ApiKeyGeneration{cfg.api_key_generation}")
        log_group = logs.LogGroup(
            self,
            "ApiLogGroup",
            log_group_name=f"/aws/appsync/apis/{api.api_id}",
            retention=base.log_retention(cfg),
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

    def add_resolvers(self, function: lambda_.IFunction, resolver_code_path: Path) -> None:
        """Put ``function`` behind every root field (ROOT_FIELDS) through one APPSYNC_JS resolver file."""
        data_source = self.api.add_lambda_data_source(
            "ResolversDataSource",
            function,
            description="The resolvers Lambda (powertools AppSyncResolver) behind every root field",
        )
        for child in data_source.node.children:
            if isinstance(child, iam.Role):
                function_id = Stack.of(self).get_logical_id(base.cfn(function))
                base.acknowledge(child, f"AwsSolutions-IAM5[Resource::<{function_id}.Arn>:*]", INVOKE_VERSIONS_REASON)
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
