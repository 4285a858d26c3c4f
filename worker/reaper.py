"""The reaper (scheduled Lambda in AWS, a periodic loop locally): finishes what no worker will.

RUNNING jobs past their deadline are failed as ``TimedOut`` through ``updateJob`` - so subscribers
hear about it - and PENDING jobs whose message may have been lost are enqueued again. Both are safe
to repeat and to race with workers: the state machine decides on a compare-and-set.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from jobcore import service
from jobcore.adapters.observability import tracer
from jobcore.domain.job import JobStatus
from jobcore.errors import JobsError
from jobcore.lazy import Lazy
from jobcore.runner import JobReporter
from jobcore.service import Services

logger = Logger(service="appsync-jobs-reaper")


@dataclass(frozen=True, slots=True)
class ReapReport:
    timed_out: list[str]
    requeued: list[str]


@tracer().capture_method(capture_response=False)
def reap(services: Services, reporter: JobReporter) -> ReapReport:
    """Fail overdue RUNNING jobs, re-enqueue stale PENDING ones (each moved forward in the index)."""
    timed_out: list[str] = []
    requeued: list[str] = []
    for job in service.find_stuck_jobs(services):
        if job.status is JobStatus.PENDING:
            service.requeue(services, job)
            requeued.append(job.id)
            continue
        try:
            reporter.update(
                job.id,
                {"status": "FAILED",
                 "error": {"type": "TimedOut", "message": "the attempt outlived its task's time limit"}},
            )
        except JobsError as exc:  # finished or renewed meanwhile: the state machine said no
            logger.info("not reaped", extra={"job_id": job.id, "reason": exc.error_type})
            continue
        timed_out.append(job.id)
    return ReapReport(timed_out, requeued)


def _build_services() -> Services:
    from jobcore.bootstrap import services_from_settings
    from worker.deps import deps

    worker = deps()
    return services_from_settings(worker.settings, worker.registry)


#: The store and queue the reaper scans, from the same settings and registry as the worker's ``deps()``.
services: Lazy[Services] = Lazy(_build_services)


@logger.inject_lambda_context(clear_state=True)
@tracer().capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    from worker.deps import deps

    logger.set_correlation_id(getattr(context, "aws_request_id", None))  # one run = one correlation id
    report = reap(services(), deps().reporter)
    logger.info("reaped", extra={"timed_out": len(report.timed_out), "requeued": len(report.requeued)})
    return {"timedOut": report.timed_out, "requeued": report.requeued}
