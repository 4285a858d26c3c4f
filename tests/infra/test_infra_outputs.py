"""infra.outputs: `cdk deploy --outputs-file` JSON -> Amplify v6 amplify_outputs.json (stdlib only)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from infra import outputs

URL = "https://abc123.appsync-api.eu-west-1.amazonaws.com/graphql"
STACK = {
    outputs.GRAPHQL_URL: URL,
    outputs.REALTIME_URL: "wss://abc123.appsync-realtime-api.eu-west-1.amazonaws.com/graphql",
    outputs.REGION: "eu-west-1",
    outputs.API_KEY: "da2-secretvalue",
    outputs.API_KEY_ID: "da2-id",
}
EXPECTED = {
    "version": "1",
    "data": {
        "url": URL,
        "aws_region": "eu-west-1",
        "api_key": "da2-secretvalue",
        "default_authorization_type": "API_KEY",
        "authorization_types": ["AWS_IAM"],
    },
}


class TestStackOutputs:
    def test_the_only_jobs_stack_is_found_without_a_name(self) -> None:
        document = {"appsync-jobs-dev": STACK, "CDKToolkit": {"BucketName": "x"}}
        assert outputs.stack_outputs(document) == STACK

    def test_a_named_stack_is_picked_among_several(self) -> None:
        document = {"appsync-jobs-dev": STACK, "appsync-jobs-prod": {**STACK, outputs.REGION: "us-east-1"}}
        assert outputs.stack_outputs(document, "appsync-jobs-prod")[outputs.REGION] == "us-east-1"

    def test_several_stacks_without_a_name_is_an_error(self) -> None:
        with pytest.raises(outputs.OutputsError, match="exactly one"):
            outputs.stack_outputs({"a": STACK, "b": STACK})

    def test_a_missing_named_stack_is_an_error(self) -> None:
        with pytest.raises(outputs.OutputsError, match="no stack 'x'"):
            outputs.stack_outputs({"a": STACK}, "x")


class TestAmplifyOutputs:
    def test_built_from_url_region_and_key(self) -> None:
        assert outputs.amplify_outputs(STACK) == EXPECTED

    def test_the_stacks_own_amplify_json_wins(self) -> None:
        own = {**EXPECTED, "data": {**EXPECTED["data"], "url": "https://other/graphql"}}
        assert outputs.amplify_outputs({**STACK, outputs.AMPLIFY_OUTPUTS: json.dumps(own)}) == own

    def test_cognito_adds_the_auth_section(self) -> None:
        doc = outputs.amplify_outputs({**STACK, outputs.USER_POOL_ID: "pool", outputs.USER_POOL_CLIENT_ID: "client"})
        assert doc["data"]["authorization_types"] == ["AWS_IAM", "AMAZON_COGNITO_USER_POOLS"]
        assert doc["auth"] == {"user_pool_id": "pool", "aws_region": "eu-west-1", "user_pool_client_id": "client"}

    @pytest.mark.parametrize("missing", [outputs.GRAPHQL_URL, outputs.REGION, outputs.API_KEY])
    def test_missing_keys_are_named(self, missing: str) -> None:
        with pytest.raises(outputs.OutputsError, match=missing):
            outputs.amplify_outputs({k: v for k, v in STACK.items() if k != missing})

    def test_broken_amplify_json_is_an_error(self) -> None:
        with pytest.raises(outputs.OutputsError, match="not JSON"):
            outputs.amplify_outputs({**STACK, outputs.AMPLIFY_OUTPUTS: "{nope"})


class TestFileAndCommandLine:
    def test_load_from_an_outputs_file(self, tmp_path: Path) -> None:
        path = tmp_path / "cdk-outputs.json"
        path.write_text(json.dumps({"appsync-jobs-dev": STACK}))
        assert outputs.load_amplify_outputs(path) == EXPECTED

    def test_main_prints_amplify_outputs(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        path = tmp_path / "cdk-outputs.json"
        path.write_text(json.dumps({"appsync-jobs-dev": STACK}))
        assert outputs.main([str(path)]) == 0
        assert json.loads(capsys.readouterr().out) == EXPECTED

    def test_main_reports_errors_on_stderr(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        assert outputs.main([str(tmp_path / "missing.json")]) == 1
        assert "error:" in capsys.readouterr().err

    def test_the_module_imports_no_cdk(self) -> None:
        import ast

        tree = ast.parse(Path(outputs.__file__).read_text())
        imported = {
            alias.name.split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, ast.Import | ast.ImportFrom)
            for alias in (node.names if isinstance(node, ast.Import) else [ast.alias(node.module or "")])
        }
        assert imported <= {"__future__", "argparse", "json", "sys", "collections", "pathlib", "typing"}


class TestOperationsSection:
    """`appsync-jobs stats --outputs` / `redrive` read the stores behind the API from the custom section."""

    QUEUES = {
        outputs.QUEUE_URL: "https://sqs.eu-west-1.amazonaws.com/1/jobs",
        outputs.LONG_QUEUE_URL: "https://sqs.eu-west-1.amazonaws.com/1/long",
        outputs.DLQ_URL: "https://sqs.eu-west-1.amazonaws.com/1/dlq",
        outputs.DLQ_ARCHIVE_URL: "https://sqs.eu-west-1.amazonaws.com/1/archive",
        outputs.TABLE_NAME: "jobs-table",
    }

    def test_stack_outputs_become_the_custom_section_under_the_clients_names(self) -> None:
        from devserver import ops

        doc = outputs.amplify_outputs({**STACK, **self.QUEUES})
        resources = ops.stack_resources(dict(doc))
        assert (resources.queue_url, resources.long_queue_url, resources.dlq_url, resources.archive_url, resources.table_name) == (
            self.QUEUES[outputs.QUEUE_URL], self.QUEUES[outputs.LONG_QUEUE_URL], self.QUEUES[outputs.DLQ_URL],
            self.QUEUES[outputs.DLQ_ARCHIVE_URL], self.QUEUES[outputs.TABLE_NAME],
        )

    def test_the_client_reads_exactly_the_keys_the_stack_writes(self) -> None:
        from devserver import ops

        assert set(outputs.OPERATIONS_KEYS.values()) == {
            ops.QUEUE_URL_KEY, ops.LONG_QUEUE_URL_KEY, ops.DLQ_URL_KEY, ops.ARCHIVE_URL_KEY, ops.TABLE_NAME_KEY,
        }

    def test_without_them_there_is_no_custom_section(self) -> None:
        assert "custom" not in outputs.amplify_outputs(STACK)
