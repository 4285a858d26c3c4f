"""The full ``appsync-jobs`` command: the client's commands plus the ones that need the server code.

``dev`` and ``worker`` run the local runtime, ``token`` mints a local user-pool token, and ``stats``
and ``redrive`` read the runtime's own stores (SQLite locally, SQS/DynamoDB for a deployed stack).
They live here so that ``client/`` imports no server code; the client's commands are reused as
they are (``client.cli``), so a command exists once.

Settings come one way: ``Settings.from_env(backend="local")`` reads the environment (the variables
the Lambdas read, under the same names), and an option given on the command line replaces the
``Settings`` field of the same name (``--lease-seconds`` -> ``lease_seconds``). Only what concerns
this process's listeners (host, port, TLS, accepted keys) is a ``LocalConfig`` option of ``dev``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from client.cli import app as client_app
from client.cli import console, errors
from jobcore.settings import LOCAL_API_KEY, Settings, parse_access_keys, split_modules

app = typer.Typer(help=client_app.info.help, no_args_is_help=True)
app.registered_commands.extend(client_app.registered_commands)


#: What a setting is when neither an option nor the environment names it (shown in --help).
DEFAULTS = Settings.from_env({}, backend="local")


def _setting_option(kind: type, field: str, env: str, *older: str, help: str = "") -> Any:
    """An option that replaces the ``Settings`` field ``field`` and is spelled after it
    (``lease_seconds`` -> ``--lease-seconds``; ``older`` are earlier spellings, still accepted). Unset
    it is None: then the environment or the default decides, in ``Settings.from_env``."""
    default = getattr(DEFAULTS, field)
    shown = ",".join(default) if isinstance(default, tuple) else default
    text = f"{help} (env {env}, default {shown or 'none'})".strip()
    return Annotated[kind | None, typer.Option(f"--{field.replace('_', '-')}", *older, help=text, show_default=False)]


DataDir = Annotated[Path | None, typer.Option(
    "--data-dir", help="The local runtime's data (env APPSYNC_JOBS_DATA_DIR, default .appsync-jobs)", show_default=False)]

#: The ``Settings`` fields that ``dev`` and ``worker`` take as options (see ``with_settings``).
TUNING_OPTIONS: dict[str, Any] = {
    "data_dir": DataDir,
    "task_modules": _setting_option(str, "task_modules", "APPSYNC_JOBS_TASK_MODULES", "--tasks",
                                    help="Extra task modules, comma separated"),
    "lease_seconds": _setting_option(int, "lease_seconds", "JOBS_LEASE_SECONDS",
                                     help="Worker lease; heartbeats renew it"),
    "visibility_margin_seconds": _setting_option(int, "visibility_margin_seconds", "JOBS_VISIBILITY_MARGIN",
                                                 "--visibility-margin"),
    "retry_backoff_base_seconds": _setting_option(int, "retry_backoff_base_seconds", "JOBS_RETRY_BACKOFF_BASE",
                                                  "--retry-backoff-base"),
    "reaper_interval_seconds": _setting_option(float, "reaper_interval_seconds", "JOBS_REAPER_INTERVAL",
                                               "--reaper-interval"),
    "max_receive_count": _setting_option(int, "max_receive_count", "JOBS_MAX_RECEIVE_COUNT"),
    "visibility_timeout_seconds": _setting_option(
        int, "visibility_timeout_seconds", "JOBS_VISIBILITY_TIMEOUT", "--visibility-timeout",
        help="Seconds a received message stays hidden until its claim shortens it: the worst-case recovery after a crash"),
    "lambda_timeout_seconds": _setting_option(
        int, "lambda_timeout_seconds", "JOBS_LAMBDA_TIMEOUT_SECONDS", "--lambda-timeout",
        help="The worker Lambda's timeout: longer tasks go to the long queue; attempts hand back before it ends"),
    "handback_margin_seconds": _setting_option(
        int, "handback_margin_seconds", "JOBS_HANDBACK_MARGIN_SECONDS", "--handback-margin",
        help="Seconds before the Lambda's end an attempt is handed back"),
}
Outputs = Annotated[Path | None, typer.Option(
    "--outputs", envvar="APPSYNC_JOBS_OUTPUTS",
    help="A deployed stack's amplify_outputs.json: read its real queues (custom.jobsQueueUrl, ...) instead of --data-dir.")]


def local_settings(*, task_modules: str | None = None, **options: Any) -> Settings:
    """The environment's settings (``Settings.from_env``, always local here) with the given options on top."""
    return Settings.from_env(backend="local").with_overrides(
        task_modules=None if task_modules is None else split_modules(task_modules), **options
    )


def with_settings(command: Callable[..., None]) -> Callable[..., None]:
    """Give a command that takes ``settings: Settings`` one option per ``TUNING_OPTIONS`` field instead,
    and call it with the environment's settings with those options on top (see ``local_settings``).

    One list serves both commands that run a worker, so they cannot drift apart (``dev`` once
    ignored ``JOBS_VISIBILITY_TIMEOUT``).
    """
    own = inspect.signature(command, eval_str=True)
    kept = [parameter for name, parameter in own.parameters.items() if name != "settings"]
    added = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=option)
             for name, option in TUNING_OPTIONS.items()]

    @functools.wraps(command)
    def run(**values: Any) -> None:
        tuning = {name: values.pop(name) for name in TUNING_OPTIONS}
        command(settings=local_settings(**tuning), **values)

    signature = own.replace(parameters=[*kept, *added])
    run.__signature__ = signature  # type: ignore[attr-defined]
    run.__annotations__ = {p.name: p.annotation for p in signature.parameters.values()} | {"return": None}
    return run


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


