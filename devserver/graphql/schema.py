"""The strawberry schema of the local server. It mirrors schema.graphql (a contract test proves the
two describe the same API) and resolves every root field by invoking the resolver Lambda's handler."""

from __future__ import annotations

import enum
import functools
from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING, Any

import strawberry
from graphql import GraphQLError, ListValueNode, ObjectTypeDefinitionNode, StringValueNode, parse
from strawberry.schema.config import StrawberryConfig
from strawberry.types import Info
from strawberry.types.unset import UNSET

from devserver.auth.auth_extension import AppSyncAuthExtension
from devserver.graphql.context import RequestContext
from devserver.graphql.contract_types import output_types
from devserver.graphql.document_cache import DocumentCacheExtension
from devserver.graphql.lambda_invoke import invoke_resolver
from devserver.graphql.scalars import AWSJSON, SCALARS, AWSDateTime
from devserver.graphql.selection import project
from devserver.graphql.strawberry_internals import resolve_info
from devserver.realtime.pubsub import OMITTED
from devserver.realtime.subscription_filter import UnsupportedFilter, compile_filter, equality_key
from jobcore.contract import contract_sdl
from resolvers.envelope import FieldError, subscription_filter

SUBSCRIPTION_FIELD = "onJobUpdated"
MY_JOBS_FIELD = "onMyJobsUpdated"


@functools.cache
def subscriptions_by_mutation() -> dict[str, tuple[str, ...]]:
    """Which subscription fields each mutation publishes to, read from ``@aws_subscribe`` in the
    contract - the list AppSync itself follows, so the two cannot disagree."""
    published: dict[str, list[str]] = {}
    for definition in parse(contract_sdl()).definitions:
        if not isinstance(definition, ObjectTypeDefinitionNode) or definition.name.value != "Subscription":
            continue
        for field in definition.fields or ():
            for directive in field.directives or ():
                if directive.name.value != "aws_subscribe":
                    continue
                for argument in directive.arguments or ():
                    if argument.name.value == "mutations" and isinstance(argument.value, ListValueNode):
                        for value in argument.value.values:
                            if isinstance(value, StringValueNode):
                                published.setdefault(value.value, []).append(field.name.value)
    return {mutation: tuple(fields) for mutation, fields in published.items()}


