"""The CLI's many-jobs view without a server: the board keeps the newest version, and `watch` lists only
once its subscription is acknowledged (so nothing falls between the list and the first event)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

from rich.console import Console
from typer.testing import CliRunner

from client.board import JobBoard, jobs_table
from client.models import Job, JobPage, JobStatus
from client.watch import watch_mine


def job(job_id: str, version: int, status: str = "RUNNING", created: str = "2026-12-04T10:00:00Z", **extra: Any) -> Job:
    return Job.from_wire({
        "id": job_id, "type": "sleep", "status": status, "version": version, "attempts": 1, "owner": "alice-sub",
        "createdAt": created, "updatedAt": created, "cancelRequested": False, **extra,
    })


def test_the_board_keeps_the_highest_version_and_drops_older_ones() -> None:
    board = JobBoard()
    assert board.apply(job("a", 3))
    assert not board.apply(job("a", 2, "PENDING"))  # late, older event: dropped
    assert not board.apply(job("a", 3))  # the same version again: nothing to redraw
    assert board.apply(job("a", 5, "SUCCEEDED"))
    assert not board.apply(job("a", 4, "RUNNING"))
    shown = board.get("a")
    assert shown is not None and shown.status is JobStatus.SUCCEEDED and shown.version == 5
    assert board.active == []


def test_the_board_lists_newest_first() -> None:
    board = JobBoard()
    board.extend([job("old", 1, created="2026-12-04T10:00:00Z"), job("new", 1, created="2026-12-04T11:00:00Z")])
    assert [j.id for j in board.jobs] == ["new", "old"]
    assert {j.id for j in board.active} == {"old", "new"}


def test_the_table_spells_out_status_and_shows_the_outcome() -> None:
    failed = job("f", 4, "FAILED", error={"type": "DemoFailure", "message": "boom"})
    done = job("s", 6, "SUCCEEDED", result='{"slept": 1}')
    console = Console(width=200, record=True, color_system=None)
    console.print(jobs_table([failed, done]))
    text = console.export_text()
    assert "FAILED" in text and "DemoFailure: boom" in text
    assert "SUCCEEDED" in text and '{"slept": 1}' in text and "100 %" in text


class FakeClient:
    """Stands in for JobsClient: a subscription whose ack the test controls, and a recorded listJobs."""

    def __init__(self) -> None:
        self.acknowledged = asyncio.Event()
        self.started = asyncio.Event()
        self.events: asyncio.Queue[Job | None] = asyncio.Queue()
        self.calls: list[str] = []
        self.page: list[Job] = []

    @contextlib.asynccontextmanager
    async def subscription(self, operation: str, variables: dict[str, Any] | None = None) -> AsyncIterator[Any]:
        assert operation == "OnMyJobsUpdated" and not variables  # no owner argument: the server decides
        self.calls.append("subscribe")

        async def jobs() -> AsyncGenerator[Job, None]:
            self.calls.append("start")
            self.started.set()
            while (event := await self.events.get()) is not None:
                yield event

        yield jobs(), self.acknowledged

    async def list_jobs(self, **kwargs: Any) -> JobPage:
        assert self.acknowledged.is_set(), "listJobs ran before the subscription was live"
        self.calls.append("list")
        return JobPage(tuple(self.page))


async def test_watch_lists_after_the_start_ack_and_merges_events_by_version() -> None:
    fake = FakeClient()
    board = JobBoard()
    changes: list[tuple[str, int]] = []
    ready = asyncio.Event()
    fake.page = [job("a", 2), job("b", 1, "PENDING")]
    watching = asyncio.create_task(watch_mine(
        fake, board, until_idle=True, on_ready=lambda _: ready.set(),  # type: ignore[arg-type]
        on_change=lambda j: changes.append((j.id, j.version)),
    ))
    await asyncio.wait_for(fake.started.wait(), 5)
    assert "list" not in fake.calls
    fake.acknowledged.set()
    await asyncio.wait_for(ready.wait(), 5)
    assert fake.calls == ["subscribe", "start", "list"]
    for event in (job("a", 1, "PENDING"), job("a", 3, "SUCCEEDED"), job("b", 2, "RUNNING"), job("b", 4, "FAILED"),
                  job("b", 3, "RUNNING")):
        await fake.events.put(event)
    await asyncio.wait_for(watching, 5)  # --until-idle: both finished
    assert changes == [("a", 3), ("b", 2), ("b", 4)]  # a@1 (older than the list) and b@3 (late) were dropped
    assert [(j.id, j.status.value) for j in board.jobs] == [("b", "FAILED"), ("a", "SUCCEEDED")]


def test_list_and_watch_refuse_a_limit_the_api_would_refuse() -> None:
    from client.cli import app

    for command in ("list", "watch"):
        result = CliRunner().invoke(app, [command, "--limit", "101"], env={"COLUMNS": "200"})
        assert result.exit_code == 2 and "Invalid value for '--limit'" in result.output



async def test_a_lost_socket_is_resubscribed_and_the_list_read_again(monkeypatch: Any) -> None:
    from gql.transport.exceptions import TransportClosed

    import client.watch

    monkeypatch.setattr(client.watch, "BACKOFF_FIRST", 0.01)
    fake = FakeClient()
    fake.acknowledged.set()
    board = JobBoard()
    lost: list[str] = []
    fake.page = [job("a", 1, "PENDING")]
    drop = asyncio.Event()
    attempts = 0
    original = fake.subscription

    @contextlib.asynccontextmanager
    async def flaky(operation: str, variables: dict[str, Any] | None = None) -> AsyncIterator[Any]:
        nonlocal attempts
        attempts += 1
        if attempts > 1:
            async with original(operation, variables) as pair:
                yield pair
            return

        async def dropped() -> AsyncGenerator[Job, None]:
            await drop.wait()
            raise TransportClosed("socket closed")
            yield  # pragma: no cover  (makes this an async generator)

        yield dropped(), fake.acknowledged

    monkeypatch.setattr(fake, "subscription", flaky)
    ready = asyncio.Event()
    watching = asyncio.create_task(watch_mine(
        fake, board, until_idle=True, on_ready=lambda _: ready.set(),  # type: ignore[arg-type]
        on_lost=lambda exc, _delay: lost.append(str(exc)),
    ))
    await asyncio.wait_for(ready.wait(), 5)
    assert board.active  # a is PENDING
    fake.page = [job("a", 3, "SUCCEEDED")]  # it finishes while the socket is down: no event will tell
    drop.set()
    await asyncio.wait_for(watching, 5)  # the re-read after resubscribing shows it finished
    assert lost == ["socket closed"] and attempts == 2
    shown = board.get("a")
    assert shown is not None and shown.status is JobStatus.SUCCEEDED
