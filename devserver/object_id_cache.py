"""A small cache keyed by an object's identity (``id()``), for values derived from objects that never
change. (Nothing to do with a caller's identity: that is ``devserver/auth/identity.py``.)

The server reuses the same objects for the same inputs (parsed documents, published events, shared
payloads), so work derived from one can be looked up by ``id()`` instead of hashing or comparing a
deep structure. Each entry holds its key object, so an id is never reused while it is cached.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class ObjectIdCache(Generic[K, V]):
    """At most ``limit`` entries; beyond that the oldest is forgotten (it is only recomputed)."""

    __slots__ = ("_entries", "limit")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._entries: dict[int, tuple[K, V]] = {}

    def get_or_compute(self, key: K, compute: Callable[[K], V]) -> V:
        entry = self._entries.get(id(key))
        if entry is not None and entry[0] is key:
            return entry[1]
        value = compute(key)
        if len(self._entries) >= self.limit:
            del self._entries[next(iter(self._entries))]
        self._entries[id(key)] = (key, value)
        return value
