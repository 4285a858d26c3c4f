"""Enforces schema.graphql's auth directives on every field the local server resolves."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from strawberry.extensions import SchemaExtension

from resolvers.envelope import FieldError


class AppSyncAuthExtension(SchemaExtension):
    def resolve(self, _next: Callable[..., Any], root: Any, info: Any, *args: Any, **kwargs: Any) -> Any:
        context = info.context
        type_name, field_name = info.parent_type.name, info.field_name
        if not context.rules.permits(context.caller.mode, type_name, field_name):
            message = f"Not Authorized to access {field_name} on type {type_name}"
            raise FieldError(message, "Unauthorized")
        return _next(root, info, *args, **kwargs)
