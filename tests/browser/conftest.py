"""Browser fixtures: node + playwright-core from the lock file, Debian's chromium, a built web/dist, a TLS server."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.server import LocalServer, start_server

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
DIST_INDEX = WEB / "dist" / "index.html"


def _missing(what: str) -> None:
    """Outside CI a missing prerequisite skips with the reason; in CI (`make test` installs them) it fails."""
    if os.environ.get("CI"):
        pytest.fail(f"{what} - `make test` installs it (make node browser)")
    pytest.skip(what)


@pytest.fixture(scope="session")
def node() -> str:
    binary = shutil.which("node")
    if not binary or not (ROOT / "node_modules" / "playwright-core").is_dir():
        _missing("browser tests need node and node_modules (run `make node`)")
    assert binary is not None
    return binary


@pytest.fixture(scope="session")
def chromium() -> str:
    binary = os.environ.get("CHROMIUM") or shutil.which("chromium")
    if not binary:
        _missing("browser tests need Debian's chromium (run `make browser`)")
    assert binary is not None
    return binary


def _sources_newer_than_build() -> bool:
    if not DIST_INDEX.is_file():
        return True
    built = DIST_INDEX.stat().st_mtime
    sources = [WEB / "index.html", WEB / "vite.config.ts", WEB / "tsconfig.json", *(WEB / "src").rglob("*")]
    return any(path.stat().st_mtime > built for path in sources if path.is_file())


@pytest.fixture(scope="session")
def web_dist(node: str) -> Path:
    """web/dist, built with `npm run build` when missing or older than its sources."""
    if _sources_newer_than_build():
        npm = shutil.which("npm") or "npm"
        built = subprocess.run([npm, "run", "build"], cwd=ROOT, capture_output=True, text=True, timeout=180, check=False)
        assert built.returncode == 0, f"npm run build failed:\n{built.stdout}\n{built.stderr}"
    return DIST_INDEX.parent


@pytest.fixture(scope="module")
def console_server(tmp_path_factory: pytest.TempPathFactory, web_dist: Path) -> Iterator[LocalServer]:
    running = start_server(tmp_path_factory.mktemp("console"), "--tls")
    yield running
    running.stop()
