"""CDK entry point: ``cdk synth|deploy -c stage=dev|prod`` runs ``python -m infra.app``.

cdk-nag 3.x runs as a CDK policy-validation plugin (``Validations.of(app).add_plugins``): synthesis
fails with a validation report while any AwsSolutions finding is neither fixed nor acknowledged
(acknowledgments, each with its reason, sit next to the resources in ``infra/constructs/``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from aws_cdk import App, Environment, Tags, Validations
from aws_cdk import aws_lambda as lambda_
from cdk_nag import AwsSolutionsChecks

from infra.assets import lambda_code
from infra.config import JobsConfig
from infra.stack import JobsStack


def build_app(
    context: Mapping[str, Any] | None = None,
    *,
    outdir: str | None = None,
    code: lambda_.Code | None = None,
    env: Environment | None = None,
    nag: bool = True,
) -> tuple[App, JobsStack]:
    """The app with one jobs stack; tests pass context (and ``aws:cdk:bundling-stacks: []``)."""
    app = App(context=dict(context) if context is not None else None, outdir=outdir)
    config = JobsConfig.from_node(app.node)
    stack = JobsStack(app, config.stack_name, config=config, code=code or lambda_code(), env=env)
    Tags.of(app).add("project", "appsync-jobs")
    Tags.of(app).add("stage", config.stage)
    if nag:
        Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app, stack


def main() -> None:
    # Account/region from the CLI's credentials, so alarms and ARNs resolve to one environment.
    env = Environment(account=os.environ.get("CDK_DEFAULT_ACCOUNT"), region=os.environ.get("CDK_DEFAULT_REGION"))
    app, _ = build_app(env=env)
    app.synth()


if __name__ == "__main__":
    main()
