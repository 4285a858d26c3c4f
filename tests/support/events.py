"""Real-shaped Lambda events from tests/events/, adjusted per test."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from devserver.graphql.lambda_invoke import LocalLambdaContext

EVENTS = Path(__file__).resolve().parents[1] / "events"

IAM_IDENTITY = {
    "accountId": "123456789012",
    "cognitoIdentityPoolId": None,
    "cognitoIdentityId": None,
    "sourceIp": ["10.0.0.1"],
    "username": "AROAEXAMPLE:worker",
    "userArn": "arn:aws:sts::123456789012:assumed-role/worker/worker",
    "cognitoIdentityAuthType": None,
    "cognitoIdentityAuthProvider": None,
}


#: What Lambda passes a handler (powertools reads it): a fresh invocation of the worker's 15-minute timeout.
CONTEXT = LocalLambdaContext(function_name="appsync-jobs-test", aws_request_id="test-request-id", remaining_ms=900_000)


def load(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


def appsync_event(type_name: str, field: str, arguments: dict[str, Any], *, identity: Any = None) -> dict[str, Any]:
    event = copy.deepcopy(load("appsync_submit_job.json"))
    event["arguments"] = arguments
    event["identity"] = identity
    event["info"]["parentTypeName"] = type_name
    event["info"]["fieldName"] = field
    return event


def sqs_event(*job_ids: str, receive_count: int = 1) -> dict[str, Any]:
    template = load("sqs_job_message.json")["Records"][0]
    records = []
    for index, job_id in enumerate(job_ids):
        record = copy.deepcopy(template)
        record["messageId"] = f"message-{index}"
        record["receiptHandle"] = f"receipt-{index}"
        record["body"] = json.dumps({"v": 1, "jobId": job_id})
        record["attributes"]["ApproximateReceiveCount"] = str(receive_count)
        records.append(record)
    return {"Records": records}
