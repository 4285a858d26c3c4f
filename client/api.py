"""``JobsClient``: submit, get, list, cancel, retry, subscribe and wait - over gql's AppSync transports.

Queries and mutations go over HTTP (``AIOHTTPTransport``), subscriptions over the AppSync real-time
socket (``AppSyncWebsocketsTransport``), both with the same AppSync auth object, exactly as against
a deployed API.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import ssl
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from pathlib import Path
from typing import Any

from gql import Client, GraphQLRequest, gql
from gql.transport.aiohttp import AIOHTTPTransport
from gql.transport.appsync_auth import (
    AppSyncApiKeyAuthentication,
    AppSyncAuthentication,
    AppSyncIAMAuthentication,
    AppSyncJWTAuthentication,
)
from gql.transport.appsync_websockets import AppSyncWebsocketsTransport
from gql.transport.exceptions import TransportClosed, TransportError, TransportQueryError, TransportServerError

from client.config import ClientConfig
from client.models import Artifact, Job, JobPage, JobStatus, Upload

_DOCUMENT = (Path(__file__).parent / "operations" / "jobs.graphql").read_text()


class JobsApiError(Exception):
    """The API refused a request; ``error_type`` is AppSync's ``errorType`` (e.g. ValidationError)."""

    def __init__(self, error_type: str | None, message: str, info: Any = None) -> None:
        super().__init__(f"{error_type}: {message}" if error_type else message)
        self.error_type = error_type
        self.message = message
        self.info = info


_PARSED = gql(_DOCUMENT).document


#: The root field each subscription operation answers with.
_FIELDS = {"OnJobUpdated": "onJobUpdated", "OnMyJobsUpdated": "onMyJobsUpdated"}


def _operation(name: str, variables: dict[str, Any]) -> GraphQLRequest:
    return GraphQLRequest(_PARSED, operation_name=name, variable_values=variables)


class _AckingTransport(AppSyncWebsocketsTransport):
    """gql's AppSync transport, plus an event set when the server acknowledges a start.

    gql reads ``start_ack`` and drops it; ``wait`` needs it to query *after* the subscription is live,
    so that no update can fall between the query and the first event.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.acknowledged = asyncio.Event()

    def _parse_answer(self, answer: str) -> Any:
        parsed = super()._parse_answer(answer)
        if parsed[0] == "start_ack":
            self.acknowledged.set()
        return parsed


def _api_error(exc: TransportQueryError) -> JobsApiError:
    first = (exc.errors or [{}])[0]
    return JobsApiError(first.get("errorType"), str(first.get("message", exc)), first.get("errorInfo"))


async def _relay(source: asyncio.Event, target: asyncio.Event) -> None:
    await source.wait()
    target.set()


def _connection_refused(exc: TransportServerError) -> JobsApiError:
    """The socket's ``connection_error`` (e.g. a wrong key or an expired token), named as AppSync names it."""
    found = re.search(r"'errorType': '(\w+)'.*?'message': '([^']*)'", str(exc))
    if found:
        return JobsApiError(found.group(1), found.group(2))
    return JobsApiError(None, str(exc))


