"""Running it in production (issue 12), asserted on the synthesized templates: alarms that reach someone
and can fire, the dashboard, WAF, the resolver payload, the trusted reporter roles, the reaper's
concurrency and the dead-letter archive."""

from __future__ import annotations

import fnmatch
import json
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from infra import outputs as output_keys
from infra.config import MAX_API_KEY_EXPIRY_DAYS
from infra.stack import DYNAMODB_OPERATIONS, METRICS_NAMESPACE, METRICS_SERVICE
from jobcore import table_schema

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
RESOLVER_JS = ROOT / "resolvers" / "appsync_function.js"
CUSTOM_DIMENSIONS = [{"Name": "service", "Value": METRICS_SERVICE}]


def only(mapping: dict[str, Any]) -> Any:
    assert len(mapping) == 1, sorted(mapping)
    return next(iter(mapping.values()))


def alarm(syn: Any, name: str) -> dict[str, Any]:
    return dict(syn.resource(syn.stack.alarms[name])["Properties"])


def env(syn: Any, function: Any) -> dict[str, Any]:
    return dict(syn.resource(function)["Properties"]["Environment"]["Variables"])


def queue_name(syn: Any, queue: Any) -> dict[str, Any]:
    return {"Fn::GetAtt": [syn.logical_id(queue), "QueueName"]}


