"""In-process fan-out of mutation results to subscriptions, with AppSync's argument filtering.

Publishing never awaits a subscriber: each subscriber has its own bounded queue, so a slow or dead
socket cannot delay ``updateJob`` for everyone else (a full queue drops that subscriber's events and
says so in the log, as AppSync drops undeliverable messages).
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger("appsync_jobs.devserver.pubsub")

#: Marks an argument the subscriber did not give: a wildcard (an explicit null is not, per AppSync).
OMITTED: Any = object()


@dataclass(eq=False)
class _Subscriber:
    filters: Mapping[str, Any]
    queue: asyncio.Queue[dict[str, Any]] = field(default_factory=lambda: asyncio.Queue(maxsize=1000))

    def matches(self, event: Mapping[str, Any]) -> bool:
        return all(value is OMITTED or event.get(name) == value for name, value in self.filters.items())


class PubSub:
    def __init__(self) -> None:
        self._subscribers: dict[str, set[_Subscriber]] = defaultdict(set)
        # Subscribers keyed by the value of an "id" filter: updateJob events reach only that job's
        # listeners without scanning every subscription (fan-out cost grows with listeners, not load).
        self._by_id: dict[tuple[str, Any], set[_Subscriber]] = defaultdict(set)

    def publish(self, subscription_field: str, event: dict[str, Any]) -> int:
        targets = set(self._by_id.get((subscription_field, event.get("id")), ()))
        targets.update(self._subscribers.get(subscription_field, ()))
        delivered = 0
        for subscriber in targets:
            if not subscriber.matches(event):
                continue
            try:
                subscriber.queue.put_nowait(event)
                delivered += 1
            except asyncio.QueueFull:
                logger.warning("subscriber too slow; event dropped for %s", subscription_field)
        return delivered

    def open(self, subscription_field: str, filters: Mapping[str, Any]) -> EventStream:
        """Register a subscriber now and return its event stream; ``aclose`` unregisters it."""
        subscriber = _Subscriber(dict(filters))
        key = (subscription_field, filters.get("id", OMITTED))
        bucket = self._by_id[key] if key[1] is not OMITTED else self._subscribers[subscription_field]
        bucket.add(subscriber)
        return EventStream(subscriber, bucket)

    def subscriber_count(self) -> int:
        return sum(len(s) for s in self._subscribers.values()) + sum(len(s) for s in self._by_id.values())


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
