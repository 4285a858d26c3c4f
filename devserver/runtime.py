"""The local runtime: the AppSync-compatible server plus the queue event sources and the reaper,
wired to the same Lambda handlers that deploy to AWS."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType

import uvicorn

from devserver.app import create_app
from devserver.auth.auth_rules import AuthRules
from devserver.auth.identity import AuthConfig
from devserver.auth.user_pool import LocalUserPool
from devserver.queues.event_source import EventSourceConfig, QueueEventSource
from devserver.queues.sqs_events import queue_arn
from devserver.realtime.pubsub import PubSub
from devserver.routes.artifacts import artifact_routes
from devserver.routes.metrics import metrics_route
from devserver.state import ServerState
from jobcore.bootstrap import LocalBackend, local_backend, local_services, reporter_from_settings
from jobcore.metrics import InMemoryMetrics
from jobcore.ports import JobQueue
from jobcore.runner import RunnerConfig
from jobcore.settings import LOCAL_API_KEY, Settings

logger = logging.getLogger("appsync_jobs.devserver")


@dataclass(frozen=True)
class LocalConfig:
    """What only the local server process has: its listeners, the credentials it accepts, and how its
    event sources consume the queues. Everything the runtime shares with the cloud code (timings,
    data directory, task modules, the worker's keys) is in ``Settings``, passed beside it."""

    host: str = "127.0.0.1"
    port: int = 8000
    api_key: str = LOCAL_API_KEY
    #: More IAM key pairs the server accepts (``APPSYNC_JOBS_EXTRA_ACCESS_KEYS``). They sign as other,
    #: *untrusted* IAM principals: ordinary callers that see only their own jobs and may not updateJob.
    extra_access_keys: Mapping[str, str] = field(default_factory=dict)
    #: Serve the main port over TLS (HTTPS and WSS).
    tls: bool = False
    #: Also serve HTTPS/WSS on this port (the web console and Amplify JS need wss://), beside plain HTTP.
    https_port: int | None = None
    #: The server's own certificate and key (``devserver.auth.tls``) for ``tls`` and ``https_port``.
    certfile: Path | None = None
    keyfile: Path | None = None
    #: Run the worker inside the server process (``False``: only separate ``appsync-jobs worker`` processes).
    embedded_worker: bool = True
    batch_size: int = 1
    concurrency: int = 4
    #: Which queues this process consumes: ``lambda`` (the worker Lambda's), ``long``, or ``all``.
    queues: str = "all"

    @property
    def scheme(self) -> str:
        return "https" if self.tls else "http"


@dataclass
class WorkerLoops:
    """The queue consumers of one process: jobs, dead letters, and the reaper."""

    sources: list[QueueEventSource] = field(default_factory=list)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


def start_worker_loops(
    config: LocalConfig, settings: Settings, backend: LocalBackend, metrics: InMemoryMetrics | None = None
) -> WorkerLoops:
    """Configure the worker Lambdas for this process and start feeding them from the SQLite queues."""
    import worker.dlq
    import worker.handler
    from worker.deps import WorkerDeps, configure
    from worker.reaper import reap
    from worker.tasks import load_registry

    registry = load_registry(settings.task_modules)
    metrics = metrics or InMemoryMetrics()
    main_arn = queue_arn(settings.region, backend.queue.name)
    dlq_arn = queue_arn(settings.region, backend.dead_letter_queue.name)
    queues: dict[str, JobQueue] = {main_arn: backend.queue, dlq_arn: backend.dead_letter_queue}
    registry.check_routes(settings.lambda_budget_seconds)
    deps = WorkerDeps(
        reporter=reporter_from_settings(settings),
        registry=registry,
        settings=settings,
        queue_for=queues.__getitem__,
        runner=RunnerConfig.from_settings(settings),
        metrics=metrics,
        archive=backend.archive,
        artifacts=backend.artifacts,
    )
    configure(deps)
    loop = asyncio.get_running_loop()
    if config.queues == "long":
        return _long_worker_loops(config, backend, deps)
    source_config = EventSourceConfig(batch_size=config.batch_size, concurrency=config.concurrency,
                                      timeout_seconds=settings.lambda_timeout_seconds)
    jobs = QueueEventSource(
        backend.queue, worker.handler.lambda_handler, arn=main_arn, region=settings.region,
        config=source_config, function_name="worker",
    )
    dead_letters = QueueEventSource(
        backend.dead_letter_queue, worker.dlq.lambda_handler, arn=dlq_arn, region=settings.region,
        config=EventSourceConfig(batch_size=10, concurrency=1), function_name="dlq",
    )
    backend.queue.add_listener(jobs.wake_threadsafe(loop))
    backend.dead_letter_queue.add_listener(dead_letters.wake_threadsafe(loop))
    services = local_services(backend, registry, metrics=metrics, trust=settings.reporter_trust())

    async def reaper() -> None:
        while True:
            await asyncio.sleep(settings.reaper_interval_seconds)  # a schedule, like the cloud's EventBridge rule
            try:
                await loop.run_in_executor(None, reap, services, deps.reporter)
            except Exception:
                logger.exception("reaper run failed")

    loops = WorkerLoops([jobs, dead_letters])
    loops.tasks = [asyncio.create_task(jobs.run()), asyncio.create_task(dead_letters.run()), asyncio.create_task(reaper())]
    if config.queues == "all":
        loops.tasks.extend(_long_worker_loops(config, backend, deps, concurrency=1).tasks)
    return loops


def _long_worker_loops(config: LocalConfig, backend: LocalBackend, deps: object, *, concurrency: int | None = None
                       ) -> WorkerLoops:
    """The long-task worker (``worker.long_worker``, the Fargate container's loop) on the SQLite long queue."""
    import threading

    from worker.deps import WorkerDeps
    from worker.long_worker import serve

    assert isinstance(deps, WorkerDeps) and backend.long_queue is not None
    queue = backend.long_queue
    stop, wake = threading.Event(), threading.Event()
    queue.add_listener(wake.set)

    loop = asyncio.get_running_loop()

    async def consume() -> None:
        # A daemon thread, not the default executor: stopping the server must not wait for a long
        # task to finish (an abandoned attempt's lease lapses and the job is retried, as after a crash).
        finished = asyncio.Event()

        def run() -> None:
            try:
                serve(queue, deps, stop, wake=wake)
            finally:
                loop.call_soon_threadsafe(finished.set)

        threading.Thread(target=run, name="long-worker", daemon=True).start()
        try:
            await finished.wait()
        finally:
            stop.set()
            wake.set()

    async def run_all() -> None:
        try:
            await asyncio.gather(*(consume() for _ in range(concurrency or config.concurrency)))
        except asyncio.CancelledError:
            stop.set()
            wake.set()
            raise

    return WorkerLoops([], [asyncio.create_task(run_all())])


@dataclass
class RunningServer:
    url: str
    port: int
    backend: LocalBackend
    state: ServerState
    servers: list[uvicorn.Server]
    #: Ends when any listener stops (e.g. on SIGINT/SIGTERM); then ``stop`` closes the rest.
    serve_task: asyncio.Task[None]
    loops: WorkerLoops | None
    https_url: str | None = None

    async def stop(self) -> None:
        if self.loops:
            await self.loops.stop()
        for server in self.servers:
            server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await self.serve_task
        self.backend.database.close()


async def start_local(config: LocalConfig, settings: Settings) -> RunningServer:
    """Start serving; returns once the port is bound and the worker loops are running.

    ``settings.graphql_url`` is set here, to this server's own URL once its port is known: the
    embedded worker reports to it.
    """
    import resolvers.handler
    from devserver.graphql.schema import schema
    from worker.tasks import load_registry

    if settings.backend != "local" or not (settings.access_key_id and settings.secret_access_key):
        raise ValueError("the local server needs local settings: Settings.from_env(backend='local')")
    backend = local_backend(settings)
    registry = load_registry(settings.task_modules)
    metrics = InMemoryMetrics()  # one per process: the resolvers and the embedded worker both count here
    resolvers.handler.configure(local_services(backend, registry, metrics=metrics, trust=settings.reporter_trust()))
    state = ServerState(
        schema=schema,
        rules=AuthRules.from_contract(),
        pubsub=PubSub(),
        auth=AuthConfig(
            api_keys=frozenset({config.api_key}),
            credentials=MappingProxyType({**config.extra_access_keys, settings.access_key_id: settings.secret_access_key}),
            region=settings.region,
            user_pool=LocalUserPool(region=settings.region),
        ),
    )
    artifact_extra = artifact_routes(backend.artifacts) if backend.artifacts else []
    app = create_app(state, extra_routes=[metrics_route(backend, metrics), *artifact_extra])
    listeners = [(config.port, config.tls)]
    if config.https_port is not None:
        listeners.append((config.https_port, True))
    servers: list[uvicorn.Server] = []
    tasks: list[asyncio.Task[None]] = []
    for port_number, tls in listeners:
        if tls and not (config.certfile and config.keyfile):
            raise ValueError("TLS needs a certificate: see devserver.auth.tls.ensure_certificates")
        server = uvicorn.Server(uvicorn.Config(
            app,
            host=config.host,
            port=port_number,
            log_level="warning",
            lifespan="off",
            ws="websockets-sansio",
            # Keep-alive connections (the worker's own, idle) must not hold a shutdown for long.
            timeout_graceful_shutdown=2,
            ssl_certfile=str(config.certfile) if tls else None,
            ssl_keyfile=str(config.keyfile) if tls else None,
        ))
        started = asyncio.Event()
        task = asyncio.create_task(_serve(server, started.set))
        await _wait_started(started, task)
        servers.append(server)
        tasks.append(task)
    port = servers[0].servers[0].sockets[0].getsockname()[1]
    settings = replace(settings, graphql_url=f"{config.scheme}://127.0.0.1:{port}/graphql")
    if backend.artifacts is not None:  # signed artifact URLs point at this server's /artifacts
        backend.artifacts.base_url = f"{config.scheme}://{config.host}:{port}"
    loops = start_worker_loops(config, settings, backend, metrics) if config.embedded_worker else None
    url = f"{config.scheme}://{config.host}:{port}/graphql"
    https_url = None
    if len(servers) > 1:
        https_url = f"https://{config.host}:{servers[1].servers[0].sockets[0].getsockname()[1]}/graphql"
    serve_task = asyncio.create_task(_until_any_stops(servers, tasks))
    return RunningServer(url, port, backend, state, servers, serve_task, loops, https_url)


async def _until_any_stops(servers: list[uvicorn.Server], tasks: list[asyncio.Task[None]]) -> None:
    """One signal reaches only one uvicorn server: when any listener stops, stop them all."""
    await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    for server in servers:
        server.should_exit = True
    await asyncio.gather(*tasks, return_exceptions=True)


async def _serve(server: uvicorn.Server, on_started: Callable[[], None]) -> None:
    original_startup = server.startup

    @functools.wraps(original_startup)
    async def startup(sockets: list[object] | None = None) -> None:
        await original_startup(sockets=sockets)  # type: ignore[arg-type]
        if server.started:
            on_started()

    server.startup = startup  # type: ignore[method-assign,assignment]
    await server.serve()


async def _wait_started(started: asyncio.Event, serve_task: Awaitable[None]) -> None:
    waiter = asyncio.create_task(started.wait())
    done, _ = await asyncio.wait({waiter, serve_task}, return_when=asyncio.FIRST_COMPLETED)  # type: ignore[type-var]
    if waiter not in done:
        waiter.cancel()
        raise RuntimeError("the local server failed to start (is the port in use?)")


async def run_worker(config: LocalConfig, settings: Settings) -> None:
    """``appsync-jobs worker``: only the queue consumers, beside a server (or several) on the same data.

    Reports go to ``settings.graphql_url`` over SigV4, exactly as the embedded worker's and the cloud's do.
    """
    backend = local_backend(settings)
    loops = start_worker_loops(config, settings, backend)
    try:
        await asyncio.gather(*loops.tasks)
    finally:
        await loops.stop()
        backend.database.close()
