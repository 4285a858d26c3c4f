"""Subscriptions for the AppSync real-time endpoint, decided the way AppSync decides them.

Before a ``start`` is acknowledged the document is parsed, validated, checked to be a subscription
(queries and mutations are ``UnsupportedOperation`` on this channel) and authorized field by field
for the start's own auth mode; only then is the subscriber registered, so once ``start_ack`` is sent
no event can be missed.
"""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import AsyncIterable, AsyncIterator, Hashable, Mapping
from typing import Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    Executor,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    create_source_event_stream,
    execute_subscription_event,
    get_operation_ast,
    parse,
    validate,
)
from graphql.execution.executor_throwing_on_incremental import ExecutorThrowingOnIncremental

from devserver.auth.identity import appsync_identity
from devserver.graphql.context import RequestContext
from devserver.graphql.errors import appsync_errors
from devserver.graphql.selection import Selection, selection_of
from devserver.graphql.strawberry_internals import graphql_schema
from devserver.object_id_cache import ObjectIdCache
from devserver.realtime.source import StartRejected
from devserver.state import ServerState
from jobcore.auth import Caller


def _unsupported(operation: str) -> StartRejected:
    return StartRejected(
        [{"errorType": "UnsupportedOperation", "message": f"{operation} not supported through the realtime channel"}]
    )


class LocalSubscriptionSource:
    def __init__(self, state: ServerState) -> None:
        self.state = state

    async def subscribe(self, caller: Caller, request: Mapping[str, Any]) -> AsyncIterator[dict[str, Any]]:
        query = request.get("query")
        variables = request.get("variables") or {}
        operation_name = request.get("operationName")
        if not isinstance(query, str) or not isinstance(variables, dict):
            raise StartRejected([{"message": "Validation error: the start payload needs a query string"}])
        schema = graphql_schema(self.state.schema)
        prepared = _prepare(schema, query, operation_name)
        if isinstance(prepared, list):
            raise StartRejected([dict(error) for error in prepared])
        document, operation = prepared
        self._authorize(caller, operation, document)

        context = RequestContext(
            caller=caller,
            identity=appsync_identity(caller, ["127.0.0.1"]),
            headers={},
            rules=self.state.rules,
            pubsub=self.state.pubsub,
        )
        executor = ExecutorThrowingOnIncremental.build(
            schema, document, context_value=context, raw_variable_values=variables, operation_name=operation_name
        )
        if isinstance(executor, list):
            raise StartRejected(appsync_errors(executor) or [{"message": "subscription failed"}])
        # Runs the subscription field's resolver (the subscribe-time check) and registers the subscriber.
        created = create_source_event_stream(executor)
        source = await created if inspect.isawaitable(created) else created
        if isinstance(source, ExecutionResult):
            raise StartRejected(appsync_errors(source.errors) or [{"message": "subscription failed"}])
        # Same document, variables and auth mode: the same payload for every event. Such subscribers
        # share one execution per event (the field checks above already passed for this mode).
        share_key = (document, operation_name, json.dumps(variables, sort_keys=True), caller.mode)
        return _payloads(executor, source, share_key)

    def _authorize(self, caller: Caller, operation: OperationDefinitionNode, document: Any) -> None:
        fragments = {d.name.value: d for d in document.definitions if d.kind == "fragment_definition"}
        schema = graphql_schema(self.state.schema)
        subscription_type = schema.subscription_type
        assert subscription_type is not None
        for node in operation.selection_set.selections:
            field_name = getattr(getattr(node, "name", None), "value", None)
            if field_name is None or field_name.startswith("__"):
                continue
            denied = self._denied(caller, subscription_type.name, field_name)
            field = subscription_type.fields[field_name]
            return_type = getattr(field.type, "of_type", field.type)
            denied = denied or self._denied_in(caller, return_type.name, selection_of(node, fragments), schema)  # type: ignore[arg-type]
            if denied:
                raise StartRejected([{"errorType": "Unauthorized", "message": denied}])

    def _denied(self, caller: Caller, type_name: str, field_name: str) -> str | None:
        if self.state.rules.permits(caller.mode, type_name, field_name):
            return None
        return f"Not Authorized to access {field_name} on type {type_name}"

    def _denied_in(self, caller: Caller, type_name: str, selection: Selection, schema: Any) -> str | None:
        gql_type = schema.type_map.get(type_name)
        fields = getattr(gql_type, "fields", None)
        if not fields:
            return None
        for name, child in selection.items():
            if name.startswith("__") or name not in fields:
                continue
            denied = self._denied(caller, type_name, name)
            if denied:
                return denied
            inner = fields[name].type
            while hasattr(inner, "of_type"):
                inner = inner.of_type
            denied = self._denied_in(caller, inner.name, child, schema) if child else None
            if denied:
                return denied
        return None


@functools.lru_cache(maxsize=256)
def _prepare(
    schema: GraphQLSchema, query: str, operation_name: str | None
) -> tuple[DocumentNode, OperationDefinitionNode] | list[dict[str, str]]:
    """The parsed subscription and its operation, or the AppSync errors that refuse it.

    Remembered per text: thousands of clients subscribe with the same few documents, and parsing and
    validating each start was most of the connection set-up cost (make bench, fan-out).
    """
    try:
        document = parse(query)
    except GraphQLError as exc:
        return [{"message": f"Validation error: {exc.message}"}]
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return [{"message": "Validation error: no operation to run"}]
    if operation.operation is not OperationType.SUBSCRIPTION:
        return _unsupported(operation.operation.value).errors
    errors = validate(schema, document)
    if errors:
        # AppSync's validation errors on this channel carry only a message.
        return [{"message": f"Validation error: {e.message}"} for e in errors]
    return document, operation


#: Per published event, the payload computed for each share key (subscribers take an event within
#: moments of its publication, so a few hundred recent events suffice).
_SHARED: ObjectIdCache[Any, dict[Hashable, dict[str, Any]]] = ObjectIdCache(256)


async def _payload_for(executor: Executor[Any], event: Any, share_key: Hashable) -> dict[str, Any]:
    """The event's payload for this subscription, executed once per share key and event.

    With 2,000 subscribers of one job, executing the document per subscriber was most of the cost of
    a fan-out (``make bench``); their payloads are identical, so the first subscriber computes it.
    """
    payloads = _SHARED.get_or_compute(event, lambda _: {})
    payload = payloads.get(share_key)
    if payload is None:
        executed = execute_subscription_event(executor.build_per_event_executor(event))
        result = await executed if inspect.isawaitable(executed) else executed
        payload = {"data": result.data}
        if result.errors:
            payload["errors"] = appsync_errors(result.errors)
        payloads[share_key] = payload
    return payload


async def _payloads(executor: Executor[Any], source: AsyncIterable[Any], share_key: Hashable) -> AsyncIterator[dict[str, Any]]:
    try:
        async for event in source:
            yield await _payload_for(executor, event, share_key)
    finally:
        aclose = getattr(source, "aclose", None)
        if aclose is not None:
            await aclose()
