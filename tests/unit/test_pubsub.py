"""@aws_subscribe fan-out: argument filtering as AppSync defines it, and slow subscribers never block publishers."""

from __future__ import annotations

import asyncio

from devserver.graphql.selection import project
from devserver.realtime.pubsub import OMITTED, PubSub


async def next_event(stream: object) -> object:
    return await asyncio.wait_for(stream.__anext__(), 1)  # type: ignore[attr-defined]


async def test_an_argument_filters_by_equality_on_the_same_named_field() -> None:
    pubsub = PubSub()
    mine = pubsub.open("onJobUpdated", {"id": "a"})
    pubsub.publish("onJobUpdated", {"id": "b", "status": "RUNNING"})
    pubsub.publish("onJobUpdated", {"id": "a", "status": "RUNNING"})
    assert await next_event(mine) == {"id": "a", "status": "RUNNING"}
    assert mine._subscriber.queue.empty()  # the event for "b" never reached it


async def test_an_omitted_argument_is_a_wildcard_but_null_is_not() -> None:
    pubsub = PubSub()
    everything = pubsub.open("onJobUpdated", {"id": OMITTED})
    only_null = pubsub.open("onJobUpdated", {"id": None})
    pubsub.publish("onJobUpdated", {"id": "x"})
    pubsub.publish("onJobUpdated", {"id": None})
    assert await next_event(everything) == {"id": "x"}
    assert await next_event(everything) == {"id": None}
    assert await next_event(only_null) == {"id": None}
    assert only_null._subscriber.queue.empty()


async def test_closing_a_stream_unregisters_it_even_if_never_iterated() -> None:
    pubsub = PubSub()
    stream = pubsub.open("onJobUpdated", {"id": "a"})
    assert pubsub.subscriber_count() == 1
    await stream.aclose()
    assert pubsub.subscriber_count() == 0
    assert pubsub.publish("onJobUpdated", {"id": "a"}) == 0


def test_a_full_subscriber_drops_events_instead_of_blocking_the_publisher() -> None:
    pubsub = PubSub()
    pubsub.open("onJobUpdated", {"id": "a"})
    delivered = [pubsub.publish("onJobUpdated", {"id": "a", "n": n}) for n in range(1100)]
    assert sum(delivered) == 1000 and delivered[-1] == 0


def test_projection_keeps_only_what_the_mutation_selected() -> None:
    job = {"id": "1", "status": "RUNNING", "result": {"big": True}, "error": {"type": "T", "message": "m"}}
    assert project(job, {"id": {}, "error": {"type": {}}}) == {"id": "1", "error": {"type": "T"}}
