"""The CLI's view of many jobs: a table (``list``) and a board that merges live events into it (``watch``).

Events and query answers can arrive in any order (the initial ``listJobs`` races the first events, and
AppSync does not order deliveries), so every job is kept at its highest ``version``: anything older
than what is shown is dropped, never drawn.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime

from rich.table import Table
from rich.text import Text

from client.models import Job, JobStatus

STATUS_STYLE = {
    JobStatus.PENDING: "yellow",
    JobStatus.RUNNING: "cyan",
    JobStatus.SUCCEEDED: "green",
    JobStatus.FAILED: "red",
    JobStatus.CANCELLED: "magenta",
}


class JobBoard:
    """Jobs by id, each at the newest version seen; shown newest first (by ``createdAt``)."""

    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}

    def apply(self, job: Job) -> bool:
        """Take a job from a query or an event; False (and nothing changes) when it is not newer."""
        shown = self._jobs.get(job.id)
        if shown is not None and job.version <= shown.version:
            return False
        self._jobs[job.id] = job
        return True

    def extend(self, jobs: Iterable[Job]) -> None:
        for job in jobs:
            self.apply(job)

    def get(self, job_id: str) -> Job | None:
        return self._jobs.get(job_id)

    @property
    def jobs(self) -> list[Job]:
        return sorted(self._jobs.values(), key=lambda job: (job.created_at, job.id), reverse=True)

    @property
    def active(self) -> list[Job]:
        """Jobs not finished yet (PENDING or RUNNING)."""
        return [job for job in self._jobs.values() if not job.status.is_terminal]

    def __len__(self) -> int:
        return len(self._jobs)


def _time(value: str | None) -> str:
    if not value:
        return ""
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return value


def jobs_table(jobs: Iterable[Job], *, title: str | None = None, width: int | None = None) -> Table:
    """One row per job: the full id (to copy into ``status``/``retry``), status spelled out, progress, outcome.

    Below 130 columns the creation time is left out so that the id and status still fit unbroken.
    """
    wide = width is None or width >= 130
    table = Table(title=title, expand=False)
    table.add_column("id", no_wrap=True)
    table.add_column("type", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("progress", justify="right", no_wrap=True)
    table.add_column("attempts" if wide else "try", justify="right", no_wrap=True)
    if wide:
        table.add_column("created (UTC)", no_wrap=True)
    table.add_column("message / error / result", overflow="fold")
    for job in jobs:
        style = STATUS_STYLE[job.status]
        status = job.status.value + (" (cancel requested)" if job.cancel_requested and not job.status.is_terminal else "")
        if job.error:
            detail = Text(f"{job.error.type}: {job.error.message}", style="red")
        elif job.status is JobStatus.SUCCEEDED and job.result is not None:
            detail = Text(_compact(job.result))
        else:
            detail = Text(job.message or "")
        progress = 100 if job.status is JobStatus.SUCCEEDED else job.progress
        cells: list[str | Text] = [job.id, job.type, Text(status, style=style), "" if progress is None else f"{progress} %",
                                   str(job.attempts)]
        if wide:
            cells.append(_time(job.created_at))
        table.add_row(*cells, detail)
    return table


def _compact(value: object, limit: int = 80) -> str:
    text = json.dumps(value, separators=(", ", ": "))
    return text if len(text) <= limit else text[: limit - 1] + "…"
