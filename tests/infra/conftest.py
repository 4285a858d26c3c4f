"""Synthesize the jobs stack once per configuration and share it across the infra tests.

Bundling is skipped (``aws:cdk:bundling-stacks: []``), so synthesis needs neither Docker nor the
network; the code asset is still the real one (its source fingerprint, same handler strings).
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from aws_cdk.assertions import Template

    from infra.stack import JobsStack

REPO_ROOT = str(Path(__file__).resolve().parents[2])
if REPO_ROOT not in sys.path:  # `pytest tests/infra` without `python -m` does not add the cwd
    sys.path.insert(0, REPO_ROOT)

# jsii prints a banner about Node 20 on every start; quiet it before any test module imports
# aws_cdk (conftest runs first, which is why aws_cdk is only imported lazily in this file).
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

if importlib.util.find_spec("aws_cdk") is None or importlib.util.find_spec("cdk_nag") is None:
    # Without the infra extra only the stdlib helpers (config needs jobcore only) can be tested.
    collect_ignore_glob = ["test_infra_stack.py", "test_infra_lint.py", "test_infra_assets.py", "test_infra_operations.py"]

SKIP_BUNDLING = {"aws:cdk:bundling-stacks": []}

#: The opt-in features switched on, so one prod synthesis covers every optional resource.
PROD_CONTEXT = {
    "stage": "prod",
    "enable_cognito": "true",  # strings, as `cdk -c key=value` passes them
    "alarm_topic": "true",
    "alarm_email": "oncall@example.com",
    "worker_batch_size": "20",
    "worker_batching_window_seconds": "5",
    "worker_max_concurrency": "50",
    "worker_timeout_seconds": "300",
    "max_receive_count": "5",
    "api_key_expiry_days": "30",
}

#: dev with the options prod does not already cover: WAF asked for explicitly (dev has none by
#: default) and Cognito with OAuth callback URLs configured.
OPTIONS_CONTEXT = {
    "enable_waf": "true",
    "waf_rate_limit": "500",
    "enable_cognito": "true",
    "cognito_callback_urls": "https://app.example.org/callback, http://localhost:5173/",
    "api_key_generation": "2",
}


@dataclass(frozen=True)
class Synthesized:
    stack: JobsStack
    template: Template
    #: The raw CloudFormation template as written to the cloud assembly.
    document: dict[str, Any]
    outdir: Path
    #: The cdk-nag (policy validation) report written next to the template.
    validation_report: dict[str, Any] | None

    def resources(self, resource_type: str) -> dict[str, Any]:
        return {k: v for k, v in self.document["Resources"].items() if v["Type"] == resource_type}

    @staticmethod
    def render(value: Any) -> str:
        return render(value)

    def logical_id(self, construct: Any) -> str:
        return str(self.stack.get_logical_id(construct.node.default_child))

    def resource(self, construct: Any) -> dict[str, Any]:
        return dict(self.document["Resources"][self.logical_id(construct)])

    def statements(self, function: Any) -> list[dict[str, Any]]:
        """Every IAM statement attached (inline policies) to the execution role of ``function``."""
        role_id = self.resource(function)["Properties"]["Role"]["Fn::GetAtt"][0]
        found: list[dict[str, Any]] = []
        for policy in self.resources("AWS::IAM::Policy").values():
            if {"Ref": role_id} in policy["Properties"]["Roles"]:
                found.extend(policy["Properties"]["PolicyDocument"]["Statement"])
        return found

    def actions(self, function: Any) -> set[str]:
        return {a for s in self.statements(function) for a in _as_list(s["Action"])}

    def resources_for(self, function: Any, action: str) -> list[str]:
        """The rendered resources of every statement of ``function`` that allows ``action``."""
        return [
            render(r)
            for s in self.statements(function)
            if action in _as_list(s["Action"]) and s["Effect"] == "Allow"
            for r in _as_list(s["Resource"])
        ]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def render(value: Any) -> str:
    """A CloudFormation value as readable text: Ref X -> <X>, GetAtt [A, b] -> <A.b>, Join joined."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        ((fn, arg),) = value.items()
        if fn == "Ref":
            return f"<{arg}>"
        if fn == "Fn::GetAtt":
            return f"<{arg[0]}.{arg[1]}>"
        if fn == "Fn::Join":
            return str(arg[0]).join(render(part) for part in arg[1])
        if fn == "Fn::Sub":
            return str(arg)
    if isinstance(value, (int, float, bool)):
        return json.dumps(value)
    raise AssertionError(f"cannot render {value!r}")


def synthesize(context: dict[str, Any], outdir: Path) -> Synthesized:
    # Synthesis runs cdk-nag as a validation plugin and raises on unacknowledged findings;
    # the nag test turns that into a readable failure, the others simply error out.
    from aws_cdk.assertions import Template

    from infra.app import build_app

    app, stack = build_app({**SKIP_BUNDLING, **context}, outdir=str(outdir))
    assembly = app.synth()
    artifact = assembly.get_stack_artifact(stack.artifact_id)
    document = json.loads(Path(artifact.template_full_path).read_text())
    report_path = outdir / "validation-report.json"
    report = json.loads(report_path.read_text()) if report_path.exists() else None
    return Synthesized(stack, Template.from_json(document), document, outdir, report)


@pytest.fixture(scope="session")
def skip_bundling() -> dict[str, Any]:
    """Only the bundling skip (for tests that run an app of their own, e.g. in a subprocess)."""
    return dict(SKIP_BUNDLING)


@pytest.fixture
def prod_context() -> dict[str, Any]:
    """Context of the prod synthesis, bundling skipped (for tests that build their own app)."""
    return {**SKIP_BUNDLING, **PROD_CONTEXT}


@pytest.fixture(scope="session")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize({}, tmp_path_factory.mktemp("cdk-dev"))


@pytest.fixture(scope="session")
def prod(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(PROD_CONTEXT, tmp_path_factory.mktemp("cdk-prod"))


@pytest.fixture(scope="session")
def options(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(OPTIONS_CONTEXT, tmp_path_factory.mktemp("cdk-options"))