# --- 1. alarms reach someone ------------------------------------------------------------------
class TestAlarmTopicPolicy:
    def _allow(self, prod: Any) -> dict[str, Any]:
        statements = only(prod.resources("AWS::SNS::TopicPolicy"))["Properties"]["PolicyDocument"]["Statement"]
        allows = [s for s in statements if s["Effect"] == "Allow"]
        assert len(allows) == 1, allows
        return dict(allows[0])

    def test_cloudwatch_may_publish_to_the_topic(self, prod: Any) -> None:
        allow = self._allow(prod)
        assert allow["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
        assert allow["Action"] == "sns:Publish"
        assert allow["Resource"] == {"Ref": prod.logical_id(prod.stack.alarm_topic)}

    def test_only_this_stacks_alarms_in_this_account_may_publish(self, prod: Any) -> None:
        condition = self._allow(prod)["Condition"]
        assert prod.render(condition["ArnLike"]["aws:SourceArn"]) == (
            "arn:<AWS::Partition>:cloudwatch:<AWS::Region>:<AWS::AccountId>:alarm:appsync-jobs-prod-*"
        )
        assert condition["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}

    def test_every_alarm_name_matches_the_policys_source_arn(self, prod: Any) -> None:
        pattern = prod.render(self._allow(prod)["Condition"]["ArnLike"]["aws:SourceArn"]).rsplit(":alarm:", 1)[1]
        names = [a["Properties"]["AlarmName"] for a in own_alarms(prod)]
        assert names and all(fnmatch.fnmatchcase(name, pattern) for name in names), names


# --- 2. alarms that can fire ------------------------------------------------------------------
class TestAlarmsOnWhatHappens:
    def test_dlq_messages_received(self, dev: Any) -> None:
        # Each dead-lettered message is received by the consumer at least once, however fast it drains.
        props = alarm(dev, "DeadLetterQueueReceived")
        assert (props["Namespace"], props["MetricName"], props["Statistic"]) == ("AWS/SQS", "NumberOfMessagesReceived", "Sum")
        assert props["Dimensions"] == [{"Name": "QueueName", "Value": queue_name(dev, dev.stack.dead_letter_queue)}]
        assert (props["ComparisonOperator"], props["Threshold"]) == ("GreaterThanOrEqualToThreshold", 1)

    def test_failed_records_custom_metric(self, dev: Any) -> None:
        props = alarm(dev, "FailedRecords")
        assert (props["Namespace"], props["MetricName"], props["Statistic"]) == (METRICS_NAMESPACE, "FailedRecords", "Sum")
        assert props["Dimensions"] == CUSTOM_DIMENSIONS
        assert (props["ComparisonOperator"], props["Threshold"], props["EvaluationPeriods"]) == ("GreaterThanOrEqualToThreshold", 1, 1)

    def test_job_queue_depth_sustained_for_fifteen_minutes(self, dev: Any) -> None:
        props = alarm(dev, "JobQueueDepth")
        assert (props["Namespace"], props["MetricName"]) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible")
        assert props["Dimensions"] == [{"Name": "QueueName", "Value": queue_name(dev, dev.stack.queue)}]
        assert (props["Threshold"], props["Period"], props["EvaluationPeriods"], props["DatapointsToAlarm"]) == (100, 300, 3, 3)

    def test_job_queue_age_is_alarmed_as_well_as_depth(self, dev: Any) -> None:
        props = alarm(dev, "JobQueueOldestMessageAge")
        assert (props["MetricName"], props["Dimensions"][0]["Value"]) == (
            "ApproximateAgeOfOldestMessage",
            queue_name(dev, dev.stack.queue),
        )

    @pytest.mark.parametrize("stage", ["dev", "prod"])
    def test_worker_duration_near_its_timeout(self, stage: str, request: pytest.FixtureRequest) -> None:
        syn = request.getfixturevalue(stage)
        props = alarm(syn, "WorkerDurationNearTimeout")
        assert (props["Namespace"], props["MetricName"], props["Statistic"]) == ("AWS/Lambda", "Duration", "Maximum")
        assert props["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": syn.logical_id(syn.stack.worker_fn)}}]
        timeout_ms = syn.resource(syn.stack.worker_fn)["Properties"]["Timeout"] * 1000
        assert props["Threshold"] == 0.8 * timeout_ms

    def test_appsync_4xx_is_a_sustained_count_not_one_bad_client(self, dev: Any) -> None:
        props = alarm(dev, "Api4xxErrors")
        assert (props["Namespace"], props["MetricName"], props["Statistic"]) == ("AWS/AppSync", "4XXError", "Sum")
        assert props["Dimensions"] == [{"Name": "GraphQLAPIId", "Value": {"Fn::GetAtt": [dev.logical_id(dev.stack.api), "ApiId"]}}]
        assert (props["Threshold"], props["EvaluationPeriods"], props["DatapointsToAlarm"]) == (50, 3, 3)

    def test_appsync_5xx_on_any_error(self, dev: Any) -> None:
        props = alarm(dev, "Api5xxErrors")
        assert (props["MetricName"], props["Threshold"]) == ("5XXError", 1)

    def test_dynamodb_throttles_cover_every_operation_the_adapter_makes(self, dev: Any) -> None:
        props = alarm(dev, "DynamoDbThrottles")
        (expression,) = [m for m in props["Metrics"] if "Expression" in m]
        inputs = [m for m in props["Metrics"] if "MetricStat" in m]
        assert expression["ReturnData"] is True and expression["Expression"].startswith("SUM(")
        assert {m["MetricStat"]["Metric"]["MetricName"] for m in inputs} == {"ThrottledRequests"}
        table = {"Ref": dev.logical_id(dev.stack.table)}
        operations = set()
        for m in inputs:
            dims = {d["Name"]: d["Value"] for d in m["MetricStat"]["Metric"]["Dimensions"]}
            assert dims["TableName"] == table
            operations.add(dims["Operation"])
            assert m["Id"] in expression["Expression"]
        assert operations == set(DYNAMODB_OPERATIONS)
        adapter = (ROOT / "jobcore" / "adapters" / "dynamodb.py").read_text()
        calls = {"".join(part.title() for part in c.split("_")) for c in re.findall(r"\.client\.([a-z_]+)\(", adapter)}
        assert calls <= operations, f"throttles of {calls - operations} are not alarmed"

    def test_the_alarm_set(self, dev: Any) -> None:
        assert set(dev.stack.alarms) == {
            "DeadLetterQueueReceived",
            "DeadLetterQueueNotDrained",
            "JobQueueDepth",
            "JobQueueOldestMessageAge",
            "FailedRecords",
            "WorkerErrors",
            "WorkerThrottles",
            "WorkerDurationNearTimeout",
            "ResolversErrors",
            "DeadLetterConsumerErrors",
            "ReaperErrors",
            "Api5xxErrors",
            "Api4xxErrors",
            "DynamoDbThrottles",
        }

    def test_every_alarm_clears_when_there_is_no_data(self, dev: Any) -> None:
        assert {a["Properties"]["TreatMissingData"] for a in own_alarms(dev)} == {"notBreaching"}

    def test_readme_fixed_cost_counts_the_alarms_the_stack_has(self, dev: Any) -> None:
        text = README.read_text(encoding="utf-8")
        match = re.search(r"(\d+) alarms \((\d+) metrics\) ≈ \$(\d+\.\d\d)", text)
        assert match, "README's fixed-cost line should say 'N alarms (M metrics) ≈ $X'"
        alarms = own_alarms(dev)
        metrics = sum(len([m for m in a["Properties"].get("Metrics", [{"MetricStat": 1}]) if "MetricStat" in m]) for a in alarms)
        assert (int(match.group(1)), int(match.group(2))) == (len(alarms), metrics)
        assert float(match.group(3)) == pytest.approx(0.10 * metrics)