@app.command()
@with_settings
def dev(
    port: Annotated[int, typer.Option(envvar="APPSYNC_JOBS_PORT")] = 8000,
    host: Annotated[str, typer.Option(envvar="APPSYNC_JOBS_HOST")] = "127.0.0.1",
    api_key: Annotated[str | None, typer.Option(envvar="APPSYNC_JOBS_API_KEY")] = None,
    worker: Annotated[bool, typer.Option("--worker/--no-worker", help="Run the worker in this process.")] = True,
    concurrency: Annotated[int, typer.Option(help="Deliveries handled at once by the embedded worker.")] = 4,
    tls: Annotated[bool, typer.Option("--tls", envvar="APPSYNC_JOBS_TLS",
                                      help="Serve HTTPS/WSS with a local certificate (Amplify JS needs wss://).")] = False,
    https_port: Annotated[int | None, typer.Option(envvar="APPSYNC_JOBS_HTTPS_PORT",
                                                   help="Also serve HTTPS/WSS on this port, beside plain HTTP.")] = None,
    extra_access_keys: Annotated[str, typer.Option(
        envvar="APPSYNC_JOBS_EXTRA_ACCESS_KEYS", show_default=False,
        help="More IAM keys to accept, KEY_ID:SECRET,... - untrusted IAM callers (own jobs only, no updateJob).")] = "",
    *,
    settings: Settings,
) -> None:
    """Run the local AppSync-compatible API with its SQLite job store, queue and worker (and a long-task worker)."""
    from devserver import runtime

    certificates = None
    if tls or https_port is not None:
        from devserver.auth.tls import ensure_certificates

        certificates = ensure_certificates(settings.data_dir)
        # The embedded worker reports to this server over https when the main port is TLS.
        settings = settings.with_overrides(ca_bundle=certificates.ca)
    config = runtime.LocalConfig(
        host=host, port=port, api_key=api_key or LOCAL_API_KEY, embedded_worker=worker, concurrency=concurrency,
        certfile=certificates.cert if certificates else None, keyfile=certificates.key if certificates else None,
        tls=tls, https_port=https_port, extra_access_keys=parse_access_keys(extra_access_keys),
    )

    async def serve() -> None:
        server = await runtime.start_local(config, settings)
        console.print(f"[green]appsync-jobs[/green] local API on [bold]{server.url}[/bold]")
        shown_key = config.api_key if config.api_key == LOCAL_API_KEY else f"{config.api_key[:4]}…(yours, not shown)"
        console.print(f"  real-time: {server.url.replace('http', 'ws', 1)}/realtime   API key: {shown_key}")
        if server.https_url:
            console.print(f"  web console and Amplify JS: [bold]{server.https_url.removesuffix('/graphql')}/[/bold]")
        if certificates:
            console.print(f"  TLS: trust {certificates.ca.resolve()} (Node: NODE_EXTRA_CA_CERTS=<it>, "
                          "Python client: APPSYNC_JOBS_CA_BUNDLE=<it>, browsers: import it as an authority)")
        console.print(f"  data: {settings.data_dir.resolve()}   worker: {'embedded' if worker else 'external'}")
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
@with_settings
def worker_command(
    graphql_url: Annotated[str, typer.Option("--url", "--graphql-url", envvar="APPSYNC_JOBS_URL",
                                             help="The server's GraphQL URL.")] = "http://127.0.0.1:8000/graphql",
    concurrency: Annotated[int, typer.Option(help="Deliveries handled at once.")] = 4,
    queue: Annotated[str, typer.Option(
        "--queue", help="lambda: the worker Lambda's queue (+ DLQ, reaper); long: the long-task queue "
                        "(the Fargate worker's loop); all: both.")] = "lambda",
    ca_bundle: Annotated[Path | None, typer.Option(
        help="The CA to trust for an https --url (a `dev --tls` server's ca.pem) "
             "(env APPSYNC_JOBS_CA_BUNDLE, default the system's authorities)", show_default=False)] = None,
    *,
    settings: Settings,
) -> None:
    """Run worker processes beside `appsync-jobs dev --no-worker` (as many as you like, same data dir)."""
    if queue not in ("lambda", "long", "all"):
        raise typer.BadParameter("--queue must be lambda, long or all")
    from devserver import runtime

    settings = settings.with_overrides(graphql_url=graphql_url, ca_bundle=ca_bundle)
    config = runtime.LocalConfig(concurrency=concurrency, queues=queue)
    console.print(f"[green]appsync-jobs[/green] worker ({queue} queue) on {settings.data_dir.resolve()}, "
                  f"reporting to {graphql_url}")
    _serve_forever(runtime.run_worker(config, settings))


@app.command("stats")
def stats_command(
    data_dir: DataDir = None,
    outputs: Outputs = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """Queue depth (visible, in flight, delayed), DLQ and archive depth, and jobs per status."""
    from devserver.ops import load_stats

    try:
        snapshot = load_stats(local_settings(data_dir=data_dir), outputs=outputs)
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
    data_dir: DataDir = None,
    outputs: Outputs = None,
    limit: Annotated[int, typer.Option(help="Move at most this many messages.")] = 100,
) -> None:
    """Send archived dead letters back to the job queue (a job already FAILED is not re-run)."""
    from devserver.ops import redrive_archive

    try:
        moved = redrive_archive(local_settings(data_dir=data_dir), outputs=outputs, limit=limit)
    except (OSError, ValueError, KeyError) as exc:
        errors.print(f"[red]error[/red]: {exc}")
        raise typer.Exit(1) from exc
    console.print(f"redrove {len(moved)} message(s) to the job queue")


if __name__ == "__main__":
    app()
