"""Issue 11 units: the escaped publish budget, routing by time limit, and signed local artifact URLs."""

from __future__ import annotations

from pathlib import Path

import pytest

from jobcore.adapters.local_artifacts import LocalArtifactStore, UrlRefused
from jobcore.errors import PayloadTooLarge
from jobcore.limits import (
    APPSYNC_SUBSCRIPTION_PAYLOAD_BYTES,
    MAX_PAYLOAD_BYTES,
    PUBLISH_BUDGET_BYTES,
    check_published_job,
    check_published_payload,
    escaped_json_size,
    json_size,
    published_size,
)
from jobcore.registry import MAX_TIME_LIMIT_SECONDS, TaskLimitTooLong, TaskRegistry
from jobcore.settings import Settings

# --- the publish budget -------------------------------------------------------------------------


def _job(payload: object = None, result: object = None) -> dict[str, object]:
    return {"id": "6f1c0c9e-1d7e-4a55-9b1e-0d6f1f1f1f1f", "type": "echo", "status": "SUCCEEDED",
            "payload": payload, "result": result, "error": None, "progress": 100, "message": None,
            "attempts": 1, "cancelRequested": False, "version": 4, "createdAt": "2026-01-01T00:00:00.000Z",
            "updatedAt": "2026-01-01T00:00:00.000Z", "startedAt": None, "finishedAt": None, "artifacts": []}


def test_the_published_size_counts_awsjson_as_an_escaped_string() -> None:
    quoted = {"text": '"' * 25_000}
    # As JSON text a quote takes 2 bytes; inside the AWSJSON *string* AppSync publishes, 4.
    assert json_size(quoted) < 50_100
    assert escaped_json_size(quoted) > 4 * 25_000
    assert published_size(_job(payload=quoted)) > 4 * 25_000


def test_a_job_under_both_old_caps_can_exceed_appsync_limit_and_is_refused() -> None:
    # The seed's rule (payload <= 100 KB and result <= 100 KB, unescaped) let this through, and
    # AppSync would have dropped its SUCCEEDED event without an error.
    payload = {"p": '"' * 40_000}
    result = {"r": '"' * 40_000}
    assert json_size(payload) < 100_000 and json_size(result) < 100_000
    assert published_size(_job(payload, result)) > APPSYNC_SUBSCRIPTION_PAYLOAD_BYTES
    with pytest.raises(PayloadTooLarge) as refused:
        check_published_job(_job(payload, result))
    assert refused.value.info == {"limitBytes": PUBLISH_BUDGET_BYTES, "sizeBytes": published_size(_job(payload, result))}


def test_the_payload_cap_is_measured_escaped() -> None:
    check_published_payload({"ok": "x" * 90_000})
    with pytest.raises(PayloadTooLarge):
        check_published_payload({"quotes": '"' * 40_000})  # 80 KB as JSON, ~160 KB as published
    with pytest.raises(PayloadTooLarge):
        check_published_payload({"text": "\u00e9" * 20_000})  # non-ASCII counted at its escaped worst case


def test_a_maximal_payload_leaves_room_for_a_progress_event() -> None:
    payload = {"x": "y" * (MAX_PAYLOAD_BYTES - 100)}
    check_published_payload(payload)
    job = _job(payload)
    job["message"] = "\u2026" * 2_000
    check_published_job(job)


# --- routing by time limit ----------------------------------------------------------------------


def _registry() -> TaskRegistry:
    registry = TaskRegistry()
    registry.task("short", time_limit_seconds=60)(lambda ctx: None)
    registry.task("edge", time_limit_seconds=870)(lambda ctx: None)
    registry.task("twenty-minutes", time_limit_seconds=1200)(lambda ctx: None)
    registry.task("pinned-long", time_limit_seconds=5, route="long")(lambda ctx: None)
    return registry


def test_tasks_route_by_whether_their_limit_fits_the_lambda_worker() -> None:
    budget = Settings(backend="aws", region="us-east-1").lambda_budget_seconds
    assert budget == 870  # 900 s timeout - 30 s hand-back margin
    registry = _registry()
    assert registry.get("short").route_for(budget) == "lambda"
    assert registry.get("edge").route_for(budget) == "lambda"
    assert registry.get("twenty-minutes").route_for(budget) == "long"
    assert registry.get("pinned-long").route_for(budget) == "long"
    assert registry.get("edge").route_for(budget - 1) == "long"


