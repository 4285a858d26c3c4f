"""The task registry: how users plug their long-running work in.

A task is a plain function taking a ``TaskContext`` and returning something JSON-able. The same
registry instance is consulted by ``submitJob`` (is the type known? does the payload fit its
schema?) and by the worker (what to run), so the two can never disagree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from jobcore.errors import UnknownTask, ValidationError


class CancelledByRequest(Exception):
    """Raised by ``TaskContext.check_cancelled`` so a task stops cooperatively; the job ends CANCELLED."""


class NonRetryableError(Exception):
    """Raise from a task to fail the job at once, without retries (e.g. the input can never work)."""

    def __init__(self, message: str, *, error_type: str = "NonRetryableError") -> None:
        super().__init__(message)
        self.error_type = error_type


class TaskContext(Protocol):
    """What a running task can do besides computing its result."""

    @property
    def job_id(self) -> str: ...

    @property
    def payload(self) -> Any: ...

    @property
    def attempt(self) -> int: ...

    @property
    def idempotency_key(self) -> str:
        """Stable per job across attempts: hand it to external systems so retries don't double effects."""
        ...

    def progress(self, percent: int, message: str | None = None) -> None:
        """Report progress (0-100); also renews the job's lease and the message's visibility."""
        ...

    def cancel_requested(self) -> bool: ...

    def check_cancelled(self) -> None:
        """Raise ``CancelledByRequest`` if the job was cancelled; call it between units of work."""
        ...


TaskFn = Callable[[TaskContext], Any]

#: Where a task runs: ``lambda`` (the SQS-triggered worker Lambda, bounded by its timeout) or
#: ``long`` (the same runner as a long-lived container on ECS Fargate, locally ``worker --queue
#: long``). ``auto`` derives it from the time limit: whatever cannot finish inside the Lambda
#: worker's timeout minus its hand-back margin goes to the long queue.
Route = Literal["auto", "lambda", "long"]
LAMBDA_ROUTE: Literal["lambda"] = "lambda"
LONG_ROUTE: Literal["long"] = "long"
#: The longest time limit a task may declare (12 h: SQS's visibility and the lease's ceiling).
MAX_TIME_LIMIT_SECONDS = 43_200


class TaskLimitTooLong(ValueError):
    """Raised when a task pinned to the Lambda route declares a time limit the Lambda worker cannot give it."""


class PayloadModel(Protocol):
    """Anything with pydantic's ``model_validate`` (kept structural so the core needs no pydantic)."""

    @classmethod
    def model_validate(cls, obj: Any) -> Any: ...


@dataclass(frozen=True, slots=True)
class TaskSpec:
    name: str
    fn: TaskFn
    #: Wall-clock budget of one attempt; a RUNNING job past it (plus grace) is reaped as TimedOut.
    time_limit_seconds: int = 900
    #: Optional pydantic model validated by submitJob before anything is stored or queued.
    payload_model: type[PayloadModel] | None = None
    description: str = ""
    #: ``auto`` (by time limit), or pinned to ``lambda``/``long``; see ``route_for``.
    route: Route = "auto"

    def route_for(self, lambda_budget_seconds: int) -> Literal["lambda", "long"]:
        """The queue this task's jobs go to, given how long the Lambda worker can run a task
        (its timeout minus the hand-back margin). The one routing decision every enqueue uses."""
        if self.route == LONG_ROUTE:
            return LONG_ROUTE
        if self.route == LAMBDA_ROUTE:
            if self.time_limit_seconds > lambda_budget_seconds:
                raise TaskLimitTooLong(
                    f"task '{self.name}' is pinned to the Lambda worker but declares time_limit_seconds="
                    f"{self.time_limit_seconds}; the worker can give a task at most {lambda_budget_seconds} s "
                    "(its timeout minus the hand-back margin). Lower the limit or route it to 'long'"
                )
            return LAMBDA_ROUTE
        return LAMBDA_ROUTE if self.time_limit_seconds <= lambda_budget_seconds else LONG_ROUTE

    def validate_payload(self, payload: Any) -> None:
        if self.payload_model is None:
            return
        try:
            self.payload_model.model_validate(payload)
        except Exception as exc:  # pydantic.ValidationError, kept generic to stay dependency-free
            errors = getattr(exc, "errors", None)
            details = errors(include_url=False) if callable(errors) else str(exc)
            raise ValidationError(
                f"payload does not match task '{self.name}': {_summarise(details)}",
                info={"task": self.name},
            ) from exc


def _summarise(details: Any) -> str:
    if isinstance(details, list):
        parts = []
        for err in details[:5]:
            loc = ".".join(str(p) for p in err.get("loc", ())) or "payload"
            parts.append(f"{loc}: {err.get('msg')}")
        return "; ".join(parts)
    return str(details)[:500]


class TaskRegistry:
    def __init__(self) -> None:
        self._tasks: dict[str, TaskSpec] = {}

    def task(
        self,
        name: str,
        *,
        time_limit_seconds: int = 900,
        payload_model: type[PayloadModel] | None = None,
        description: str = "",
        route: Route = "auto",
    ) -> Callable[[TaskFn], TaskFn]:
        """Register the decorated function as task ``name``."""

        def register(fn: TaskFn) -> TaskFn:
            if name in self._tasks:
                raise ValueError(f"task '{name}' is registered twice")
            if not 1 <= time_limit_seconds <= MAX_TIME_LIMIT_SECONDS:
                raise ValueError(f"time_limit_seconds must be 1-{MAX_TIME_LIMIT_SECONDS}")
            if route not in ("auto", LAMBDA_ROUTE, LONG_ROUTE):
                raise ValueError(f"route must be 'auto', 'lambda' or 'long', not {route!r}")
            self._tasks[name] = TaskSpec(
                name, fn, time_limit_seconds, payload_model, description or (fn.__doc__ or "").strip(), route
            )
            return fn

        return register

    def get(self, name: str) -> TaskSpec:
        try:
            return self._tasks[name]
        except KeyError:
            known = ", ".join(sorted(self._tasks)) or "none"
            raise UnknownTask(f"Unknown task type '{name}'. Registered types: {known}") from None

    def check_routes(self, lambda_budget_seconds: int) -> None:
        """Refuse (at start-up) any task pinned to the Lambda worker whose time limit cannot fit it."""
        for spec in self._tasks.values():
            spec.route_for(lambda_budget_seconds)

    def names(self) -> list[str]:
        return sorted(self._tasks)

    def merge(self, other: TaskRegistry) -> None:
        for name, spec in other._tasks.items():
            if name in self._tasks and self._tasks[name] is not spec:
                raise ValueError(f"task '{name}' is registered twice")
            self._tasks[name] = spec