def own_alarms(syn: Any) -> list[dict[str, Any]]:
    """The stack's operational alarms; the long worker's step-scaling alarms (owned by its scaling
    policies, named by CloudFormation, priced in the README's long-task paragraph) are not among them."""
    own = [syn.resource(alarm) for alarm in syn.stack.alarms.values()]
    assert len(syn.resources("AWS::CloudWatch::Alarm")) == len(own) + 2  # + the scale-out/in pair
    return own


# --- 3. dashboard and tracing -----------------------------------------------------------------
def dashboard(syn: Any) -> dict[str, Any]:
    body = only(syn.resources("AWS::CloudWatch::Dashboard"))["Properties"]["DashboardBody"]
    return dict(json.loads(syn.render(body)))


def plotted(syn: Any) -> dict[tuple[str, str], list[tuple[list[Any], dict[str, Any]]]]:
    """(namespace, metric) -> [(dimension list, options)] for every metric line on the dashboard."""
    found: dict[tuple[str, str], list[tuple[list[Any], dict[str, Any]]]] = {}
    for widget in dashboard(syn)["widgets"]:
        for line in widget["properties"].get("metrics", []):
            if isinstance(line[0], str):
                options = line[-1] if isinstance(line[-1], dict) else {}
                dims = line[2:-1] if options else line[2:]
                found.setdefault((line[0], line[1]), []).append((dims, options))
    return found