class JobsClient:
    def __init__(self, config: ClientConfig | None = None) -> None:
        self.config = config or ClientConfig.from_env()
        self._client: Client | None = None
        self._session: Any = None

    def _auth(self) -> AppSyncAuthentication:
        if self.config.iam:
            return AppSyncIAMAuthentication(host=self.config.host, region_name=self.config.region)
        if self.config.token:
            return AppSyncJWTAuthentication(host=self.config.host, jwt=self.config.token)
        if not self.config.api_key:
            raise ValueError("no API key configured (APPSYNC_JOBS_API_KEY) and IAM auth not selected")
        return AppSyncApiKeyAuthentication(host=self.config.host, api_key=self.config.api_key)

    def _ssl(self) -> ssl.SSLContext | bool:
        if isinstance(self.config.verify, str):
            return ssl.create_default_context(cafile=self.config.verify)
        if self.config.verify is False:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            return context
        return True

    async def __aenter__(self) -> JobsClient:
        transport = AIOHTTPTransport(url=self.config.url, auth=self._auth(), ssl=self._ssl())
        self._client = Client(transport=transport, execute_timeout=30)
        self._session = await self._client.connect_async()  # type: ignore[no-untyped-call]
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._client is not None:
            await self._client.close_async()  # type: ignore[no-untyped-call]
            self._client = None

    async def _execute(self, name: str, variables: dict[str, Any]) -> dict[str, Any]:
        if self._session is None:
            raise RuntimeError("use 'async with JobsClient(...)'")
        try:
            result: dict[str, Any] = await self._session.execute(_operation(name, variables))
        except TransportQueryError as exc:
            raise _api_error(exc) from exc
        return result

    async def submit(self, job_type: str, payload: Any = None, *, idempotency_key: str | None = None) -> Job:
        job_input: dict[str, Any] = {"type": job_type}
        if payload is not None:
            job_input["payload"] = json.dumps(payload)  # AWSJSON is a JSON string on the wire
        if idempotency_key is not None:
            job_input["idempotencyKey"] = idempotency_key
        data = await self._execute("SubmitJob", {"input": job_input})
        return Job.from_wire(data["submitJob"])

    async def get(self, job_id: str) -> Job:
        data = await self._execute("GetJob", {"id": job_id})
        return Job.from_wire(data["job"])

    async def create_upload(self, content_type: str, size: int) -> Upload:
        data = (await self._execute("CreateUpload", {"contentType": content_type, "size": size}))["createUpload"]
        headers = data["headers"]
        return Upload(data["ref"], data["url"], json.loads(headers) if isinstance(headers, str) else headers,
                      data["expiresAt"])

    async def upload(self, path: Path, content_type: str = "application/octet-stream") -> str:
        """Upload a file with a presigned PUT; returns the reference a payload names it by."""
        import aiohttp

        size = path.stat().st_size
        upload = await self.create_upload(content_type, size)
        async with aiohttp.ClientSession() as http:
            with path.open("rb") as body:
                async with http.put(upload.url, data=body, headers={**upload.headers, "Content-Length": str(size)},
                                    ssl=self._ssl()) as response:
                    if response.status >= 300:
                        raise JobsApiError("UploadFailed", f"PUT answered {response.status}: {(await response.text())[:300]}")
        return upload.ref

    async def download(self, artifact: Artifact, directory: Path, *, chunk_size: int = 1 << 20) -> Path:
        """Stream one artifact (its presigned URL, from ``get``) to ``directory/<name>``."""
        import aiohttp

        if not artifact.url:
            raise JobsApiError("NoUrl", f"artifact {artifact.name} has no URL: read the job with get() first")
        directory.mkdir(parents=True, exist_ok=True)
        target = directory / Path(artifact.name).name
        async with aiohttp.ClientSession() as http, http.get(artifact.url, ssl=self._ssl()) as response:
            if response.status != 200:
                raise JobsApiError("DownloadFailed", f"GET {artifact.name} answered {response.status}")
            with target.open("wb") as out:
                async for chunk in response.content.iter_chunked(chunk_size):
                    out.write(chunk)
        return target

    async def download_all(self, job_id: str, directory: Path) -> list[Path]:
        """Every artifact of a job (fresh URLs from ``job(id)``), into ``directory``."""
        job = await self.get(job_id)
        return [await self.download(artifact, directory) for artifact in job.artifacts]

    async def result(self, job: Job) -> Any:
        """The job's result, fetched from its artifact when it was too large to publish inline."""
        name = job.result_artifact
        if name is None:
            return job.result
        import tempfile

        fresh = job if any(a.url for a in job.artifacts) else await self.get(job.id)
        artifact = next(a for a in fresh.artifacts if a.name == name)
        with tempfile.TemporaryDirectory() as tmp:
            path = await self.download(artifact, Path(tmp))
            return json.loads(path.read_text(encoding="utf-8"))

    async def cancel(self, job_id: str) -> Job:
        data = await self._execute("CancelJob", {"id": job_id})
        return Job.from_wire(data["cancelJob"])

    async def retry(self, job_id: str) -> Job:
        """Run a FAILED or CANCELLED job again (same id, a new attempt); a PENDING one comes back unchanged."""
        data = await self._execute("RetryJob", {"id": job_id})
        return Job.from_wire(data["retryJob"])

    async def list_jobs(
        self,
        *,
        status: JobStatus | str | None = None,
        job_type: str | None = None,
        limit: int | None = None,
        next_token: str | None = None,
    ) -> JobPage:
        """One page of the caller's own jobs, newest first (the server's default limit is 20, at most 100)."""
        variables: dict[str, Any] = {}
        if status is not None:
            variables["status"] = JobStatus(status).value
        if job_type is not None:
            variables["type"] = job_type
        if limit is not None:
            variables["limit"] = limit
        if next_token is not None:
            variables["nextToken"] = next_token
        data = await self._execute("ListJobs", variables)
        return JobPage.from_wire(data["listJobs"])

    async def iter_jobs(
        self,
        *,
        status: JobStatus | str | None = None,
        job_type: str | None = None,
        page_size: int | None = None,
        next_token: str | None = None,
    ) -> AsyncGenerator[Job, None]:
        """Every one of the caller's jobs (from ``next_token`` on), newest first, following ``nextToken``."""
        token = next_token
        while True:
            page = await self.list_jobs(status=status, job_type=job_type, limit=page_size, next_token=token)
            for job in page.items:
                yield job
            token = page.next_token
            if not token:
                return

    @contextlib.asynccontextmanager
    async def subscription(
        self, operation: str, variables: dict[str, Any] | None = None,
    ) -> AsyncIterator[tuple[AsyncIterator[Job], asyncio.Event]]:
        """A live subscription (``OnJobUpdated`` or ``OnMyJobsUpdated``) and an event set on its ``start_ack``.

        The start is sent when the iterator is first awaited; callers that must not miss anything
        between a query and the first event wait for the event, then query (see ``wait`` and the
        CLI's ``watch``).
        """
        field = _FIELDS[operation]
        transport = _AckingTransport(
            url=self.config.websocket_url,
            auth=self._auth(),
            ssl=self._ssl() if self.config.websocket_url.startswith("wss") else False,
        )
        client = Client(transport=transport)
        try:
            session = await client.connect_async()  # type: ignore[no-untyped-call]
        except TransportServerError as exc:
            raise _connection_refused(exc) from exc
        try:

            async def jobs() -> AsyncGenerator[Job, None]:
                updates = session.subscribe(_operation(operation, variables or {}))
                try:
                    async for data in updates:
                        if data.get(field) is not None:
                            yield Job.from_wire(data[field])
                except TransportQueryError as exc:
                    raise _api_error(exc) from exc
                finally:
                    # Leaving an `async for` does not close the generator it iterates; gql removes
                    # its listener only when this one is closed, and its close waits for that.
                    await updates.aclose()

            updates = jobs()
            try:
                yield updates, transport.acknowledged
            finally:
                # Close the subscription before the socket: an update that arrived but was never
                # read (wait's query answered first, or the caller stopped iterating) otherwise
                # keeps gql's listener alive, and gql's close waits its whole 10 s close_timeout.
                with contextlib.suppress(Exception):
                    await updates.aclose()
        finally:
            await client.close_async()  # type: ignore[no-untyped-call]

    def _subscription(self, job_id: str) -> contextlib.AbstractAsyncContextManager[
        tuple[AsyncIterator[Job], asyncio.Event]
    ]:
        return self.subscription("OnJobUpdated", {"id": job_id})

    async def subscribe_mine(self, *, live: asyncio.Event | None = None) -> AsyncGenerator[Job, None]:
        """Every change to any of the caller's own jobs (``onMyJobsUpdated``), until you stop iterating.

        The server derives "mine" from the credentials; there is no argument to forge. ``live`` is set
        once the server acknowledged the subscription: what changes after that is delivered.
        """
        async with self.subscription("OnMyJobsUpdated") as (jobs, acknowledged):
            relay = asyncio.ensure_future(_relay(acknowledged, live)) if live is not None else None
            try:
                async for job in jobs:
                    yield job
            finally:
                if relay is not None:
                    relay.cancel()

    async def subscribe(self, job_id: str) -> AsyncGenerator[Job, None]:
        """Every update of the job, as published by ``updateJob``/``cancelJob``, until you stop iterating."""
        async with self._subscription(job_id) as (jobs, _):
            async for job in jobs:
                yield job

    async def wait(
        self,
        job_id: str,
        *,
        on_update: Callable[[Job], None] | None = None,
        timeout: float | None = None,
        poll_interval: float = 15.0,
    ) -> Job:
        """The job once it is finished, reporting each update to ``on_update``.

        Subscribes, waits for the server's ``start_ack``, then queries once, so a job that finished
        before the subscription was live is not missed; re-queries every ``poll_interval`` as a safety
        net, and falls back to polling if the socket drops.
        """
        return await asyncio.wait_for(self._wait(job_id, on_update, poll_interval), timeout)

    async def _wait(self, job_id: str, on_update: Callable[[Job], None] | None, poll_interval: float) -> Job:
        latest: Job | None = None

        def seen(job: Job) -> Job | None:
            nonlocal latest
            if latest is None or job.version > latest.version:
                latest = job
                if on_update:
                    on_update(job)
            return latest if latest.status.is_terminal else None

        try:
            async with self._subscription(job_id) as (events, acknowledged):
                iterator = events.__aiter__()
                next_event: asyncio.Task[Job] = asyncio.ensure_future(iterator.__anext__())  # sends the start
                try:
                    ack = asyncio.ensure_future(acknowledged.wait())
                    await asyncio.wait({ack, next_event}, timeout=poll_interval, return_when=asyncio.FIRST_COMPLETED)
                    ack.cancel()
                    if next_event.done() and next_event.exception() is not None:
                        raise next_event.exception()  # type: ignore[misc]
                    while True:
                        done = seen(await self.get(job_id))
                        if done:
                            return done
                        with contextlib.suppress(TimeoutError):
                            while True:
                                job = await asyncio.wait_for(asyncio.shield(next_event), poll_interval)
                                next_event = asyncio.ensure_future(iterator.__anext__())
                                done = seen(job)
                                if done:
                                    return done
                finally:
                    next_event.cancel()
                    with contextlib.suppress(BaseException):
                        await next_event
        except (TransportError, TransportClosed, OSError, StopAsyncIteration):
            pass  # the socket is gone: fall back to polling
        while True:
            done = seen(await self.get(job_id))
            if done:
                return done
            await asyncio.sleep(poll_interval)  # polling fallback, only once the subscription is lost
