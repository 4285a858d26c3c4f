"""Issue 6: the web console in a real browser (Debian's chromium driven by playwright-core).

tests/browser/console.mjs runs the scenario and reports one JSON line per checkpoint; the assertions that
matter are repeated here so a failure reads clearly. Screenshots of every state: test-artifacts/console/.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests

from support.server import API_KEY, LocalServer

ROOT = Path(__file__).resolve().parents[2]
DRIVER = Path(__file__).with_name("console.mjs")
ARTIFACTS = ROOT / "test-artifacts" / "console"

pytestmark = pytest.mark.slow


def run_console(node: str, chromium: str, server: LocalServer, *extra: str, as_user: bool = True) -> dict[str, dict[str, Any]]:
    """One run of the scenario, as a user of its own (the list is the API's: a fresh user starts empty) or, with
    ``as_user=False``, with the API key (one principal: only one such run per server)."""
    from devserver.auth.user_pool import LocalUserPool

    identity = ["--token", LocalUserPool().mint(f"console-{uuid.uuid4().hex[:8]}")] if as_user else []
    env = {**os.environ, "NODE_EXTRA_CA_CERTS": str(server.ca_file)}
    done = subprocess.run(
        [node, str(DRIVER), "--url", f"https://127.0.0.1:{server.port}/", "--server-cert", str(server.data_dir / "tls" / "server.pem"),
         "--api-key", API_KEY, *identity, "--artifacts", str(ARTIFACTS), "--chromium", chromium, "--timeout-ms", "60000", *extra],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=90, check=False,
    )
    steps = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    by_name = {step["step"]: step for step in steps if step["step"] != "screenshot"}
    assert done.returncode == 0 and "ok" in by_name, f"console scenario failed:\n{done.stdout}\n{done.stderr}"
    by_name["screenshots"] = {"paths": [s["path"] for s in steps if s["step"] == "screenshot"]}
    return by_name


def check_scenario(steps: dict[str, dict[str, Any]]) -> None:
    succeeded = steps["succeeded"]
    assert succeeded["badge"] == "✔ SUCCEEDED"
    assert succeeded["progress"] == 100
    assert succeeded["percentText"] == "100 %"
    assert succeeded["result"] == {"slept": 2, "steps": 8}
    seen = [p for p in succeeded["seenProgress"] if p is not None]
    assert seen == sorted(seen), seen  # the bar only moves forward
    assert any(0 < p < 100 for p in seen) and seen[-1] == 100, seen
    assert succeeded["announced"].endswith("is SUCCEEDED")  # aria-live region
    assert re.fullmatch(r"\d+\.\d s", succeeded["elapsed"]), succeeded["elapsed"]  # e.g. "2.3 s"

    failed = steps["failed-job"]
    assert failed["badge"] == "✖ FAILED"
    assert failed["error"] == "Error: DemoFailure: demo failure"
    assert "FAILED (DemoFailure: demo failure)" in failed["announced"]

    cancelled = steps["cancelled"]
    assert cancelled["badge"] == "⊘ CANCELLED"
    assert not cancelled["cancelVisible"]
    assert cancelled["announced"].endswith("is CANCELLED")

    reloaded = steps["reloaded"]
    assert reloaded["after"] == reloaded["before"]
    assert [status for _, status in reloaded["after"]] == ["CANCELLED", "FAILED", "SUCCEEDED"]
    assert reloaded["result"] == {"slept": 2, "steps": 8}

    for path in steps["screenshots"]["paths"]:
        assert Path(path).stat().st_size > 1000, path


def test_served_at_root_next_to_the_api(console_server: LocalServer) -> None:
    base = f"https://127.0.0.1:{console_server.port}"
    verify = str(console_server.ca_file)
    page = requests.get(f"{base}/", verify=verify, timeout=10)
    assert page.status_code == 200
    assert "appsync-jobs console" in page.text
    assert page.headers["cache-control"] == "no-cache"
    asset = next(part.split('"')[0] for part in page.text.split('src="./')[1:] if part.startswith("assets/"))
    script = requests.get(f"{base}/{asset}", verify=verify, timeout=10)
    assert script.status_code == 200
    assert "immutable" in script.headers["cache-control"]
    outputs = requests.get(f"{base}/amplify_outputs.json", verify=verify, timeout=10).json()
    assert outputs["data"]["url"] == f"{base}/graphql"
    assert requests.get(f"{base}/health", verify=verify, timeout=10).json()["status"] == "ok"
    assert requests.get(f"{base}/no-such-file.js", verify=verify, timeout=10).status_code == 404


def test_console_submits_follows_cancels_fails_and_survives_reload(node: str, chromium: str, console_server: LocalServer) -> None:
    steps = run_console(node, chromium, console_server)
    check_scenario(steps)


def test_console_recovers_the_final_state_after_its_websocket_is_cut_mid_job(
    node: str, chromium: str, console_server: LocalServer,
) -> None:
    steps = run_console(node, chromium, console_server, "--cut-socket", as_user=False)  # the API key's jobs
    cut, restored = steps["socket-cut"], steps["socket-restored"]
    assert cut["connection"] == "ConnectionDisruptedPendingNetwork"  # Amplify saw the socket drop while offline
    assert restored["server"]["status"] == "SUCCEEDED"  # the job finished while the page was cut off...
    assert restored["stale"]["status"] == "RUNNING"  # ...and the page had not heard of it
    check_scenario(steps)  # yet it ends showing SUCCEEDED, 100 % and the result, re-read with job(id)