class TestDashboard:
    def test_one_dashboard_named_after_the_stack(self, dev: Any) -> None:
        assert only(dev.resources("AWS::CloudWatch::Dashboard"))["Properties"]["DashboardName"] == "appsync-jobs-dev"

    @pytest.mark.parametrize(
        "name", ["JobsSubmitted", "JobsSucceeded", "JobsFailed", "JobsRetried", "JobsDeadLettered", "FailedRecords"]
    )
    def test_job_counts_from_the_runtimes_metrics(self, dev: Any, name: str) -> None:
        lines = plotted(dev)[(METRICS_NAMESPACE, name)]
        assert [(dims, opts["stat"]) for dims, opts in lines] == [(["service", METRICS_SERVICE], "Sum")]

    @pytest.mark.parametrize("name", ["QueueWaitMs", "RunDurationMs"])
    def test_queue_wait_and_run_duration_percentiles(self, dev: Any, name: str) -> None:
        lines = plotted(dev)[(METRICS_NAMESPACE, name)]
        assert {opts["stat"] for _, opts in lines} == {"p50", "p99"}
        assert all(dims == ["service", METRICS_SERVICE] for dims, _ in lines)

    @pytest.mark.parametrize(
        ("metric", "queue"),
        [
            ("ApproximateNumberOfMessagesVisible", "queue"),
            ("ApproximateNumberOfMessagesNotVisible", "queue"),
            ("ApproximateAgeOfOldestMessage", "queue"),
            ("NumberOfMessagesReceived", "dead_letter_queue"),
            ("ApproximateNumberOfMessagesVisible", "dead_letter_archive"),
        ],
    )
    def test_queue_depth_in_flight_age_and_dead_letters(self, dev: Any, metric: str, queue: str) -> None:
        name = dev.render(queue_name(dev, getattr(dev.stack, queue)))
        assert ["QueueName", name] in [dims for dims, _ in plotted(dev)[("AWS/SQS", metric)]]

    @pytest.mark.parametrize("metric", ["4XXError", "5XXError", "Latency"])
    def test_appsync_errors_and_latency(self, dev: Any, metric: str) -> None:
        api_id = f"<{dev.logical_id(dev.stack.api)}.ApiId>"
        assert ["GraphQLAPIId", api_id] in [dims for dims, _ in plotted(dev)[("AWS/AppSync", metric)]]

    @pytest.mark.parametrize("metric", ["Errors", "Throttles", "Duration"])
    def test_worker_errors_throttles_and_duration(self, dev: Any, metric: str) -> None:
        worker = f"<{dev.logical_id(dev.stack.worker_fn)}>"
        assert ["FunctionName", worker] in [dims for dims, _ in plotted(dev)[("AWS/Lambda", metric)]]

    def test_worker_duration_is_drawn_against_its_timeout(self, dev: Any) -> None:
        (widget,) = [w for w in dashboard(dev)["widgets"] if w["properties"].get("title") == "Worker"]
        (annotation,) = widget["properties"]["annotations"]["horizontal"]
        assert annotation["value"] == 900 * 1000

    @pytest.mark.parametrize("metric", ["ThrottledRequests", "ReadThrottleEvents", "WriteThrottleEvents"])
    def test_dynamodb_throttles_of_the_table_and_the_stuck_index(self, dev: Any, metric: str) -> None:
        lines = [dims for dims, _ in plotted(dev)[("AWS/DynamoDB", metric)]]
        assert all(dims[dims.index("TableName") + 1] == f"<{dev.logical_id(dev.stack.table)}>" for dims in lines)
        if metric != "ThrottledRequests":
            assert any("GlobalSecondaryIndexName" in dims and table_schema.STUCK_INDEX in dims for dims in lines)

    def test_the_alarm_widget_shows_every_alarm(self, dev: Any) -> None:
        (widget,) = [w for w in dashboard(dev)["widgets"] if w["type"] == "alarm"]
        expected = {f"<{dev.logical_id(a)}.Arn>" for a in dev.stack.alarms.values()}
        assert set(widget["properties"]["alarms"]) == expected

    def test_waf_requests_only_where_waf_is_on(self, dev: Any, prod: Any) -> None:
        assert not [k for k in plotted(dev) if k[0] == "AWS/WAFV2"]
        lines = plotted(prod)[("AWS/WAFV2", "BlockedRequests")]
        assert [dims[dims.index("WebACL") + 1] for dims, _ in lines] == ["appsync-jobs-prod-api"]

    def test_xray_on_the_api_and_every_function(self, dev: Any) -> None:
        # One trace from submitJob through the resolvers; the runtime carries it on into the worker.
        assert dev.resource(dev.stack.api)["Properties"]["XrayEnabled"] is True
        modes = {f["Properties"]["TracingConfig"]["Mode"] for f in dev.resources("AWS::Lambda::Function").values()}
        assert modes == {"Active"}

    def test_powertools_service_and_namespace_on_every_function(self, dev: Any) -> None:
        for function in dev.resources("AWS::Lambda::Function").values():
            variables = function["Properties"]["Environment"]["Variables"]
            assert variables["POWERTOOLS_SERVICE_NAME"] == METRICS_SERVICE
            assert variables["POWERTOOLS_METRICS_NAMESPACE"] == METRICS_NAMESPACE


