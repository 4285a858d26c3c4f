"""Turn ``cdk deploy --outputs-file`` JSON into an Amplify JS v6 ``amplify_outputs.json`` dict.

Stdlib only (no aws_cdk import), so the ``appsync-jobs`` CLI can reuse it without the infra extra,
and the stack reads its output keys from here so writer and reader cannot drift.

Example
-------
>>> outputs = {"appsync-jobs-dev": {"GraphqlUrl": "https://x.appsync-api.eu-west-1.amazonaws.com/graphql",
...                                 "Region": "eu-west-1", "ApiKey": "da2-abc"}}
>>> amplify_outputs(stack_outputs(outputs))["data"]["default_authorization_type"]
'API_KEY'

Command line: ``python -m infra.outputs cdk-outputs.json [--stack NAME] > amplify_outputs.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final, Literal, NotRequired, TypedDict

# CloudFormation output keys of the jobs stack (top-level CfnOutputs keep these logical ids).
GRAPHQL_URL: Final = "GraphqlUrl"
REALTIME_URL: Final = "RealtimeUrl"
API_ID: Final = "ApiId"
API_KEY_ID: Final = "ApiKeyId"
API_KEY: Final = "ApiKey"
REGION: Final = "Region"
AMPLIFY_OUTPUTS: Final = "AmplifyOutputs"
TABLE_NAME: Final = "JobsTableName"
QUEUE_URL: Final = "JobQueueUrl"
DLQ_URL: Final = "DeadLetterQueueUrl"
#: For ``aws sqs start-message-move-task`` (archive -> job queue) and peeking at the archive.
QUEUE_ARN: Final = "JobQueueArn"
DLQ_ARCHIVE_ARN: Final = "DeadLetterArchiveArn"
DLQ_ARCHIVE_URL: Final = "DeadLetterArchiveUrl"
DASHBOARD_NAME: Final = "DashboardName"
LONG_QUEUE_URL: Final = "LongJobQueueUrl"

#: Stack output -> key of ``amplify_outputs.json``'s ``custom`` section, where operator commands
#: (``appsync-jobs stats --outputs``, ``redrive``) find the stores behind the API. Amplify ignores it.
OPERATIONS_KEYS: Final = {
    QUEUE_URL: "jobsQueueUrl",
    LONG_QUEUE_URL: "longQueueUrl",
    DLQ_URL: "deadLetterQueueUrl",
    DLQ_ARCHIVE_URL: "deadLetterArchiveUrl",
    TABLE_NAME: "jobsTableName",
}
USER_POOL_ID: Final = "UserPoolId"
USER_POOL_CLIENT_ID: Final = "UserPoolClientId"

AuthorizationType = Literal["API_KEY", "AWS_IAM", "AMAZON_COGNITO_USER_POOLS"]


class AmplifyData(TypedDict):
    url: str
    aws_region: str
    api_key: str
    default_authorization_type: AuthorizationType
    authorization_types: list[AuthorizationType]


class AmplifyAuth(TypedDict):
    user_pool_id: str
    aws_region: str
    user_pool_client_id: str


class AmplifyOutputs(TypedDict):
    version: str
    data: AmplifyData
    auth: NotRequired[AmplifyAuth]
    custom: NotRequired[dict[str, str]]


class OutputsError(ValueError):
    """Raised when an outputs file does not hold (exactly one) jobs stack or lacks a needed key."""


def amplify_document(
    *,
    url: str,
    region: str,
    api_key: str,
    user_pool_id: str | None = None,
    user_pool_client_id: str | None = None,
    operations: Mapping[str, str] | None = None,
) -> AmplifyOutputs:
    """The ``amplify_outputs.json`` shape Amplify v6 reads (``data`` section, plus ``auth`` with Cognito),
    and ``custom``: the stack's queues and table by ``OPERATIONS_KEYS`` name, for the operator commands."""
    types: list[AuthorizationType] = ["AWS_IAM"]
    if user_pool_id:
        types.append("AMAZON_COGNITO_USER_POOLS")
    doc: AmplifyOutputs = {
        "version": "1",
        "data": {
            "url": url,
            "aws_region": region,
            "api_key": api_key,
            "default_authorization_type": "API_KEY",
            "authorization_types": types,
        },
    }
    if user_pool_id and user_pool_client_id:
        doc["auth"] = {"user_pool_id": user_pool_id, "aws_region": region, "user_pool_client_id": user_pool_client_id}
    if operations:
        doc["custom"] = {OPERATIONS_KEYS[key]: value for key, value in operations.items() if key in OPERATIONS_KEYS and value}
    return doc


