"""Who is calling, and what they may do - one policy for every runtime.

Each runtime only turns its request into a ``Caller`` (AppSync's ``identity`` in the Lambda; headers
and SigV4 in the local server). The decisions live here.

Visibility model: an API key is a shared secret, not a person, so every API-key caller is the same
principal and sees the jobs submitted with an API key. A Cognito/OIDC user sees their own jobs. IAM
principals are backend services whose reach AWS IAM already restricts field by field (the worker
may call only ``updateJob``), so they see every job.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from jobcore.domain.job import Job
from jobcore.errors import JobNotFound, Unauthorized


class AuthMode(StrEnum):
    API_KEY = "API_KEY"
    AWS_IAM = "AWS_IAM"
    AMAZON_COGNITO_USER_POOLS = "AMAZON_COGNITO_USER_POOLS"
    OPENID_CONNECT = "OPENID_CONNECT"


@dataclass(frozen=True, slots=True)
class Caller:
    mode: AuthMode
    #: Stable identity: "api-key", an IAM user/role ARN, or a user's ``sub``.
    principal: str
    #: A token-authenticated user's claims (Cognito/OIDC), for building AppSync's ``ctx.identity``.
    claims: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)

    @property
    def is_service(self) -> bool:
        return self.mode is AuthMode.AWS_IAM


API_KEY_CALLER = Caller(AuthMode.API_KEY, "api-key")


def caller_from_appsync_identity(identity: dict[str, Any] | None) -> Caller:
    """Build the caller from AppSync's ``ctx.identity`` (null for API key, per the AppSync docs)."""
    if not identity:
        return API_KEY_CALLER
    if "sub" in identity and "issuer" in identity:
        cognito = "cognito" in str(identity.get("issuer"))
        mode = AuthMode.AMAZON_COGNITO_USER_POOLS if cognito else AuthMode.OPENID_CONNECT
        return Caller(mode, str(identity["sub"]))
    arn = identity.get("userArn") or identity.get("username") or identity.get("accountId")
    if arn:
        return Caller(AuthMode.AWS_IAM, str(arn))
    return API_KEY_CALLER


def ensure_can_read(caller: Caller, job: Job) -> None:
    """Hide jobs the caller may not see as NotFound, so ids of others' jobs cannot be probed."""
    if caller.is_service or caller.principal == job.owner:
        return
    raise JobNotFound(f"Job {job.id} not found")


def ensure_can_report(caller: Caller) -> None:
    """Only the worker (an IAM principal) may report progress and outcomes."""
    if not caller.is_service:
        raise Unauthorized("Not Authorized to access updateJob on type Mutation")
