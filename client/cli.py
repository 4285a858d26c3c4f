"""``appsync-jobs``: run the local runtime, submit jobs and watch them (typer + rich)."""

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

# Worker tuning shared by `dev` (embedded worker) and `worker`: one definition, one environment variable each.
DataDirOption = Annotated[Path, typer.Option(envvar="APPSYNC_JOBS_DATA_DIR")]
TasksOption = Annotated[str, typer.Option(envvar="APPSYNC_JOBS_TASK_MODULES", help="Extra task modules.")]
LeaseOption = Annotated[int, typer.Option(envvar="JOBS_LEASE_SECONDS", help="Worker lease; heartbeats renew it.")]
MarginOption = Annotated[int, typer.Option(envvar="JOBS_VISIBILITY_MARGIN")]
BackoffOption = Annotated[int, typer.Option(envvar="JOBS_RETRY_BACKOFF_BASE")]
ReaperOption = Annotated[float, typer.Option(envvar="JOBS_REAPER_INTERVAL")]
ReceivesOption = Annotated[int, typer.Option(envvar="JOBS_MAX_RECEIVE_COUNT")]
LambdaTimeoutOption = Annotated[int, typer.Option(
    envvar="JOBS_LAMBDA_TIMEOUT_SECONDS",
    help="The worker Lambda's timeout: longer tasks go to the long queue; attempts hand back before it ends.")]
HandbackOption = Annotated[int, typer.Option(envvar="JOBS_HANDBACK_MARGIN_SECONDS",
                                             help="Seconds before the Lambda's end an attempt is handed back.")]
VisibilityOption = Annotated[int, typer.Option(
    envvar="JOBS_VISIBILITY_TIMEOUT",
    help="Seconds a received message stays hidden until its claim shortens it: the worst-case recovery after a crash.",
)]

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


def _serve_forever(main: Any) -> None:
    """Run a server coroutine on uvloop when it is installed (uvicorn[standard] brings it), else asyncio."""
    try:
        import uvloop
    except ImportError:
        runner: Any = asyncio.run
    else:
        runner = uvloop.run
    with contextlib.suppress(KeyboardInterrupt):
        runner(main)


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


@app.command()
def dev(
    port: Annotated[int, typer.Option(envvar="APPSYNC_JOBS_PORT")] = 8000,
    host: Annotated[str, typer.Option(envvar="APPSYNC_JOBS_HOST")] = "127.0.0.1",
    data_dir: DataDirOption = Path(".appsync-jobs"),
    api_key: Annotated[str | None, typer.Option(envvar="APPSYNC_JOBS_API_KEY")] = None,
    worker: Annotated[bool, typer.Option("--worker/--no-worker", help="Run the worker in this process.")] = True,
    concurrency: Annotated[int, typer.Option(help="Deliveries handled at once by the embedded worker.")] = 4,
    tasks: TasksOption = "",
    tls: Annotated[bool, typer.Option("--tls", envvar="APPSYNC_JOBS_TLS",
                                      help="Serve HTTPS/WSS with a local certificate (Amplify JS needs wss://).")] = False,
    https_port: Annotated[int | None, typer.Option(envvar="APPSYNC_JOBS_HTTPS_PORT",
                                                   help="Also serve HTTPS/WSS on this port, beside plain HTTP.")] = None,
    extra_access_keys: Annotated[str, typer.Option(
        envvar="APPSYNC_JOBS_EXTRA_ACCESS_KEYS", show_default=False,
        help="More IAM keys to accept, KEY_ID:SECRET,... - untrusted IAM callers (own jobs only, no updateJob).")] = "",
    lease_seconds: LeaseOption = 60,
    visibility_margin: MarginOption = 10,
    retry_backoff_base: BackoffOption = 2,
    reaper_interval: ReaperOption = 30.0,
    max_receive_count: ReceivesOption = 3,
    visibility_timeout: VisibilityOption = 90,
    lambda_timeout: LambdaTimeoutOption = 900,
    handback_margin: HandbackOption = 30,
) -> None:
    """Run the local AppSync-compatible API with its SQLite job store, queue and worker (and a long-task worker)."""
    from devserver.runtime import LocalConfig, start_local
    from jobcore.settings import LOCAL_API_KEY, parse_access_keys

    certificates = None
    if tls or https_port is not None:
        from devserver.auth.tls import ensure_certificates

        certificates = ensure_certificates(data_dir)
    config = LocalConfig(
        host=host, port=port, data_dir=data_dir, api_key=api_key or LOCAL_API_KEY, embedded_worker=worker,
        concurrency=concurrency, task_modules=tuple(t.strip() for t in tasks.split(",") if t.strip()),
        certfile=certificates.cert if certificates else None, keyfile=certificates.key if certificates else None,
        tls=tls, https_port=https_port, extra_access_keys=parse_access_keys(extra_access_keys),
        lease_seconds=lease_seconds, visibility_margin=visibility_margin, retry_backoff_base=retry_backoff_base,
        reaper_interval=reaper_interval, max_receive_count=max_receive_count, visibility_timeout=visibility_timeout,
        lambda_timeout=lambda_timeout, handback_margin=handback_margin,
    )

    async def serve() -> None:
        server = await start_local(config)
        console.print(f"[green]appsync-jobs[/green] local API on [bold]{server.url}[/bold]")
        shown_key = config.api_key if config.api_key == LOCAL_API_KEY else f"{config.api_key[:4]}…(yours, not shown)"
        console.print(f"  real-time: {server.url.replace('http', 'ws', 1)}/realtime   API key: {shown_key}")
        if server.https_url:
            console.print(f"  web console and Amplify JS: [bold]{server.https_url.removesuffix('/graphql')}/[/bold]")
        if certificates:
            console.print(f"  TLS: trust {certificates.ca.resolve()} (Node: NODE_EXTRA_CA_CERTS=<it>, "
                          "Python client: APPSYNC_JOBS_CA_BUNDLE=<it>, browsers: import it as an authority)")
        console.print(f"  data: {config.data_dir.resolve()}   worker: {'embedded' if worker else 'external'}")
        try:
            await server.serve_task
        finally:
            await server.stop()

    _serve_forever(serve())


