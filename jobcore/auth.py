"""Who is calling, and what they may do - one policy for every runtime.

Each runtime only turns its request into a ``Caller`` (AppSync's ``identity`` in the Lambda; headers
and SigV4 in the local server). The decisions live here.

Visibility model: an API key is a shared secret, not a person, so every API-key caller is the same
principal and sees the jobs submitted with an API key. A Cognito/OIDC user sees their own jobs. IAM
principals are ordinary callers - they see the jobs they own (owner = their ARN) - except the stack's
own worker, dead-letter and reaper roles (``ReporterTrust``): those are the trusted reporter, which
may call ``updateJob`` and sees every job. Trust is by role name in the caller's ARN, never by mode
alone: any IAM principal in the account with ``appsync:GraphQL`` on the API could otherwise report
outcomes for every job (issue 12).
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
    #: An IAM caller whose ARN ``ReporterTrust`` names: the stack's worker, DLQ consumer or reaper.
    trusted: bool = False

    @property
    def is_service(self) -> bool:
        """The trusted reporter: may call ``updateJob`` and sees every job."""
        return self.mode is AuthMode.AWS_IAM and self.trusted


API_KEY_CALLER = Caller(AuthMode.API_KEY, "api-key")


@dataclass(frozen=True, slots=True)
class ReporterTrust:
    """Which IAM principals are the trusted reporter.

    ``role_names``: IAM role names (``JOBS_TRUSTED_REPORTER_ROLES``); a caller matches with an ARN
    ``arn:<partition>:sts::<account>:assumed-role/<name>/<session>`` or ``arn:<partition>:iam::<account>:role[/path]/<name>``.
    ``principals``: exact ARNs (the local runtime's own IAM key). Empty (the default) trusts no one:
    fail closed, so a stack without the setting cannot be driven by any IAM principal.

    >>> trust = ReporterTrust(role_names=frozenset({"jobs-worker"}))
    >>> trust.trusts("arn:aws:sts::123456789012:assumed-role/jobs-worker/1a2b")
    True
    >>> trust.trusts("arn:aws:sts::123456789012:assumed-role/someone-else/1a2b")
    False
    """

    role_names: frozenset[str] = frozenset()
    principals: frozenset[str] = frozenset()

    @classmethod
    def from_setting(cls, value: str | None, *, principals: frozenset[str] = frozenset()) -> ReporterTrust:
        """Parse ``JOBS_TRUSTED_REPORTER_ROLES`` (comma separated role names; blanks ignored)."""
        names = frozenset(name.strip() for name in (value or "").split(",") if name.strip())
        return cls(role_names=names, principals=principals)

    @property
    def trusts_no_one(self) -> bool:
        return not self.role_names and not self.principals

    def trusts(self, arn: str) -> bool:
        if arn in self.principals:
            return True
        role = role_name_of(arn)
        return role is not None and role in self.role_names


def role_name_of(arn: str) -> str | None:
    """The IAM role name in an assumed-role session ARN or a role ARN; None for anything else."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        return None
    service, resource = parts[2], parts[5]
    if service == "sts" and resource.startswith("assumed-role/"):
        segments = resource.split("/")
        return segments[1] if len(segments) == 3 and segments[1] and segments[2] else None
    if service == "iam" and resource.startswith("role/"):
        name = resource.rsplit("/", 1)[-1]  # role paths (role/service-role/x) end with the name
        return name or None
    return None


def caller_from_appsync_identity(identity: dict[str, Any] | None, trust: ReporterTrust | None = None) -> Caller:
    """Build the caller from AppSync's ``ctx.identity`` (null for API key, per the AppSync docs).

    An IAM caller is the trusted reporter only if ``trust`` names its ARN; otherwise it is an
    ordinary caller keyed on its ARN.
    """
    if not identity:
        return API_KEY_CALLER
    if "sub" in identity and "issuer" in identity:
        cognito = "cognito" in str(identity.get("issuer"))
        mode = AuthMode.AMAZON_COGNITO_USER_POOLS if cognito else AuthMode.OPENID_CONNECT
        return Caller(mode, str(identity["sub"]))
    arn = identity.get("userArn") or identity.get("username") or identity.get("accountId")
    if arn:
        principal = str(arn)
        return Caller(AuthMode.AWS_IAM, principal, trusted=trust is not None and trust.trusts(principal))
    return API_KEY_CALLER


def ensure_can_read(caller: Caller, job: Job) -> None:
    """Hide jobs the caller may not see as NotFound, so ids of others' jobs cannot be probed."""
    if caller.is_service or caller.principal == job.owner:
        return
    raise JobNotFound(f"Job {job.id} not found")


def ensure_can_report(caller: Caller) -> None:
    """Only the trusted reporter (the stack's worker, DLQ consumer and reaper roles) may report progress
    and outcomes; any other caller, IAM included, gets AppSync's field-level denial."""
    if not caller.is_service:
        raise Unauthorized("Not Authorized to access updateJob on type Mutation")
