"""Issue 10 in a real browser: the console lists the user's jobs from the API and follows them all live.

tests/browser/many.mjs drives three browser contexts (alice twice, with separate storage, and bob) against one
TLS server; the assertions that matter are repeated here. Screenshots: test-artifacts/console-many/.
Set UPDATE_DOCS_SCREENSHOT=1 to also rewrite docs/console.png from this run.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from support.server import LocalServer

ROOT = Path(__file__).resolve().parents[2]
DRIVER = Path(__file__).with_name("many.mjs")
ARTIFACTS = ROOT / "test-artifacts" / "console-many"

pytestmark = pytest.mark.slow


def run_many(node: str, chromium: str, server: LocalServer) -> dict[str, dict[str, Any]]:
    from devserver.auth.user_pool import LocalUserPool

    pool, suffix = LocalUserPool(), uuid.uuid4().hex[:8]
    docs = ["--docs-screenshot", str(ROOT / "docs" / "console.png")] if os.environ.get("UPDATE_DOCS_SCREENSHOT") else []
    done = subprocess.run(
        [node, str(DRIVER), "--url", f"https://127.0.0.1:{server.port}/", "--server-cert", str(server.data_dir / "tls" / "server.pem"),
         "--alice", pool.mint(f"alice-{suffix}"), "--bob", pool.mint(f"bob-{suffix}"), "--artifacts", str(ARTIFACTS),
         "--chromium", chromium, "--timeout-ms", "90000", *docs],
        cwd=ROOT, env={**os.environ, "NODE_EXTRA_CA_CERTS": str(server.ca_file)},
        capture_output=True, text=True, timeout=120, check=False,
    )
    steps = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    by_name = {step["step"]: step for step in steps if step["step"] != "screenshot"}
    assert done.returncode == 0 and "ok" in by_name, f"scenario failed:\n{done.stdout}\n{done.stderr}"
    return by_name


def test_a_second_browser_of_the_same_user_sees_the_jobs_and_another_user_none(
    node: str, chromium: str, console_server: LocalServer,
) -> None:
    steps = run_many(node, chromium, console_server)

    second = steps["second-browser"]
    assert [job_id for job_id, _ in second["listed"]] == [second["id"]]  # listed by the API, not local storage
    first_status, first_version = second["firstSight"][0]
    assert first_status in {"PENDING", "RUNNING"}, second["firstSight"]
    statuses = [status for status, _ in second["seenLive"]]
    assert statuses[-1] == "SUCCEEDED" and "RUNNING" in statuses, statuses  # followed live to the end
    versions = [version for _, version in second["seenLive"]]
    assert versions == sorted(set(versions)) and versions[0] == first_version, versions
    assert second["result"] == {"slept": 5, "steps": 10}

    retried = steps["retried"]
    seen = [status for status, _ in retried["seenInFirst"]]
    assert "PENDING" in seen and seen[-1] == "FAILED", seen  # the retry made in browser 2, seen live in browser 1
    assert retried["attempts"] == "2 attempts"
    short = retried["id"][:8]
    announced = retried["announcedInSecond"]  # browser 2's aria-live region, for a job submitted in browser 1
    assert announced[0] == f"New fail job {short}: PENDING", announced
    assert f"fail job {short} is FAILED (DemoFailure: flaky)" in announced, announced
    assert retried["retryVisibleAgain"]  # failed again: retryable again

    isolation = steps["isolation"]
    identities = {(who, when): text for who, when, text in isolation["identities"]}
    assert identities[("bob", "before")].startswith("the API key")
    assert identities[("bob", "after")].startswith("bob-") and identities[("bob", "after")].endswith("(user-pool token)")
    assert identities[("alice-2", "after")].startswith("alice-")
    assert isolation["bobBefore"] == [] and isolation["bobEmptyText"]
    assert isolation["bobAfter"] == [[isolation["bobId"], "SUCCEEDED"]]  # only his own, after alice's three events
    alice_ids = {second["id"], retried["id"]}
    for page in ("alice1", "alice2"):
        assert {job_id for job_id, _ in isolation[page]} == alice_ids  # bob's job never reached alice

    paged = steps["paged"]
    newest_first = [*reversed(paged["apiSubmitted"]), isolation["bobId"]]
    assert paged["moreVisible"] and len(paged["firstPage"]) == 20
    assert paged["firstPage"] == newest_first[:20]
    assert paged["all"] == newest_first and not paged["moreAfter"]  # "Load more jobs" followed nextToken to the end
    assert paged["announced"] == "Loaded 2 more jobs; that is all of them"
