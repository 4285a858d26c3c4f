"""One reader for the runtime's environment: ``Settings.from_env``.

Before, ``JOBS_*`` variables were read both by typer options and by ``Settings.from_env`` (and the long
worker read its own), so a default or a name could differ between the Lambdas and the local runtime.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Mapping
from pathlib import Path

from jobcore.settings import DEFAULT_VISIBILITY_TIMEOUT_SECONDS, LOCAL_VISIBILITY_TIMEOUT_SECONDS, Settings

ROOT = Path(__file__).resolve().parents[2]
SERVER_PACKAGES = ("jobcore", "resolvers", "worker", "devserver")


class RecordingEnv(Mapping[str, str]):
    """An environment that counts which variables are looked up."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values
        self.reads: Counter[str] = Counter()

    def __getitem__(self, name: str) -> str:
        self.reads[name] += 1
        return self.values[name]

    def get(self, name: str, default: object = None) -> object:  # type: ignore[override]
        self.reads[name] += 1
        return self.values.get(name, default)

    def __iter__(self) -> Iterator[str]:
        raise AssertionError("Settings.from_env must look variables up by name, not scan the environment")

    def __len__(self) -> int:
        return len(self.values)


def _read_names(backend: str) -> Counter[str]:
    env = RecordingEnv({"APPSYNC_JOBS_BACKEND": backend})
    Settings.from_env(env)
    return env.reads


def test_from_env_reads_each_variable_once() -> None:
    for backend in ("aws", "local"):
        reads = _read_names(backend)
        assert {name for name, count in reads.items() if count > 1} == set(), reads
    assert {"JOBS_LEASE_SECONDS", "JOBS_REAPER_INTERVAL", "APPSYNC_JOBS_CA_BUNDLE", "JOBS_LONG_CONCURRENCY"} <= set(
        _read_names("local")
    )


def test_no_other_server_module_reads_a_settings_variable() -> None:
    names = {name for name in _read_names("local") if name.startswith(("JOBS_", "APPSYNC_JOBS_"))}
    readers = re.compile(r"environ|getenv|envvar=")
    elsewhere = []
    for package in SERVER_PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if path == ROOT / "jobcore" / "settings.py":
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if readers.search(line) and any(f'"{name}"' in line for name in names):
                    elsewhere.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert elsewhere == []


def test_the_local_runtime_hides_a_received_message_for_less_by_default() -> None:
    assert Settings.from_env({}, backend="local").visibility_timeout_seconds == LOCAL_VISIBILITY_TIMEOUT_SECONDS
    assert Settings.from_env({}).visibility_timeout_seconds == DEFAULT_VISIBILITY_TIMEOUT_SECONDS
    assert Settings.from_env({"JOBS_VISIBILITY_TIMEOUT": "5"}, backend="local").visibility_timeout_seconds == 5


def test_the_backend_argument_wins_over_the_variable() -> None:
    settings = Settings.from_env({"APPSYNC_JOBS_BACKEND": "aws"}, backend="local")
    assert settings.backend == "local" and settings.access_key_id  # the local server's signing key


def test_the_local_runtime_keeps_the_documented_region() -> None:
    shell = {"AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-west-1"}
    assert Settings.from_env(shell, backend="local").region == "us-east-1"
    assert Settings.from_env(shell).region == "eu-west-1"


def test_overrides_ignore_options_not_given() -> None:
    settings = Settings.from_env({"JOBS_LEASE_SECONDS": "9", "JOBS_LONG_CONCURRENCY": "3"})
    assert settings.long_concurrency == 3
    replaced = settings.with_overrides(lease_seconds=None, max_receive_count=7)
    assert (replaced.lease_seconds, replaced.max_receive_count) == (9, 7)
