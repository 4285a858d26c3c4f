"""The AppSync real-time (``graphql-ws``) messages, one TypedDict each (spec §1.4).

These are AWS's own protocol, not Apollo's ``subscriptions-transport-ws`` even though the
subprotocol name is the same. Client messages are what gql 4.x and Amplify v6 send; server
messages are what they accept. Ids are echoed verbatim: gql sends ``"1"``, ``"2"`` … and
int-parses the answers, Amplify sends UUIDs.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

#: The only subprotocol AppSync negotiates.
SUBPROTOCOL: Literal["graphql-ws"] = "graphql-ws"

#: A subscription id as the client sent it (a string from both clients; echoed unchanged).
SubscriptionId = str | int

ClientMessageType = Literal["connection_init", "start", "stop"]
ServerMessageType = Literal["connection_ack", "connection_error", "ka", "start_ack", "data", "error", "complete"]


class AppSyncError(TypedDict, total=False):
    """One entry of ``payload.errors``. Validation errors from AppSync carry only ``message``."""

    errorType: str
    message: str
    #: Only on ``connection_error`` (400/401/403 make Amplify stop retrying).
    errorCode: int


# --- client -> server --------------------------------------------------------------------------------


class ConnectionInitMessage(TypedDict):
    """Client -> server. Optional payload: gql sends ``{}``, Amplify sends none."""

    type: Literal["connection_init"]
    payload: NotRequired[dict[str, Any]]


class StartExtensions(TypedDict, total=False):
    #: The auth header object for this start (any case keys), signed over ``data`` for IAM.
    authorization: dict[str, Any]


class StartPayload(TypedDict):
    #: A JSON *string* holding ``{"query", "variables"?, "operationName"?}``.
    data: str
    extensions: NotRequired[StartExtensions]


class StartMessage(TypedDict):
    """Client -> server: register a subscription."""

    id: SubscriptionId
    type: Literal["start"]
    payload: StartPayload


class StopMessage(TypedDict):
    """Client -> server: end a subscription; answered with ``complete``."""

    type: Literal["stop"]
    id: SubscriptionId


class StartRequest(TypedDict):
    """The decoded ``StartPayload.data`` handed to the ``SubscriptionSource``."""

    query: str
    variables: dict[str, Any]
    operationName: NotRequired[str]


# --- server -> client --------------------------------------------------------------------------------


class ConnectionAckPayload(TypedDict):
    #: Longest silence (no ``ka``/``data``) before the client should drop the connection.
    connectionTimeoutMs: int


class ConnectionAckMessage(TypedDict):
    """Server -> client, answer to ``connection_init``. The payload must be an object (Amplify)."""

    type: Literal["connection_ack"]
    payload: ConnectionAckPayload


class ErrorsPayload(TypedDict):
    errors: list[AppSyncError]


class ConnectionErrorMessage(TypedDict):
    """Server -> client: the connection's auth failed; the server closes afterwards."""

    type: Literal["connection_error"]
    payload: ErrorsPayload


class KeepAliveMessage(TypedDict):
    """Server -> client heartbeat, about every 60 s. Clients never answer it."""

    type: Literal["ka"]


class StartAckMessage(TypedDict):
    """Server -> client: the subscription is registered (Amplify fails it without this in 15 s)."""

    type: Literal["start_ack"]
    id: SubscriptionId


class DataPayload(TypedDict):
    #: Never null: Amplify drops data frames whose ``payload.data`` is falsy.
    data: dict[str, Any]
    errors: NotRequired[list[dict[str, Any]]]


class DataMessage(TypedDict):
    """Server -> client: one subscription event."""

    type: Literal["data"]
    id: SubscriptionId
    payload: DataPayload


class ErrorMessage(TypedDict):
    """Server -> client. With an ``id`` it fails that subscription only; without one gql closes the
    whole transport, so id-less errors are reserved for messages that cannot be attributed."""

    type: Literal["error"]
    id: NotRequired[SubscriptionId]
    payload: ErrorsPayload


class CompleteMessage(TypedDict):
    """Server -> client: confirms a ``stop`` (gql waits up to 10 s for it on close) or a source that ended."""

    type: Literal["complete"]
    id: SubscriptionId


ClientMessage = ConnectionInitMessage | StartMessage | StopMessage
ServerMessage = (
    ConnectionAckMessage
    | ConnectionErrorMessage
    | KeepAliveMessage
    | StartAckMessage
    | DataMessage
    | ErrorMessage
    | CompleteMessage
)
