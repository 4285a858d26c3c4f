"""The local endpoint as AppSync clients see it, on the wire: gql's AppSync transports with API key and IAM,
and every negative case the real AppSync answers in a particular way."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
import websockets
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from gql import Client, GraphQLRequest
from gql.transport.aiohttp import AIOHTTPTransport
from gql.transport.appsync_auth import AppSyncApiKeyAuthentication, AppSyncAuthentication, AppSyncIAMAuthentication
from gql.transport.appsync_websockets import AppSyncWebsocketsTransport
from gql.transport.exceptions import TransportQueryError, TransportServerError

from jobcore.settings import LOCAL_ACCESS_KEY_ID, LOCAL_REGION, LOCAL_SECRET_ACCESS_KEY
from support.server import API_KEY, LocalServer

CREDENTIALS = Credentials(LOCAL_ACCESS_KEY_ID, LOCAL_SECRET_ACCESS_KEY)
SUBMIT = 'mutation { submitJob(input: {type: "sleep", payload: "{\\"seconds\\": 0.4, \\"steps\\": 2}"}) { id status createdAt } }'
SUBSCRIBE = "subscription($id: ID!) { onJobUpdated(id: $id) { id status progress updatedAt } }"


def api_key_auth(server: LocalServer, key: str = API_KEY) -> AppSyncApiKeyAuthentication:
    return AppSyncApiKeyAuthentication(host=server.host, api_key=key)


def iam_auth(server: LocalServer, credentials: Credentials = CREDENTIALS) -> AppSyncIAMAuthentication:
    return AppSyncIAMAuthentication(host=server.host, region_name=LOCAL_REGION, credentials=credentials)


async def submit_and_follow(server: LocalServer, auth: AppSyncAuthentication) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    async with Client(transport=AIOHTTPTransport(url=server.url, auth=auth)) as http:
        job = (await http.execute(GraphQLRequest(SUBMIT)))["submitJob"]
    events: list[dict[str, Any]] = []
    transport = AppSyncWebsocketsTransport(url=server.realtime_url, auth=auth)
    async with Client(transport=transport) as realtime:
        async for event in realtime.subscribe(GraphQLRequest(SUBSCRIBE, variable_values={"id": job["id"]})):
            events.append(event["onJobUpdated"])
            if event["onJobUpdated"]["status"] == "SUCCEEDED":
                break
    return job, events


@pytest.mark.parametrize("mode", ["api_key", "iam"])
async def test_gql_unchanged_submits_subscribes_and_closes_promptly(server: LocalServer, mode: str) -> None:
    auth = api_key_auth(server) if mode == "api_key" else iam_auth(server)
    started = time.monotonic()
    job, events = await asyncio.wait_for(submit_and_follow(server, auth), 20)
    elapsed = time.monotonic() - started
    assert job["status"] == "PENDING"
    assert events[-1] == {"id": job["id"], "status": "SUCCEEDED", "progress": 100, "updatedAt": events[-1]["updatedAt"]}
    assert elapsed < 8  # the job takes 0.4 s; closing does not wait gql's 10 s close timeout


def test_awsdatetime_is_iso8601_with_milliseconds_and_z(server: LocalServer) -> None:
    job = requests.post(server.url, json={"query": SUBMIT}, headers={"x-api-key": API_KEY}, timeout=10).json()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", job["data"]["submitJob"]["createdAt"])


def signed_headers(
    server: LocalServer, body: str, *, secret: str = LOCAL_SECRET_ACCESS_KEY, at: datetime | None = None
) -> dict[str, str]:
    request = AWSRequest(method="POST", url=f"https://{server.host}/graphql", data=body,
                         headers={"content-type": "application/json", "host": server.host})
    signer = SigV4Auth(Credentials(LOCAL_ACCESS_KEY_ID, secret), "appsync", LOCAL_REGION)
    if at is None:
        signer.add_auth(request)
    else:
        request.context["timestamp"] = at.strftime("%Y%m%dT%H%M%SZ")
        request.headers["X-Amz-Date"] = request.context["timestamp"]
        canonical = signer.canonical_request(request)
        signature = signer.signature(signer.string_to_sign(request, canonical), request)
        request.headers["Authorization"] = (
            f"AWS4-HMAC-SHA256 Credential={LOCAL_ACCESS_KEY_ID}/{at:%Y%m%d}/{LOCAL_REGION}/appsync/aws4_request, "
            f"SignedHeaders={signer.signed_headers(signer.headers_to_sign(request))}, Signature={signature}"
        )
    return dict(request.headers)


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param(lambda s, b: {"x-api-key": "da2-wrong"}, id="wrong-api-key"),
        pytest.param(lambda s, b: {}, id="no-credentials"),
        pytest.param(lambda s, b: signed_headers(s, b, secret="not-the-secret"), id="bad-signature"),
        pytest.param(lambda s, b: signed_headers(s, b, at=datetime.now(UTC) - timedelta(minutes=16)), id="replayed-too-late"),
        pytest.param(lambda s, b: {**signed_headers(s, b), "x-amz-date": "20200101T000000Z"}, id="tampered-date"),
    ],
)
def test_request_level_auth_failures_are_401_unauthorized_exception(server: LocalServer, headers: Any) -> None:
    body = json.dumps({"query": "{ __typename }"})
    response = requests.post(server.url, data=body, headers={"content-type": "application/json", **headers(server, body)},
                             timeout=10)
    assert response.status_code == 401
    assert response.headers["x-amzn-ErrorType"] == "UnauthorizedException"
    assert response.json()["errors"][0]["errorType"] == "UnauthorizedException"


def test_a_valid_iam_signature_is_accepted(server: LocalServer) -> None:
    body = json.dumps({"query": "{ __typename }"})
    response = requests.post(server.url, data=body, headers=signed_headers(server, body), timeout=10)
    assert response.status_code == 200
    assert response.json() == {"data": {"__typename": "Query"}}


async def test_wrong_api_key_on_the_socket_is_a_connection_error(server: LocalServer) -> None:
    transport = AppSyncWebsocketsTransport(url=server.realtime_url, auth=api_key_auth(server, "da2-wrong"))
    with pytest.raises(TransportServerError, match=r"UnauthorizedException|not authorized"):
        async with Client(transport=transport):
            pass


async def test_a_query_over_the_socket_is_unsupported(server: LocalServer) -> None:
    transport = AppSyncWebsocketsTransport(url=server.realtime_url, auth=api_key_auth(server))
    async with Client(transport=transport) as session:
        with pytest.raises(TransportQueryError) as refused:
            async for _ in session.subscribe(GraphQLRequest('query { job(id: "x") { id } }')):
                pass
    assert refused.value.errors is not None  # gql hands over the AppSync error payload whole
    assert refused.value.errors[0]["errors"][0]["errorType"] == "UnsupportedOperation"


async def test_an_invalid_subscription_document_is_a_validation_error(server: LocalServer) -> None:
    transport = AppSyncWebsocketsTransport(url=server.realtime_url, auth=api_key_auth(server))
    async with Client(transport=transport) as session:
        with pytest.raises(TransportQueryError) as refused:
            async for _ in session.subscribe(GraphQLRequest('subscription { onJobUpdated(id: "x") { nope } }')):
                pass
    assert refused.value.errors is not None
    assert "nope" in refused.value.errors[0]["errors"][0]["message"]


def _header(server: LocalServer) -> str:
    return base64.b64encode(json.dumps({"host": server.host, "x-api-key": API_KEY}).encode()).decode()


def _submit(server: LocalServer) -> str:
    answer = requests.post(server.url, json={"query": SUBMIT}, headers={"x-api-key": API_KEY}, timeout=10)
    return str(answer.json()["data"]["submitJob"]["id"])


async def test_more_subscriptions_than_the_limit_on_one_connection(server: LocalServer) -> None:
    job_id = _submit(server)  # the subscribe-time check refuses ids the caller cannot read
    url = f"{server.realtime_url}?header={_header(server)}&payload=e30="
    async with websockets.connect(url, subprotocols=["graphql-ws"]) as socket:  # type: ignore[list-item]
        await socket.send(json.dumps({"type": "connection_init"}))
        assert json.loads(await socket.recv())["type"] == "connection_ack"
        authorization = {"host": server.host, "x-api-key": API_KEY}
        for n in range(101):
            data = json.dumps({"query": SUBSCRIBE, "variables": {"id": job_id}})
            await socket.send(json.dumps({"id": str(n), "type": "start",
                                          "payload": {"data": data, "extensions": {"authorization": authorization}}}))
        answers: dict[str, dict[str, Any]] = {}
        while len(answers) < 101:
            message = json.loads(await asyncio.wait_for(socket.recv(), 10))
            if message["type"] in ("start_ack", "error"):
                answers[message["id"]] = message
    assert [answers[str(n)]["type"] for n in range(100)] == ["start_ack"] * 100
    assert answers["100"]["type"] == "error"
    assert answers["100"]["payload"]["errors"][0]["errorType"] == "MaxSubscriptionsReachedError"


def test_api_key_calling_update_job_is_denied_at_the_field(server: LocalServer) -> None:
    body = {"query": 'mutation { updateJob(input: {id: "x", leaseToken: "t", status: RUNNING}) { id } }'}
    answer = requests.post(server.url, json=body, headers={"x-api-key": API_KEY}, timeout=10)
    assert answer.status_code == 200
    error = answer.json()["errors"][0]
    assert (error["errorType"], error["message"]) == ("Unauthorized", "Not Authorized to access updateJob on type Mutation")


def test_iam_may_call_update_job(server: LocalServer) -> None:
    body = json.dumps({"query": 'mutation { updateJob(input: {id: "missing", leaseToken: "t", status: RUNNING}) { id } }'})
    answer = requests.post(server.url, data=body, headers=signed_headers(server, body), timeout=10).json()
    assert answer["errors"][0]["errorType"] == "NotFound"  # authorised; the job simply does not exist


def test_malformed_awsjson_is_a_validation_error(server: LocalServer) -> None:
    body = {"query": 'mutation { submitJob(input: {type: "echo", payload: "{oops"}) { id } }'}
    answer = requests.post(server.url, json=body, headers={"x-api-key": API_KEY}, timeout=10).json()
    assert answer["data"] is None
    assert answer["errors"][0]["errorType"] == "ValidationError"


def test_a_subscription_posted_over_http_is_a_bad_request(server: LocalServer) -> None:
    body = {"query": 'subscription { onJobUpdated(id: "x") { id } }'}
    answer = requests.post(server.url, json=body, headers={"x-api-key": API_KEY}, timeout=10)
    assert answer.status_code == 400
    assert answer.json()["errors"][0] == {"errorType": "BadRequestException", "message": "Subscriptions over MQTT is not supported."}


async def test_subscribing_to_an_unknown_job_is_refused_at_start_as_not_found(server: LocalServer) -> None:
    # AppSync runs the subscription field's resolver when the client subscribes; its error rejects the start.
    transport = AppSyncWebsocketsTransport(url=server.realtime_url, auth=api_key_auth(server))
    async with Client(transport=transport) as session:
        with pytest.raises(TransportQueryError) as refused:
            async for _ in session.subscribe(GraphQLRequest(SUBSCRIBE, variable_values={"id": str(uuid.uuid4())})):
                pass
    assert refused.value.errors is not None
    (error,) = refused.value.errors[0]["errors"]
    assert error["errorType"] == "NotFound"


async def test_subscribers_of_one_job_each_get_their_own_selection(server: LocalServer) -> None:
    # The server executes each event once per distinct document and shares the result; subscribers
    # with different documents must still get exactly what they asked for.
    long_job = 'mutation { submitJob(input: {type: "sleep", payload: "{\\"seconds\\": 30}"}) { id } }'
    job_id = requests.post(server.url, json={"query": long_job}, headers={"x-api-key": API_KEY},
                           timeout=10).json()["data"]["submitJob"]["id"]
    documents = {
        "a": "subscription($id: ID!) { onJobUpdated(id: $id) { id status } }",
        "b": "subscription($id: ID!) { onJobUpdated(id: $id) { id progress } }",
        "a2": "subscription($id: ID!) { onJobUpdated(id: $id) { id status } }",
    }
    url = f"{server.realtime_url}?header={_header(server)}&payload=e30="
    authorization = {"host": server.host, "x-api-key": API_KEY}
    async with websockets.connect(url, subprotocols=["graphql-ws"]) as socket:  # type: ignore[list-item]
        await socket.send(json.dumps({"type": "connection_init"}))
        assert json.loads(await socket.recv())["type"] == "connection_ack"
        for sub_id, document in documents.items():
            data = json.dumps({"query": document, "variables": {"id": job_id}})
            await socket.send(json.dumps({"id": sub_id, "type": "start",
                                          "payload": {"data": data, "extensions": {"authorization": authorization}}}))
        acked: set[str] = set()
        while acked != set(documents):
            message = json.loads(await asyncio.wait_for(socket.recv(), 10))
            assert message["type"] in ("start_ack", "ka"), message
            acked |= {message["id"]} if message["type"] == "start_ack" else set()
        cancel = "mutation($id: ID!) { cancelJob(id: $id) { id status progress cancelRequested } }"
        requests.post(server.url, json={"query": cancel, "variables": {"id": job_id}},
                      headers={"x-api-key": API_KEY}, timeout=10).raise_for_status()
        first: dict[str, dict[str, Any]] = {}
        while set(first) != set(documents):
            message = json.loads(await asyncio.wait_for(socket.recv(), 10))
            if message["type"] == "data":
                first.setdefault(message["id"], message["payload"]["data"]["onJobUpdated"])
    assert first["a"] == first["a2"]
    assert first["a"]["id"] == job_id and set(first["a"]) == {"id", "status"}
    assert first["a"]["status"] in ("RUNNING", "CANCELLED")  # CANCELLED if the cancel beat the claim
    assert set(first["b"]) == {"id", "progress"}
