"""``Lazy``: the Lambda handlers' dependencies, built once on first use, injectable, resettable."""

from __future__ import annotations

import threading

import pytest

from jobcore.lazy import Lazy


def test_builds_on_first_call_only_and_then_reuses_the_value() -> None:
    built: list[object] = []
    lazy = Lazy(lambda: built.append(object()) or built[-1])
    assert not lazy.is_set and built == []  # nothing is built at definition (import) time
    first = lazy()
    assert lazy() is first and len(built) == 1 and lazy.is_set


def test_a_configured_value_is_used_without_building_and_reset_builds_afresh() -> None:
    calls: list[int] = []
    lazy: Lazy[str] = Lazy(lambda: calls.append(1) or "built")
    lazy.configure("injected")
    assert lazy() == "injected" and calls == []
    lazy.reset()
    assert not lazy.is_set
    assert lazy() == "built" and calls == [1]
    lazy.configure("again")
    assert lazy() == "again"


def test_a_build_that_fails_is_tried_again_on_the_next_call() -> None:
    attempts: list[int] = []

    def build() -> int:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("no table yet")
        return 7

    lazy = Lazy(build)
    with pytest.raises(RuntimeError):
        lazy()
    assert not lazy.is_set
    assert lazy() == 7 and len(attempts) == 2


def test_concurrent_first_calls_build_once() -> None:
    threads = 8
    arrived = threading.Semaphore(0)
    builds: list[object] = []

    def build() -> object:
        # Hold the first build until every thread has asked for the value, so they all race it.
        for _ in range(threads - 1):
            assert arrived.acquire(timeout=10)
        builds.append(object())
        return builds[-1]

    lazy = Lazy(build)
    got: list[object] = []

    def ask() -> None:
        arrived.release()
        got.append(lazy())

    workers = [threading.Thread(target=ask) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)
    assert len(builds) == 1
    assert len(got) == threads and all(value is builds[0] for value in got)
