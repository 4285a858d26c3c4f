"""The synthesized templates pass cdk-nag (AwsSolutions) and cfn-lint."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from infra.stack import ROOT_FIELDS

# CDK makes each function DependsOn its role's default policy *and* the role; cfn-lint notes the
# role dependency is already implied by the GetAtt. Harmless, generated, and not ours to change.
ALLOWED_CFN_LINT_WARNINGS = {"W3005"}


def violations(report: dict[str, Any] | None) -> list[str]:
    if report is None:
        return []
    return [
        f"{v['ruleName']} at {c['constructPath']}"
        for plugin in report["pluginReports"]
        for v in plugin["violations"]
        for c in v["violatingConstructs"]
    ]


class TestCdkNag:
    @pytest.mark.parametrize("stage", ["dev", "prod", "options"])
    def test_aws_solutions_checks_leave_no_unacknowledged_finding(self, stage: str, request: pytest.FixtureRequest) -> None:
        # Synthesis itself fails on an unacknowledged finding; the report double-checks it ran clean.
        syn = request.getfixturevalue(stage)
        assert violations(syn.validation_report) == []

    def test_every_acknowledgment_carries_a_reason(self, prod: Any) -> None:
        from aws_cdk import Validations

        acknowledged = _acknowledgments(prod.stack, Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
        assert acknowledged, "expected the documented acknowledgments (X-Ray, L1, data source, Cognito)"
        for path, rule, reason in acknowledged:
            assert len(reason.strip()) >= 40, f"{rule} on {path} needs a real reason"

    def test_every_acknowledgment_is_still_needed(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, prod_context: dict[str, Any]
    ) -> None:
        # Given the stack with every optional resource and its acknowledgments switched off
        from infra.app import build_app
        from infra.constructs import base

        skipped: set[str] = set()
        monkeypatch.setattr(base, "acknowledge", lambda construct, rule_id, reason: skipped.add(rule_id))
        app, _ = build_app(prod_context, outdir=str(tmp_path))
        # When cdk-nag runs, Then synthesis fails on exactly the acknowledged rules: the gate is
        # live, and no acknowledgment outlived the finding it was written for.
        with pytest.raises(RuntimeError, match="ValidationFailed"):
            app.synth()
        report = json.loads((tmp_path / "validation-report.json").read_text())
        assert {v.split(" at ")[0] for v in violations(report)} == skipped


def _acknowledgments(stack: Any, key: str) -> list[tuple[str, str, str]]:
    found = []
    for construct in stack.node.find_all():
        for entry in construct.node.metadata:
            if entry.type == key:
                found.extend((construct.node.path, rule, reason) for rule, reason in entry.data.items())
    return found


class TestCfnLint:
    @pytest.mark.parametrize("stage", ["dev", "prod", "options"])
    def test_template_has_no_cfn_lint_errors(self, stage: str, request: pytest.FixtureRequest) -> None:
        from cfnlint.api import lint

        syn = request.getfixturevalue(stage)
        matches = lint(json.dumps(syn.document), regions=["us-east-1"])
        unexpected = [f"{m.rule.id}: {m.message}" for m in matches if m.rule.id not in ALLOWED_CFN_LINT_WARNINGS]
        assert unexpected == []
        assert not [m for m in matches if m.rule.id.startswith("E")]


def test_root_fields_cover_the_lambda_backed_operations_and_the_subscribe_check() -> None:
    assert {f for _, f in ROOT_FIELDS} == {
        "job", "listJobs", "submitJob", "cancelJob", "retryJob", "updateJob", "createUpload", "onJobUpdated", "onMyJobsUpdated",
    }
