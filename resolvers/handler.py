"""AppSync resolver Lambda (powertools ``AppSyncResolver``): submitJob, job, listJobs, cancelJob,
retryJob, updateJob, the subscribe-time check of onJobUpdated and onMyJobsUpdated's owner filter.

The local server invokes this very module with AppSync-shaped events, so what runs locally is what
deploys. Field functions only translate GraphQL arguments to use cases in ``jobcore.service``.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import AppSyncResolver
from aws_lambda_powertools.utilities.typing import LambdaContext

from jobcore import service
from jobcore.auth import Caller, caller_from_appsync_identity
from jobcore.errors import JobsError, ValidationError
from jobcore.service import Services
from jobcore.settings import Settings
from jobcore.wire import JobShape, job_to_graphql, update_from_graphql
from resolvers.envelope import with_subscription_filter, wrap_error
from worker.tasks import load_registry

logger = Logger(service="appsync-jobs-resolvers")
app = AppSyncResolver()

_services: Services | None = None


def configure(services: Services) -> None:
    """Use these services instead of building them from the environment (local server, tests)."""
    global _services
    _services = services


def services() -> Services:
    global _services
    if _services is None:
        from jobcore.bootstrap import services_from_settings

        settings = Settings.from_env()
        _services = services_from_settings(settings, load_registry(settings.task_modules))
    return _services


def _caller() -> Caller:
    event = app.current_event
    return caller_from_appsync_identity(event.raw_event.get("identity") if event else None)


@app.resolver(type_name="Query", field_name="job")
def job(id: str) -> JobShape:
    return job_to_graphql(service.get_job(services(), _caller(), id))


@app.resolver(type_name="Subscription", field_name="onJobUpdated")
def on_job_updated(id: str) -> None:
    """Runs once, when a client subscribes: only a caller who may read the job may follow it.

    Unknown and foreign ids get the same NotFound, so a subscription cannot probe for others' jobs.
    AppSync wants null from a subscription resolver; the events themselves come from @aws_subscribe.
    """
    service.get_job(services(), _caller(), id)


@app.resolver(type_name="Query", field_name="listJobs")
def list_jobs(
    status: str | None = None, type: str | None = None, limit: int | None = None, nextToken: str | None = None
) -> dict[str, Any]:
    page = service.list_jobs(
        services(), _caller(), status=status, job_type=type, limit=limit, next_token=nextToken
    )
    return {"items": [job_to_graphql(job) for job in page.items], "nextToken": page.next_token}


@app.resolver(type_name="Subscription", field_name="onMyJobsUpdated")
def on_my_jobs_updated() -> dict[str, Any]:
    """Runs once, when a client subscribes: the subscriber's filter is its own identity's jobs.

    The owner comes from the caller's identity here, never from an argument (there is none), so no
    client can ask for someone else's jobs. appsync_function.js hands the filter to AppSync
    (``extensions.setSubscriptionFilter``); the local server applies the same filter to every event.
    """
    return with_subscription_filter({"owner": {"eq": _caller().principal}})


@app.resolver(type_name="Mutation", field_name="submitJob")
def submit_job(input: dict[str, Any]) -> JobShape:
    job_type = input.get("type")
    if not isinstance(job_type, str):
        raise ValidationError("input.type must be a string")
    created = service.submit_job(
        services(), _caller(), job_type, input.get("payload"), input.get("idempotencyKey")
    )
    logger.info("job submitted", extra={"job_id": created.id, "job_type": created.type})
    return job_to_graphql(created)


@app.resolver(type_name="Mutation", field_name="cancelJob")
def cancel_job(id: str) -> JobShape:
    return job_to_graphql(service.cancel_job(services(), _caller(), id))


@app.resolver(type_name="Mutation", field_name="retryJob")
def retry_job(id: str) -> JobShape:
    return job_to_graphql(service.retry_job(services(), _caller(), id))


@app.resolver(type_name="Mutation", field_name="updateJob")
def update_job(input: dict[str, Any]) -> JobShape:
    update = update_from_graphql(input)
    return job_to_graphql(service.update_job(services(), _caller(), str(input["id"]), update))


@app.exception_handler(JobsError)
def _domain_error(exc: JobsError) -> dict[str, Any]:
    # Returned, not raised: appsync_function.js turns this envelope into util.error(...).
    logger.info("request refused", extra={"error_type": exc.error_type})
    return wrap_error(exc.error_type, exc.message, exc.info)


def lambda_handler(event: dict[str, Any], context: LambdaContext) -> Any:
    return app.resolve(event, context)
