"""Send archived dead letters back to the job queue.

The dead-letter archive keeps each message's body unchanged, so redriving is: receive from the
archive, send the body (and its trace header) to the job queue, then delete the archived copy - in
that order, so a crash in between leaves a duplicate, never a loss (the claim makes duplicates
harmless). A redriven job still PENDING runs; one already FAILED is not re-run (terminal is final):
its delivery is acknowledged without running anything.
"""

from __future__ import annotations

from jobcore.ports import JobQueue


def redrive(archive: JobQueue, target: JobQueue, *, limit: int = 100) -> list[str]:
    """Move up to ``limit`` archived messages to ``target``; returns the new message ids."""
    moved: list[str] = []
    while len(moved) < limit:
        batch = archive.receive(min(10, limit - len(moved)), visibility_timeout=60)
        if not batch:
            break
        for message in batch:
            moved.append(target.send(message.body, trace_header=message.trace_header))
            archive.delete(message.receipt_handle)
    return moved
