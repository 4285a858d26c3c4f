"""Issue 3: Amplify JS v6, unchanged, submits and follows a job on the local TLS endpoint.

The Node script (tests/amplify/subscribe.mjs) only configures Amplify with the https endpoint and an API key,
as an app would; Amplify itself derives wss://.../graphql/realtime, sends the `header-` subprotocol, waits
for start_ack and parses AppSync's messages. The local CA is trusted through NODE_EXTRA_CA_CERTS, never by
turning verification off.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from support.server import API_KEY, LocalServer

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("subscribe.mjs")

pytestmark = pytest.mark.slow


def run_script(
    node: str, server: LocalServer, *args: str, trust_ca: bool = True, api_key: str = API_KEY,
) -> tuple[int, list[dict[str, Any]], str]:
    env = {k: v for k, v in os.environ.items() if k not in {"NODE_EXTRA_CA_CERTS", "NODE_TLS_REJECT_UNAUTHORIZED"}}
    if trust_ca:
        env["NODE_EXTRA_CA_CERTS"] = str(server.ca_file)
    done = subprocess.run(
        [node, str(SCRIPT), "--endpoint", server.url, "--api-key", api_key, "--timeout-ms", "20000", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=40, check=False,
    )
    events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    return done.returncode, events, done.stderr


def test_amplify_submits_and_follows_a_job_to_success(node: str, tls_server: LocalServer) -> None:
    code, events, stderr = run_script(node, tls_server, "--type", "sleep", "--payload", json.dumps({"seconds": 1.2, "steps": 6}))
    assert code == 0, (events, stderr)
    kinds = [e["event"] for e in events]
    assert kinds[0] == "submitted"
    assert events[0]["job"]["status"] == "PENDING"
    assert {"event": "connection", "state": "Connected"} in events  # Amplify's own Hub event after start_ack

    updates = [e["job"] for e in events if e["event"] == "data"]
    assert any(j["status"] == "RUNNING" and (j["progress"] or 0) > 0 for j in updates), updates
    assert updates[-1]["status"] == "SUCCEEDED"  # delivered by the subscription, not only the query
    versions = [j["version"] for j in updates]
    assert versions == sorted(set(versions)), versions  # strictly increasing

    final = events[-1]
    assert final["event"] == "done"
    assert final["job"]["status"] == "SUCCEEDED"
    assert json.loads(final["job"]["result"]) == {"slept": 1.2, "steps": 6}  # AWSJSON: a JSON string on the wire
    assert final["job"]["progress"] == 100
    assert final["job"]["finishedAt"]


def test_a_failing_job_reaches_amplify_with_its_error(node: str, tls_server: LocalServer) -> None:
    payload = json.dumps({"message": "boom", "retryable": False})
    code, events, stderr = run_script(node, tls_server, "--type", "fail", "--payload", payload)
    assert code == 0, (events, stderr)
    final = events[-1]["job"]
    assert final["status"] == "FAILED"
    assert final["error"] == {"type": "DemoFailure", "message": "boom"}


def test_a_wrong_api_key_is_refused_on_the_mutation(node: str, tls_server: LocalServer) -> None:
    code, events, _ = run_script(node, tls_server, api_key="da2-thisisnotthekey0000000000")
    assert code == 1
    assert events == [{"event": "error", "phase": "submitJob", "errors": [{"message": "Unauthorized", "errorType": "GraphQLError"}]}]


def test_a_wrong_api_key_is_refused_on_the_subscription(node: str, tls_server: LocalServer) -> None:
    _, submitted, _ = run_script(node, tls_server, "--type", "echo", "--payload", "{}")
    job_id = submitted[0]["job"]["id"]
    code, events, _ = run_script(node, tls_server, "--job-id", job_id, api_key="da2-thisisnotthekey0000000000")
    assert code == 1
    error = events[-1]
    assert error["event"] == "error"
    assert error["phase"] == "subscription"
    assert "UnauthorizedException" in error["errors"][0]["message"]
    assert not any(e["event"] in {"data", "query", "done"} for e in events)


def test_tls_is_verified_not_bypassed(node: str, tls_server: LocalServer) -> None:
    """Without NODE_EXTRA_CA_CERTS the local certificate is not trusted: proof that nothing disables verification."""
    code, events, _ = run_script(node, tls_server, trust_ca=False)
    assert code == 1
    assert events[-1]["phase"] == "submitJob"
    assert "network error" in events[-1]["errors"][0]["message"]


def test_amplify_as_a_signed_in_user_follows_only_its_own_jobs(node: str, tls_server: LocalServer) -> None:
    # defaultAuthMode 'userPool': Amplify sends the raw access token, on HTTP and in the socket's
    # header- subprotocol; the local pool checks it as AppSync checks a Cognito token.
    from devserver.auth.user_pool import LocalUserPool

    pool = LocalUserPool()
    code, events, stderr = run_script(node, tls_server, "--token", pool.mint("alice"), "--type", "sleep",
                                      "--payload", json.dumps({"seconds": 0.6, "steps": 3}))
    assert code == 0, (events, stderr)
    assert events[-1]["event"] == "done" and events[-1]["job"]["status"] == "SUCCEEDED"
    assert any(e["event"] == "data" for e in events)  # delivered over the user-pool socket
    job_id = events[0]["job"]["id"]

    code, events, _ = run_script(node, tls_server, "--token", pool.mint("bob"), "--job-id", job_id)
    assert code == 1
    assert events[-1]["event"] == "error"
    # Amplify reports a refused start as "Connection failed: <AppSync's error payload>".
    assert events[-1]["phase"] == "subscription"
    assert '"errorType":"NotFound"' in events[-1]["errors"][0]["message"]
    assert not any(e["event"] in {"data", "query", "done"} for e in events)
