"""Real-shaped Lambda events from tests/events/, adjusted per test."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


@dataclass(frozen=True)
class LambdaContextStub:
    """What powertools reads from a Lambda context (Lambda always passes one; handlers rely on it)."""

    function_name: str = "appsync-jobs-test"
    function_version: str = "$LATEST"
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:appsync-jobs-test"
    memory_limit_in_mb: int = 512
    aws_request_id: str = "test-request-id"
    log_group_name: str = "/aws/lambda/appsync-jobs-test"
    log_stream_name: str = "test"

    def get_remaining_time_in_millis(self) -> int:
        return 900_000  # a fresh invocation of the worker's 15-minute timeout


CONTEXT = LambdaContextStub()


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
