"""Calls the deployed resolver Lambda's handler with the event AppSync would send it.

The event is built from the GraphQL request exactly as AppSync's Context object (arguments with
AWSJSON parsed, identity, lower-case headers, info with selectionSetList), and the answer goes
through ``resolvers.envelope`` - the rule the cloud's JS response handler applies.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import FieldNode, FragmentDefinitionNode, GraphQLResolveInfo

from devserver.graphql.context import RequestContext
from devserver.graphql.selection import Selection, selection_of, selection_set_graphql, selection_set_list
from devserver.object_id_cache import ObjectIdCache
from jobcore.tracing import TRACE_HEADER, new_trace_header, trace_context
from resolvers import handler
from resolvers.envelope import unhandled, unwrap


@dataclass(frozen=True)
class LocalLambdaContext:
    """The parts of the Lambda context object powertools reads."""

    function_name: str = "appsync-jobs-resolvers-local"
    function_version: str = "$LATEST"
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:000000000000:function:appsync-jobs-resolvers-local"
    memory_limit_in_mb: int = 512
    aws_request_id: str = "local"
    log_group_name: str = "/aws/lambda/appsync-jobs-resolvers-local"
    log_stream_name: str = "local"
    #: What ``get_remaining_time_in_millis`` answers (``InvocationContext`` counts down instead).
    remaining_ms: int = 30_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


_CONTEXT = LocalLambdaContext()


@dataclass(frozen=True)
class InvocationContext(LocalLambdaContext):
    """One invocation's context with a real clock: ``get_remaining_time_in_millis`` counts down from
    the function's timeout, as Lambda's does (the worker hands a job back before it reaches zero)."""

    deadline: float = 0.0

    @classmethod
    def starting_now(cls, function_name: str, timeout_seconds: float) -> InvocationContext:
        return cls(function_name=function_name, deadline=time.monotonic() + timeout_seconds)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


@dataclass(frozen=True, slots=True)
class _FieldShape:
    """What a field's selection looks like to AppSync; read-only, shared by every request that sends
    the same document (the server keeps parsed documents, so their field nodes are the same objects)."""

    field: FieldNode
    selection: Selection
    selection_set_list: tuple[str, ...]
    selection_set_graphql: str


#: One shape per field node (documents are kept parsed, so the same text gives the same nodes).
_SHAPES: ObjectIdCache[FieldNode, _FieldShape] = ObjectIdCache(1024)


def _shape(field: FieldNode, fragments: Mapping[str, FragmentDefinitionNode]) -> _FieldShape:
    """Printing and walking the selection set was ~5% of a request's CPU (``make bench``); a field
    node's fragments come from its own document, so its shape never changes."""

    def compute(node: FieldNode) -> _FieldShape:
        selection = selection_of(node, fragments)
        return _FieldShape(node, selection, tuple(selection_set_list(selection)), selection_set_graphql(node))

    return _SHAPES.get_or_compute(field, compute)


def request_trace_header(context: RequestContext) -> str:
    """The request's X-Ray trace header: the client's ``X-Amzn-Trace-Id``, else one started for this
    request (AppSync starts a trace per request and passes it to resolvers in the same header)."""
    header = context.headers.get(TRACE_HEADER)
    if header:
        return header
    started: str = context.extra.setdefault("trace_header", new_trace_header())
    return started


def _event(info: GraphQLResolveInfo[Any], arguments: dict[str, Any], paths: list[str], printed: str) -> dict[str, Any]:
    context: RequestContext = info.context
    return {
        "arguments": arguments,
        "identity": context.identity,
        "source": None,
        "prev": None,
        "info": {
            "fieldName": info.field_name,
            "parentTypeName": info.parent_type.name,
            "variables": info.variable_values,
            "selectionSetList": paths,
            "selectionSetGraphQL": printed,
        },
        "stash": {},
    }


def invoke_resolver(info: GraphQLResolveInfo[Any], arguments: dict[str, Any]) -> tuple[Any, Selection]:
    """The field's value (or a ``FieldError``) and the selection it was asked for.

    Runs on the event loop thread on purpose: powertools keeps the current event in class-level
    state, so, like a single Lambda container, the handler serves one event at a time.
    """
    shape = _shape(info.field_nodes[0], info.fragments)
    event = _event(info, arguments, list(shape.selection_set_list), shape.selection_set_graphql)
    try:
        # What Lambda's _X_AMZN_TRACE_ID is in the cloud: submitJob puts it on the job's message.
        with trace_context(request_trace_header(info.context)):
            answer = handler.lambda_handler(event, _CONTEXT)
    except Exception as exc:
        raise unhandled(exc) from exc
    return unwrap(answer), shape.selection
