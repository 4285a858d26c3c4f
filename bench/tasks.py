"""Tasks only the benchmarks register (``--tasks bench.tasks``)."""

from __future__ import annotations

from typing import Any

from jobcore.registry import TaskContext
from worker.tasks import task


@task("bench-artifact", time_limit_seconds=600)
def bench_artifact(ctx: TaskContext) -> Any:
    """Saves payload.mib MiB of bytes as one artifact (the worker writes it to the artifact store)."""
    mib = int((ctx.payload or {}).get("mib", 16))
    block = bytes(range(256)) * 4096  # 1 MiB
    ctx.save_artifact("blob.bin", block * mib, "application/octet-stream")
    return {"mib": mib}
