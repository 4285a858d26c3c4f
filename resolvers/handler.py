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
from jobcore.adapters.observability import tracer
from jobcore.auth import Caller, caller_from_appsync_identity
from jobcore.errors import JobsError, ValidationError
from jobcore.lazy import Lazy
from jobcore.service import Services
from jobcore.settings import Settings
from jobcore.tracing import current_trace_header, trace_root
from jobcore.wire import JobShape, format_datetime, job_to_graphql, update_from_graphql
from resolvers.envelope import with_subscription_filter, wrap_error
from worker.tasks import load_registry

logger = Logger(service="appsync-jobs-resolvers")
app = AppSyncResolver()

def _build_services() -> Services:
    """The services this Lambda's environment describes (``JOBS_*``), built on the first request."""
    from jobcore.bootstrap import services_from_settings

    settings = Settings.from_env()
    built = services_from_settings(settings, load_registry(settings.task_modules))
    if built.reporter_trust.trusts_no_one:
        logger.warning(
            "JOBS_TRUSTED_REPORTER_ROLES is not set: no IAM caller may call updateJob or see others' jobs "
            "(set it to the worker, dead-letter and reaper role names)"
        )
    return built


#: ``services()`` for the field functions; ``configure(...)`` injects (the local server, tests),
#: ``reset()`` forgets (tests).
services: Lazy[Services] = Lazy(_build_services)
configure = services.configure
reset = services.reset


def _caller() -> Caller:
    event = app.current_event
    identity = event.raw_event.get("identity") if event else None
    return caller_from_appsync_identity(identity, services().reporter_trust)


def _job_id_of(event: dict[str, Any]) -> str | None:
    """The job an event is about (``id`` or ``input.id``), for the ``job_id`` key of its log lines."""
    arguments = event.get("arguments") or {}
    nested = arguments.get("input")
    job_id = arguments.get("id") or (nested.get("id") if isinstance(nested, dict) else None)
    return job_id if isinstance(job_id, str) else None


@app.resolver(type_name="Query", field_name="job")
def job(id: str) -> JobShape:
    caller = _caller()
    found = service.get_job(services(), caller, id)
    shape = job_to_graphql(found)
    if found.artifacts:  # fresh presigned URLs for this reader, on every read
        shape["artifacts"] = service.artifact_links(services(), caller, found)
    return shape


@app.resolver(type_name="Mutation", field_name="createUpload")
def create_upload(contentType: str, size: float) -> dict[str, Any]:
    if not isinstance(size, (int, float)) or size != int(size):
        raise ValidationError("size must be a whole number of bytes")
    ref, signed = service.create_upload(services(), _caller(), contentType, int(size))
    return {"ref": ref, "url": signed.url, "headers": signed.headers, "expiresAt": format_datetime(signed.expires_at)}


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
    logger.append_keys(job_id=created.id)
    logger.info("job submitted", extra={"job_type": created.type})
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


@logger.inject_lambda_context(clear_state=True)
@tracer().capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> Any:
    # The request's trace id (AppSync's X-Ray trace, which Lambda exposes as _X_AMZN_TRACE_ID; the
    # local server sets the same per request), else this invocation's request id. Not
    # correlation_paths.APPSYNC_RESOLVER: appsync_function.js no longer forwards request headers.
    logger.set_correlation_id(trace_root(current_trace_header()) or getattr(context, "aws_request_id", None))
    job_id = _job_id_of(event)
    if job_id:
        logger.append_keys(job_id=job_id)
    info = event.get("info") or {}
    logger.debug("resolving", extra={"field": f"{info.get('parentTypeName')}.{info.get('fieldName')}"})
    try:
        return app.resolve(event, context)
    finally:
        services().metrics.flush()
