"""Example tasks that show the task API: progress, cooperative cancellation, payload schemas, failures."""

from __future__ import annotations

import math
import time
from typing import Any

from pydantic import BaseModel, Field

from jobcore.registry import NonRetryableError, TaskContext
from worker.tasks import task


class SleepPayload(BaseModel):
    seconds: float = Field(default=3.0, ge=0, le=840)
    steps: int = Field(default=10, ge=1, le=1000)


@task("sleep", payload_model=SleepPayload, time_limit_seconds=870)
def sleep_task(ctx: TaskContext) -> dict[str, Any]:
    """Waits ``seconds`` in ``steps`` slices, reporting progress and honouring cancellation - the demo task."""
    args = SleepPayload.model_validate(ctx.payload or {})
    for step in range(1, args.steps + 1):
        ctx.check_cancelled()
        time.sleep(args.seconds / args.steps)
        ctx.progress(round(step * 100 / args.steps), f"step {step} of {args.steps}")
    return {"slept": args.seconds, "steps": args.steps}


class ReportPayload(BaseModel):
    limit: int = Field(default=200_000, ge=2, le=20_000_000)


@task("report", payload_model=ReportPayload, time_limit_seconds=870)
def prime_report(ctx: TaskContext) -> dict[str, Any]:
    """CPU-bound: counts the primes below ``limit`` with a segmented sieve, reporting progress per segment."""
    args = ReportPayload.model_validate(ctx.payload or {})
    limit = args.limit
    base = _primes_upto(math.isqrt(limit))
    count, largest, low = 0, 0, 2
    segment = max(10_000, limit // 20)
    while low < limit:
        ctx.check_cancelled()
        high = min(low + segment, limit)
        sieve = bytearray(b"\x01") * (high - low)
        for p in base:
            start = max(p * p, ((low + p - 1) // p) * p)
            sieve[start - low : high - low : p] = bytes(len(range(start, high, p)))
        found = [low + i for i, flag in enumerate(sieve) if flag]
        count += len(found)
        largest = found[-1] if found else largest
        low = high
        ctx.progress(min(99, round(100 * low / limit)), f"sieved up to {low}")
    return {"limit": limit, "primes": count, "largest": largest}


def _primes_upto(n: int) -> list[int]:
    sieve = bytearray(b"\x01") * (n + 1)
    sieve[:2] = b"\x00\x00"
    for i in range(2, math.isqrt(n) + 1):
        if sieve[i]:
            sieve[i * i :: i] = bytes(len(range(i * i, n + 1, i)))
    return [i for i, flag in enumerate(sieve) if flag]


class FailPayload(BaseModel):
    message: str = "this task always fails"
    retryable: bool = False


@task("fail", payload_model=FailPayload, time_limit_seconds=60)
def failing_task(ctx: TaskContext) -> None:
    """Always fails: at once (non-retryable) or after the queue's retries - to see errors end to end."""
    args = FailPayload.model_validate(ctx.payload or {})
    if args.retryable:
        raise RuntimeError(args.message)
    raise NonRetryableError(args.message, error_type="DemoFailure")


@task("echo", time_limit_seconds=60)
def echo(ctx: TaskContext) -> Any:
    """Returns its payload: the cheapest possible job (benchmarks, smoke tests)."""
    return ctx.payload
