"""Subscriptions on the local server.

AppSync's real-time (``graphql-ws``) protocol is a transport-free state machine (``protocol``,
``types``), the seam to the GraphQL server (``source``) and a Starlette endpoint (``asgi``).
``subscriptions`` is the server's side of that seam: it validates, authorizes and runs a start
against the schema. ``transport_ws`` serves the standard ``graphql-transport-ws`` protocol at
``/graphql``; ``pubsub`` carries published mutation results to subscribers of both, after the
AppSync enhanced filters of ``subscription_filter``.

Only the protocol's names are re-exported here: importing this package must not import the schema.
"""

from devserver.realtime.asgi import connection_header, decode_header_object, make_realtime_endpoint
from devserver.realtime.protocol import ConnectionState, ProtocolConfig, RealtimeConnection, RealtimeTransport
from devserver.realtime.source import StartRejected, SubscriptionSource

__all__ = [
    "ConnectionState",
    "ProtocolConfig",
    "RealtimeConnection",
    "RealtimeTransport",
    "StartRejected",
    "SubscriptionSource",
    "connection_header",
    "decode_header_object",
    "make_realtime_endpoint",
]
