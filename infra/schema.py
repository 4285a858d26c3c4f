"""The schema AppSync receives: ``schema.graphql`` cut to the auth modes this stack configures.

``schema.graphql`` lists ``@aws_cognito_user_pools`` on every client-facing type and field so a
stack with the optional user pool needs no second copy. A stack without the pool must not send that
directive: AppSync would have to resolve a mode the API does not have. So the directive is removed
here, at synth time, from the one source file - never from a hand-kept variant.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, cast

import jsii
from aws_cdk import aws_appsync as appsync

_COGNITO_DIRECTIVE = re.compile(r"[ \t]*@aws_cognito_user_pools(\([^)]*\))?")


def deployed_schema(text: str, *, cognito: bool) -> str:
    """The SDL for an API with (``cognito=True``) or without the user-pool auth mode."""
    if cognito:
        return text
    lines = []
    for line in text.splitlines(keepends=True):
        if line.lstrip().startswith("#"):
            lines.append(line)  # comments may name the directive; they are not SDL
            continue
        stripped = _COGNITO_DIRECTIVE.sub("", line)
        if stripped.strip() or not line.strip():
            lines.append(stripped)
    return "".join(lines)


@jsii.implements(appsync.ISchema)
class RenderedSchema:
    """A ``Definition.from_schema`` source whose SDL is computed, not read verbatim from a file."""

    def __init__(self, path: Path, *, cognito: bool) -> None:
        self.definition = deployed_schema(path.read_text(encoding="utf-8"), cognito=cognito)

    def bind(self, api: Any) -> appsync.ISchemaConfig:
        # cast: jsii needs read-only properties here, which mypy's view of the protocol calls settable.
        return cast("appsync.ISchemaConfig", _SchemaConfig(api.api_id, self.definition))


@jsii.implements(appsync.ISchemaConfig)
class _SchemaConfig:
    def __init__(self, api_id: str, definition: str) -> None:
        self._api_id = api_id
        self._definition = definition

    @property
    def api_id(self) -> str:
        return self._api_id

    @property
    def definition(self) -> str:
        return self._definition
