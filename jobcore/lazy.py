"""A value built on first use and kept for the process: the Lambda handlers' dependencies.

A Lambda handler module is imported once per execution environment and then invoked many times,
so its clients (DynamoDB, SQS, the reporter...) are built on the first invocation and reused while
the environment stays warm - and not at import, so a module that is only imported (the local server,
a test, a cold start that fails validation) never builds what it does not use. The local server and
the tests inject their own (``configure``) and drop it again (``reset``).

Why a lock: the local runtime calls the same handler modules from several threads at once, and two
first calls must not build two sets of clients (one of which would be lost along with its state).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Lazy(Generic[T]):
    """``lazy()`` returns the value, building it with ``build`` the first time."""

    def __init__(self, build: Callable[[], T]) -> None:
        self._build = build
        self._value: T | None = None
        self._built = False
        self._lock = threading.Lock()

    def __call__(self) -> T:
        if not self._built:  # the warm path takes no lock
            with self._lock:
                if not self._built:
                    self._value = self._build()
                    self._built = True
        return self._value  # type: ignore[return-value]  # set above; T may itself admit None

    def configure(self, value: T) -> None:
        """Use ``value`` from now on instead of building one (the local server, tests)."""
        with self._lock:
            self._value = value
            self._built = True

    def reset(self) -> None:
        """Forget the value: the next call builds (or a later ``configure`` injects) a fresh one."""
        with self._lock:
            self._value = None
            self._built = False

    @property
    def is_set(self) -> bool:
        """Whether a value was built or configured (without building one)."""
        return self._built