@strawberry.enum(description="Where a job is in its life.")
class JobStatus(enum.Enum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


# Output types come from schema.graphql itself (devserver.graphql.contract_types): their field lists
# are the contract's, not a copy. mypy sees them as Any; strawberry sees the real classes.
if TYPE_CHECKING:
    from typing import Any as Artifact
    from typing import Any as Job
    from typing import Any as JobConnection
    from typing import Any as JobError
    from typing import Any as Upload
else:
    JobError, Artifact, Job, JobConnection, Upload = output_types(
        "JobError", "Artifact", "Job", "JobConnection", "Upload", enums={"JobStatus": JobStatus}
    )


@strawberry.input
class ArtifactInput:
    name: str
    size: float
    contentType: str


@strawberry.input
class SubmitJobInput:
    type: str
    payload: AWSJSON | None = UNSET
    idempotencyKey: str | None = UNSET


@strawberry.input
class JobErrorInput:
    type: str
    message: str


@strawberry.input
class UpdateJobInput:
    id: strawberry.ID
    status: JobStatus | None = UNSET
    progress: int | None = UNSET
    message: str | None = UNSET
    result: AWSJSON | None = UNSET
    error: JobErrorInput | None = UNSET
    leaseToken: str | None = UNSET
    leaseSeconds: int | None = UNSET
    artifacts: list[ArtifactInput] | None = UNSET
    messageSentAt: AWSDateTime | None = UNSET


def _plain(value: Any) -> Any:
    """Strawberry input objects -> the plain argument dicts AppSync hands a Lambda (unset keys omitted)."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if hasattr(value, "__strawberry_definition__"):
        return {k: _plain(v) for k, v in vars(value).items() if v is not UNSET}
    return value


def _arguments(arguments: dict[str, Any]) -> dict[str, Any]:
    # AppSync's ctx.arguments holds what the client gave: omitted optional arguments are absent.
    return {k: _plain(v) for k, v in arguments.items() if v is not UNSET}


def _resolve(info: Info[RequestContext, None], **arguments: Any) -> Any:
    value, _ = invoke_resolver(resolve_info(info), _arguments(arguments))
    return value


def _resolve_and_publish(info: Info[RequestContext, None], **arguments: Any) -> Any:
    value, selection = invoke_resolver(resolve_info(info), _arguments(arguments))
    if value is not None:
        # @aws_subscribe: subscribers receive this mutation's response, cut to what it selected, on
        # every subscription field that names the mutation.
        event = project(value, selection)
        for subscription_field in subscriptions_by_mutation().get(info.field_name, ()):
            info.context.pubsub.publish(subscription_field, event)
    return value


@strawberry.type
class Query:
    @strawberry.field
    def job(self, info: Info[RequestContext, None], id: strawberry.ID) -> Job | None:
        return _resolve(info, id=id)

    @strawberry.field
    def listJobs(
        self,
        info: Info[RequestContext, None],
        status: JobStatus | None = UNSET,
        type: str | None = UNSET,
        limit: int | None = UNSET,
        nextToken: str | None = UNSET,
    ) -> JobConnection:
        return _resolve(info, status=status, type=type, limit=limit, nextToken=nextToken)


@strawberry.type
class Mutation:
    @strawberry.mutation
    def submitJob(self, info: Info[RequestContext, None], input: SubmitJobInput) -> Job:
        return _resolve_and_publish(info, input=input)

    @strawberry.mutation
    def cancelJob(self, info: Info[RequestContext, None], id: strawberry.ID) -> Job | None:
        return _resolve_and_publish(info, id=id)

    @strawberry.mutation
    def retryJob(self, info: Info[RequestContext, None], id: strawberry.ID) -> Job | None:
        return _resolve_and_publish(info, id=id)

    @strawberry.mutation
    def updateJob(self, info: Info[RequestContext, None], input: UpdateJobInput) -> Job | None:
        return _resolve_and_publish(info, input=input)

    @strawberry.mutation
    def createUpload(self, info: Info[RequestContext, None], contentType: str, size: float) -> Upload:
        return _resolve(info, contentType=contentType, size=size)


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def onJobUpdated(
        self, info: Info[RequestContext, None], id: strawberry.ID
    ) -> AsyncGenerator[Job | None, None]:
        # The subscription field's resolver runs once, at subscribe time, as on AppSync: it refuses
        # ids the caller may not read (a FieldError here rejects the start).
        _resolve(info, id=id)
        # Registers before returning (not on first iteration), so the subscription is live by the
        # time the client is told it started: no event can fall between start_ack and listening.
        events = info.context.pubsub.open(SUBSCRIPTION_FIELD, {"id": id if id is not None else OMITTED})
        return events  # type: ignore[return-value]

    @strawberry.subscription
    async def onMyJobsUpdated(self, info: Info[RequestContext, None]) -> AsyncGenerator[Job | None, None]:
        # The resolver runs once, at subscribe time, and sets the filter from the caller's identity
        # (AppSync enhanced filtering); every event is then checked against it as published.
        spec = subscription_filter(_resolve(info))
        try:
            predicate = compile_filter(spec) if spec is not None else None
        except UnsupportedFilter as exc:
            raise FieldError(str(exc), "UnsupportedOperation") from exc
        key = equality_key(spec) if spec is not None else None
        events = info.context.pubsub.open(MY_JOBS_FIELD, {}, predicate, key)
        return events  # type: ignore[return-value]


def _read_mapping(obj: Any, name: str) -> Any:
    # Resolver answers are schema-shaped dicts keyed by GraphQL names.
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name)


class AppSyncSchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        for error in errors:
            refusal = error.original_error
            if isinstance(refusal, FieldError):
                # Clients of the standard graphql-transport-ws endpoint get the AppSync errorType too,
                # where that protocol carries extra detail (the AppSync endpoints put it top level).
                error.extensions = {**(error.extensions or {}), "errorType": refusal.error_type,
                                    "errorInfo": refusal.error_info}
        # Refusals are answers, not incidents: log only what nobody meant to raise.
        unexpected = [e for e in errors if e.path is not None and not isinstance(e.original_error, FieldError)]
        if unexpected:
            super().process_errors(unexpected, execution_context)


schema = AppSyncSchema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    extensions=[DocumentCacheExtension, AppSyncAuthExtension],
    config=StrawberryConfig(auto_camel_case=False, default_resolver=_read_mapping, scalar_map=SCALARS),
)
