"""The local server (``appsync-jobs dev`` as a real process) for the end-to-end tests.

- ``server``: one server per test module, stopped after its last test. A module that needs flags or
  environment says so once, at the top::

      pytestmark = pytest.mark.local_server("--no-worker", env={"JOBS_LEASE_SECONDS": "2"})

- ``start_local_server``: a factory for a test that needs its own server(s) - a restart on the same
  data, a kill -9, other settings per test. ``start_local_server(*flags, env=..., data_dir=...)``
  (``data_dir`` defaults to the test's ``tmp_path``); every server it started is stopped afterwards,
  even when the test fails halfway (stopping an already stopped server is a no-op).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from support.server import LocalServer, StartServer, start_server


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "local_server(*flags, env=None): the flags and environment of the module's `server` fixture"
    )


@pytest.fixture(scope="module")
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    marker = request.node.get_closest_marker("local_server")
    flags: tuple[str, ...] = marker.args if marker else ()
    env: dict[str, str] | None = marker.kwargs.get("env") if marker else None
    running = start_server(tmp_path_factory.mktemp(request.module.__name__.rpartition(".")[2]), *flags, env=env)
    yield running
    running.stop()


@pytest.fixture
def start_local_server(tmp_path: Path) -> Iterator[StartServer]:
    started: list[LocalServer] = []

    def start(*flags: str, env: dict[str, str] | None = None, data_dir: Path | None = None) -> LocalServer:
        running = start_server(data_dir or tmp_path, *flags, env=env)
        started.append(running)
        return running

    yield start
    for running in reversed(started):
        running.stop()
