"""Enhanced subscription filters as the local server applies them: on the event as published."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from devserver.realtime.pubsub import PubSub
from devserver.realtime.subscription_filter import UnsupportedFilter, compile_filter, equality_key


def test_eq_matches_only_the_value() -> None:
    mine = compile_filter({"owner": {"eq": "alice"}})
    assert mine({"id": "1", "owner": "alice"})
    assert not mine({"id": "1", "owner": "bob"})
    assert not mine({"id": "1", "owner": None})


def test_a_field_the_mutation_did_not_select_matches_nothing() -> None:
    """AppSync filters the published payload: a mutation that left ``owner`` out reaches no one."""
    assert not compile_filter({"owner": {"eq": "alice"}})({"id": "1", "status": "RUNNING"})
    assert not compile_filter({"owner": {"ne": "alice"}})({"id": "1"})


def test_every_field_condition_must_hold() -> None:
    both = compile_filter({"owner": {"eq": "alice"}, "status": {"in": ["FAILED", "CANCELLED"]}})
    assert both({"owner": "alice", "status": "FAILED"})
    assert not both({"owner": "alice", "status": "RUNNING"})
    assert not both({"owner": "bob", "status": "FAILED"})
    assert compile_filter({"owner": {"ne": "bob"}})({"owner": "alice"})


@pytest.mark.parametrize(
    "spec", [{}, {"owner": {}}, {"owner": "alice"}, {"owner": {"beginsWith": "a"}}, {"owner": {"notIn": ["a"]}}, []]
)
def test_what_cannot_be_evaluated_is_refused_not_ignored(spec: object) -> None:
    with pytest.raises(UnsupportedFilter):
        compile_filter(spec)  # type: ignore[arg-type]


def test_the_lookup_key_is_an_eq_on_a_string() -> None:
    assert equality_key({"owner": {"eq": "alice"}}) == ("owner", "alice")
    assert equality_key({"status": {"in": ["A"]}, "owner": {"eq": "bob"}}) == ("owner", "bob")
    assert equality_key({"owner": {"ne": "alice"}}) is None
    assert equality_key({"n": {"eq": 3}}) is None


@pytest.mark.parametrize("keyed", [True, False], ids=["looked up by owner", "checked on every event"])
async def test_pubsub_delivers_only_what_the_subscriber_filter_admits(keyed: bool) -> None:
    pubsub = PubSub()

    def open_for(spec: dict[str, object]) -> object:
        return pubsub.open("onMyJobsUpdated", {}, compile_filter(spec), equality_key(spec) if keyed else None)

    alice: Any = open_for({"owner": {"eq": "alice"}})
    bob: Any = open_for({"owner": {"eq": "bob"}})
    # The key only finds candidates; the whole filter still decides.
    alice_failures: Any = open_for({"owner": {"eq": "alice"}, "status": {"eq": "FAILED"}})
    events = [
        {"id": "1", "owner": "alice"}, {"id": "2", "owner": "bob"}, {"id": "3"},
        {"id": "4", "owner": "alice", "status": "FAILED"}, {"id": "5", "owner": {"not": "hashable"}},
    ]
    delivered = sum(pubsub.publish("onMyJobsUpdated", event) for event in events)
    assert delivered == 4
    assert pubsub.publish("onJobUpdated", events[0]) == 0  # another subscription field
    assert [await asyncio.wait_for(alice.__anext__(), 1) for _ in range(2)] == [events[0], events[3]]
    assert await asyncio.wait_for(bob.__anext__(), 1) == events[1]
    assert await asyncio.wait_for(alice_failures.__anext__(), 1) == events[3]
    assert pubsub.subscriber_count() == 3
    for stream in (alice, bob, alice_failures):
        await stream.aclose()
    assert pubsub.subscriber_count() == 0
    assert pubsub.publish("onMyJobsUpdated", events[0]) == 0
