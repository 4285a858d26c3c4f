"""AppSync's real-time (``graphql-ws``) subscription protocol: a transport-free state machine
(``protocol``), the seam to the GraphQL server (``source``) and a Starlette endpoint (``asgi``)."""

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
