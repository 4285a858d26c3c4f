"""AppSync enhanced subscription filters, evaluated locally the way AppSync evaluates them.

A subscription resolver may set a filter at subscribe time (``extensions.setSubscriptionFilter`` in
the cloud; ``resolvers.envelope.FILTER_KEY`` in the Lambda's answer). AppSync then checks every
published event against it *as published*: the triggering mutation's selection set. A field the
mutation did not select is absent from the event and matches no condition - so a mutation that
leaves ``owner`` out reaches no ``onMyJobsUpdated`` subscriber, locally as in the cloud.

The form is the one ``util.transform.toSubscriptionFilter`` takes: ``{field: {operator: value}}``,
several fields all required. Only the operators this API relies on are implemented; any other is
refused when the subscriber subscribes (fail closed) rather than silently matching everything.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Predicate = Callable[[Mapping[str, Any]], bool]

_MISSING: Any = object()

_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda actual, expected: bool(actual == expected),
    "ne": lambda actual, expected: bool(actual != expected),
    "in": lambda actual, expected: isinstance(expected, list) and actual in expected,
}


class UnsupportedFilter(ValueError):
    """A filter this server cannot evaluate (refused at subscribe time)."""


def compile_filter(spec: Mapping[str, Any]) -> Predicate:
    """A predicate over published events that is true when every condition of ``spec`` holds."""
    if not isinstance(spec, Mapping) or not spec:
        raise UnsupportedFilter("a subscription filter needs at least one field condition")
    conditions: list[tuple[str, Callable[[Any, Any], bool], Any]] = []
    for field, condition in spec.items():
        if not isinstance(condition, Mapping) or not condition:
            raise UnsupportedFilter(f"filter on {field!r} needs an operator, e.g. {{'eq': value}}")
        for operator, expected in condition.items():
            check = _OPERATORS.get(operator)
            if check is None:
                raise UnsupportedFilter(f"subscription filter operator {operator!r} is not supported locally")
            conditions.append((field, check, expected))

    def matches(event: Mapping[str, Any]) -> bool:
        for field, check, expected in conditions:
            actual = event.get(field, _MISSING) if isinstance(event, Mapping) else _MISSING
            if actual is _MISSING or not check(actual, expected):
                return False
        return True

    return matches


def equality_key(spec: Mapping[str, Any]) -> tuple[str, Any] | None:
    """A (field, value) every event ``spec`` admits must have - its first ``eq`` on a string - so the
    server can find the subscriber by that value instead of testing it against every event."""
    for field, condition in spec.items():
        if isinstance(condition, Mapping) and isinstance(condition.get("eq"), str):
            return field, condition["eq"]
    return None
