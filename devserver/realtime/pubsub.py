"""In-process fan-out of mutation results to subscriptions, with AppSync's argument filtering.

Publishing never awaits a subscriber: each subscriber has its own bounded queue, so a slow or dead
socket cannot delay ``updateJob`` for everyone else (a full queue drops that subscriber's events and
says so in the log, as AppSync drops undeliverable messages).

``publish`` runs inside the mutation, before its response is written, so its cost per subscriber is
kept to a list append and one wake-up (``make bench``: with 2,000 subscribers of one job it took
~13 ms of the ``updateJob`` response time with ``asyncio.Queue`` and a filter check per subscriber).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict, deque
from collections.abc import Callable, Mapping
from typing import Any

logger = logging.getLogger("appsync_jobs.devserver.pubsub")

#: Marks an argument the subscriber did not give: a wildcard (an explicit null is not, per AppSync).
OMITTED: Any = object()

#: Events held for a subscriber that has not taken them yet; beyond this its events are dropped.
QUEUE_LIMIT = 1000


class EventQueue:
    """A bounded FIFO with ``asyncio.Queue``'s ``put_nowait``/``get``/``empty`` semantics and only the
    bookkeeping fan-out needs (no ``join``/``task_done``), so a put costs an append and a wake-up."""

    __slots__ = ("_getters", "_items", "maxsize")

    def __init__(self, maxsize: int = QUEUE_LIMIT) -> None:
        self.maxsize = maxsize
        self._items: deque[dict[str, Any]] = deque()
        self._getters: deque[asyncio.Future[None]] = deque()

    def empty(self) -> bool:
        return not self._items

    def qsize(self) -> int:
        return len(self._items)

    def full(self) -> bool:
        return 0 < self.maxsize <= len(self._items)

    def put_nowait(self, item: dict[str, Any]) -> None:
        if 0 < self.maxsize <= len(self._items):
            raise asyncio.QueueFull
        self._items.append(item)
        if self._getters:
            _wake_soon(self, self._getters[0].get_loop())

    async def get(self) -> dict[str, Any]:
        while not self._items:
            getter = asyncio.get_running_loop().create_future()
            self._getters.append(getter)
            try:
                await getter
            except BaseException:
                getter.cancel()
                with contextlib.suppress(ValueError):
                    self._getters.remove(getter)
                if self._items and not getter.cancelled():
                    self._wake_next()
                raise
        return self._items.popleft()

    def _wake_next(self) -> None:
        while self._getters:
            getter = self._getters.popleft()
            if not getter.done():
                getter.set_result(None)
                break


#: Queues that received an item while a consumer waited, per loop, woken together by one callback.
_to_wake: dict[asyncio.AbstractEventLoop, list[EventQueue]] = {}


def _wake_soon(queue: EventQueue, loop: asyncio.AbstractEventLoop) -> None:
    """Wake ``queue``'s consumer from a callback instead of now: a publish to thousands of waiting
    subscribers then costs the publisher one ``call_soon``, and the consumers run when they would
    have anyway - once the publisher's task yields to the loop."""
    batch = _to_wake.get(loop)
    if batch is None:
        batch = _to_wake[loop] = []
        loop.call_soon(_wake_batch, loop)
    batch.append(queue)


def _wake_batch(loop: asyncio.AbstractEventLoop) -> None:
    for queue in _to_wake.pop(loop, ()):
        queue._wake_next()


def _wake_all_soon(queues: list[EventQueue]) -> None:
    loop = queues[0]._getters[0].get_loop()
    batch = _to_wake.get(loop)
    if batch is None:
        _to_wake[loop] = queues
        loop.call_soon(_wake_batch, loop)
    else:
        batch.extend(queues)


def _offer(queue: EventQueue, event: dict[str, Any], waiting: list[EventQueue], subscription_field: str) -> int:
    """``queue.put_nowait(event)`` with the wake-up left to the caller (one callback for them all)."""
    items = queue._items
    if 0 < queue.maxsize <= len(items):
        logger.warning("subscriber too slow; event dropped for %s", subscription_field)
        return 0
    items.append(event)
    if queue._getters:
        waiting.append(queue)
    return 1


class _Subscriber:
    __slots__ = ("filters", "others", "predicate", "queue")

    def __init__(self, filters: Mapping[str, Any], predicate: Callable[[Mapping[str, Any]], bool] | None) -> None:
        self.filters = filters
        #: The filters besides "id" (subscribers found by their id need only these checked).
        self.others = tuple((name, value) for name, value in filters.items() if name != "id" and value is not OMITTED)
        #: The filter the subscription resolver set at subscribe time (AppSync enhanced filtering).
        self.predicate = predicate
        self.queue = EventQueue()

    def matches(self, event: Mapping[str, Any]) -> bool:
        if self.predicate is not None and not self.predicate(event):
            return False
        return all(value is OMITTED or event.get(name) == value for name, value in self.filters.items())