# --- 4. security findings ---------------------------------------------------------------------
class TestWaf:
    def test_prod_has_a_regional_web_acl_with_a_per_ip_rate_rule(self, prod: Any) -> None:
        acl = only(prod.resources("AWS::WAFv2::WebACL"))["Properties"]
        assert (acl["Scope"], acl["DefaultAction"]) == ("REGIONAL", {"Allow": {}})
        (rule,) = acl["Rules"]
        assert rule["Action"] == {"Block": {}}
        assert rule["Statement"] == {"RateBasedStatement": {"AggregateKeyType": "IP", "EvaluationWindowSec": 300, "Limit": 2000}}

    def test_the_web_acl_is_associated_with_the_api(self, prod: Any) -> None:
        association = only(prod.resources("AWS::WAFv2::WebACLAssociation"))["Properties"]
        assert association["ResourceArn"] == {"Fn::GetAtt": [prod.logical_id(prod.stack.api), "Arn"]}
        assert association["WebACLArn"] == {"Fn::GetAtt": [next(iter(prod.resources("AWS::WAFv2::WebACL"))), "Arn"]}

    def test_dev_has_none_unless_asked(self, dev: Any, options: Any) -> None:
        assert not dev.resources("AWS::WAFv2::WebACL")
        rule = only(options.resources("AWS::WAFv2::WebACL"))["Properties"]["Rules"][0]
        assert rule["Statement"]["RateBasedStatement"]["Limit"] == 500
        assert only(options.resources("AWS::WAFv2::WebACLAssociation"))


class TestCognitoClient:
    def test_without_callbacks_oauth_is_off(self, prod: Any) -> None:
        client = only(prod.resources("AWS::Cognito::UserPoolClient"))["Properties"]
        assert client["AllowedOAuthFlowsUserPoolClient"] is False
        for key in ("AllowedOAuthFlows", "CallbackURLs", "LogoutURLs", "AllowedOAuthScopes"):
            assert key not in client
        assert "example.com" not in json.dumps(client)

    def test_with_callbacks_only_the_code_grant_to_those_urls(self, options: Any) -> None:
        client = only(options.resources("AWS::Cognito::UserPoolClient"))["Properties"]
        assert client["AllowedOAuthFlowsUserPoolClient"] is True
        assert client["AllowedOAuthFlows"] == ["code"]
        assert client["CallbackURLs"] == ["https://app.example.org/callback", "http://localhost:5173/"]


class TestApiKeyLifetime:
    @pytest.mark.parametrize("stage", ["dev", "prod"])
    def test_expiry_stays_well_under_appsyncs_365_days(self, stage: str, request: pytest.FixtureRequest) -> None:
        syn = request.getfixturevalue(stage)
        expires = only(syn.resources("AWS::AppSync::ApiKey"))["Properties"]["Expires"]
        assert expires - time.time() <= MAX_API_KEY_EXPIRY_DAYS * 86400 <= 300 * 86400

    def test_generation_zero_keeps_cdks_key_resource(self, dev: Any) -> None:
        (logical_id,) = dev.resources("AWS::AppSync::ApiKey")
        assert logical_id.startswith("ApiDefaultApiKey")

    def test_a_new_generation_is_a_new_key_resource_and_the_outputs_follow_it(self, options: Any) -> None:
        # A new logical id makes CloudFormation create a new key (new value) and delete the old one.
        (logical_id,) = options.resources("AWS::AppSync::ApiKey")
        assert logical_id == "ApiKeyGeneration2"
        outs = options.document["Outputs"]
        assert outs[output_keys.API_KEY]["Value"] == {"Fn::GetAtt": [logical_id, "ApiKey"]}
        assert outs[output_keys.API_KEY_ID]["Value"] == {"Fn::GetAtt": [logical_id, "ApiKeyId"]}
        assert f"<{logical_id}.ApiKey>" in options.render(outs[output_keys.AMPLIFY_OUTPUTS]["Value"])

    def test_rotation_is_documented_rather_than_alarmed(self) -> None:
        # CloudWatch has no metric for an API key's expiry, so the guide carries the procedure.
        guide = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
        section = guide[guide.index("### Rotating the API key") :]
        for command in (
            "aws appsync list-api-keys",
            "-c api_key_generation=",
            "aws appsync create-api-key",
            "aws appsync delete-api-key",
        ):
            assert command in section, command


