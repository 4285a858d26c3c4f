"""The JobQueue contract, run against every queue adapter (SQLite and SQS via moto).

SQS semantics the worker relies on: a received message stays hidden for its visibility timeout,
comes back with a higher receive count when the timeout lapses (or is set to 0), is gone for good
once deleted, and after ``maxReceiveCount`` deliveries is moved to the dead-letter queue - on the
receive *after* the count is exhausted - where it can be received like any other message.

Nothing here sleeps: visibility ends through ``change_visibility(..., 0)``, ``visibility_timeout=0``
on receive, or the SQLite queue's injected clock.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from jobcore.errors import JobsError, QueueError
from jobcore.ports import JobQueue, ReceivedMessage

if TYPE_CHECKING:
    from conftest import QueuePair  # the fixture's type; conftest modules are not imported by tests


def receive_one(queue: JobQueue, *, visibility_timeout: int | None = None) -> ReceivedMessage:
    messages = queue.receive(1, visibility_timeout=visibility_timeout)
    assert len(messages) == 1, messages
    return messages[0]


def assert_empty(queue: JobQueue) -> None:
    # visibility_timeout=0 so that an assertion never hides a message a later step expects to see.
    assert queue.receive(10, visibility_timeout=0) == []


def test_send_then_receive_returns_the_body_once(queue: QueuePair) -> None:
    body = '{"v":1,"jobId":"job-\u00e9"}'
    message_id = queue.main.send(body)

    message = receive_one(queue.main)

    assert message.message_id == message_id
    assert message.body == body
    assert message.receive_count == 1
    assert message.receipt_handle
    assert message.sent_at.tzinfo is not None
    if queue.clock is not None:
        assert message.sent_at == datetime.fromtimestamp(queue.clock.now, UTC)
    else:
        assert abs(message.sent_at - datetime.now(UTC)) < timedelta(minutes=1)


def test_an_empty_queue_receives_nothing(queue: QueuePair) -> None:
    assert queue.main.receive(10) == []
    assert queue.dlq.receive(10) == []


def test_a_received_message_is_invisible_to_a_second_receive(queue: QueuePair) -> None:
    queue.main.send("only")
    receive_one(queue.main)

    assert queue.main.receive(10) == []
    if queue.clock is not None:  # still hidden one second before the timeout lapses
        queue.clock.advance(59)
        assert queue.main.receive(10) == []


def test_change_visibility_to_zero_redelivers_with_a_higher_receive_count(queue: QueuePair) -> None:
    message_id = queue.main.send("again")
    first = receive_one(queue.main)

    queue.main.change_visibility(first.receipt_handle, 0)
    second = receive_one(queue.main)

    assert (second.message_id, second.body, second.receive_count) == (message_id, "again", 2)
    assert second.receipt_handle != first.receipt_handle
    assert queue.main.receive(10) == []


def test_a_lapsed_visibility_timeout_redelivers(queue: QueuePair) -> None:
    message_id = queue.main.send("lapse")
    first = receive_one(queue.main)

    queue.make_visible_again(first)
    second = receive_one(queue.main)

    assert (second.message_id, second.body, second.receive_count) == (message_id, "lapse", 2)


def test_receive_with_zero_visibility_leaves_the_message_visible(queue: QueuePair) -> None:
    queue.main.send("peek")
    assert receive_one(queue.main, visibility_timeout=0).receive_count == 1
    assert receive_one(queue.main, visibility_timeout=0).receive_count == 2


def test_change_visibility_extends_an_in_flight_message(queue: QueuePair) -> None:
    queue.main.send("heartbeat")
    message = receive_one(queue.main)

    queue.main.change_visibility(message.receipt_handle, 600)

    assert queue.main.receive(10) == []
    if queue.clock is not None:  # the original 60 s timeout no longer applies
        queue.clock.advance(120)
        assert queue.main.receive(10) == []
        queue.clock.advance(481)
        assert receive_one(queue.main).receive_count == 2


def test_delete_removes_the_message_for_good(queue: QueuePair) -> None:
    queue.main.send("done")
    message = receive_one(queue.main, visibility_timeout=0)

    queue.main.delete(message.receipt_handle)

    assert_empty(queue.main)
    if queue.clock is not None:
        queue.clock.advance(3600)
        assert_empty(queue.main)
    assert_empty(queue.dlq)


def test_delete_leaves_other_messages_alone(queue: QueuePair) -> None:
    queue.main.send("keep")
    queue.main.send("drop")
    received = _drain(queue.main)
    by_body = {m.body: m for m in received}
    assert set(by_body) == {"keep", "drop"}

    queue.main.delete(by_body["drop"].receipt_handle)
    queue.main.change_visibility(by_body["keep"].receipt_handle, 0)

    again = receive_one(queue.main)
    assert (again.body, again.receive_count) == ("keep", 2)


def test_deleting_with_a_stale_receipt_is_not_an_error(queue: QueuePair) -> None:
    queue.main.send("twice")
    first = receive_one(queue.main)
    queue.main.change_visibility(first.receipt_handle, 0)
    second = receive_one(queue.main)
    assert second.receive_count == 2

    queue.main.delete(first.receipt_handle)  # the older delivery's receipt: must not raise

    # Whatever the stale delete did, the current receipt finishes the message without an error.
    queue.main.delete(second.receipt_handle)
    assert_empty(queue.main)


def test_change_visibility_of_a_deleted_message_is_a_queue_error(queue: QueuePair) -> None:
    queue.main.send("gone")
    message = receive_one(queue.main)
    queue.main.delete(message.receipt_handle)

    with pytest.raises(QueueError):
        queue.main.change_visibility(message.receipt_handle, 30)


def test_change_visibility_beyond_twelve_hours_is_refused(queue: QueuePair) -> None:
    queue.main.send("long")
    message = receive_one(queue.main)

    with pytest.raises(JobsError):
        queue.main.change_visibility(message.receipt_handle, 43_201)
    assert queue.main.receive(10) == []  # still in flight, unchanged


def test_several_messages_are_each_delivered_once(queue: QueuePair) -> None:
    ids = {queue.main.send(f"m{i}"): f"m{i}" for i in range(5)}

    received = _drain(queue.main)

    assert {m.message_id: m.body for m in received} == ids
    assert all(m.receive_count == 1 for m in received)
    assert len({m.receipt_handle for m in received}) == 5
    assert queue.main.receive(10) == []


def test_a_delayed_message_is_not_received_before_its_delay(queue: QueuePair) -> None:
    message_id = queue.main.send("later", delay_seconds=30)

    assert queue.main.receive(10) == []
    if queue.clock is not None:
        queue.clock.advance(31)
        assert receive_one(queue.main).message_id == message_id


def test_after_max_receives_the_message_moves_to_the_dead_letter_queue(queue: QueuePair) -> None:
    message_id = queue.main.send("poison")
    for expected_count in range(1, queue.max_receive_count + 1):
        delivery = receive_one(queue.main, visibility_timeout=0)
        assert (delivery.message_id, delivery.receive_count) == (message_id, expected_count)

    # The receive after the count is exhausted moves it instead of delivering it.
    assert queue.main.receive(10) == []
    assert_empty(queue.main)

    dead = receive_one(queue.dlq)
    assert (dead.message_id, dead.body) == (message_id, "poison")
    assert dead.receive_count == queue.max_receive_count + 1
    assert queue.dlq.receive(10) == []

    queue.dlq.delete(dead.receipt_handle)
    assert_empty(queue.dlq)
    assert_empty(queue.main)


def test_redrive_after_lapsed_visibility_timeouts(queue: QueuePair) -> None:
    queue.main.send("crashes-worker")
    last: ReceivedMessage | None = None
    for _ in range(queue.max_receive_count):
        last = receive_one(queue.main)
        queue.make_visible_again(last)
    assert last is not None

    assert queue.main.receive(10) == []
    with pytest.raises(QueueError):  # the last receipt no longer names an in-flight message
        queue.main.change_visibility(last.receipt_handle, 30)

    dead = receive_one(queue.dlq)
    assert dead.body == "crashes-worker"


def test_redrive_moves_only_the_exhausted_message(queue: QueuePair) -> None:
    poison_id = queue.main.send("poison")
    for _ in range(queue.max_receive_count):
        receive_one(queue.main, visibility_timeout=0)
    healthy_id = queue.main.send("healthy")

    received = _drain(queue.main)

    assert [(m.message_id, m.receive_count) for m in received] == [(healthy_id, 1)]
    assert receive_one(queue.dlq).message_id == poison_id


def test_the_dead_letter_queue_keeps_a_message_that_is_received_again(queue: QueuePair) -> None:
    message_id = queue.main.send("inspect")
    for _ in range(queue.max_receive_count):
        receive_one(queue.main, visibility_timeout=0)
    assert queue.main.receive(10) == []

    first = receive_one(queue.dlq, visibility_timeout=0)
    second = receive_one(queue.dlq)  # the DLQ has no redrive policy of its own

    assert first.message_id == second.message_id == message_id
    assert second.receive_count == first.receive_count + 1
    assert_empty(queue.main)


def _drain(queue: JobQueue) -> list[ReceivedMessage]:
    """Receive until nothing more comes (SQS may hand out fewer messages than are visible)."""
    received: list[ReceivedMessage] = []
    for _ in range(10):
        batch = queue.receive(10)
        if not batch:
            break
        received.extend(batch)
    return received
