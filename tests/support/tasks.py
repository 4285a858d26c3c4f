"""Tasks used only by tests (registered into the shared registry by importing this module)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from jobcore.registry import TaskContext
from worker.tasks import task


@task("test-flaky", time_limit_seconds=60)
def flaky(ctx: TaskContext) -> Any:
    """Raises until the attempt number reaches payload.succeed_on_attempt."""
    payload = ctx.payload or {}
    if ctx.attempt < int(payload.get("succeed_on_attempt", 10**6)):
        raise RuntimeError(f"flaky attempt {ctx.attempt}")
    return {"attempt": ctx.attempt}


@task("test-ledger", time_limit_seconds=120)
def ledger(ctx: TaskContext) -> Any:
    """Sleeps in slices, then writes its side effect keyed by the job's idempotency key (exactly once)."""
    import time

    payload = ctx.payload or {}
    for step in range(int(payload.get("steps", 1))):
        ctx.check_cancelled()
        time.sleep(float(payload.get("slice", 0.05)))
        ctx.progress(int(100 * (step + 1) / int(payload.get("steps", 1))))
    ledger_dir = Path(os.environ["APPSYNC_JOBS_TEST_LEDGER"])
    entry = ledger_dir / ctx.idempotency_key.replace(":", "_")
    try:
        with entry.open("x") as handle:  # an external system that honours the idempotency key
            handle.write(json.dumps({"value": payload.get("value")}))
    except FileExistsError:
        pass
    with (ledger_dir / "writes.log").open("a") as log:
        log.write(ctx.idempotency_key + "\n")
    return {"value": payload.get("value")}


EXECUTIONS: list[str] = []


@task("test-count", time_limit_seconds=60)
def count(ctx: TaskContext) -> Any:
    """Records each execution in-process, slowly enough that concurrent deliveries overlap."""
    import time

    EXECUTIONS.append(ctx.job_id)
    time.sleep(float((ctx.payload or {}).get("seconds", 0.3)))
    return {"ran": True}


@task("test-crash", time_limit_seconds=60)
def crash(ctx: TaskContext) -> Any:
    """Kills the worker process mid-task, every time: a poison job no retry can get through."""
    os._exit(17)