def stack_outputs(outputs_file: Mapping[str, Any], stack_name: str | None = None) -> dict[str, str]:
    """The one jobs stack's outputs from a ``--outputs-file`` document (``{stack: {key: value}}``).

    Without ``stack_name`` the file must hold exactly one stack with a ``GraphqlUrl`` output.
    """
    if stack_name is not None:
        if stack_name not in outputs_file:
            raise OutputsError(f"no stack {stack_name!r} in the outputs file (found: {sorted(outputs_file)})")
        return _strings(stack_name, outputs_file[stack_name])
    candidates = [name for name, values in outputs_file.items() if isinstance(values, Mapping) and GRAPHQL_URL in values]
    if len(candidates) != 1:
        raise OutputsError(f"expected exactly one stack with a {GRAPHQL_URL} output, found {candidates or 'none'}; pass stack_name")
    return _strings(candidates[0], outputs_file[candidates[0]])


def amplify_outputs(outputs: Mapping[str, str]) -> AmplifyOutputs:
    """Amplify config from one stack's outputs; the stack's own ``AmplifyOutputs`` JSON wins if present."""
    if AMPLIFY_OUTPUTS in outputs:
        try:
            doc = json.loads(outputs[AMPLIFY_OUTPUTS])
        except ValueError as exc:
            raise OutputsError(f"{AMPLIFY_OUTPUTS} is not JSON: {exc}") from exc
        if not isinstance(doc, dict) or not isinstance(doc.get("data"), dict):
            raise OutputsError(f"{AMPLIFY_OUTPUTS} has no data section")
        return doc  # type: ignore[return-value]
    missing = [key for key in (GRAPHQL_URL, REGION, API_KEY) if not outputs.get(key)]
    if missing:
        raise OutputsError(f"outputs lack {', '.join(missing)}")
    return amplify_document(
        url=outputs[GRAPHQL_URL],
        region=outputs[REGION],
        api_key=outputs[API_KEY],
        user_pool_id=outputs.get(USER_POOL_ID),
        user_pool_client_id=outputs.get(USER_POOL_CLIENT_ID),
        operations={key: outputs[key] for key in OPERATIONS_KEYS if outputs.get(key)},
    )


def load_amplify_outputs(path: str | Path, stack_name: str | None = None) -> AmplifyOutputs:
    """Read a ``cdk deploy --outputs-file`` file and return its Amplify config."""
    with Path(path).open(encoding="utf-8") as fh:
        document = json.load(fh)
    if not isinstance(document, dict):
        raise OutputsError(f"{path} is not a JSON object")
    return amplify_outputs(stack_outputs(document, stack_name))


def _strings(stack_name: str, values: Any) -> dict[str, str]:
    if not isinstance(values, Mapping):
        raise OutputsError(f"outputs of {stack_name!r} are not an object")
    return {str(key): str(value) for key, value in values.items()}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m infra.outputs",
        description="Print the Amplify JS v6 amplify_outputs.json for a `cdk deploy --outputs-file` file.",
    )
    parser.add_argument("outputs_file", type=Path, help="the file written by `cdk deploy --outputs-file`")
    parser.add_argument("--stack", default=None, help="stack name, if the file holds several stacks")
    args = parser.parse_args(argv)
    try:
        doc = load_amplify_outputs(args.outputs_file, args.stack)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    json.dump(doc, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
