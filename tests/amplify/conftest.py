"""Node-side fixtures: the repo's one Node project (package.json at the root) and the local TLS server."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.server import LocalServer, start_server

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def node() -> str:
    """The `node` binary, once `npm ci` has installed the lock file. Missing outside CI: skip; in CI: fail."""
    binary = shutil.which("node")
    installed = (ROOT / "node_modules" / "aws-amplify").is_dir()
    missing = [what for what, ok in (("node", binary), ("node_modules (run `make node`)", installed)) if not ok]
    if missing:
        reason = f"Amplify JS tests need {' and '.join(missing)}"
        if os.environ.get("CI"):
            pytest.fail(reason + " - `make test` installs them (make node)")
        pytest.skip(reason)
    assert binary is not None
    return binary


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    running = start_server(tmp_path_factory.mktemp("amplify"), "--tls")
    yield running
    stop_tls_server(running)


def stop_tls_server(server: LocalServer) -> None:
    server.stop()
