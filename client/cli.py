"""``appsync-jobs``'s client commands: submit jobs, read them and watch them over the API (typer + rich).

They need only the API contract, so this module imports no server code. The full ``appsync-jobs``
command (``devserver.cli``) adds the commands that run or read the local runtime to these.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.live import Live
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.text import Text

from client.api import JobsApiError, JobsClient
from client.board import STATUS_STYLE, JobBoard, jobs_table
from client.config import ClientConfig
from client.models import Job, JobStatus

app = typer.Typer(help="Long-running jobs behind AWS AppSync - locally or deployed.", no_args_is_help=True)
console = Console()
errors = Console(stderr=True)

UrlOption = Annotated[str | None, typer.Option("--url", envvar="APPSYNC_JOBS_URL", help="GraphQL endpoint URL.")]
KeyOption = Annotated[str | None, typer.Option("--api-key", envvar="APPSYNC_JOBS_API_KEY", help="API key.")]
IamOption = Annotated[bool, typer.Option("--iam", help="Sign requests with SigV4 (default AWS credentials).")]
TokenOption = Annotated[str | None, typer.Option(
    "--token", envvar="APPSYNC_JOBS_TOKEN", help="A Cognito user-pool token: act as that user.")]

_STATUS_STYLE = STATUS_STYLE


def _config(url: str | None, api_key: str | None, iam: bool, token: str | None = None) -> ClientConfig:
    return ClientConfig.from_env(url=url, api_key=api_key, iam=iam or None, token=token)


def _show(job: Job) -> None:
    style = _STATUS_STYLE[job.status]
    console.print(f"[bold]{job.id}[/bold]  {job.type}  [{style}]{job.status.value}[/{style}]  attempts={job.attempts}")
    if job.cancel_requested and not job.status.is_terminal:
        console.print("  cancel requested: the task stops at its next check")
    if job.message:
        console.print(f"  message: {job.message}")
    if job.result is not None:
        console.print_json(json.dumps(job.result))
    if job.error:
        console.print(f"  [red]{job.error.type}[/red]: {job.error.message}")


def _show_answer(config: ClientConfig, call: Callable[[JobsClient], Awaitable[Job]]) -> None:
    """One request that answers with a job, shown as a table (errors as AppSync named them)."""

    async def go() -> Job:
        async with JobsClient(config) as client:
            return await call(client)

    _show(_run(go()))


async def _follow(client: JobsClient, job: Job) -> Job:
    """A progress bar for one job until it finishes (``--wait``)."""
    with Progress(
        TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), TimeElapsedColumn(),
        TextColumn("{task.fields[message]}"), console=console,
    ) as progress:
        bar = progress.add_task(job.status.value, total=100, message="")

        def update(current: Job) -> None:
            progress.update(
                bar, completed=current.progress or 0, description=current.status.value, message=current.message or "",
            )

        return await client.wait(job.id, on_update=update)


def _run(coro: Any) -> Any:
    try:
        return asyncio.run(coro)
    except JobsApiError as exc:
        errors.print(f"[red]{exc.error_type or 'Error'}[/red]: {exc.message}")
        raise typer.Exit(1) from exc


@app.command()
def submit(
    job_type: Annotated[str, typer.Argument(help="A registered task type, e.g. sleep, report, echo.")],
    payload: Annotated[str, typer.Option("--payload", "-p", help="The task's input as JSON.")] = "{}",
    wait: Annotated[bool, typer.Option("--wait", "-w", help="Follow the job live until it finishes.")] = False,
    idempotency_key: Annotated[str | None, typer.Option("--idempotency-key", "-k")] = None,
    url: UrlOption = None,
    api_key: KeyOption = None,
    iam: IamOption = False,
    token: TokenOption = None,
) -> None:
    """Submit a job; with --wait, show live progress and the outcome."""
    try:
        body = json.loads(payload)
    except ValueError as exc:
        raise typer.BadParameter(f"--payload is not valid JSON: {exc}") from exc

    async def go() -> Job:
        async with JobsClient(_config(url, api_key, iam, token)) as client:
            job = await client.submit(job_type, body, idempotency_key=idempotency_key)
            if not wait:
                return job
            console.print(f"submitted [bold]{job.id}[/bold]")
            return await _follow(client, job)

    job = _run(go())
    _show(job)
    if wait and job.status is not JobStatus.SUCCEEDED:
        raise typer.Exit(2)


@app.command()
def status(
    job_id: str, url: UrlOption = None, api_key: KeyOption = None, iam: IamOption = False, token: TokenOption = None
) -> None:
    """Show a job."""
    _show_answer(_config(url, api_key, iam, token), lambda client: client.get(job_id))


@app.command()
def get(
    job_id: str,
    download: Annotated[Path | None, typer.Option("--download", "-d", help="Save the job's artifacts into this directory.")] = None,
    url: UrlOption = None,
    api_key: KeyOption = None,
    iam: IamOption = False,
    token: TokenOption = None,
) -> None:
    """Show a job with its artifacts; with --download, save them (a large result arrives as result.json)."""

    async def go() -> tuple[Job, list[Path]]:
        async with JobsClient(_config(url, api_key, iam, token)) as client:
            job = await client.get(job_id)
            saved = [await client.download(a, download) for a in job.artifacts] if download else []
            return job, saved

    job, saved = _run(go())
    _show(job)
    for artifact in job.artifacts:
        console.print(f"  artifact {artifact.name}  {artifact.size} bytes  {artifact.content_type}")
    for path in saved:
        console.print(f"  saved {path}")


@app.command()
def upload(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A file to hand to a task.")],
    content_type: Annotated[str, typer.Option("--content-type", "-t")] = "application/octet-stream",
    url: UrlOption = None,
    api_key: KeyOption = None,
    iam: IamOption = False,
    token: TokenOption = None,
) -> None:
    """Upload a large input with a presigned PUT and print its reference (name it in a payload)."""

    async def go() -> str:
        async with JobsClient(_config(url, api_key, iam, token)) as client:
            return await client.upload(path, content_type)

    typer.echo(_run(go()))


@app.command()
def cancel(
    job_id: str, url: UrlOption = None, api_key: KeyOption = None, iam: IamOption = False, token: TokenOption = None
) -> None:
    """Cancel a job: at once if PENDING, cooperatively if RUNNING."""
    _show_answer(_config(url, api_key, iam, token), lambda client: client.cancel(job_id))


@app.command()
def retry(
    job_id: str,
    wait: Annotated[bool, typer.Option("--wait", "-w", help="Follow the new attempt live until it finishes.")] = False,
    url: UrlOption = None,
    api_key: KeyOption = None,
    iam: IamOption = False,
    token: TokenOption = None,
) -> None:
    """Run a FAILED or CANCELLED job again: same id, a new attempt (a PENDING job is left as it is)."""

    async def go() -> Job:
        async with JobsClient(_config(url, api_key, iam, token)) as client:
            job = await client.retry(job_id)
            if not wait:
                return job
            console.print(f"retrying [bold]{job.id}[/bold]")
            return await _follow(client, job)

    job = _run(go())
    _show(job)
    if wait and job.status is not JobStatus.SUCCEEDED:
        raise typer.Exit(2)


StatusFilter = Annotated[JobStatus | None, typer.Option("--status", "-s", case_sensitive=False, help="Only jobs in this status.")]
LimitOption = Annotated[int, typer.Option("--limit", "-n", min=1, max=100, help="Jobs per page (the API allows 1-100).")]


@app.command("list")
def list_command(
    status_filter: StatusFilter = None,
    job_type: Annotated[str | None, typer.Option("--type", "-t", help="Only jobs of this task type.")] = None,
    limit: LimitOption = 20,
    all_pages: Annotated[bool, typer.Option("--all", "-a", help="Follow nextToken to the last page.")] = False,
    next_token: Annotated[str | None, typer.Option("--next-token", help="Continue from a previous page.")] = None,
    url: UrlOption = None,
    api_key: KeyOption = None,
    iam: IamOption = False,
    token: TokenOption = None,
) -> None:
    """List your jobs, newest first (listJobs), as a table."""

    async def go() -> tuple[list[Job], str | None]:
        async with JobsClient(_config(url, api_key, iam, token)) as client:
            if all_pages:
                return [job async for job in client.iter_jobs(status=status_filter, job_type=job_type, page_size=limit,
                                                              next_token=next_token)], None
            page = await client.list_jobs(status=status_filter, job_type=job_type, limit=limit, next_token=next_token)
            return list(page.items), page.next_token

    jobs, more = _run(go())
    if not jobs:
        console.print("no jobs")
    else:
        console.print(jobs_table(jobs, width=console.width))
    if more:
        console.print(f"more: appsync-jobs list --next-token {more}", markup=False, soft_wrap=True)


def _event_line(job: Job) -> Text:
    style = STATUS_STYLE[job.status]
    line = Text.assemble(job.id, "  ", job.type, "  ", (job.status.value, style), f"  v{job.version}")
    if job.progress is not None and not job.status.is_terminal:
        line.append(f"  {job.progress} %")
    if job.error:
        line.append(f"  {job.error.type}: {job.error.message}", style="red")
    elif job.message:
        line.append(f"  {job.message}")
    return line


@app.command()
def watch(
    limit: LimitOption = 20,
    until_idle: Annotated[bool, typer.Option("--until-idle", help="Exit once none of the jobs shown is PENDING or RUNNING.")] = False,
    timeout: Annotated[float | None, typer.Option("--timeout", min=0, help="Exit after this many seconds.")] = None,
    url: UrlOption = None,
    api_key: KeyOption = None,
    iam: IamOption = False,
    token: TokenOption = None,
) -> None:
    """A live table of all your jobs: listJobs, then every onMyJobsUpdated event (Ctrl-C to stop).

    On a terminal the table redraws in place; piped, it prints the table, then one line per change,
    then the table again at the end.
    """
    from client.watch import watch_mine

    board = JobBoard()
    live_mode = console.is_terminal

    def render(state: str) -> Any:
        active = len(board.active)
        return jobs_table(board.jobs, title=f"my jobs: {len(board)} shown, {active} active - {state}", width=console.width)

    async def go() -> None:
        async with JobsClient(_config(url, api_key, iam, token)) as client:
            if live_mode:
                with Live(render("connecting"), console=console, auto_refresh=False) as live:
                    await watch_mine(
                        client, board, limit=limit, until_idle=until_idle,
                        on_ready=lambda _: live.update(render("live, Ctrl-C to stop"), refresh=True),
                        on_change=lambda _: live.update(render("live, Ctrl-C to stop"), refresh=True),
                        on_lost=lambda _exc, delay: live.update(render(f"connection lost, retrying in {delay:.0f} s"),
                                                                refresh=True),
                    )
            else:

                def ready(_: JobBoard) -> None:
                    console.print(render("live") if len(board) else "no jobs yet")
                    console.print("live: following changes to my jobs (Ctrl-C to stop)")

                await watch_mine(
                    client, board, limit=limit, until_idle=until_idle, on_ready=ready,
                    on_change=lambda job: console.print(_event_line(job)),
                    on_lost=lambda exc, delay: errors.print(f"connection lost ({exc}); reconnecting in {delay:.0f} s",
                                                            markup=False),
                )

    async def bounded() -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(go(), timeout)

    with contextlib.suppress(KeyboardInterrupt):
        _run(bounded())
    if not live_mode:
        console.print(render("stopped"))
    if until_idle and board.active:
        raise typer.Exit(3)  # --timeout came first: some jobs are still running


if __name__ == "__main__":
    app()
