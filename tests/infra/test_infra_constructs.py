"""JobsApi as a reusable construct: it composes into anyone's Stack, and JobsStack keeps its logical ids.

CloudFormation replaces a resource whose logical id changes, so the ids of the stateful resources
(the job table, the queues, the bucket, the user pool and its client, the pagination secret, the API
and its key, the log groups) are pinned here to the values the flat ``JobsStack`` had before it was
split into constructs: a deploy of this version over an older one updates them in place.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
README = REPO_ROOT / "README.md"

#: Logical ids of the flat stack before issue 13 (same in every configuration that has the resource).
STATEFUL_IDS = {
    "JobsTable1970BC16": "AWS::DynamoDB::Table",
    "JobQueueEE3AD499": "AWS::SQS::Queue",
    "LongJobQueue62075ADC": "AWS::SQS::Queue",
    "DeadLetterQueue9F481546": "AWS::SQS::Queue",
    "DeadLetterArchiveQueueD30B1D5F": "AWS::SQS::Queue",
    "ArtifactBucket7410C9EF": "AWS::S3::Bucket",
    "PaginationSecret14433732": "AWS::SecretsManager::Secret",
    "ApiF70053CD": "AWS::AppSync::GraphQLApi",
    "ApiLogGroup1DEDFC07": "AWS::Logs::LogGroup",
    "ResolversFunctionLogsD5393CB7": "AWS::Logs::LogGroup",
    "WorkerFunctionLogsD5BC4729": "AWS::Logs::LogGroup",
    "DeadLetterFunctionLogsD7D40B00": "AWS::Logs::LogGroup",
    "ReaperFunctionLogsF6C09F15": "AWS::Logs::LogGroup",
    "LongWorkerLogsCDCD95C0": "AWS::Logs::LogGroup",
    "LongWorkerVpcFlowLogs330BC6B5": "AWS::Logs::LogGroup",
    "Dashboard9E4231ED": "AWS::CloudWatch::Dashboard",
}
COGNITO_IDS = {"UserPool6BA7E5F2": "AWS::Cognito::UserPool", "UserPoolWebClient4C9370B0": "AWS::Cognito::UserPoolClient"}
STATEFUL_TYPES = set(STATEFUL_IDS.values()) | set(COGNITO_IDS.values()) | {"AWS::AppSync::ApiKey"}


def _by_type(document: dict[str, Any], types: set[str]) -> dict[str, str]:
    return {k: v["Type"] for k, v in document["Resources"].items() if v["Type"] in types}


class TestJobsStackKeepsItsLogicalIds:
    def test_stateful_resources_keep_the_flat_stacks_ids(self, dev: Any, prod: Any, options: Any) -> None:
        # Given the stack now built from nested constructs (Jobs/Data/JobsTable, Jobs/Queues/JobQueue, ...)
        assert dev.stack.table.node.path.endswith("/Jobs/Data/JobsTable")
        # Then every stateful resource has exactly the id it had, and there is no other of its type
        assert _by_type(dev.document, STATEFUL_TYPES) == {**STATEFUL_IDS, "ApiDefaultApiKeyF991C37B": "AWS::AppSync::ApiKey"}
        assert _by_type(prod.document, STATEFUL_TYPES) == {
            **STATEFUL_IDS, **COGNITO_IDS, "ApiDefaultApiKeyF991C37B": "AWS::AppSync::ApiKey",
        }
        # (the key's rotation id, a deliberate override, survives the nesting too)
        assert _by_type(options.document, STATEFUL_TYPES) == {
            **STATEFUL_IDS, **COGNITO_IDS, "ApiKeyGeneration2": "AWS::AppSync::ApiKey",
        }

    @pytest.mark.parametrize("stage", ["dev", "prod", "options"])
    def test_no_logical_id_carries_the_construct_path(self, stage: str, request: pytest.FixtureRequest) -> None:
        from infra.constructs.jobs_api import LAYER_IDS

        document = request.getfixturevalue(stage).document
        nested = [f"Jobs{layer}" for layer in LAYER_IDS]
        carrying = sorted(k for k in document["Resources"] if any(fragment in k for fragment in nested))
        # Only the ids CDK builds from another construct's full path (docs/deploy.md lists them):
        # the two SQS event-source mappings and the reaper's invoke permission.
        assert [k.split("appsyncjobs", 1)[0] for k in carrying] == [
            "DeadLetterFunctionSqsEventSource",
            "ReaperScheduleAllowEventRule",
            "WorkerFunctionSqsEventSource",
        ]

    def test_the_attribute_api_of_the_flat_stack_delegates_to_the_construct(self, prod: Any) -> None:
        stack: Any = prod.stack
        assert stack.table is stack.jobs.data.table
        assert stack.queue is stack.jobs.queues.queue
        assert stack.resolvers_fn is stack.jobs.functions.resolvers_fn
        assert stack.alarms is stack.jobs.monitoring.alarms
        assert stack.user_pool is stack.jobs.graphql.user_pool
        assert stack.long_worker is stack.jobs.long_tasks.service

    @pytest.mark.parametrize(
        "path",
        [
            ["Table"],
            ["Data", "JobsTable", "Resource"],
            ["Queues", "Default", "JobQueue", "Resource"],
            ["Api", "ApiApiLogs", "Resource"],  # a component ending with the next one is deduplicated
            ["Deep", "x" * 130, "y" * 130, "Resource"],  # the human part is cut at 240 characters
            ["with-dash", "and.dot", "Resource"],
        ],
    )
    def test_the_id_algorithm_is_cdks_own(self, path: list[str]) -> None:
        # JobsStack computes ids with a copy of CDK's makeUniqueId; for an unmodified path it must
        # agree with CDK itself, or the pinned ids above would only hold by accident.
        from aws_cdk import App, CfnResource, Stack
        from constructs import Construct

        from infra.constructs.base import make_unique_id

        stack = Stack(App(), "Plain")
        scope: Construct = stack
        for part in path[:-1]:
            scope = Construct(scope, part)
        resource = CfnResource(scope, path[-1], type="AWS::SQS::Queue")
        assert make_unique_id(path) == stack.resolve(stack.get_logical_id(resource))


def _readme_example() -> str:
    text = README.read_text(encoding="utf-8")
    section = text.split("### Compose it into your CDK app", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "README: the 'Compose it into your CDK app' section needs its python example"
    return match.group(1)


@pytest.fixture(scope="module")
def readme_app(tmp_path_factory: pytest.TempPathFactory, skip_bundling: dict[str, Any]) -> tuple[dict[str, Any], Path]:
    """The README's example run as written, in a fresh interpreter (so a fresh App and jsii runtime).

    Context and output directory come from the environment, as the CDK CLI passes them; the only
    addition is the bundling skip every infra test uses.
    """
    outdir = tmp_path_factory.mktemp("readme-app")
    script = outdir / "app.py"
    script.write_text(_readme_example(), encoding="utf-8")
    env = {
        **os.environ,
        "CDK_CONTEXT_JSON": json.dumps(skip_bundling),
        "CDK_OUTDIR": str(outdir / "cdk.out"),
        "PYTHONPATH": str(REPO_ROOT),
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    }
    done = subprocess.run([sys.executable, str(script)], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    template = json.loads((outdir / "cdk.out" / "ShopStack.template.json").read_text())
    return template, outdir / "cdk.out"


class TestComposeIntoYourOwnApp:
    def test_the_readme_example_synthesizes_in_a_fresh_app(self, readme_app: tuple[dict[str, Any], Path]) -> None:
        # Given the README's example run in a fresh app (synthesis ran cdk-nag and would have failed
        # on an unacknowledged finding)
        template, outdir = readme_app
        report = outdir / "validation-report.json"
        assert not report.exists() or _violations(report) == []
        # Then the user's stack holds the whole kit
        resources = template["Resources"]
        types = [r["Type"] for r in resources.values()]
        assert types.count("AWS::Lambda::Function") == 4
        assert types.count("AWS::SQS::Queue") == 4
        kit = {"AWS::AppSync::GraphQLApi", "AWS::DynamoDB::Table", "AWS::S3::Bucket", "AWS::ECS::Service"}
        assert kit | {"AWS::CloudWatch::Dashboard", "AWS::SecretsManager::Secret"} <= set(types)
        # and the user's own output reads the kit's API
        assert template["Outputs"]["ShopGraphqlUrl"]["Value"]["Fn::GetAtt"][1] == "GraphQLUrl"
        # And every Lambda and the long worker load the user's task modules
        for function in (r for r in resources.values() if r["Type"] == "AWS::Lambda::Function"):
            assert function["Properties"]["Environment"]["Variables"]["APPSYNC_JOBS_TASK_MODULES"] == "worker.tasks.shop"
        (task_def,) = (r for r in resources.values() if r["Type"] == "AWS::ECS::TaskDefinition")
        env = {e["Name"]: e["Value"] for e in task_def["Properties"]["ContainerDefinitions"][0]["Environment"]}
        assert env["APPSYNC_JOBS_TASK_MODULES"] == "worker.tasks.shop"
        # And the names come from the user's config, not the kit's default
        (api,) = (r for r in resources.values() if r["Type"] == "AWS::AppSync::GraphQLApi")
        assert api["Properties"]["Name"] == "shop-prod"
        # And, in a stack of the user's, ids carry the construct path (JobsStack's alone are flat)
        (table_id,) = (k for k, r in resources.items() if r["Type"] == "AWS::DynamoDB::Table")
        assert table_id.startswith("JobsDataJobsTable")

    def test_the_example_passes_cfn_lint(self, readme_app: tuple[dict[str, Any], Path]) -> None:
        from cfnlint.api import lint

        template, _ = readme_app
        matches = lint(json.dumps(template), regions=["us-east-1"])
        assert [f"{m.rule.id}: {m.message}" for m in matches if m.rule.id != "W3005"] == []

    def test_without_tasks_no_task_modules_variable_is_set(self, dev: Any) -> None:
        # JobsStack passes no tasks: its functions load the bundled examples only, as before
        for function in dev.resources("AWS::Lambda::Function").values():
            assert "APPSYNC_JOBS_TASK_MODULES" not in function["Properties"]["Environment"]["Variables"]

    @pytest.mark.parametrize("bad", ["my-tasks", "tasks.", ".tasks", "a b", ""])
    def test_tasks_must_be_module_names(self, bad: str, skip_bundling: dict[str, Any]) -> None:
        from aws_cdk import App, Stack
        from aws_cdk import aws_lambda as lambda_

        from infra.constructs import JobsApi

        stack = Stack(App(context=skip_bundling), "Bad")
        with pytest.raises(ValueError, match="dotted module names"):
            JobsApi(stack, "Jobs", tasks=[bad], code=lambda_.Code.from_inline("x"))


def _violations(path: Path) -> list[str]:
    report = json.loads(path.read_text())
    return [v["ruleName"] for plugin in report["pluginReports"] for v in plugin["violations"]]
