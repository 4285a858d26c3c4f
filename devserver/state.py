"""What every request handler of the local server shares (one instance per server)."""

from __future__ import annotations

from dataclasses import dataclass

import strawberry

from devserver.auth.auth_rules import AuthRules
from devserver.auth.identity import AuthConfig
from devserver.realtime.pubsub import PubSub


@dataclass
class ServerState:
    schema: strawberry.Schema
    rules: AuthRules
    pubsub: PubSub
    auth: AuthConfig
