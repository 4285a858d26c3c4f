"""The cloud's error mapping (the APPSYNC_JS response handler, run in Node) and the local server's
(resolvers/envelope.py) turn the same Lambda answers into the same GraphQL errors - and the same
subscription filters (AppSync enhanced filtering: the handler sets the filter and returns null)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from resolvers.envelope import FieldError, subscription_filter, unhandled, unwrap, with_subscription_filter, wrap_error

ROOT = Path(__file__).resolve().parents[2]

HARNESS = """
const cases = JSON.parse(process.argv[2]);
class AppSyncError extends Error {
  constructor(message, errorType, data, errorInfo) { super(message); Object.assign(this, {errorType, data, errorInfo}); }
}
let filters = [];
globalThis.__util = {
  error: (message, errorType, data, errorInfo) => { throw new AppSyncError(message, errorType, data, errorInfo); },
  // AppSync's toSubscriptionFilter turns the simple form into filterGroup rules; what matters here is
  // that exactly the Lambda's filter reaches it, so the stub records its input unchanged.
  transform: { toSubscriptionFilter: (filter) => ({ transformed: filter }) },
};
globalThis.__extensions = { setSubscriptionFilter: (filter) => { filters.push(filter); } };
const { request, response } = await import(process.argv[3]);
const out = cases.map((ctx) => {
  filters = [];
  try { return { result: response(ctx), filters }; }
  catch (e) { return { error: { message: e.message, errorType: e.errorType ?? null, errorInfo: e.errorInfo ?? null } }; }
});
const invoke = request({
  arguments: {a: 1}, identity: null, source: null, request: {headers: {}}, info: {fieldName: "job"}, prev: null, stash: {},
});
console.log(JSON.stringify({ out, invoke }));
"""

CASES: list[dict[str, Any]] = [
    {"result": {"id": "1", "status": "PENDING"}},
    {"result": wrap_error("InvalidTransition", "Job 1 is SUCCEEDED", {"from": "SUCCEEDED", "to": "CANCELLED"})},
    {"result": wrap_error("NotFound", "Job 2 not found")},
    {"result": None},
    {"error": {"message": "boom", "type": "Lambda:Unhandled"}},
    {"result": with_subscription_filter({"owner": {"eq": "arn:aws:iam::123456789012:role/svc"}})},
    {"result": with_subscription_filter({"owner": {"eq": "api-key"}})},
]


def python_outcome(ctx: dict[str, Any]) -> dict[str, Any]:
    try:
        if "error" in ctx:
            raise unhandled(RuntimeError(ctx["error"]["message"]))
        value = unwrap(ctx["result"])
        spec = subscription_filter(value)
        if spec is not None:  # the local server keeps the filter and answers null, as the JS does
            return {"result": None, "filters": [{"transformed": spec}]}
        return {"result": value, "filters": []}
    except FieldError as exc:
        return {"error": {"message": exc.message, "errorType": exc.error_type, "errorInfo": exc.error_info}}


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_js_response_handler_and_python_envelope_agree(tmp_path: Path) -> None:
    source = (ROOT / "resolvers" / "appsync_function.js").read_text()
    stubbed = source.replace(
        "import { util, extensions } from '@aws-appsync/utils';",
        "const util = globalThis.__util; const extensions = globalThis.__extensions;",
    )
    assert stubbed != source, "the resolver no longer imports util as expected"
    module = tmp_path / "appsync_function.mjs"
    module.write_text(stubbed)
    harness = tmp_path / "harness.mjs"
    harness.write_text(HARNESS)
    completed = subprocess.run(
        ["node", str(harness), json.dumps(CASES), module.as_uri()], capture_output=True, text=True, timeout=30, check=True
    )
    js = json.loads(completed.stdout)
    assert js["out"] == [python_outcome(ctx) for ctx in CASES]
    # The filter cases really set one (the comparison above would also pass if neither side did).
    assert [o.get("filters") for o in js["out"][-2:]] == [
        [{"transformed": {"owner": {"eq": "arn:aws:iam::123456789012:role/svc"}}}],
        [{"transformed": {"owner": {"eq": "api-key"}}}],
    ]
    # The request handler sends a direct-Lambda-shaped Context, which powertools parses.
    assert js["invoke"]["operation"] == "Invoke"
    # (minus ctx.request: the caller's headers, credentials included, never reach the Lambda)
    assert set(js["invoke"]["payload"]) == {"arguments", "identity", "source", "info", "prev", "stash"}
