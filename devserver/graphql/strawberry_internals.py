"""The two places the local server reaches below strawberry's public API, kept here so there is one
file to check when strawberry is upgraded (pyproject pins it below 0.400; the contract and e2e
suites exercise both paths).

Neither has a public equivalent in strawberry 0.341 (checked against its source):

- ``Info`` exposes ``field_name``, ``context``, ``variable_values``, ``operation``, ``path`` and
  ``selected_fields``, but not the field nodes, the document's fragments or the parent type.
  Building AppSync's resolver event needs all three (``selectionSetGraphQL`` is the printed field
  node; shapes are cached by field node identity), so the resolvers read graphql-core's
  ``GraphQLResolveInfo``, which strawberry keeps as ``Info._raw_info``.
- ``Schema`` exposes no accessor for the graphql-core ``GraphQLSchema`` it builds; strawberry's own
  validation cache and printer read ``schema._schema`` too. The AppSync real-time endpoint needs
  it to drive graphql-core's subscription ``Executor`` itself (to run each published event once for
  every subscriber with the same document), and the contract test compares it with schema.graphql.
"""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLResolveInfo, GraphQLSchema
from strawberry.types import Info


def resolve_info(info: Info[Any, Any]) -> GraphQLResolveInfo[Any]:
    """graphql-core's resolve info behind strawberry's ``Info``."""
    return info._raw_info


def graphql_schema(schema: strawberry.Schema) -> GraphQLSchema:
    """The executable graphql-core schema strawberry built (resolvers and scalars included)."""
    return schema._schema
