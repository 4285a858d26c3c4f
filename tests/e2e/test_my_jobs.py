"""Many jobs per caller, against the real local server over real sockets, with gql's AppSync transports:
listJobs, onMyJobsUpdated and retryJob for API-key, user-pool and IAM callers at once.

Every caller subscribes to onMyJobsUpdated at the same time, every caller submits and runs jobs, and
each must see all of its own jobs' events and listing entries - and not one of anybody else's.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from botocore.credentials import Credentials
from gql import Client, GraphQLRequest
from gql.transport.aiohttp import AIOHTTPTransport
from gql.transport.appsync_auth import (
    AppSyncApiKeyAuthentication,
    AppSyncAuthentication,
    AppSyncIAMAuthentication,
    AppSyncJWTAuthentication,
)
from gql.transport.appsync_websockets import AppSyncWebsocketsTransport
from gql.transport.exceptions import TransportQueryError

from jobcore.settings import LOCAL_ACCESS_KEY_ID, LOCAL_REGION, LOCAL_SECRET_ACCESS_KEY
from support.server import API_KEY, LocalServer, token_for

JOB = "id type status owner version attempts createdAt"
SUBMIT = f"mutation($type: String!, $payload: AWSJSON) {{ submitJob(input: {{type: $type, payload: $payload}}) {{ {JOB} }} }}"
LIST = (
    "query($status: JobStatus, $type: String, $limit: Int, $next: String) "
    f"{{ listJobs(status: $status, type: $type, limit: $limit, nextToken: $next) {{ items {{ {JOB} }} nextToken }} }}"
)
RETRY = f"mutation($id: ID!) {{ retryJob(id: $id) {{ {JOB} }} }}"
CANCEL_WITHOUT_OWNER = "mutation($id: ID!) { cancelJob(id: $id) { id status version } }"
MINE = f"subscription {{ onMyJobsUpdated {{ {JOB} }} }}"
#: How long any one wait may take on a busy machine before the test fails instead of hanging.
DEADLINE = 60


@pytest.fixture(scope="module")
def tokens() -> dict[str, str]:
    return {"alice": token_for("alice"), "bob": token_for("bob")}


def auth_for(server: LocalServer, who: str, tokens: dict[str, str]) -> AppSyncAuthentication:
    if who == "api key":
        return AppSyncApiKeyAuthentication(host=server.host, api_key=API_KEY)
    if who == "iam":
        credentials = Credentials(LOCAL_ACCESS_KEY_ID, LOCAL_SECRET_ACCESS_KEY)
        return AppSyncIAMAuthentication(host=server.host, region_name=LOCAL_REGION, credentials=credentials)
    return AppSyncJWTAuthentication(host=server.host, jwt=tokens[who])


@dataclass
class Follower:
    """One caller: an HTTP session and an onMyJobsUpdated subscription collecting every event."""

    who: str
    http: Any
    events: list[dict[str, Any]] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def call(self, document: str, **variables: Any) -> dict[str, Any]:
        return await self.http.execute(GraphQLRequest(document, variable_values=variables))  # type: ignore[no-any-return]

    async def submit(self, job_type: str = "echo", payload: str = '{"n": 1}') -> dict[str, Any]:
        return (await self.call(SUBMIT, type=job_type, payload=payload))["submitJob"]  # type: ignore[no-any-return]

    async def listing(self, **filters: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        token = None
        for _ in range(100):
            page = (await self.call(LIST, next=token, **filters))["listJobs"]
            items.extend(page["items"])
            token = page["nextToken"]
            if token is None:
                return items
        raise AssertionError("listing never ended")

    async def wait_for(self, predicate: Any) -> dict[str, Any]:
        async def seen() -> dict[str, Any]:
            while True:
                for event in self.events:
                    if predicate(event):
                        return event
                self.changed.clear()
                await self.changed.wait()

        return await asyncio.wait_for(seen(), DEADLINE)


@contextlib.asynccontextmanager
async def follower(server: LocalServer, who: str, tokens: dict[str, str]) -> AsyncIterator[Follower]:
    auth = auth_for(server, who, tokens)
    async with Client(transport=AIOHTTPTransport(url=server.url, auth=auth)) as http:
        me = Follower(who, http)
        realtime = Client(transport=AppSyncWebsocketsTransport(url=server.realtime_url, auth=auth))

        async def collect() -> None:
            async with realtime as session:
                async for event in session.subscribe(GraphQLRequest(MINE)):
                    me.events.append(event["onMyJobsUpdated"])
                    me.changed.set()

        task = asyncio.create_task(collect())
        try:
            # Live once it delivers an event of the caller's own: submit probes until one arrives.
            for _ in range(DEADLINE * 2):
                probe = await me.submit()
                try:
                    await asyncio.wait_for(me.wait_for(lambda e, p=probe: e["id"] == p["id"]), 0.5)
                    break
                except TimeoutError:
                    if task.done():
                        task.result()
            else:
                raise AssertionError(f"{who}'s subscription never went live")
            yield me
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


CALLERS = ("api key", "alice", "bob", "iam")


async def test_every_caller_sees_all_of_its_own_jobs_and_none_of_the_others(
    server: LocalServer, tokens: dict[str, str]
) -> None:
    async with contextlib.AsyncExitStack() as stack:
        followers = [await stack.enter_async_context(follower(server, who, tokens)) for who in CALLERS]
        # All four are subscribed at once from here on. Each runs a job to the end (the worker reports
        # RUNNING and SUCCEEDED through updateJob, which selects owner) ...
        jobs = {f.who: await f.submit() for f in followers}
        for f in followers:
            await f.wait_for(lambda e, j=jobs[f.who]: e["id"] == j["id"] and e["status"] == "SUCCEEDED")
        # ... and then a last one: events reach a subscriber in publication order, so once it sees its
        # sentinel, every event published before it - anybody's - has been delivered or filtered out.
        sentinels = {f.who: await f.submit() for f in followers}
        for f in followers:
            await f.wait_for(lambda e, s=sentinels[f.who]: e["id"] == s["id"])

        owners = {f.who: jobs[f.who]["owner"] for f in followers}
        assert len(set(owners.values())) == len(CALLERS), owners  # four distinct principals
        for f in followers:
            mine = owners[f.who]
            assert {e["owner"] for e in f.events} == {mine}, f"{f.who} received another caller's job"
            statuses = [e["status"] for e in f.events if e["id"] == jobs[f.who]["id"]]
            assert statuses[0] == "PENDING" and statuses[-1] == "SUCCEEDED" and "RUNNING" in statuses
            listing = await f.listing()
            assert {j["owner"] for j in listing} == {mine}
            assert jobs[f.who]["id"] in {j["id"] for j in listing}
            for other in followers:
                if other is not f:
                    assert jobs[other.who]["id"] not in {j["id"] for j in listing}
                    assert jobs[other.who]["id"] not in {e["id"] for e in f.events}


async def test_pages_of_a_users_listing_follow_the_filters(server: LocalServer, tokens: dict[str, str]) -> None:
    auth = auth_for(server, "bob", tokens)
    async with Client(transport=AIOHTTPTransport(url=server.url, auth=auth)) as http:
        bob = Follower("bob", http)
        submitted = [await bob.submit("sleep", '{"seconds": 0}') for _ in range(7)]
        listed = await bob.listing(type="sleep", limit=3)
        ids = [j["id"] for j in listed]
        newest_first = sorted(submitted, key=lambda j: (j["createdAt"], j["id"]), reverse=True)
        assert ids[: len(submitted)] == [j["id"] for j in newest_first]
        assert len(ids) == len(set(ids))
        first = (await bob.call(LIST, limit=2))["listJobs"]
        assert len(first["items"]) == 2 and first["nextToken"]
        with pytest.raises(TransportQueryError) as refused:
            await bob.call(LIST, limit=2, next=first["nextToken"], status="FAILED")  # another filter's token
        assert refused.value.errors is not None
        assert [(e["errorType"], e["message"]) for e in refused.value.errors] == [("ValidationError", "Invalid nextToken")]


async def test_a_failed_job_is_retried_once_and_followed_to_success(server: LocalServer, tokens: dict[str, str]) -> None:
    async with follower(server, "alice", tokens) as alice:
        job = await alice.submit("fail", '{"message": "first time"}')
        await alice.wait_for(lambda e: e["id"] == job["id"] and e["status"] == "FAILED")
        failed = (await alice.listing(status="FAILED"))
        assert job["id"] in {j["id"] for j in failed}

        first, second = await asyncio.gather(
            alice.call(RETRY, id=job["id"]), alice.call(RETRY, id=job["id"])  # a double click
        )
        assert first["retryJob"]["status"] == second["retryJob"]["status"] == "PENDING"
        assert first["retryJob"]["version"] == second["retryJob"]["version"]
        assert first["retryJob"]["id"] == job["id"]
        # The retried attempt fails again (the task always fails): attempts grew, on the same job.
        again = await alice.wait_for(lambda e: e["id"] == job["id"] and e["status"] == "FAILED"
                                     and e["version"] > first["retryJob"]["version"])
        assert again["attempts"] > job["attempts"]
        done = await alice.submit()
        await alice.wait_for(lambda e: e["id"] == done["id"] and e["status"] == "SUCCEEDED")
        with pytest.raises(TransportQueryError) as refused:
            await alice.call(RETRY, id=done["id"])
        assert refused.value.errors is not None
        assert [(e["errorType"], e["errorInfo"]) for e in refused.value.errors] == [
            ("InvalidTransition", {"from": "SUCCEEDED", "to": "PENDING"})
        ]


async def test_an_update_that_did_not_select_owner_reaches_no_my_jobs_subscriber(
    server: LocalServer, tokens: dict[str, str]
) -> None:
    """AppSync evaluates the filter on the published payload: a mutation without ``owner`` matches nothing."""
    async with follower(server, "bob", tokens) as bob:
        job = await bob.submit("sleep", '{"seconds": 30, "steps": 30}')
        await bob.wait_for(lambda e: e["id"] == job["id"])
        cancelled = (await bob.call(CANCEL_WITHOUT_OWNER, id=job["id"]))["cancelJob"]
        sentinel = await bob.submit()
        await bob.wait_for(lambda e: e["id"] == sentinel["id"])
        assert cancelled["version"] not in {e["version"] for e in bob.events if e["id"] == job["id"]}


async def test_no_argument_can_choose_whose_jobs_to_follow(server: LocalServer, tokens: dict[str, str]) -> None:
    auth = auth_for(server, "bob", tokens)
    transport = AppSyncWebsocketsTransport(url=server.realtime_url, auth=auth)
    async with Client(transport=transport) as session:
        with pytest.raises(TransportQueryError) as refused:
            async for _ in session.subscribe(GraphQLRequest('subscription { onMyJobsUpdated(owner: "api-key") { id } }')):
                pass
    assert refused.value.errors is not None
    assert "owner" in refused.value.errors[0]["errors"][0]["message"]


async def test_the_graphql_transport_ws_endpoint_applies_the_same_filter(server: LocalServer, tokens: dict[str, str]) -> None:
    """The standard protocol on WS /graphql runs the same subscription resolver: alice's stream has
    alice's jobs only, while the API key's job is published in between."""
    from gql.transport.websockets import WebsocketsTransport

    transport = WebsocketsTransport(url=f"ws://{server.host}/graphql", init_payload={"authorization": tokens["alice"]},
                                    subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL])
    async with Client(transport=AIOHTTPTransport(url=server.url, auth=auth_for(server, "alice", tokens))) as http, \
            Client(transport=AIOHTTPTransport(url=server.url, auth=auth_for(server, "api key", tokens))) as other:
        alice, keyed = Follower("alice", http), Follower("api key", other)
        async with Client(transport=transport) as session:
            seen: list[dict[str, Any]] = []
            probe: dict[str, Any] | None = None
            foreign: dict[str, Any] | None = None
            sentinel: dict[str, Any] | None = None
            stream = session.subscribe(GraphQLRequest(MINE))
            nxt = asyncio.ensure_future(stream.__anext__())
            for _ in range(DEADLINE * 2):  # submit probes until the subscription is live
                probe = await alice.submit()
                done, _ = await asyncio.wait({nxt}, timeout=0.5)
                if done:
                    break
            seen.append((await nxt)["onMyJobsUpdated"])
            foreign = await keyed.submit()
            sentinel = await alice.submit()
            async for event in stream:
                seen.append(event["onMyJobsUpdated"])
                if event["onMyJobsUpdated"]["id"] == sentinel["id"]:
                    break
            await stream.aclose()  # stop the subscription before the socket, so closing does not wait
    assert probe is not None and foreign is not None
    assert {e["owner"] for e in seen} == {probe["owner"]}
    assert foreign["id"] not in {e["id"] for e in seen}
