"""A local stand-in for a Cognito user pool: it signs and checks the JWTs users send to AppSync.

AppSync never sees a password: a client signs in with Cognito and sends the token it got in
``Authorization`` (Amplify sends the raw *access* token; gql's ``AppSyncJWTAuthentication`` whatever
it is given). There is no Cognito here, so this pool mints tokens with the same claims Cognito puts
in them and checks them the way AppSync does (signature, issuer, expiry, token use). It signs with a
documented HMAC secret instead of Cognito's RSA keys - like the local IAM key pair, it is public on
purpose: the local server authenticates developers, it does not protect anything.

A user's ``sub`` is derived from the pool and the username, so one name is one user across tokens
and restarts (that is what jobs' ownership is keyed on).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jwt

from jobcore.settings import LOCAL_REGION

LOCAL_USER_POOL_ID = f"{LOCAL_REGION}_AppSyncJobsLocal"
LOCAL_USER_POOL_CLIENT_ID = "appsyncjobslocalclient00000"
#: HS256 key of the local pool (public on purpose, like ``LOCAL_SECRET_ACCESS_KEY``).
LOCAL_USER_POOL_SECRET = "appsync-jobs-local-user-pool-signing-secret"

# What AppSync answers for a token it does not accept (HTTP 401 UnauthorizedException).
TOKEN_EXPIRED = "Token has expired."
TOKEN_INVALID = "Valid authorization header not provided."


class TokenRejected(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class LocalUserPool:
    region: str = LOCAL_REGION
    pool_id: str = LOCAL_USER_POOL_ID
    client_id: str = LOCAL_USER_POOL_CLIENT_ID
    secret: str = LOCAL_USER_POOL_SECRET
    #: Seconds of clock difference tolerated on ``exp``/``iat``.
    leeway: int = 5

    @property
    def issuer(self) -> str:
        return f"https://cognito-idp.{self.region}.amazonaws.com/{self.pool_id}"

    def sub_for(self, username: str) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.issuer}/{username}"))

    def mint(
        self,
        username: str,
        *,
        groups: Sequence[str] = (),
        token_use: str = "access",
        lifetime_seconds: int = 3600,
        now: float | None = None,
    ) -> str:
        """A token shaped like the ones Cognito issues (access: ``username``, id: ``cognito:username``)."""
        issued = int(time.time() if now is None else now)
        claims: dict[str, Any] = {
            "sub": self.sub_for(username),
            "iss": self.issuer,
            "token_use": token_use,
            "auth_time": issued,
            "iat": issued,
            "exp": issued + lifetime_seconds,
            "jti": str(uuid.uuid4()),
            "origin_jti": str(uuid.uuid4()),
            "event_id": str(uuid.uuid4()),
        }
        if token_use == "id":
            claims.update({"aud": self.client_id, "cognito:username": username})
        else:
            claims.update({"client_id": self.client_id, "username": username,
                           "scope": "aws.cognito.signin.user.admin"})
        if groups:
            claims["cognito:groups"] = list(groups)
        return jwt.encode(claims, self.secret, algorithm="HS256")

    def verify(self, token: str) -> dict[str, Any]:
        """The token's claims, or ``TokenRejected`` with AppSync's message."""
        token = token.removeprefix("Bearer ").strip()
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self.secret,
                algorithms=["HS256"],
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": ["sub", "iss", "exp", "token_use"], "verify_aud": False},
            )
        except jwt.ExpiredSignatureError as exc:
            raise TokenRejected(TOKEN_EXPIRED) from exc
        except jwt.PyJWTError as exc:
            raise TokenRejected(TOKEN_INVALID) from exc
        audience = claims.get("client_id") if claims["token_use"] == "access" else claims.get("aud")
        if claims["token_use"] not in ("access", "id") or audience != self.client_id:
            raise TokenRejected(TOKEN_INVALID)
        return claims


def cognito_identity(claims: Mapping[str, Any], source_ips: Sequence[str]) -> dict[str, Any]:
    """AppSync's ``ctx.identity`` for a user-pool caller (spec §4.2)."""
    groups = claims.get("cognito:groups")
    return {
        "sub": claims["sub"],
        "issuer": claims["iss"],
        "username": claims.get("cognito:username") or claims.get("username"),
        "claims": dict(claims),
        "sourceIp": list(source_ips),
        "defaultAuthStrategy": "ALLOW",
        "groups": list(groups) if groups else None,
    }