class PubSub:
    def __init__(self) -> None:
        self._subscribers: dict[str, set[_Subscriber]] = defaultdict(set)
        # Subscribers keyed by the value of an "id" filter: updateJob events reach only that job's
        # listeners without scanning every subscription (fan-out cost grows with listeners, not load).
        self._by_id: dict[tuple[str, Any], set[_Subscriber]] = defaultdict(set)
        # Subscribers whose filter requires one field to equal one value (onMyJobsUpdated: owner),
        # keyed by (subscription field, field name, value): an event reaches its owner's listeners
        # only, not every listener of the field.
        self._by_key: dict[tuple[str, str, Any], set[_Subscriber]] = defaultdict(set)
        self._key_names: dict[str, set[str]] = defaultdict(set)

    def publish(self, subscription_field: str, event: dict[str, Any]) -> int:
        delivered = 0
        waiting: list[EventQueue] = []
        # Snapshots (a set copy is one C call): a subscriber closing during delivery changes nothing here.
        by_id = self._by_id.get((subscription_field, event.get("id")))
        for subscriber in tuple(by_id) if by_id else ():
            # Its id filter equals the event's id (that is how it was found); check any others.
            if subscriber.others and not all(event.get(name) == value for name, value in subscriber.others):
                continue
            if subscriber.predicate is not None and not subscriber.predicate(event):
                continue
            queue = subscriber.queue
            items = queue._items
            if len(items) < queue.maxsize or queue.maxsize <= 0:  # _offer, inlined: the one hot loop
                items.append(event)
                delivered += 1
                if queue._getters:
                    waiting.append(queue)
            else:
                logger.warning("subscriber too slow; event dropped for %s", subscription_field)
        for name in self._key_names.get(subscription_field, ()):
            try:
                keyed = self._by_key.get((subscription_field, name, event.get(name, OMITTED)))
            except TypeError:  # an unhashable value equals no filter's value
                continue
            for subscriber in tuple(keyed) if keyed else ():
                if subscriber.matches(event):
                    delivered += _offer(subscriber.queue, event, waiting, subscription_field)
        wildcard = self._subscribers.get(subscription_field)
        for subscriber in tuple(wildcard) if wildcard else ():
            if subscriber.matches(event):
                delivered += _offer(subscriber.queue, event, waiting, subscription_field)
        if waiting:
            _wake_all_soon(waiting)
        return delivered

    def open(
        self,
        subscription_field: str,
        filters: Mapping[str, Any],
        predicate: Callable[[Mapping[str, Any]], bool] | None = None,
        key: tuple[str, Any] | None = None,
    ) -> EventStream:
        """Register a subscriber now and return its event stream; ``aclose`` unregisters it.

        ``filters`` are argument filters (equality on same-named fields); ``predicate`` is the filter
        the subscription resolver set (``devserver.realtime.subscription_filter``). An event must pass both.
        ``key`` = (field, value) that every event the predicate admits has (an ``eq`` condition of
        it): the subscriber is then looked up by that value instead of checked on every event.
        """
        subscriber = _Subscriber(dict(filters), predicate)
        id_key = (subscription_field, filters.get("id", OMITTED))
        if id_key[1] is not OMITTED:
            bucket = self._by_id[id_key]
        elif key is not None and predicate is not None:
            self._key_names[subscription_field].add(key[0])
            bucket = self._by_key[(subscription_field, key[0], key[1])]
        else:
            bucket = self._subscribers[subscription_field]
        bucket.add(subscriber)
        return EventStream(subscriber, bucket)

    def subscriber_count(self) -> int:
        return sum(len(s) for buckets in (self._subscribers, self._by_id, self._by_key) for s in buckets.values())


class EventStream:
    """One subscriber's events. Unlike a generator, closing it unregisters even if never iterated."""

    def __init__(self, subscriber: _Subscriber, bucket: set[_Subscriber]) -> None:
        self._subscriber = subscriber
        self._bucket = bucket

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> dict[str, Any]:
        if self._subscriber not in self._bucket:
            raise StopAsyncIteration
        return await self._subscriber.queue.get()

    async def aclose(self) -> None:
        self._bucket.discard(self._subscriber)