@app.command("token")
def token_command(
    username: Annotated[str, typer.Argument(help="Who the token is for (one name is one user, across restarts).")],
    group: Annotated[list[str] | None, typer.Option("--group", "-g", help="A cognito:groups entry (repeatable).")] = None,
    id_token: Annotated[bool, typer.Option("--id-token", help="An ID token instead of an access token.")] = False,
    ttl: Annotated[int, typer.Option(help="Lifetime in seconds.")] = 3600,
) -> None:
    """Print a token from the local user pool, to act as a signed-in user (--token / APPSYNC_JOBS_TOKEN)."""
    from devserver.auth.user_pool import LocalUserPool

    typer.echo(LocalUserPool().mint(username, groups=group or (), token_use="id" if id_token else "access",
                                    lifetime_seconds=ttl))


@app.command("worker")
def worker_command(
    url: Annotated[str, typer.Option("--url", envvar="APPSYNC_JOBS_URL", help="The server's GraphQL URL.")] = (
        "http://127.0.0.1:8000/graphql"
    ),
    data_dir: DataDirOption = Path(".appsync-jobs"),
    concurrency: Annotated[int, typer.Option(help="Deliveries handled at once.")] = 4,
    tasks: TasksOption = "",
    lease_seconds: LeaseOption = 60,
    visibility_margin: MarginOption = 10,
    retry_backoff_base: BackoffOption = 2,
    reaper_interval: ReaperOption = 30.0,
    max_receive_count: ReceivesOption = 3,
    visibility_timeout: VisibilityOption = 90,
    ca_bundle: Annotated[Path | None, typer.Option(envvar="APPSYNC_JOBS_CA_BUNDLE")] = None,
    queue: Annotated[str, typer.Option(
        "--queue", help="lambda: the worker Lambda's queue (+ DLQ, reaper); long: the long-task queue "
                        "(the Fargate worker's loop); all: both.")] = "lambda",
    lambda_timeout: LambdaTimeoutOption = 900,
    handback_margin: HandbackOption = 30,
) -> None:
    """Run worker processes beside `appsync-jobs dev --no-worker` (as many as you like, same data dir)."""
    if queue not in ("lambda", "long", "all"):
        raise typer.BadParameter("--queue must be lambda, long or all")
    from devserver.runtime import LocalConfig, run_worker

    config = LocalConfig(
        data_dir=data_dir, concurrency=concurrency, lease_seconds=lease_seconds, visibility_margin=visibility_margin,
        retry_backoff_base=retry_backoff_base, reaper_interval=reaper_interval, max_receive_count=max_receive_count,
        visibility_timeout=visibility_timeout, certfile=ca_bundle, tls=ca_bundle is not None,
        task_modules=tuple(t.strip() for t in tasks.split(",") if t.strip()),
        queues=queue, lambda_timeout=lambda_timeout, handback_margin=handback_margin,
    )
    console.print(f"[green]appsync-jobs[/green] worker ({queue} queue) on {data_dir.resolve()}, reporting to {url}")
    _serve_forever(run_worker(config, url))


OutputsOption = Annotated[Path | None, typer.Option(
    "--outputs", envvar="APPSYNC_JOBS_OUTPUTS",
    help="A deployed stack's amplify_outputs.json: read its real queues (custom.jobsQueueUrl, ...) instead of --data-dir.")]


@app.command("stats")
def stats_command(
    data_dir: DataDirOption = Path(".appsync-jobs"),
    outputs: OutputsOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """Queue depth (visible, in flight, delayed), DLQ and archive depth, and jobs per status."""
    from client.ops import load_stats

    try:
        snapshot = load_stats(data_dir=data_dir, outputs=outputs)
    except (OSError, ValueError, KeyError) as exc:
        errors.print(f"[red]error[/red]: {exc}")
        raise typer.Exit(1) from exc
    if as_json:
        typer.echo(json.dumps(snapshot, indent=2))
        return
    from rich.table import Table

    queues = Table(title="queues")
    for column in ("queue", "name", "visible", "in flight", "delayed"):
        queues.add_column(column, justify="right" if column not in ("queue", "name") else "left")
    for role, depth in snapshot["queues"].items():
        queues.add_row(role, depth["name"], str(depth["visible"]), str(depth["inFlight"]), str(depth["delayed"]))
    console.print(queues)
    jobs = Table(title="jobs")
    jobs.add_column("status")
    jobs.add_column("count", justify="right")
    for job_status, count in snapshot["jobs"].items():
        jobs.add_row(job_status, str(count))
    console.print(jobs)


@app.command("redrive")
def redrive_command(
    data_dir: DataDirOption = Path(".appsync-jobs"),
    outputs: OutputsOption = None,
    limit: Annotated[int, typer.Option(help="Move at most this many messages.")] = 100,
) -> None:
    """Send archived dead letters back to the job queue (a job already FAILED is not re-run)."""
    from client.ops import redrive_archive

    try:
        moved = redrive_archive(data_dir=data_dir, outputs=outputs, limit=limit)
    except (OSError, ValueError, KeyError) as exc:
        errors.print(f"[red]error[/red]: {exc}")
        raise typer.Exit(1) from exc
    console.print(f"redrove {len(moved)} message(s) to the job queue")


if __name__ == "__main__":
    app()
