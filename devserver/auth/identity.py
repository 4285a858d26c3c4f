"""Turn request credentials into a ``jobcore.auth.Caller`` the way AppSync does.

AppSync infers the auth mode of a request from the headers present: a SigV4 ``Authorization`` means
IAM, an ``x-api-key`` means API key (spec §6). The same rules apply to the realtime "header object"
sent on connect (query string, ``header-`` subprotocol or upgrade headers) and inside every
``start`` message's ``extensions.authorization`` (spec §1.3, §1.4). Failures here are request-level
authentication failures: the HTTP server answers 401 ``UnauthorizedException`` and the realtime
endpoint sends ``connection_error`` (or an ``error`` for that start).

Any other ``Authorization`` is a user-pool JWT, checked by the local user pool
(``devserver.auth.user_pool``) when the server has one. OIDC and Lambda authorizers are not emulated.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any

from devserver.auth import sigv4
from devserver.auth.user_pool import LocalUserPool, TokenRejected, cognito_identity
from jobcore.auth import API_KEY_CALLER, AuthMode, Caller
from jobcore.settings import LOCAL_ACCESS_KEY_ID, LOCAL_API_KEY, LOCAL_REGION, LOCAL_SECRET_ACCESS_KEY

#: The account every locally-signed IAM principal belongs to. Twelve zeros is what LocalStack and
#: moto use too, so ARNs look real but can never collide with a real account.
LOCAL_ACCOUNT_ID = "000000000000"

# AppSync's texts for request-level auth failures (spec §5.5).
NOT_AUTHORIZED = "You are not authorized to make this call."
NO_VALID_AUTH_HEADER = "Valid authorization header not provided."
#: What AppSync answers for an IAM start the policy does not allow (spec §1.4); kept for callers.
PERMISSION_DENIED = "Permission denied"

_SIGV4_PREFIX = sigv4.ALGORITHM


class AuthenticationFailed(Exception):
    """The request's credentials are missing, unknown or badly signed (never an authorization denial)."""

    error_type = "UnauthorizedException"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class AuthConfig:
    """What the local API accepts: its API keys, its IAM key pairs and the region IAM callers sign for."""

    api_keys: frozenset[str]
    #: Access key id -> secret access key.
    credentials: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    region: str = LOCAL_REGION
    max_clock_skew: timedelta = sigv4.DEFAULT_MAX_CLOCK_SKEW
    #: Accept user-pool JWTs signed by this local pool (``None``: the Cognito mode is off).
    user_pool: LocalUserPool | None = None

    @classmethod
    def local_default(cls) -> AuthConfig:
        """The well-known local credentials from ``jobcore.settings`` (public on purpose)."""
        return cls(
            api_keys=frozenset({LOCAL_API_KEY}),
            credentials=MappingProxyType({LOCAL_ACCESS_KEY_ID: LOCAL_SECRET_ACCESS_KEY}),
            region=LOCAL_REGION,
            max_clock_skew=sigv4.DEFAULT_MAX_CLOCK_SKEW,
            user_pool=LocalUserPool(region=LOCAL_REGION),
        )


def authenticate_http(
    headers: Mapping[str, str],
    body: bytes,
    path: str,
    config: AuthConfig,
    now: datetime,
    *,
    method: str = "POST",
    query: str = "",
) -> Caller:
    """Authenticate an HTTP GraphQL request.

    ``path``, ``query`` and ``method`` are the real request's: HTTP clients sign the URL they call
    (gql signs ``https://{host}/graphql``, so serve GraphQL at ``/graphql``).
    """
    return _authenticate(headers, body, method, path, query, config, now)


def authenticate_realtime(
    header: Mapping[str, Any], *, body: str, path: str, config: AuthConfig, now: datetime
) -> Caller:
    """Authenticate a realtime header object.

    For the connection: ``path="/graphql/connect"``, ``body="{}"``; for a start: ``path="/graphql"``,
    ``body`` = the start's exact ``payload.data`` string - that is what clients sign (spec §1.3).
    Header values are coerced to text, because the object arrives as decoded JSON.
    """
    return _authenticate(header, body.encode("utf-8"), "POST", path, "", config, now)


def appsync_identity(caller: Caller, source_ip: str | Sequence[str]) -> dict[str, Any] | None:
    """AppSync's ``ctx.identity`` for the caller (spec §4.2): the IAM or user-pool shape, ``None`` for
    an API key.

    For IAM, ``username`` is the last segment of the principal ARN (the access key id for local
    callers); real AppSync puts the IAM unique id there, which the local server cannot know.
    """
    ips = [source_ip] if isinstance(source_ip, str) else list(source_ip)
    if caller.mode is AuthMode.AMAZON_COGNITO_USER_POOLS and caller.claims is not None:
        return cognito_identity(caller.claims, ips)
    if caller.mode is not AuthMode.AWS_IAM:
        return None
    arn = caller.principal
    account = arn.split(":")[4] if arn.startswith("arn:") and arn.count(":") >= 5 else LOCAL_ACCOUNT_ID
    return {
        "accountId": account,
        "cognitoIdentityPoolId": None,
        "cognitoIdentityId": None,
        "sourceIp": ips,
        "username": arn.rsplit("/", 1)[-1],
        "userArn": arn,
        "cognitoIdentityAuthType": None,
        "cognitoIdentityAuthProvider": None,
    }


def iam_principal(access_key_id: str) -> str:
    """The fake IAM user ARN a local access key stands for."""
    return f"arn:aws:iam::{LOCAL_ACCOUNT_ID}:user/{access_key_id}"


def _authenticate(
    headers: Mapping[str, Any],
    body: bytes,
    method: str,
    path: str,
    query: str,
    config: AuthConfig,
    now: datetime,
) -> Caller:
    lowered = {str(name).lower(): str(value) for name, value in headers.items() if value is not None}
    authorization = lowered.get("authorization", "")
    if authorization.startswith(_SIGV4_PREFIX):
        try:
            verified = sigv4.verify(
                method=method,
                path=path,
                headers=lowered,
                body=body,
                credentials=config.credentials.get,
                region=config.region,
                now=now,
                max_clock_skew=config.max_clock_skew,
                query=query,
            )
        except sigv4.SignatureError as error:
            raise AuthenticationFailed(error.message) from error
        return Caller(AuthMode.AWS_IAM, iam_principal(verified.access_key_id))
    api_key = lowered.get("x-api-key")
    if api_key is not None:
        if api_key in config.api_keys:
            return API_KEY_CALLER
        raise AuthenticationFailed(NOT_AUTHORIZED)
    if authorization:
        if config.user_pool is None:
            raise AuthenticationFailed(NO_VALID_AUTH_HEADER)
        try:
            claims = config.user_pool.verify(authorization)
        except TokenRejected as error:
            raise AuthenticationFailed(error.message) from error
        return Caller(AuthMode.AMAZON_COGNITO_USER_POOLS, str(claims["sub"]), claims=claims)
    raise AuthenticationFailed(NOT_AUTHORIZED)