def test_the_registry_refuses_a_lambda_pinned_limit_that_cannot_fit() -> None:
    registry = _registry()
    registry.task("pinned-lambda", time_limit_seconds=900, route="lambda")(lambda ctx: None)
    settings = Settings.from_env({"JOBS_LAMBDA_TIMEOUT_SECONDS": "900", "JOBS_HANDBACK_MARGIN_SECONDS": "30"})
    with pytest.raises(TaskLimitTooLong, match="pinned-lambda"):
        registry.check_routes(settings.lambda_budget_seconds)
    registry.check_routes(900)  # a longer Lambda timeout / no margin would fit it


def test_time_limits_are_bounded() -> None:
    registry = TaskRegistry()
    with pytest.raises(ValueError):
        registry.task("too-long", time_limit_seconds=MAX_TIME_LIMIT_SECONDS + 1)(lambda ctx: None)
    with pytest.raises(ValueError):
        registry.task("bad-route", route="fargate")(lambda ctx: None)  # type: ignore[arg-type]


# --- signed local URLs --------------------------------------------------------------------------


class _Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def _query(url: str) -> tuple[str, dict[str, str]]:
    from urllib.parse import parse_qsl, unquote, urlsplit

    parts = urlsplit(url)
    return unquote(parts.path.removeprefix("/artifacts/")), dict(parse_qsl(parts.query))


@pytest.fixture
def store(tmp_path: Path) -> tuple[LocalArtifactStore, _Clock]:
    clock = _Clock()
    return LocalArtifactStore(tmp_path, base_url="http://127.0.0.1:9", clock=clock), clock


def test_a_signed_get_url_verifies_until_it_expires(store: tuple[LocalArtifactStore, _Clock]) -> None:
    artifacts, clock = store
    key, query = _query(artifacts.presign_get("jobs/a/report.csv", expires_in=60).url)
    assert key == "jobs/a/report.csv"
    artifacts.verify("GET", key, query)
    clock.now += 61
    with pytest.raises(UrlRefused, match="expired"):
        artifacts.verify("GET", key, query)


def test_tampered_urls_are_refused(store: tuple[LocalArtifactStore, _Clock]) -> None:
    artifacts, _ = store
    key, query = _query(artifacts.presign_get("jobs/a/report.csv", expires_in=60).url)
    with pytest.raises(UrlRefused, match="signature"):
        artifacts.verify("GET", "jobs/b/report.csv", query)  # another job's key
    with pytest.raises(UrlRefused, match="signature"):
        artifacts.verify("GET", key, {**query, "X-Expires": str(int(query["X-Expires"]) + 3600)})  # extended
    with pytest.raises(UrlRefused, match="not signed"):
        artifacts.verify("GET", key, {k: v for k, v in query.items() if k != "X-Signature"})


def test_a_url_is_bound_to_its_method_and_upload_terms(store: tuple[LocalArtifactStore, _Clock]) -> None:
    artifacts, _ = store
    key, query = _query(artifacts.presign_get("jobs/a/x", expires_in=60).url)
    with pytest.raises(UrlRefused):
        artifacts.verify("PUT", key, query)
    key, put = _query(artifacts.presign_put("uploads/o/u", content_type="text/csv", size=10, expires_in=60).url)
    artifacts.verify("PUT", key, put)
    with pytest.raises(UrlRefused, match="signature"):
        artifacts.verify("PUT", key, {**put, "X-Size": "10000000"})
    with pytest.raises(UrlRefused, match="signature"):
        artifacts.verify("PUT", key, {**put, "X-Content-Type": "text/html"})
    with pytest.raises(UrlRefused):
        artifacts.verify("GET", key, put)


def test_a_url_signed_with_another_data_dirs_key_is_refused(tmp_path: Path) -> None:
    mine = LocalArtifactStore(tmp_path / "a")
    theirs = LocalArtifactStore(tmp_path / "b")
    key, query = _query(theirs.presign_get("jobs/a/x", expires_in=60).url.replace(theirs.base_url, ""))
    with pytest.raises(UrlRefused, match="signature"):
        mine.verify("GET", key, query)
    assert (tmp_path / "a" / "artifacts.key").stat().st_mode & 0o077 == 0  # the key is owner-only
    assert len((tmp_path / "a" / "artifacts.key").read_bytes()) == 32
