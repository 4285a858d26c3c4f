"""Signed-in users (Cognito user-pool tokens) only see, cancel and follow their own jobs.

Against the real local server, with tokens printed by `appsync-jobs token` and sent as gql's
AppSyncJWTAuthentication sends them - the path a deployed stack with enable_cognito takes.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
import requests
from gql import Client, GraphQLRequest
from gql.transport.appsync_auth import AppSyncJWTAuthentication
from gql.transport.appsync_websockets import AppSyncWebsocketsTransport
from gql.transport.exceptions import TransportQueryError

from client.api import JobsClient
from client.config import ClientConfig
from client.models import JobStatus
from devserver.auth.user_pool import LocalUserPool
from support.server import API_KEY, LocalServer, token_for

SUBMIT = 'mutation { submitJob(input: {type: "sleep", payload: "{\\"seconds\\": 2, \\"steps\\": 4}"}) { id status } }'
READ = "query($id: ID!) { job(id: $id) { id status } }"
CANCEL = "mutation($id: ID!) { cancelJob(id: $id) { id status } }"
SUBSCRIBE = "subscription($id: ID!) { onJobUpdated(id: $id) { id status } }"


@pytest.fixture(scope="module")
def alice() -> str:
    return token_for("alice")


@pytest.fixture(scope="module")
def bob() -> str:
    return token_for("bob")


def call(server: LocalServer, query: str, variables: dict[str, Any] | None = None, *,
         token: str | None = None, api_key: str | None = None) -> requests.Response:
    headers = {"authorization": token} if token else {"x-api-key": api_key or API_KEY}
    return requests.post(server.url, json={"query": query, "variables": variables or {}}, headers=headers, timeout=10)


def submit(server: LocalServer, token: str) -> str:
    answer = call(server, SUBMIT, token=token).json()
    assert "errors" not in answer, answer
    return str(answer["data"]["submitJob"]["id"])


def test_a_user_sees_their_own_job(server: LocalServer, alice: str) -> None:
    job_id = submit(server, alice)
    assert call(server, READ, {"id": job_id}, token=alice).json()["data"]["job"]["id"] == job_id


@pytest.mark.parametrize("intruder", ["bob", "api key"])
def test_nobody_else_can_read_or_cancel_it(server: LocalServer, alice: str, bob: str, intruder: str) -> None:
    job_id = submit(server, alice)
    as_intruder = {"token": bob} if intruder == "bob" else {}
    for operation in (READ, CANCEL):
        answer = call(server, operation, {"id": job_id}, **as_intruder).json()
        assert [e["errorType"] for e in answer["errors"]] == ["NotFound"]
        assert next(iter(answer["data"].values())) is None
    assert call(server, READ, {"id": job_id}, token=alice).json()["data"]["job"]["status"] != "CANCELLED"


def test_api_key_jobs_are_not_a_users_jobs(server: LocalServer, bob: str) -> None:
    job_id = str(call(server, SUBMIT).json()["data"]["submitJob"]["id"])
    assert call(server, READ, {"id": job_id}, token=bob).json()["errors"][0]["errorType"] == "NotFound"


async def test_another_user_cannot_subscribe_to_it(server: LocalServer, alice: str, bob: str) -> None:
    job_id = submit(server, alice)
    transport = AppSyncWebsocketsTransport(url=server.realtime_url, auth=AppSyncJWTAuthentication(server.host, bob))

    async def follow() -> None:
        async with Client(transport=transport) as session:
            async for _ in session.subscribe(GraphQLRequest(SUBSCRIBE, variable_values={"id": job_id})):
                pass

    with pytest.raises(TransportQueryError) as refused:
        await asyncio.wait_for(follow(), 20)
    assert refused.value.errors is not None
    assert [e["errorType"] for e in refused.value.errors[0]["errors"]] == ["NotFound"]


async def test_the_owner_follows_it_live_to_the_end(server: LocalServer, alice: str) -> None:
    job_id = submit(server, alice)
    seen: list[JobStatus] = []
    async with JobsClient(ClientConfig(url=server.url, api_key=None, token=alice)) as client:
        final = await asyncio.wait_for(client.wait(job_id, on_update=lambda job: seen.append(job.status)), 30)
    assert final.status is JobStatus.SUCCEEDED
    assert JobStatus.RUNNING in seen


def test_a_user_may_not_report_progress(server: LocalServer, alice: str) -> None:
    job_id = submit(server, alice)
    update = 'mutation($id: ID!) { updateJob(input: {id: $id, leaseToken: "t", status: RUNNING}) { id } }'
    answer = call(server, update, {"id": job_id}, token=alice)
    assert answer.status_code == 200
    assert answer.json()["errors"][0]["message"] == "Not Authorized to access updateJob on type Mutation"


@pytest.mark.parametrize(
    ("token", "message"),
    [
        (LocalUserPool().mint("alice", lifetime_seconds=10, now=time.time() - 600), "Token has expired."),
        (LocalUserPool(secret="a-forged-secret-long-enough-for-hs256").mint("alice"),
         "Valid authorization header not provided."),
    ],
    ids=["expired", "forged"],
)
def test_bad_tokens_are_401_unauthorized_exception(server: LocalServer, token: str, message: str) -> None:
    answer = call(server, SUBMIT, token=token)
    assert answer.status_code == 401
    assert answer.headers["x-amzn-errortype"] == "UnauthorizedException"
    assert answer.json()["errors"][0]["message"] == message
