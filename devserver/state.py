"""What every request handler of the local server shares (one instance per server)."""

from __future__ import annotations

from dataclasses import dataclass

import strawberry

from devserver.auth_rules import AuthRules
from devserver.identity import AuthConfig
from devserver.pubsub import PubSub


@dataclass
class ServerState:
    schema: strawberry.Schema
    rules: AuthRules
    pubsub: PubSub
    auth: AuthConfig
