"""End to end over real sockets: the local runtime as a process, driven by gql's AppSync transports."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import requests

from client.api import JobsApiError, JobsClient
from client.config import ClientConfig
from client.models import Job, JobStatus
from support.server import API_KEY, LocalServer, StartServer


@pytest.fixture
def config(server: LocalServer) -> ClientConfig:
    return ClientConfig(url=server.url, api_key=API_KEY)


def post(server: LocalServer, query: str, variables: dict[str, Any] | None = None, key: str | None = API_KEY) -> requests.Response:
    headers = {"x-api-key": key} if key else {}
    return requests.post(server.url, json={"query": query, "variables": variables or {}}, headers=headers, timeout=10)


async def test_a_subscriber_sees_running_progress_and_success(config: ClientConfig) -> None:
    async with JobsClient(config) as client:
        job = await client.submit("sleep", {"seconds": 0.6, "steps": 3})
        assert job.status is JobStatus.PENDING
        seen: list[Job] = []
        final = await client.wait(job.id, on_update=seen.append, timeout=20)
        assert final.status is JobStatus.SUCCEEDED
        assert final.result == {"slept": 0.6, "steps": 3}
        statuses = [j.status for j in seen]
        assert JobStatus.RUNNING in statuses
        assert statuses[-1] is JobStatus.SUCCEEDED
        assert any(j.status is JobStatus.RUNNING and (j.progress or 0) > 0 for j in seen)
        assert [j.version for j in seen] == sorted({j.version for j in seen})  # never backwards
        assert await client.get(job.id) == final  # the query agrees with the last event


async def test_awsjson_round_trips_exactly(config: ClientConfig) -> None:
    async with JobsClient(config) as client:
        job = await client.submit("echo", {"deep": {"list": [1, 2.5, None, "é"]}})
        final = await client.wait(job.id, timeout=20)
        assert final.result == {"deep": {"list": [1, 2.5, None, "é"]}}
        assert final.payload == final.result
        assert final.created_at
        assert final.finished_at


async def test_cancel_a_running_job(config: ClientConfig) -> None:
    async with JobsClient(config) as client:
        job = await client.submit("sleep", {"seconds": 30, "steps": 300})
        running = asyncio.Event()

        def on_update(update: Job) -> None:
            if update.status is JobStatus.RUNNING:
                running.set()

        waiter = asyncio.ensure_future(client.wait(job.id, on_update=on_update, timeout=20))
        await asyncio.wait_for(running.wait(), 15)
        requested = await client.cancel(job.id)
        assert requested.cancel_requested
        final = await waiter
        assert final.status is JobStatus.CANCELLED


async def test_bad_inputs_get_clear_errors_and_create_nothing(config: ClientConfig, server: LocalServer) -> None:
    async with JobsClient(config) as client:
        with pytest.raises(JobsApiError) as unknown:
            await client.submit("no-such-task")
        assert unknown.value.error_type == "UnknownTaskType"
        with pytest.raises(JobsApiError) as missing:
            await client.get("7b0e7d0e-0000-4000-8000-000000000000")
        assert missing.value.error_type == "NotFound"
    malformed = post(server, "mutation($i: SubmitJobInput!) { submitJob(input: $i) { id } }",
                     {"i": {"type": "echo", "payload": "{not json"}}).json()
    assert malformed["data"] is None
    assert malformed["errors"][0]["errorType"] == "ValidationError"
    assert "valid JSON" in malformed["errors"][0]["message"]
    as_object = post(server, "mutation($i: SubmitJobInput!) { submitJob(input: $i) { id } }",
                     {"i": {"type": "echo", "payload": {"a": 1}}}).json()
    assert as_object["errors"][0]["errorType"] == "ValidationError"  # AWSJSON must be a string


def test_api_key_callers_may_not_call_update_job(server: LocalServer) -> None:
    answer = post(server, 'mutation { updateJob(input: {id: "x", status: FAILED}) { id } }').json()
    assert answer["data"] == {"updateJob": None}
    assert answer["errors"][0]["errorType"] == "Unauthorized"
    assert answer["errors"][0]["message"] == "Not Authorized to access updateJob on type Mutation"
    assert answer["errors"][0]["path"] == ["updateJob"]


def test_wrong_api_key_is_a_401_as_on_appsync(server: LocalServer) -> None:
    response = post(server, "{ job(id: \"x\") { id } }", key="da2-wrong")
    assert response.status_code == 401
    assert response.headers["x-amzn-ErrorType"] == "UnauthorizedException"
    assert response.json()["errors"][0]["errorType"] == "UnauthorizedException"
    assert post(server, "{ job(id: \"x\") { id } }", key=None).status_code == 401


async def test_illegal_transition_error_shape(config: ClientConfig, server: LocalServer) -> None:
    async with JobsClient(config) as client:
        job = await client.submit("echo", 1)
        await client.wait(job.id, timeout=20)
    again = post(server, f'mutation {{ cancelJob(id: "{job.id}") {{ id status }} }}').json()
    error = again["errors"][0]
    assert again["data"] == {"cancelJob": None}
    assert error["errorType"] == "InvalidTransition"
    assert error["errorInfo"] == {"from": "SUCCEEDED", "to": "CANCELLED"}
    assert error["locations"] == [{"line": 1, "column": 12, "sourceName": None}]
    assert error["path"] == ["cancelJob"]


def test_the_server_survives_a_restart_without_losing_jobs(start_local_server: StartServer) -> None:
    # Given a job accepted by a server whose worker is off, so it stays queued
    first = start_local_server("--no-worker")
    job = post(first, 'mutation { submitJob(input: {type: "echo", payload: "\\"kept\\""}) { id } }').json()
    job_id = job["data"]["submitJob"]["id"]
    first.stop(kill=True)  # kill -9: no graceful shutdown
    # When a new server starts on the same data
    second = start_local_server()

    async def finish() -> Job:
        async with JobsClient(ClientConfig(url=second.url, api_key=API_KEY)) as client:
            return await client.wait(job_id, timeout=20)

    # Then the accepted job is still there and runs to completion
    final = asyncio.run(finish())
    assert final.status is JobStatus.SUCCEEDED
    assert final.result == "kept"
    second.stop()


def test_graphql_transport_ws_endpoint_streams_updates(server: LocalServer) -> None:
    from gql import Client, gql
    from gql.transport.websockets import WebsocketsTransport

    job = post(server, 'mutation { submitJob(input: {type: "sleep", payload: "{\\"seconds\\": 30, \\"steps\\": 300}"}) { id } }')
    job_id = job.json()["data"]["submitJob"]["id"]

    async def listen() -> list[dict[str, Any]]:
        transport = WebsocketsTransport(url=f"ws://{server.host}/graphql", init_payload={"x-api-key": API_KEY},
                                        subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL])
        events: list[dict[str, Any]] = []
        async with Client(transport=transport) as session:
            document = gql("subscription($id: ID!) { onJobUpdated(id: $id) { id status progress } }")
            document.variable_values = {"id": job_id}
            async for event in session.subscribe(document):
                events.append(event["onJobUpdated"])
                if events[-1]["status"] == "RUNNING" and len(events) == 1:
                    await asyncio.get_running_loop().run_in_executor(
                        None, post, server, f'mutation {{ cancelJob(id: "{job_id}") {{ id status progress }} }}'
                    )
                if events[-1]["status"] == "CANCELLED":
                    return events
        return events

    events = asyncio.run(asyncio.wait_for(listen(), 20))
    assert events[0]["id"] == job_id
    assert events[-1]["status"] == "CANCELLED"


def test_graphql_transport_ws_refuses_a_job_the_caller_cannot_read(server: LocalServer) -> None:
    from gql import Client, gql
    from gql.transport.exceptions import TransportQueryError
    from gql.transport.websockets import WebsocketsTransport

    async def listen() -> None:
        transport = WebsocketsTransport(url=f"ws://{server.host}/graphql", init_payload={"x-api-key": API_KEY},
                                        subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL])
        async with Client(transport=transport) as session:
            document = gql("subscription($id: ID!) { onJobUpdated(id: $id) { id status } }")
            document.variable_values = {"id": "00000000-0000-4000-8000-000000000000"}
            async for _ in session.subscribe(document):
                pass

    with pytest.raises(TransportQueryError) as refused:
        asyncio.run(asyncio.wait_for(listen(), 20))
    assert refused.value.errors is not None
    assert refused.value.errors[0]["message"] == "Job 00000000-0000-4000-8000-000000000000 not found"
    assert refused.value.errors[0]["extensions"]["errorType"] == "NotFound"


def test_killing_the_server_mid_job_loses_nothing(start_local_server: StartServer) -> None:
    # A message received but not yet tied to a lease when the kill lands stays hidden for the whole
    # visibility timeout (as on SQS); keep that worst case well inside the wait below.
    fast = {"JOBS_LEASE_SECONDS": "2", "JOBS_VISIBILITY_MARGIN": "1", "JOBS_MAX_RECEIVE_COUNT": "10",
            "JOBS_VISIBILITY_TIMEOUT": "5"}
    first = start_local_server(env=fast)
    ids = []
    for _ in range(6):
        job = post(first, 'mutation { submitJob(input: {type: "sleep", payload: "{\\"seconds\\": 1.5, \\"steps\\": 5}"}) { id } }')
        ids.append(job.json()["data"]["submitJob"]["id"])

    async def until_running(server: LocalServer) -> None:
        async with JobsClient(ClientConfig(url=server.url, api_key=API_KEY)) as client:
            running = asyncio.Event()
            waiter = asyncio.ensure_future(
                client.wait(ids[0], on_update=lambda j: running.set() if j.status is JobStatus.RUNNING else None)
            )
            await asyncio.wait_for(running.wait(), 15)
            waiter.cancel()

    asyncio.run(until_running(first))
    first.stop(kill=True)  # kill -9 with jobs in flight
    second = start_local_server(env=fast)

    async def finish_all() -> list[Job | BaseException]:
        async with JobsClient(ClientConfig(url=second.url, api_key=API_KEY)) as client:
            return list(await asyncio.gather(*(client.wait(job_id, timeout=60) for job_id in ids),
                                             return_exceptions=True))

    outcomes = asyncio.run(finish_all())
    stuck = {job_id: post(second, "query($id: ID!) { job(id: $id) { status attempts message updatedAt } }",
                          {"id": job_id}).json()
             for job_id, outcome in zip(ids, outcomes, strict=True) if not isinstance(outcome, Job)}
    second.stop()
    assert not stuck, f"jobs that did not finish after the restart: {stuck}"
    finals = [outcome for outcome in outcomes if isinstance(outcome, Job)]
    assert [job.status for job in finals] == [JobStatus.SUCCEEDED] * len(ids)
    assert max(job.attempts for job in finals) >= 2  # the interrupted attempts were retried


def test_graphiql_is_served_on_get(server: LocalServer) -> None:
    page = requests.get(server.url, headers={"accept": "text/html"}, timeout=10)
    assert page.status_code == 200
    assert "graphiql" in page.text.lower()


def test_cors_preflight_allows_what_amplify_sends(server: LocalServer) -> None:
    preflight = requests.options(server.url, timeout=10, headers={
        "origin": "https://app.example", "access-control-request-method": "POST",
        "access-control-request-headers": "content-type,x-api-key,x-amz-user-agent,x-amz-date,authorization"})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] in ("*", "https://app.example")


async def test_leaving_a_subscription_mid_stream_closes_at_once(server: LocalServer) -> None:
    # gql keeps a subscription's listener until its generator is closed, and its close waits up to
    # 10 s for that listener: the client must close what it stopped reading.
    async with JobsClient(ClientConfig(url=server.url, api_key=API_KEY)) as client:
        job = await client.submit("sleep", {"seconds": 2, "steps": 4})
        updates = client.subscribe(job.id)

        async def first_update() -> Job:
            async for update in updates:
                return update
            raise AssertionError("the subscription ended without an update")

        assert (await asyncio.wait_for(first_update(), 10)).id == job.id
        started = asyncio.get_running_loop().time()
        await updates.aclose()
        assert asyncio.get_running_loop().time() - started < 3
