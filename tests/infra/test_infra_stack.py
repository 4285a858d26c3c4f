"""The synthesized jobs stack, resource by resource (dev defaults and a prod stage with every option on)."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match

from infra import outputs as output_keys
from infra.assets import RESOLVER_JS_PATH, SCHEMA_PATH
from infra.config import DLQ_HANDLER, HANDLERS, REAPER_HANDLER, RESOLVERS_HANDLER, WORKER_HANDLER
from infra.schema import deployed_schema
from infra.stack import ROOT_FIELDS
from jobcore import table_schema

UPDATE_JOB_ARN = re.compile(
    r"^arn:<AWS::Partition>:appsync:<AWS::Region>:<AWS::AccountId>:apis/<Api[0-9A-F]{8}\.ApiId>"
    r"/types/Mutation/fields/updateJob$"
)


def functions(syn: Any) -> dict[str, Any]:
    """handler string -> function construct."""
    stack = syn.stack
    return {
        RESOLVERS_HANDLER: stack.resolvers_fn,
        WORKER_HANDLER: stack.worker_fn,
        DLQ_HANDLER: stack.dlq_fn,
        REAPER_HANDLER: stack.reaper_fn,
    }


def only(mapping: dict[str, Any]) -> Any:
    assert len(mapping) == 1, sorted(mapping)
    return next(iter(mapping.values()))


# --- job table --------------------------------------------------------------------------------
class TestJobTableMatchesTheAdapterSchema:
    def test_key_schema_is_the_partition_key_from_table_schema(self, dev: Any) -> None:
        table = only(dev.resources("AWS::DynamoDB::Table"))["Properties"]
        assert table["KeySchema"] == [{"AttributeName": table_schema.PARTITION_KEY, "KeyType": "HASH"}]

    def test_attribute_definitions_are_strings_for_every_key(self, dev: Any) -> None:
        table = only(dev.resources("AWS::DynamoDB::Table"))["Properties"]
        assert sorted(table["AttributeDefinitions"], key=lambda a: a["AttributeName"]) == sorted(
            [
                {"AttributeName": table_schema.PARTITION_KEY, "AttributeType": "S"},
                {"AttributeName": table_schema.STUCK_INDEX_PARTITION_KEY, "AttributeType": "S"},
                {"AttributeName": table_schema.STUCK_INDEX_SORT_KEY, "AttributeType": "S"},
                {"AttributeName": table_schema.OWNER_INDEX_PARTITION_KEY, "AttributeType": "S"},
                {"AttributeName": table_schema.OWNER_STATUS_INDEX_PARTITION_KEY, "AttributeType": "S"},
                {"AttributeName": table_schema.LISTING_SORT_KEY, "AttributeType": "S"},
            ],
            key=lambda a: a["AttributeName"],
        )

    def test_ttl_uses_the_adapters_expiry_attribute(self, dev: Any) -> None:
        table = only(dev.resources("AWS::DynamoDB::Table"))["Properties"]
        assert table["TimeToLiveSpecification"] == {"AttributeName": table_schema.TTL_ATTRIBUTE, "Enabled": True}

    def test_the_sparse_stuck_index_has_the_adapters_keys(self, dev: Any) -> None:
        table = only(dev.resources("AWS::DynamoDB::Table"))["Properties"]
        assert table["GlobalSecondaryIndexes"][:1] == [
            {
                "IndexName": table_schema.STUCK_INDEX,
                "KeySchema": [
                    {"AttributeName": table_schema.STUCK_INDEX_PARTITION_KEY, "KeyType": "HASH"},
                    {"AttributeName": table_schema.STUCK_INDEX_SORT_KEY, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ]

    def test_the_listing_indexes_have_the_adapters_keys_and_project_only_the_type(self, dev: Any) -> None:
        """listJobs: byOwner for newest-first, byOwnerStatus (owner#status) so a status filter is a
        Query of its own partition; both the same shape the moto tests create (support/aws.py)."""
        from support.aws import LISTING_INDEXES

        table = only(dev.resources("AWS::DynamoDB::Table"))["Properties"]
        assert table["GlobalSecondaryIndexes"][1:] == LISTING_INDEXES
        assert [i["IndexName"] for i in LISTING_INDEXES] == [table_schema.OWNER_INDEX, table_schema.OWNER_STATUS_INDEX]
        assert LISTING_INDEXES[1]["KeySchema"][0]["AttributeName"] == table_schema.OWNER_STATUS_INDEX_PARTITION_KEY

    def test_table_is_on_demand_with_point_in_time_recovery(self, dev: Any) -> None:
        dev.template.has_resource_properties(
            "AWS::DynamoDB::Table",
            {
                "BillingMode": "PAY_PER_REQUEST",
                "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            },
        )

    def test_the_dynamodb_adapter_takes_its_names_from_table_schema(self) -> None:
        # The other half of "adapter and stack agree": the adapter must not hard-code the names.
        adapter = Path(table_schema.__file__).parent / "adapters" / "dynamodb.py"
        source = adapter.read_text()
        assert "table_schema" in source, "the DynamoDB adapter should import jobcore.table_schema"
        for name in (
            table_schema.TTL_ATTRIBUTE,
            table_schema.STUCK_INDEX_PARTITION_KEY,
            table_schema.STUCK_INDEX_SORT_KEY,
            table_schema.OWNER_INDEX,
            table_schema.OWNER_STATUS_INDEX,
            table_schema.OWNER_STATUS_INDEX_PARTITION_KEY,
            table_schema.LISTING_SORT_KEY,
            table_schema.JOB_TYPE_ATTRIBUTE,
        ):
            assert f'"{name}"' not in source, f"{name!r} is hard-coded in {adapter}"
            assert f"'{name}'" not in source, f"{name!r} is hard-coded in {adapter}"


# --- queues -----------------------------------------------------------------------------------
class TestQueues:
    def test_job_queue_redrives_to_the_dlq_after_max_receive_count(self, dev: Any) -> None:
        queue = dev.resource(dev.stack.queue)["Properties"]
        assert queue["RedrivePolicy"] == {
            "deadLetterTargetArn": {"Fn::GetAtt": [dev.logical_id(dev.stack.dead_letter_queue), "Arn"]},
            "maxReceiveCount": 3,
        }

    def test_max_receive_count_is_configurable(self, prod: Any) -> None:
        assert prod.resource(prod.stack.queue)["Properties"]["RedrivePolicy"]["maxReceiveCount"] == 5

    @pytest.mark.parametrize("which", ["queue", "dead_letter_queue"])
    def test_both_queues_use_sqs_managed_encryption(self, dev: Any, which: str) -> None:
        assert dev.resource(getattr(dev.stack, which))["Properties"]["SqsManagedSseEnabled"] is True

    @pytest.mark.parametrize("which", ["queue", "dead_letter_queue"])
    def test_both_queues_deny_requests_without_tls(self, dev: Any, which: str) -> None:
        queue_id = dev.logical_id(getattr(dev.stack, which))
        policies = [
            p["Properties"]["PolicyDocument"]["Statement"]
            for p in dev.resources("AWS::SQS::QueuePolicy").values()
            if {"Ref": queue_id} in p["Properties"]["Queues"]
        ]
        assert any(
            s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            for statements in policies
            for s in statements
        )

    def test_retention_is_sized_for_recovery(self, dev: Any) -> None:
        assert dev.resource(dev.stack.queue)["Properties"]["MessageRetentionPeriod"] == 4 * 86400
        assert dev.resource(dev.stack.dead_letter_queue)["Properties"]["MessageRetentionPeriod"] == 14 * 86400

    @pytest.mark.parametrize("stage", ["dev", "prod"])
    def test_visibility_timeout_is_at_least_six_worker_timeouts(self, stage: str, request: pytest.FixtureRequest) -> None:
        syn = request.getfixturevalue(stage)
        worker_timeout = syn.resource(syn.stack.worker_fn)["Properties"]["Timeout"]
        visibility = syn.resource(syn.stack.queue)["Properties"]["VisibilityTimeout"]
        assert visibility >= 6 * worker_timeout
        # ...and the worker is told the value the queue really has.
        env = syn.resource(syn.stack.worker_fn)["Properties"]["Environment"]["Variables"]
        assert env["JOBS_VISIBILITY_TIMEOUT"] == str(visibility)

    def test_dlq_visibility_covers_its_consumer(self, dev: Any) -> None:
        consumer_timeout = dev.resource(dev.stack.dlq_fn)["Properties"]["Timeout"]
        assert dev.resource(dev.stack.dead_letter_queue)["Properties"]["VisibilityTimeout"] >= 6 * consumer_timeout


# --- functions --------------------------------------------------------------------------------
class TestFunctions:
    def test_four_functions_with_the_fixed_handler_strings(self, dev: Any) -> None:
        handlers = sorted(f["Properties"]["Handler"] for f in dev.resources("AWS::Lambda::Function").values())
        assert handlers == sorted(HANDLERS)

    def test_all_functions_share_one_code_asset(self, dev: Any) -> None:
        codes = {json.dumps(f["Properties"]["Code"], sort_keys=True) for f in dev.resources("AWS::Lambda::Function").values()}
        assert len(codes) == 1

    def test_the_asset_is_built_from_the_repo_root_runtime_packages(self, dev: Any) -> None:
        manifest = json.loads((dev.outdir / f"{dev.stack.artifact_id}.assets.json").read_text())
        s3_key = next(iter(dev.resources("AWS::Lambda::Function").values()))["Properties"]["Code"]["S3Key"]
        asset = manifest["files"][s3_key.removesuffix(".zip")]
        assert asset["source"]["packaging"] == "zip"
        assert Path(asset["source"]["path"]).resolve() == SCHEMA_PATH.parent.resolve()

    @pytest.mark.parametrize("handler", HANDLERS)
    def test_python_312_on_arm64_with_xray_and_a_log_group(self, dev: Any, handler: str) -> None:
        props = dev.resource(functions(dev)[handler])["Properties"]
        assert props["Runtime"] == "python3.12"
        assert props["Architectures"] == ["arm64"]
        assert props["TracingConfig"] == {"Mode": "Active"}
        log_group_id = props["LoggingConfig"]["LogGroup"]["Ref"]
        assert dev.document["Resources"][log_group_id]["Properties"]["RetentionInDays"] == 30

    def test_every_log_group_has_a_retention(self, dev: Any) -> None:
        groups = dev.resources("AWS::Logs::LogGroup")
        assert len(groups) == 7  # four functions + the API + the long worker + its VPC's flow logs
        assert all(g["Properties"].get("RetentionInDays") == 30 for g in groups.values())

    @pytest.mark.parametrize("handler", HANDLERS)
    def test_environment_is_what_settings_from_env_reads(self, dev: Any, handler: str) -> None:
        variables = dev.resource(functions(dev)[handler])["Properties"]["Environment"]["Variables"]
        assert variables["APPSYNC_JOBS_BACKEND"] == "aws"
        assert dev.render(variables["GRAPHQL_URL"]) == f"<{dev.logical_id(dev.stack.api)}.GraphQLUrl>"
        assert variables["JOBS_TABLE_NAME"] == {"Ref": dev.logical_id(dev.stack.table)}
        assert variables["JOBS_QUEUE_URL"] == {"Ref": dev.logical_id(dev.stack.queue)}
        assert variables["JOBS_RETENTION_DAYS"] == str(table_schema.DEFAULT_RETENTION_DAYS)
        assert variables["JOBS_MAX_RECEIVE_COUNT"] == "3"
        assert "AWS_REGION" not in variables  # reserved: Lambda sets it

    def test_worker_timeout_defaults_to_fifteen_minutes_and_is_configurable(self, dev: Any, prod: Any) -> None:
        assert dev.resource(dev.stack.worker_fn)["Properties"]["Timeout"] == 900
        assert prod.resource(prod.stack.worker_fn)["Properties"]["Timeout"] == 300

    def test_resolvers_timeout_fits_appsyncs_30_second_limit(self, dev: Any) -> None:
        assert dev.resource(dev.stack.resolvers_fn)["Properties"]["Timeout"] <= 30


# --- event sources ----------------------------------------------------------------------------
def mapping_for(syn: Any, function: Any) -> dict[str, Any]:
    function_ref = {"Ref": syn.logical_id(function)}
    return dict(
        only(
            {
                k: v
                for k, v in syn.resources("AWS::Lambda::EventSourceMapping").items()
                if v["Properties"]["FunctionName"] == function_ref
            }
        )["Properties"]
    )


class TestEventSources:
    def test_worker_consumes_the_job_queue_reporting_item_failures(self, dev: Any) -> None:
        esm = mapping_for(dev, dev.stack.worker_fn)
        assert esm["EventSourceArn"] == {"Fn::GetAtt": [dev.logical_id(dev.stack.queue), "Arn"]}
        assert esm["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert esm["BatchSize"] == 1
        assert "MaximumBatchingWindowInSeconds" not in esm
        assert esm["ScalingConfig"] == {"MaximumConcurrency": 10}

    def test_batching_and_concurrency_are_configurable(self, prod: Any) -> None:
        esm = mapping_for(prod, prod.stack.worker_fn)
        assert (esm["BatchSize"], esm["MaximumBatchingWindowInSeconds"]) == (20, 5)
        assert esm["ScalingConfig"] == {"MaximumConcurrency": 50}

    def test_dlq_consumer_reads_the_dlq_reporting_item_failures(self, dev: Any) -> None:
        esm = mapping_for(dev, dev.stack.dlq_fn)
        assert esm["EventSourceArn"] == {"Fn::GetAtt": [dev.logical_id(dev.stack.dead_letter_queue), "Arn"]}
        assert esm["FunctionResponseTypes"] == ["ReportBatchItemFailures"]

    def test_reaper_runs_every_minute(self, dev: Any) -> None:
        rule = only(dev.resources("AWS::Events::Rule"))["Properties"]
        assert rule["ScheduleExpression"] == "rate(1 minute)"
        assert rule["State"] == "ENABLED"
        (target,) = rule["Targets"]
        assert target["Arn"] == {"Fn::GetAtt": [dev.logical_id(dev.stack.reaper_fn), "Arn"]}
        dev.template.has_resource_properties(
            "AWS::Lambda::Permission",
            {
                "Principal": "events.amazonaws.com",
                "FunctionName": {"Fn::GetAtt": [dev.logical_id(dev.stack.reaper_fn), "Arn"]},
            },
        )


# --- IAM --------------------------------------------------------------------------------------
class TestLeastPrivilege:
    @pytest.mark.parametrize("handler", [WORKER_HANDLER, DLQ_HANDLER, REAPER_HANDLER])
    def test_worker_side_functions_may_call_only_the_update_job_field(self, dev: Any, handler: str) -> None:
        fn = functions(dev)[handler]
        appsync_actions = {a for a in dev.actions(fn) if a.lower().startswith("appsync:")}
        assert appsync_actions == {"appsync:GraphQL"}
        resources = dev.resources_for(fn, "appsync:GraphQL")
        assert len(resources) == 1, resources
        assert UPDATE_JOB_ARN.match(resources[0]), resources

    def test_the_resolvers_function_has_no_appsync_permission(self, dev: Any) -> None:
        assert not {a for a in dev.actions(dev.stack.resolvers_fn) if a.lower().startswith("appsync:")}

    def test_no_statement_anywhere_grants_appsync_beyond_update_job(self, dev: Any) -> None:
        for policy in dev.resources("AWS::IAM::Policy").values():
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                if not any(a.lower().startswith("appsync:") for a in actions):
                    continue
                assert actions == ["appsync:GraphQL"] or actions == "appsync:GraphQL"
                resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
                assert all(UPDATE_JOB_ARN.match(dev.render(r)) for r in resources), resources

    def test_resolvers_read_and_write_the_table_and_its_index(self, dev: Any) -> None:
        fn = dev.stack.resolvers_fn
        table = f"<{dev.logical_id(dev.stack.table)}.Arn>"
        for action in ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem"):
            assert table in dev.resources_for(fn, action)
        assert f"{table}/index/{table_schema.STUCK_INDEX}" in dev.resources_for(fn, "dynamodb:Query")
        assert not any("*" in a for a in dev.actions(fn) if a.startswith("dynamodb:"))

    def test_resolvers_may_make_every_dynamodb_call_the_adapter_makes(self, dev: Any) -> None:
        adapter = Path(table_schema.__file__).parent / "adapters" / "dynamodb.py"
        calls = set(re.findall(r"\.client\.([a-z_]+)\(", adapter.read_text()))
        # boto3 operation -> the IAM actions it needs (a transaction needs its items' actions).
        needed = {
            "get_item": {"dynamodb:GetItem"},
            "put_item": {"dynamodb:PutItem"},
            "update_item": {"dynamodb:UpdateItem"},
            "query": {"dynamodb:Query"},
            "batch_get_item": {"dynamodb:BatchGetItem"},
            "transact_write_items": {"dynamodb:PutItem"},
        }
        assert calls <= set(needed), f"new DynamoDB calls in the adapter, grant them: {calls - set(needed)}"
        granted = dev.actions(dev.stack.resolvers_fn)
        for call in calls:
            assert needed[call] <= granted, call

    def test_resolvers_query_the_listing_indexes_and_batch_read_the_table(self, dev: Any) -> None:
        fn = dev.stack.resolvers_fn
        table = f"<{dev.logical_id(dev.stack.table)}.Arn>"
        queried = dev.resources_for(fn, "dynamodb:Query")
        for index in (table_schema.OWNER_INDEX, table_schema.OWNER_STATUS_INDEX):
            assert f"{table}/index/{index}" in queried
        assert dev.resources_for(fn, "dynamodb:BatchGetItem") == [table]
        assert "dynamodb:Scan" not in dev.actions(fn)

    def test_only_the_resolvers_read_the_pagination_secret_and_know_where_it_is(self, dev: Any) -> None:
        from infra.stack import PAGINATION_SECRET_ENV

        secret = dev.resource(dev.stack.pagination_secret)["Properties"]
        assert secret["GenerateSecretString"]["PasswordLength"] >= 32
        ref = {"Ref": dev.logical_id(dev.stack.pagination_secret)}
        assert dev.resource(dev.stack.resolvers_fn)["Properties"]["Environment"]["Variables"][PAGINATION_SECRET_ENV] == ref
        assert "secretsmanager:GetSecretValue" in dev.actions(dev.stack.resolvers_fn)
        for other in (dev.stack.worker_fn, dev.stack.dlq_fn, dev.stack.reaper_fn):
            assert not {a for a in dev.actions(other) if a.startswith("secretsmanager:")}
            assert PAGINATION_SECRET_ENV not in dev.resource(other)["Properties"]["Environment"]["Variables"]

    def test_resolvers_may_send_to_the_job_queue(self, dev: Any) -> None:
        queue = f"<{dev.logical_id(dev.stack.queue)}.Arn>"
        long_queue = f"<{dev.logical_id(dev.stack.long_queue)}.Arn>"
        assert dev.resources_for(dev.stack.resolvers_fn, "sqs:SendMessage") == [queue, long_queue]

    def test_worker_may_extend_visibility_for_heartbeats(self, dev: Any) -> None:
        queue = f"<{dev.logical_id(dev.stack.queue)}.Arn>"
        assert queue in dev.resources_for(dev.stack.worker_fn, "sqs:ChangeMessageVisibility")
        assert not {a for a in dev.actions(dev.stack.worker_fn) if a.startswith("dynamodb:")}

    def test_reaper_queries_only_the_stuck_index_reads_hits_moves_their_marker_and_sends_to_the_queue(self, dev: Any) -> None:
        fn = dev.stack.reaper_fn
        table = f"<{dev.logical_id(dev.stack.table)}.Arn>"
        dynamodb_actions = {a for a in dev.actions(fn) if a.startswith("dynamodb:")}
        assert dynamodb_actions == {"dynamodb:Query", "dynamodb:GetItem", "dynamodb:UpdateItem"}
        assert dev.resources_for(fn, "dynamodb:Query") == [f"{table}/index/{table_schema.STUCK_INDEX}"]
        assert dev.resources_for(fn, "dynamodb:GetItem") == [table]
        assert dev.resources_for(fn, "dynamodb:UpdateItem") == [table]
        assert dev.resources_for(fn, "sqs:SendMessage") == [
            f"<{dev.logical_id(dev.stack.queue)}.Arn>", f"<{dev.logical_id(dev.stack.long_queue)}.Arn>"]

    def test_dlq_consumer_touches_no_table_and_sends_only_to_the_archive(self, dev: Any) -> None:
        actions = dev.actions(dev.stack.dlq_fn)
        assert not {a for a in actions if a.startswith("dynamodb:")}
        assert dev.resources_for(dev.stack.dlq_fn, "sqs:SendMessage") == [f"<{dev.logical_id(dev.stack.dead_letter_archive)}.Arn>"]

    def test_no_role_carries_aws_managed_policies(self, dev: Any) -> None:
        for role in dev.resources("AWS::IAM::Role").values():
            assert "ManagedPolicyArns" not in role["Properties"]


# --- AppSync ----------------------------------------------------------------------------------
class TestApi:
    def test_with_cognito_the_schema_is_schema_graphql_itself(self, prod: Any) -> None:
        schema = only(prod.resources("AWS::AppSync::GraphQLSchema"))["Properties"]
        assert schema["Definition"] == SCHEMA_PATH.read_text()

    def test_without_cognito_the_schema_is_schema_graphql_minus_the_user_pool_directive(self, dev: Any) -> None:
        definition = only(dev.resources("AWS::AppSync::GraphQLSchema"))["Properties"]["Definition"]
        sdl = [line for line in definition.splitlines() if not line.lstrip().startswith("#")]
        assert not [line for line in sdl if "aws_cognito_user_pools" in line]
        assert definition == deployed_schema(SCHEMA_PATH.read_text(), cognito=False)
        assert "type Job @aws_api_key @aws_iam {" in definition

    def test_user_pool_users_reach_every_client_field_but_never_update_job(self) -> None:
        graphql = pytest.importorskip("graphql")
        from jobcore.contract import APPSYNC_PRELUDE

        schema = graphql.build_schema(APPSYNC_PRELUDE + SCHEMA_PATH.read_text())

        def modes(node: Any) -> set[str]:
            return {d.name.value for d in node.ast_node.directives}

        for type_name in ("Job", "JobError", "JobConnection", "Query"):
            assert "aws_cognito_user_pools" in modes(schema.type_map[type_name])
        for root, field in (
            ("Mutation", "submitJob"), ("Mutation", "cancelJob"), ("Mutation", "retryJob"),
            ("Subscription", "onJobUpdated"), ("Subscription", "onMyJobsUpdated"),
        ):
            assert "aws_cognito_user_pools" in modes(schema.type_map[root].fields[field])
        assert modes(schema.type_map["Mutation"].fields["updateJob"]) == {"aws_iam"}

    def test_default_auth_is_api_key_with_iam_as_additional_mode(self, dev: Any) -> None:
        api = dev.resource(dev.stack.api)["Properties"]
        assert api["AuthenticationType"] == "API_KEY"
        assert api["AdditionalAuthenticationProviders"] == [{"AuthenticationType": "AWS_IAM"}]

    def test_cognito_is_an_optional_third_mode(self, dev: Any, prod: Any) -> None:
        assert not dev.resources("AWS::Cognito::UserPool")
        modes = prod.resource(prod.stack.api)["Properties"]["AdditionalAuthenticationProviders"]
        assert [m["AuthenticationType"] for m in modes] == ["AWS_IAM", "AMAZON_COGNITO_USER_POOLS"]
        assert modes[1]["UserPoolConfig"]["UserPoolId"] == {"Ref": prod.logical_id(prod.stack.user_pool)}

    @pytest.mark.parametrize(("stage", "days"), [("dev", 180), ("prod", 30)])
    def test_api_key_expiry_follows_context(self, stage: str, days: int, request: pytest.FixtureRequest) -> None:
        syn = request.getfixturevalue(stage)
        expires = only(syn.resources("AWS::AppSync::ApiKey"))["Properties"]["Expires"]
        assert abs(expires - (time.time() + days * 86400)) < 86400

    def test_field_logging_and_xray_are_on(self, dev: Any) -> None:
        api = dev.resource(dev.stack.api)["Properties"]
        assert api["XrayEnabled"] is True
        assert api["LogConfig"]["FieldLogLevel"] == "ERROR"
        # Verbose content would log every request's headers (Authorization, x-api-key).
        assert api["LogConfig"]["ExcludeVerboseContent"] is True
        role_id = api["LogConfig"]["CloudWatchLogsRoleArn"]["Fn::GetAtt"][0]
        assert dev.document["Resources"][role_id]["Type"] == "AWS::IAM::Role"

    def test_the_api_log_group_is_the_one_appsync_writes_to(self, dev: Any) -> None:
        api_id = dev.logical_id(dev.stack.api)
        names = [dev.render(g["Properties"].get("LogGroupName", "")) for g in dev.resources("AWS::Logs::LogGroup").values()]
        assert f"/aws/appsync/apis/<{api_id}.ApiId>" in names

    def test_one_lambda_data_source_for_the_resolvers_function(self, dev: Any) -> None:
        source = only(dev.resources("AWS::AppSync::DataSource"))["Properties"]
        assert source["Type"] == "AWS_LAMBDA"
        assert source["LambdaConfig"] == {"LambdaFunctionArn": {"Fn::GetAtt": [dev.logical_id(dev.stack.resolvers_fn), "Arn"]}}

    @pytest.mark.parametrize(("type_name", "field_name"), ROOT_FIELDS)
    def test_each_root_field_has_an_appsync_js_unit_resolver_on_the_lambda(self, dev: Any, type_name: str, field_name: str) -> None:
        source_name = only(dev.resources("AWS::AppSync::DataSource"))["Properties"]["Name"]
        matches = [
            r["Properties"]
            for r in dev.resources("AWS::AppSync::Resolver").values()
            if (r["Properties"]["TypeName"], r["Properties"]["FieldName"]) == (type_name, field_name)
        ]
        assert len(matches) == 1
        (resolver,) = matches
        assert resolver["Kind"] == "UNIT"
        assert resolver["DataSourceName"] == source_name
        assert resolver["Runtime"] == {"Name": "APPSYNC_JS", "RuntimeVersion": "1.0.0"}

    def test_resolvers_run_the_repo_file_appsync_function_js(self, dev: Any) -> None:
        locations = {dev.render(r["Properties"]["CodeS3Location"]) for r in dev.resources("AWS::AppSync::Resolver").values()}
        assert len(locations) == 1
        asset_hash = locations.pop().rsplit("/", 1)[1].removesuffix(".js")
        manifest = json.loads((dev.outdir / f"{dev.stack.artifact_id}.assets.json").read_text())
        staged = dev.outdir / manifest["files"][asset_hash]["source"]["path"]
        assert staged.read_bytes() == RESOLVER_JS_PATH.read_bytes()

    def test_every_root_field_of_the_schema_has_a_resolver_and_nothing_else(self, dev: Any) -> None:
        graphql = pytest.importorskip("graphql")
        prelude = (
            "scalar AWSJSON\nscalar AWSDateTime\nscalar AWSURL\n"
            + "\n".join(f"directive @{d} on OBJECT | FIELD_DEFINITION" for d in ("aws_api_key", "aws_iam", "aws_cognito_user_pools"))
            + "\ndirective @aws_subscribe(mutations: [String]) on FIELD_DEFINITION\n"
        )
        schema = graphql.build_schema(prelude + SCHEMA_PATH.read_text())
        roots = (schema.query_type, schema.mutation_type, schema.subscription_type)
        expected = {(t.name, f) for t in roots for f in t.fields}
        deployed = {
            (r["Properties"]["TypeName"], r["Properties"]["FieldName"]) for r in dev.resources("AWS::AppSync::Resolver").values()
        }
        assert deployed == expected == set(ROOT_FIELDS)


# --- alarms -----------------------------------------------------------------------------------
def alarm(syn: Any, name: str) -> dict[str, Any]:
    return dict(syn.resource(syn.stack.alarms[name])["Properties"])


class TestAlarms:
    def test_dlq_not_drained_for_fifteen_minutes(self, dev: Any) -> None:
        # The consumer drains the DLQ in seconds, so a DLQ that stays non-empty means the consumer is broken.
        props = alarm(dev, "DeadLetterQueueNotDrained")
        assert (props["Namespace"], props["MetricName"]) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible")
        assert props["Dimensions"] == [
            {"Name": "QueueName", "Value": {"Fn::GetAtt": [dev.logical_id(dev.stack.dead_letter_queue), "QueueName"]}}
        ]
        assert (props["ComparisonOperator"], props["Threshold"]) == ("GreaterThanThreshold", 0)
        assert (props["Period"], props["EvaluationPeriods"], props["DatapointsToAlarm"]) == (300, 3, 3)

    def test_age_of_oldest_job_message(self, dev: Any) -> None:
        props = alarm(dev, "JobQueueOldestMessageAge")
        assert props["MetricName"] == "ApproximateAgeOfOldestMessage"
        assert props["Dimensions"][0]["Value"] == {"Fn::GetAtt": [dev.logical_id(dev.stack.queue), "QueueName"]}
        # An in-flight message ages while its job runs, so the threshold must exceed the timeout.
        assert props["Threshold"] > dev.resource(dev.stack.worker_fn)["Properties"]["Timeout"]

    @pytest.mark.parametrize(("name", "metric"), [("WorkerErrors", "Errors"), ("WorkerThrottles", "Throttles")])
    def test_worker_errors_and_throttles(self, dev: Any, name: str, metric: str) -> None:
        props = alarm(dev, name)
        assert (props["Namespace"], props["MetricName"]) == ("AWS/Lambda", metric)
        assert props["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": dev.logical_id(dev.stack.worker_fn)}}]
        assert props["Threshold"] == 1

    def test_appsync_5xx(self, dev: Any) -> None:
        props = alarm(dev, "Api5xxErrors")
        assert (props["Namespace"], props["MetricName"]) == ("AWS/AppSync", "5XXError")
        assert props["Dimensions"] == [{"Name": "GraphQLAPIId", "Value": {"Fn::GetAtt": [dev.logical_id(dev.stack.api), "ApiId"]}}]

    def test_without_a_topic_alarms_have_no_actions(self, dev: Any) -> None:
        assert not dev.resources("AWS::SNS::Topic")
        assert all("AlarmActions" not in a["Properties"] for a in operational_alarms(dev))

    def test_with_the_topic_flag_every_alarm_notifies_it(self, prod: Any) -> None:
        topic_id = prod.logical_id(prod.stack.alarm_topic)
        alarms = operational_alarms(prod)
        assert len(alarms) == len(prod.stack.alarms) == 14
        assert all(a["Properties"]["AlarmActions"] == [{"Ref": topic_id}] for a in alarms)
        prod.template.has_resource_properties("AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "oncall@example.com"})
        prod.template.has_resource_properties(
            "AWS::SNS::TopicPolicy",
            {
                "PolicyDocument": {
                    "Statement": Match.array_with(
                        [Match.object_like({"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}})]
                    )
                }
            },
        )


# --- outputs ----------------------------------------------------------------------------------
class TestOutputs:
    def test_endpoints_key_and_region_are_exported(self, dev: Any) -> None:
        outs = dev.document["Outputs"]
        api_id = dev.logical_id(dev.stack.api)
        assert dev.render(outs[output_keys.GRAPHQL_URL]["Value"]) == f"<{api_id}.GraphQLUrl>"
        assert dev.render(outs[output_keys.REALTIME_URL]["Value"]) == f"<{api_id}.RealtimeUrl>"
        assert dev.render(outs[output_keys.API_KEY_ID]["Value"]).endswith(".ApiKeyId>")
        assert dev.render(outs[output_keys.API_KEY]["Value"]).endswith(".ApiKey>")
        assert outs[output_keys.REGION]["Value"] == {"Ref": "AWS::Region"}

    def test_amplify_outputs_json_is_the_v6_document(self, dev: Any) -> None:
        rendered = dev.render(dev.document["Outputs"][output_keys.AMPLIFY_OUTPUTS]["Value"])
        api_id = dev.logical_id(dev.stack.api)
        document = json.loads(rendered)
        assert document == {
            "version": "1",
            "data": {
                "url": f"<{api_id}.GraphQLUrl>",
                "aws_region": "<AWS::Region>",
                "api_key": document["data"]["api_key"],
                "default_authorization_type": "API_KEY",
                "authorization_types": ["AWS_IAM"],
            },
            # Where `appsync-jobs stats --outputs` and `redrive` find the stores behind the API.
            "custom": {
                "jobsQueueUrl": f"<{dev.logical_id(dev.stack.queue)}>",
                "longQueueUrl": f"<{dev.logical_id(dev.stack.long_queue)}>",
                "deadLetterQueueUrl": f"<{dev.logical_id(dev.stack.dead_letter_queue)}>",
                "deadLetterArchiveUrl": f"<{dev.logical_id(dev.stack.dead_letter_archive)}>",
                "jobsTableName": f"<{dev.logical_id(dev.stack.table)}>",
            },
        }
        assert document["data"]["api_key"].endswith(".ApiKey>")
        # The CLI helper reads the same document back from a deploy outputs file.
        assert output_keys.amplify_outputs({output_keys.AMPLIFY_OUTPUTS: rendered}) == document

    def test_with_cognito_amplify_outputs_gain_an_auth_section(self, prod: Any) -> None:
        document = json.loads(prod.render(prod.document["Outputs"][output_keys.AMPLIFY_OUTPUTS]["Value"]))
        assert document["data"]["authorization_types"] == ["AWS_IAM", "AMAZON_COGNITO_USER_POOLS"]
        assert document["auth"]["user_pool_id"] == f"<{prod.logical_id(prod.stack.user_pool)}>"
        assert {output_keys.USER_POOL_ID, output_keys.USER_POOL_CLIENT_ID} <= set(prod.document["Outputs"])


# --- stages -----------------------------------------------------------------------------------
class TestStages:
    def test_stack_names_carry_the_stage(self, dev: Any, prod: Any) -> None:
        assert (dev.stack.stack_name, prod.stack.stack_name) == ("appsync-jobs-dev", "appsync-jobs-prod")
        assert dev.resource(dev.stack.api)["Properties"]["Name"] == "appsync-jobs-dev"

    @pytest.mark.parametrize("which", ["table", "queue", "dead_letter_queue"])
    def test_dev_destroys_its_data(self, dev: Any, which: str) -> None:
        resource = dev.resource(getattr(dev.stack, which))
        assert (resource["DeletionPolicy"], resource["UpdateReplacePolicy"]) == ("Delete", "Delete")

    @pytest.mark.parametrize("which", ["table", "queue", "dead_letter_queue", "user_pool"])
    def test_prod_retains_its_data(self, prod: Any, which: str) -> None:
        resource = prod.resource(getattr(prod.stack, which))
        assert (resource["DeletionPolicy"], resource["UpdateReplacePolicy"]) == ("Retain", "Retain")

    def test_prod_table_has_deletion_protection(self, dev: Any, prod: Any) -> None:
        assert prod.resource(prod.stack.table)["Properties"]["DeletionProtectionEnabled"] is True
        assert dev.resource(dev.stack.table)["Properties"].get("DeletionProtectionEnabled") is False

    def test_prod_retains_its_logs(self, prod: Any) -> None:
        assert all(g["DeletionPolicy"] == "Retain" for g in prod.resources("AWS::Logs::LogGroup").values())


def operational_alarms(synth: Any) -> list[dict[str, Any]]:
    """The stack's own alarms, without the long worker's step-scaling alarms (their actions are scaling policies)."""
    policies = set(synth.resources("AWS::ApplicationAutoScaling::ScalingPolicy"))
    return [
        a for a in synth.resources("AWS::CloudWatch::Alarm").values()
        if not any(isinstance(action, dict) and action.get("Ref") in policies for action in a["Properties"].get("AlarmActions", []))
    ]
