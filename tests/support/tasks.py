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


@task("test-overrun", time_limit_seconds=1)
def overrun(ctx: TaskContext) -> Any:
    """Cooperative but endless: checks in between slices until its attempt is stopped."""
    import time

    while True:
        ctx.check_cancelled()
        time.sleep(0.05)


@task("test-stubborn", time_limit_seconds=1)
def stubborn(ctx: TaskContext) -> Any:
    """Never checks in: sleeps past its limit (the runner must stop waiting for it)."""
    import time

    time.sleep(float((ctx.payload or {}).get("seconds", 3)))
    return {"late": True}


@task("test-slow", time_limit_seconds=60)
def slow(ctx: TaskContext) -> Any:
    """Progress every slice for payload.seconds: fits its limit, not necessarily an invocation."""
    import time

    seconds = float((ctx.payload or {}).get("seconds", 1))
    steps = int((ctx.payload or {}).get("steps", 10))
    for step in range(steps):
        ctx.check_cancelled()
        time.sleep(seconds / steps)
        ctx.progress(int(100 * (step + 1) / steps), f"step {step + 1} of {steps}")
    return {"seconds": seconds}


@task("test-long", time_limit_seconds=1200)
def long_task(ctx: TaskContext) -> Any:
    """A long task (20 min limit): routed to the long queue whenever the Lambda worker cannot fit it."""
    return slow(ctx)


@task("test-big-result", time_limit_seconds=120)
def big_result(ctx: TaskContext) -> Any:
    """Returns payload.bytes of text (quotes included, so escaping grows it) - past any event budget."""
    import time

    size = int((ctx.payload or {}).get("bytes", 5_000_000))
    time.sleep(float((ctx.payload or {}).get("delay", 0)))  # lets a test's subscription go live first
    return {"text": ('say "hi" ' * (size // 9 + 1))[:size]}


@task("test-artifacts", time_limit_seconds=120)
def artifacts(ctx: TaskContext) -> Any:
    """Saves three files (bytes, text and a file on disk) and returns a small summary."""
    import tempfile
    import time

    count = int((ctx.payload or {}).get("kib", 64))
    time.sleep(float((ctx.payload or {}).get("delay", 0)))
    ctx.save_artifact("data.bin", bytes(range(256)) * 4 * count, "application/octet-stream")
    ctx.save_artifact("report.csv", "n,square\n" + "".join(f"{i},{i * i}\n" for i in range(count)), "text/csv")
    with tempfile.NamedTemporaryFile("wb", suffix=".json", delete=False) as handle:
        handle.write(json.dumps({"job": ctx.job_id}).encode())
    ctx.save_artifact("meta.json", Path(handle.name), "application/json")
    Path(handle.name).unlink()
    return {"saved": 3}


@task("test-read-upload", time_limit_seconds=60)
def read_upload(ctx: TaskContext) -> Any:
    """Reads the upload the payload names and returns its length and first bytes."""
    with ctx.open_upload(ctx.payload["input"]) as stream:  # type: ignore[attr-defined]
        data = stream.read()
    return {"bytes": len(data), "head": data[:16].decode(errors="replace")}


@task("test-swallow", time_limit_seconds=1)
def swallow(ctx: TaskContext) -> Any:
    """Catches every Exception around its checks - the deadline must still stop it."""
    import contextlib
    import time

    while True:
        with contextlib.suppress(Exception):  # the point of this task
            ctx.check_cancelled()
        time.sleep(0.05)