class TestResolverPayload:
    @pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
    def test_request_forwards_no_headers_and_what_powertools_reads(self, tmp_path: Path) -> None:
        source = RESOLVER_JS.read_text()
        module = tmp_path / "appsync_function.mjs"
        stubbed = source.replace("import { util, extensions } from '@aws-appsync/utils';", "const util = {}, extensions = {};")
        module.write_text(stubbed)
        ctx = {
            "arguments": {"id": "j-1"},
            "identity": {"userArn": "arn:aws:sts::123456789012:assumed-role/r/s"},
            "source": None,
            "request": {"headers": {"authorization": "SECRET-SIGV4", "x-api-key": "da2-SECRETKEY", "host": "x"}, "domainName": None},
            "info": {"fieldName": "job", "parentTypeName": "Query", "variables": {}, "selectionSetList": ["id"]},
            "prev": None,
            "stash": {},
        }
        script = (
            f"const {{ request }} = await import({json.dumps(module.as_uri())});"
            f" console.log(JSON.stringify(request({json.dumps(ctx)})));"
        )
        out = subprocess.run(["node", "--input-type=module", "-e", script], capture_output=True, text=True, timeout=30, check=True)
        invoke = json.loads(out.stdout)
        assert "SECRET" not in out.stdout
        assert set(invoke["payload"]) == {"arguments", "identity", "source", "info", "prev", "stash"}
        # ... which is everything powertools' AppSyncResolverEvent needs to route and resolve.
        events = pytest.importorskip("aws_lambda_powertools.utilities.data_classes.appsync_resolver_event")
        event = events.AppSyncResolverEvent(invoke["payload"])
        assert (event.type_name, event.field_name, event.arguments) == ("Query", "job", {"id": "j-1"})
        assert event.identity is not None


class TestTrustedReporter:
    def test_the_resolvers_trust_exactly_the_worker_dlq_and_reaper_roles(self, dev: Any) -> None:
        stack = dev.stack
        value = env(dev, stack.resolvers_fn)["JOBS_TRUSTED_REPORTER_ROLES"]
        roles = [dev.resource(fn)["Properties"]["Role"]["Fn::GetAtt"][0] for fn in (stack.worker_fn, stack.dlq_fn, stack.reaper_fn)]
        # Ref of an IAM role is its name - what the caller's assumed-role ARN carries.
        assert dev.render(value).split(",") == [f"<{role}>" for role in roles]
        resolvers_role = dev.resource(stack.resolvers_fn)["Properties"]["Role"]["Fn::GetAtt"][0]
        assert f"<{resolvers_role}>" not in dev.render(value)

    def test_only_the_resolvers_get_it(self, dev: Any) -> None:
        holders = [
            fn for fn in (dev.stack.worker_fn, dev.stack.dlq_fn, dev.stack.reaper_fn) if "JOBS_TRUSTED_REPORTER_ROLES" in env(dev, fn)
        ]
        assert holders == []


