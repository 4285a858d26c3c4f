"""Strawberry output types built from ``schema.graphql`` instead of written out again.

The Job type's field list is the one most likely to drift: it lives in the contract, the worker's
``updateJob`` selection, the wire mapping and every client. The local server has no reason to keep a
hand-written copy: its resolvers return the Lambda handler's mappings, so a type only has to name
fields and their GraphQL types, and both come from the contract. Types with behaviour (enums, inputs,
root types with resolvers) stay written out in ``schema.py``.
"""

from __future__ import annotations

import functools
from typing import Any

import strawberry
from graphql import (
    GraphQLEnumType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    build_schema,
)

from devserver.graphql.scalars import AWSJSON, AWSURL, AWSDateTime
from jobcore.contract import contract_sdl

_SCALARS: dict[str, Any] = {
    "ID": strawberry.ID,
    "String": str,
    "Int": int,
    "Float": float,
    "Boolean": bool,
    "AWSJSON": AWSJSON,
    "AWSDateTime": AWSDateTime,
    "AWSURL": AWSURL,
}


@functools.cache
def _contract() -> GraphQLSchema:
    return build_schema(contract_sdl())


def output_types(*names: str, enums: dict[str, Any]) -> tuple[Any, ...]:
    """Strawberry types for the contract's object types ``names``, in that order.

    ``enums`` maps the contract's enum names to the strawberry enums the server defines; an object
    type a field refers to must be built in the same call, before the type that uses it.
    """
    built: dict[str, Any] = {}
    for name in names:
        definition = _contract().type_map[name]
        if not isinstance(definition, GraphQLObjectType):
            raise TypeError(f"{name} is not an object type in schema.graphql")
        annotations = {field: _annotation(value.type, built, enums) for field, value in definition.fields.items()}
        described = {field: strawberry.field(description=value.description)
                     for field, value in definition.fields.items() if value.description}
        cls = type(name, (), {"__annotations__": annotations, "__module__": __name__, **described})
        built[name] = strawberry.type(cls, description=definition.description)
    return tuple(built[name] for name in names)


def _annotation(graphql_type: Any, built: dict[str, Any], enums: dict[str, Any]) -> Any:
    if isinstance(graphql_type, GraphQLNonNull):
        return _required(graphql_type.of_type, built, enums)
    return _required(graphql_type, built, enums) | None


def _required(graphql_type: Any, built: dict[str, Any], enums: dict[str, Any]) -> Any:
    if isinstance(graphql_type, GraphQLList):
        return list[_annotation(graphql_type.of_type, built, enums)]  # type: ignore[misc]
    if isinstance(graphql_type, GraphQLScalarType):
        return _SCALARS[graphql_type.name]
    if isinstance(graphql_type, GraphQLEnumType):
        return enums[graphql_type.name]
    if graphql_type.name in built:
        return built[graphql_type.name]
    raise TypeError(f"build {graphql_type.name} before the types that refer to it")
