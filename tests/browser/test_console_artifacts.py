"""Issue 11: the web console lists a finished job's artifacts as download links (minted by job(id))."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.server import LocalServer, start_server

ROOT = Path(__file__).resolve().parents[2]
DRIVER = Path(__file__).with_name("artifacts.mjs")
ARTIFACTS = ROOT / "test-artifacts" / "console"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def artifact_server(tmp_path_factory: pytest.TempPathFactory, web_dist: Path) -> Iterator[LocalServer]:
    running = start_server(tmp_path_factory.mktemp("console-artifacts"), "--tls", "--tasks", "support.tasks")
    yield running
    running.stop()


def test_the_console_links_a_jobs_artifacts(node: str, chromium: str, artifact_server: LocalServer) -> None:
    done = subprocess.run(
        [node, str(DRIVER), "--url", f"https://127.0.0.1:{artifact_server.port}/",
         "--server-cert", str(artifact_server.data_dir / "tls" / "server.pem"), "--artifacts", str(ARTIFACTS),
         "--chromium", chromium, "--timeout-ms", "60000"],
        cwd=ROOT, env={**os.environ, "NODE_EXTRA_CA_CERTS": str(artifact_server.ca_file)},
        capture_output=True, text=True, timeout=90, check=False,
    )
    steps = {s["step"]: s for s in (json.loads(line) for line in done.stdout.splitlines() if line.startswith("{"))}
    assert done.returncode == 0 and "ok" in steps, f"scenario failed:\n{done.stdout}\n{done.stderr}"
    linked = steps["linked"]
    assert sorted(link["name"] for link in linked["links"]) == ["data.bin", "meta.json", "report.csv"]
    for link in linked["links"]:
        assert link["href"].startswith(f"https://127.0.0.1:{artifact_server.port}/artifacts/jobs/")
        assert "X-Signature=" in link["href"] and link["download"] == link["name"]
    assert any(text.startswith("report.csv (") and "text/csv" in text for text in linked["listed"])
    assert linked["csvHead"].startswith("n,square\n0,0\n")
