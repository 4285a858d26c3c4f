"""Per-request state the local server's resolvers need (the caller and how to reach the Lambda)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from devserver.auth.auth_rules import AuthRules
from devserver.realtime.pubsub import PubSub
from jobcore.auth import Caller


@dataclass
class RequestContext:
    caller: Caller
    #: AppSync ``ctx.identity`` for the resolver event (None for API key, as on AppSync).
    identity: dict[str, Any] | None
    #: Lower-case request headers, as AppSync puts them in ``ctx.request.headers`` (no cookie).
    headers: Mapping[str, str]
    rules: AuthRules
    pubsub: PubSub
    #: graphql-transport-ws connection_init payload (strawberry sets it on the context).
    connection_params: Any = None
    extra: dict[str, Any] = field(default_factory=dict)