# --- 5. correctness at scale (stack side) -----------------------------------------------------
class TestReaperCannotOverlap:
    def test_reserved_concurrency_of_one(self, dev: Any) -> None:
        assert dev.resource(dev.stack.reaper_fn)["Properties"]["ReservedConcurrentExecutions"] == 1
        others = (dev.stack.resolvers_fn, dev.stack.worker_fn, dev.stack.dlq_fn)
        assert all("ReservedConcurrentExecutions" not in dev.resource(fn)["Properties"] for fn in others)

    def test_no_async_retries_and_a_tick_too_old_is_dropped(self, dev: Any) -> None:
        config = only(dev.resources("AWS::Lambda::EventInvokeConfig"))["Properties"]
        assert config["FunctionName"] == {"Ref": dev.logical_id(dev.stack.reaper_fn)}
        assert (config["MaximumRetryAttempts"], config["MaximumEventAgeInSeconds"], config["Qualifier"]) == (0, 60, "$LATEST")

    def test_the_schedule_does_not_retry_either(self, dev: Any) -> None:
        (target,) = only(dev.resources("AWS::Events::Rule"))["Properties"]["Targets"]
        assert target["RetryPolicy"] == {"MaximumRetryAttempts": 0, "MaximumEventAgeInSeconds": 60}


class TestDeadLetterArchive:
    def test_archive_is_encrypted_tls_only_and_keeps_fourteen_days(self, dev: Any) -> None:
        archive = dev.stack.dead_letter_archive
        props = dev.resource(archive)["Properties"]
        assert (props["SqsManagedSseEnabled"], props["MessageRetentionPeriod"]) == (True, 14 * 86400)
        policies = [
            s
            for p in dev.resources("AWS::SQS::QueuePolicy").values()
            if {"Ref": dev.logical_id(archive)} in p["Properties"]["Queues"]
            for s in p["Properties"]["PolicyDocument"]["Statement"]
        ]
        assert any(s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in policies)

    def test_archive_is_the_dlqs_dead_letter_target_so_it_can_be_redriven(self, dev: Any) -> None:
        # start-message-move-task only moves messages out of a queue that is some queue's DLQ.
        policy = dev.resource(dev.stack.dead_letter_queue)["Properties"]["RedrivePolicy"]
        assert policy == {
            "deadLetterTargetArn": {"Fn::GetAtt": [dev.logical_id(dev.stack.dead_letter_archive), "Arn"]},
            "maxReceiveCount": 10,
        }

    def test_only_the_dlq_consumer_may_write_to_it_and_knows_its_url(self, dev: Any) -> None:
        archive = dev.stack.dead_letter_archive
        arn = f"<{dev.logical_id(archive)}.Arn>"
        stack = dev.stack
        writers = [
            fn
            for fn in (stack.resolvers_fn, stack.worker_fn, stack.dlq_fn, stack.reaper_fn)
            if arn in dev.resources_for(fn, "sqs:SendMessage")
        ]
        assert writers == [stack.dlq_fn]
        assert env(dev, stack.dlq_fn)["JOBS_DLQ_ARCHIVE_URL"] == {"Ref": dev.logical_id(archive)}
        assert all("JOBS_DLQ_ARCHIVE_URL" not in env(dev, fn) for fn in (stack.resolvers_fn, stack.worker_fn, stack.reaper_fn))

    def test_prod_retains_the_archive(self, prod: Any) -> None:
        resource = prod.resource(prod.stack.dead_letter_archive)
        assert (resource["DeletionPolicy"], resource["UpdateReplacePolicy"]) == ("Retain", "Retain")

    def test_outputs_name_the_redrive_source_and_destination(self, dev: Any) -> None:
        outs = dev.document["Outputs"]
        assert outs[output_keys.DLQ_ARCHIVE_ARN]["Value"] == {"Fn::GetAtt": [dev.logical_id(dev.stack.dead_letter_archive), "Arn"]}
        assert outs[output_keys.QUEUE_ARN]["Value"] == {"Fn::GetAtt": [dev.logical_id(dev.stack.queue), "Arn"]}
        assert outs[output_keys.DLQ_ARCHIVE_URL]["Value"] == {"Ref": dev.logical_id(dev.stack.dead_letter_archive)}
        assert outs[output_keys.DASHBOARD_NAME]["Value"] == {"Ref": dev.logical_id(dev.stack.dashboard)}
