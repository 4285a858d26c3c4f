"""The worker tuning options reach the runtime from both commands that run a worker.

`dev` once ignored ``JOBS_VISIBILITY_TIMEOUT``: a server killed between a receive and its claim then
left that message hidden for the 90 s default, however short the caller had asked recovery to be.
"""

from __future__ import annotations

from typing import Any

import pytest
from typer.testing import CliRunner

import devserver.runtime
from client.cli import app
from devserver.runtime import LocalConfig

TUNING_ENV = {
    "JOBS_VISIBILITY_TIMEOUT": "7",
    "JOBS_LEASE_SECONDS": "5",
    "JOBS_VISIBILITY_MARGIN": "2",
    "JOBS_MAX_RECEIVE_COUNT": "4",
    "JOBS_RETRY_BACKOFF_BASE": "3",
    "JOBS_REAPER_INTERVAL": "1.5",
}


class _Captured(Exception):
    def __init__(self, config: LocalConfig) -> None:
        super().__init__("captured")
        self.config = config


def _expect_tuning(config: LocalConfig) -> None:
    assert (config.visibility_timeout, config.lease_seconds, config.visibility_margin) == (7, 5, 2)
    assert (config.max_receive_count, config.retry_backoff_base, config.reaper_interval) == (4, 3, 1.5)


def test_dev_passes_worker_tuning_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    async def fake_start_local(config: LocalConfig) -> None:
        raise _Captured(config)

    monkeypatch.setattr(devserver.runtime, "start_local", fake_start_local)
    result = CliRunner().invoke(app, ["dev", "--data-dir", str(tmp_path)], env=TUNING_ENV)
    assert isinstance(result.exception, _Captured), result.output
    _expect_tuning(result.exception.config)


def test_worker_passes_worker_tuning_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    def fake_run_worker(config: LocalConfig, url: str) -> None:
        raise _Captured(config)

    monkeypatch.setattr(devserver.runtime, "run_worker", fake_run_worker)
    result = CliRunner().invoke(app, ["worker", "--data-dir", str(tmp_path)], env=TUNING_ENV)
    assert isinstance(result.exception, _Captured), result.output
    _expect_tuning(result.exception.config)
