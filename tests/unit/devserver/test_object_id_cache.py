"""The object-id cache computes once per object, never confuses equal objects, and stays bounded."""

from __future__ import annotations

from devserver.object_id_cache import ObjectIdCache


def test_computes_once_per_object_and_tells_equal_objects_apart() -> None:
    calls: list[object] = []
    cache: ObjectIdCache[dict[str, int], int] = ObjectIdCache(8)
    first, twin = {"a": 1}, {"a": 1}

    def compute(key: dict[str, int]) -> int:
        calls.append(key)
        return len(calls)

    assert cache.get_or_compute(first, compute) == cache.get_or_compute(first, compute) == 1
    assert cache.get_or_compute(twin, compute) == 2  # equal but not the same object: its own entry
    assert calls == [first, twin]


def test_forgets_the_oldest_beyond_its_limit() -> None:
    cache: ObjectIdCache[object, int] = ObjectIdCache(2)
    keys = [object(), object(), object()]
    computed: list[object] = []
    for key in keys:
        cache.get_or_compute(key, lambda k: computed.append(k) or 0)
    cache.get_or_compute(keys[0], lambda k: computed.append(k) or 0)  # evicted: computed again
    cache.get_or_compute(keys[2], lambda k: computed.append(k) or 0)  # still cached
    assert computed == [keys[0], keys[1], keys[2], keys[0]]
