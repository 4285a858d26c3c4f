"""The worker tuning reaches the runtime from both commands that run a worker, by one path.

`dev` once ignored ``JOBS_VISIBILITY_TIMEOUT``: a server killed between a receive and its claim then
left that message hidden for the 90 s default, however short the caller had asked recovery to be.
Now both commands read the environment through ``Settings.from_env`` (the Lambdas' own reader) and
an option replaces the ``Settings`` field of the same name.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

import devserver.runtime
from devserver.cli import app
from devserver.runtime import LocalConfig
from jobcore.runner import RunnerConfig
from jobcore.settings import LOCAL_VISIBILITY_TIMEOUT_SECONDS, Settings

TUNING_ENV = {
    "JOBS_VISIBILITY_TIMEOUT": "7",
    "JOBS_LEASE_SECONDS": "5",
    "JOBS_VISIBILITY_MARGIN": "2",
    "JOBS_MAX_RECEIVE_COUNT": "4",
    "JOBS_RETRY_BACKOFF_BASE": "3",
    "JOBS_REAPER_INTERVAL": "1.5",
    "JOBS_LAMBDA_TIMEOUT_SECONDS": "60",
    "JOBS_HANDBACK_MARGIN_SECONDS": "6",
    "APPSYNC_JOBS_TASK_MODULES": "tasks_a, tasks_b",
}


class _Captured(Exception):
    def __init__(self, config: LocalConfig, settings: Settings) -> None:
        super().__init__("captured")
        self.config = config
        self.settings = settings


def _expect_tuning(settings: Settings) -> None:
    assert settings.backend == "local"
    assert (settings.visibility_timeout_seconds, settings.lease_seconds, settings.visibility_margin_seconds) == (7, 5, 2)
    assert (settings.max_receive_count, settings.retry_backoff_base_seconds, settings.reaper_interval_seconds) == (4, 3, 1.5)
    assert (settings.lambda_timeout_seconds, settings.handback_margin_seconds) == (60, 6)
    assert settings.task_modules == ("tasks_a", "tasks_b")
    # The runner's timing is the same values under the same names.
    runner = RunnerConfig.from_settings(settings)
    assert (runner.lease_seconds, runner.visibility_margin_seconds, runner.retry_backoff_base_seconds,
            runner.visibility_timeout_seconds) == (5, 2, 3, 7)


def _capture_dev(monkeypatch: pytest.MonkeyPatch, args: list[str], env: dict[str, str]) -> _Captured:
    async def fake_start_local(config: LocalConfig, settings: Settings) -> None:
        raise _Captured(config, settings)

    monkeypatch.setattr(devserver.runtime, "start_local", fake_start_local)
    result = CliRunner().invoke(app, ["dev", *args], env=env)
    assert isinstance(result.exception, _Captured), result.output
    return result.exception


def _capture_worker(monkeypatch: pytest.MonkeyPatch, args: list[str], env: dict[str, str]) -> _Captured:
    def fake_run_worker(config: LocalConfig, settings: Settings) -> None:
        raise _Captured(config, settings)

    monkeypatch.setattr(devserver.runtime, "run_worker", fake_run_worker)
    result = CliRunner().invoke(app, ["worker", *args], env=env)
    assert isinstance(result.exception, _Captured), result.output
    return result.exception


def test_dev_passes_worker_tuning_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    captured = _capture_dev(monkeypatch, ["--data-dir", str(tmp_path)], TUNING_ENV)
    _expect_tuning(captured.settings)
    assert captured.settings.data_dir == tmp_path


def test_worker_passes_worker_tuning_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    captured = _capture_worker(monkeypatch, ["--data-dir", str(tmp_path), "--queue", "long"], TUNING_ENV)
    _expect_tuning(captured.settings)
    assert captured.config.queues == "long"


def test_an_option_replaces_the_settings_field_of_its_name(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env = {**TUNING_ENV, "APPSYNC_JOBS_DATA_DIR": str(tmp_path / "from-env")}
    captured = _capture_worker(monkeypatch, [
        "--lease-seconds", "50", "--visibility-timeout-seconds", "70", "--lambda-timeout", "30",  # older spelling
        "--task-modules", "tasks_c", "--url", "http://127.0.0.1:9/graphql",
    ], env)
    settings = captured.settings
    assert (settings.lease_seconds, settings.visibility_timeout_seconds, settings.lambda_timeout_seconds) == (50, 70, 30)
    assert settings.task_modules == ("tasks_c",)
    assert settings.graphql_url == "http://127.0.0.1:9/graphql"
    assert settings.visibility_margin_seconds == 2  # not given: the environment still decides
    assert settings.data_dir == tmp_path / "from-env"


def test_without_options_or_environment_the_local_defaults_apply(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith(("JOBS_", "APPSYNC_JOBS_"))]:
        monkeypatch.delenv(name)
    captured = _capture_dev(monkeypatch, [], {})
    assert captured.settings == Settings.from_env({}, backend="local")
    assert captured.settings.visibility_timeout_seconds == LOCAL_VISIBILITY_TIMEOUT_SECONDS == 90
    assert (captured.config.port, captured.config.certfile, captured.settings.ca_bundle) == (8000, None, None)


def test_dev_tls_serves_its_certificate_and_its_worker_trusts_the_ca(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``certfile`` is the server's certificate; the embedded worker's reporter trusts the CA that signed it."""
    captured = _capture_dev(monkeypatch, ["--tls", "--data-dir", str(tmp_path)], {})
    tls = tmp_path / "tls"
    assert (captured.config.certfile, captured.config.keyfile) == (tls / "server.pem", tls / "server-key.pem")
    assert captured.settings.ca_bundle == tls / "ca.pem"


def test_worker_ca_bundle_comes_from_the_clients_variable_or_the_option(monkeypatch: pytest.MonkeyPatch) -> None:
    from_env = _capture_worker(monkeypatch, [], {"APPSYNC_JOBS_CA_BUNDLE": "/x/ca.pem"})
    assert from_env.settings.ca_bundle == Path("/x/ca.pem")
    from_option = _capture_worker(monkeypatch, ["--ca-bundle", "/y/ca.pem"], {"APPSYNC_JOBS_CA_BUNDLE": "/x/ca.pem"})
    assert from_option.settings.ca_bundle == Path("/y/ca.pem")


def test_the_older_flag_spellings_name_the_same_fields(monkeypatch: pytest.MonkeyPatch) -> None:
    captured = _capture_dev(monkeypatch, [
        "--visibility-margin", "1", "--retry-backoff-base", "4", "--reaper-interval", "2.5", "--visibility-timeout", "9",
        "--lambda-timeout", "40", "--handback-margin", "5", "--tasks", "tasks_d",
    ], {})
    settings = captured.settings
    assert (settings.visibility_margin_seconds, settings.retry_backoff_base_seconds, settings.reaper_interval_seconds,
            settings.visibility_timeout_seconds) == (1, 4, 2.5, 9)
    assert (settings.lambda_timeout_seconds, settings.handback_margin_seconds, settings.task_modules) == (40, 5, ("tasks_d",))


def test_the_reporter_verifies_against_the_settings_ca_bundle() -> None:
    from jobcore.bootstrap import reporter_from_settings

    local = Settings.from_env({"GRAPHQL_URL": "https://127.0.0.1:9/graphql"}, backend="local")
    assert reporter_from_settings(local)._transport_args["verify"] is True  # type: ignore[attr-defined]
    trusted = local.with_overrides(ca_bundle=Path("/x/ca.pem"))
    assert reporter_from_settings(trusted)._transport_args["verify"] == "/x/ca.pem"  # type: ignore[attr-defined]
