"""Typed settings read from the environment - only by ``jobcore.bootstrap``, never by domain code."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from jobcore.auth import ReporterTrust
from jobcore.table_schema import DEFAULT_RETENTION_DAYS

#: Credentials the local server accepts for SigV4 (IAM) requests. They are public on purpose: they
#: prove the signing code path, not an identity. Override them with the variables below.
LOCAL_ACCESS_KEY_ID = "AKIAAPPSYNCJOBSLOCAL"
LOCAL_SECRET_ACCESS_KEY = "appsync-jobs-local-secret-access-key"
LOCAL_API_KEY = "da2-appsyncjobslocal0000000000"
LOCAL_REGION = "us-east-1"
#: The account every locally-signed IAM principal belongs to (twelve zeros, as LocalStack and moto use).
LOCAL_ACCOUNT_ID = "000000000000"


def local_iam_principal(access_key_id: str) -> str:
    """The IAM user ARN a local access key stands for (``ctx.identity.userArn`` on the local server)."""
    return f"arn:aws:iam::{LOCAL_ACCOUNT_ID}:user/{access_key_id}"


def parse_access_keys(value: str | None) -> dict[str, str]:
    """``APPSYNC_JOBS_EXTRA_ACCESS_KEYS``: ``AKID:secret,AKID2:secret2`` -> {access key id: secret}."""
    keys: dict[str, str] = {}
    for pair in (value or "").split(","):
        if not pair.strip():
            continue
        key_id, sep, secret = pair.strip().partition(":")
        if not sep or not key_id or not secret:
            raise ValueError("APPSYNC_JOBS_EXTRA_ACCESS_KEYS entries must be ACCESS_KEY_ID:SECRET")
        keys[key_id] = secret
    return keys


#: How long a received message stays hidden before its claim ties it to lease + margin (the worst-case
#: recovery after a crash in that moment). The stack sets ``JOBS_VISIBILITY_TIMEOUT`` in AWS; locally
#: a short default keeps that recovery short.
DEFAULT_VISIBILITY_TIMEOUT_SECONDS = 900
LOCAL_VISIBILITY_TIMEOUT_SECONDS = 90


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the runtime reads from its environment, under one set of names.

    The Lambdas build it with ``from_env``; ``appsync-jobs dev``/``worker`` build it the same way and
    let a command-line option replace the field of the same name (``--lease-seconds`` replaces
    ``lease_seconds``), so a variable is read in one place and a value has one name end to end.
    """

    backend: Literal["aws", "local"]
    region: str
    #: ``GRAPHQL_URL``: where the worker reports (``updateJob``); the local server sets its own URL.
    graphql_url: str | None = None
    table_name: str | None = None
    queue_url: str | None = None
    data_dir: Path = Path(".appsync-jobs")
    retention_days: int = DEFAULT_RETENTION_DAYS
    max_receive_count: int = 3
    visibility_timeout_seconds: int = DEFAULT_VISIBILITY_TIMEOUT_SECONDS
    #: Extra modules whose import registers user tasks (comma separated in the environment).
    task_modules: tuple[str, ...] = ()
    #: How long a worker's claim lasts without a heartbeat; a crashed attempt is retried after it lapses.
    lease_seconds: int = 60
    visibility_margin_seconds: int = 10
    retry_backoff_base_seconds: int = 2
    #: ``JOBS_REAPER_INTERVAL``: how often the local runtime runs the reaper (in AWS an EventBridge
    #: schedule, ``reaper_rate_minutes`` of the stack, runs it instead).
    reaper_interval_seconds: float = 30.0
    access_key_id: str | None = None
    secret_access_key: str | None = None
    session_token: str | None = None
    #: ``APPSYNC_JOBS_CA_BUNDLE``: the CA the reporter trusts for an https ``graphql_url`` (a local
    #: ``--tls`` server's ``ca.pem``); unset, the system's authorities.
    ca_bundle: Path | None = None
    #: ``JOBS_TRUSTED_REPORTER_ROLES``: IAM role names whose sessions are the trusted reporter.
    trusted_reporter_roles: frozenset[str] = frozenset()
    #: ``JOBS_DLQ_ARCHIVE_URL``: where the dead-letter consumer keeps a redrivable copy of each message.
    dlq_archive_url: str | None = None
    #: The worker Lambda's timeout (the stack sets it on every function), for routing and the registry check.
    lambda_timeout_seconds: int = 900
    #: How long before the Lambda's end an attempt is stopped and handed back (report + release).
    handback_margin_seconds: int = 30
    #: The long-task queue (consumed by the Fargate worker; locally a second SQLite queue).
    long_queue_url: str | None = None
    #: ``JOBS_LONG_CONCURRENCY``: jobs one Fargate long-worker task runs at once (threads).
    long_concurrency: int = 1
    #: S3 bucket for artifacts and large results (locally: files under ``data_dir/artifacts``).
    artifact_bucket: str | None = None
    #: Lifetime of presigned artifact/upload URLs.
    artifact_url_seconds: int = 900
    #: Secrets Manager secret whose value signs listJobs' nextToken (cloud; locally a file in data_dir).
    pagination_secret_arn: str | None = None

    def reporter_trust(self) -> ReporterTrust:
        """Who may call ``updateJob`` and see every job: the configured roles, plus, locally, the local
        server's own IAM key (the embedded worker signs with it). In AWS nothing else is trusted, so an
        unset variable trusts no IAM caller at all (fail closed; ``resolvers.handler`` logs it)."""
        principals: frozenset[str] = frozenset()
        if self.backend == "local" and self.access_key_id:
            principals = frozenset({local_iam_principal(self.access_key_id)})
        return ReporterTrust(role_names=self.trusted_reporter_roles, principals=principals)

    @property
    def lambda_budget_seconds(self) -> int:
        """The longest task time limit the Lambda worker can honour: its timeout minus the margin."""
        return max(1, self.lambda_timeout_seconds - self.handback_margin_seconds)

    def with_overrides(self, **values: object) -> Settings:
        """These settings with the given fields replaced; ``None`` means "not given" (an unset option)."""
        return replace(self, **{name: value for name, value in values.items() if value is not None})  # type: ignore[arg-type]

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, backend: Literal["aws", "local"] | None = None
                 ) -> Settings:
        """The one place the runtime reads its environment. ``backend`` is fixed by the caller that
        knows it (``appsync-jobs dev``/``worker`` are always local); otherwise ``APPSYNC_JOBS_BACKEND``."""
        env = os.environ if env is None else env
        chosen = backend or env.get("APPSYNC_JOBS_BACKEND", "aws")
        if chosen not in ("aws", "local"):
            raise ValueError(f"APPSYNC_JOBS_BACKEND must be 'aws' or 'local', not {chosen!r}")
        local = chosen == "local"
        visibility_default = LOCAL_VISIBILITY_TIMEOUT_SECONDS if local else DEFAULT_VISIBILITY_TIMEOUT_SECONDS
        ca_bundle = env.get("APPSYNC_JOBS_CA_BUNDLE")
        return cls(
            backend="local" if local else "aws",
            # The local runtime is always in the documented local region (its SigV4 scope, its user
            # pool's issuer), whatever region the developer's shell is set to.
            region=LOCAL_REGION if local else env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or LOCAL_REGION,
            graphql_url=env.get("GRAPHQL_URL"),
            table_name=env.get("JOBS_TABLE_NAME"),
            queue_url=env.get("JOBS_QUEUE_URL"),
            data_dir=Path(env.get("APPSYNC_JOBS_DATA_DIR", ".appsync-jobs")),
            retention_days=int(env.get("JOBS_RETENTION_DAYS", DEFAULT_RETENTION_DAYS)),
            max_receive_count=int(env.get("JOBS_MAX_RECEIVE_COUNT", "3")),
            visibility_timeout_seconds=int(env.get("JOBS_VISIBILITY_TIMEOUT", visibility_default)),
            lease_seconds=int(env.get("JOBS_LEASE_SECONDS", "60")),
            visibility_margin_seconds=int(env.get("JOBS_VISIBILITY_MARGIN", "10")),
            retry_backoff_base_seconds=int(env.get("JOBS_RETRY_BACKOFF_BASE", "2")),
            reaper_interval_seconds=float(env.get("JOBS_REAPER_INTERVAL", "30")),
            task_modules=split_modules(env.get("APPSYNC_JOBS_TASK_MODULES")),
            access_key_id=env.get("APPSYNC_JOBS_ACCESS_KEY_ID", LOCAL_ACCESS_KEY_ID) if local else None,
            secret_access_key=env.get("APPSYNC_JOBS_SECRET_ACCESS_KEY", LOCAL_SECRET_ACCESS_KEY) if local else None,
            ca_bundle=Path(ca_bundle) if ca_bundle else None,
            trusted_reporter_roles=ReporterTrust.from_setting(env.get("JOBS_TRUSTED_REPORTER_ROLES")).role_names,
            dlq_archive_url=env.get("JOBS_DLQ_ARCHIVE_URL") or None,
            lambda_timeout_seconds=int(env.get("JOBS_LAMBDA_TIMEOUT_SECONDS", "900")),
            handback_margin_seconds=int(env.get("JOBS_HANDBACK_MARGIN_SECONDS", "30")),
            long_queue_url=env.get("JOBS_LONG_QUEUE_URL"),
            long_concurrency=int(env.get("JOBS_LONG_CONCURRENCY", "1")),
            artifact_bucket=env.get("JOBS_ARTIFACT_BUCKET"),
            artifact_url_seconds=int(env.get("JOBS_ARTIFACT_URL_SECONDS", "900")),
            pagination_secret_arn=env.get("JOBS_PAGINATION_SECRET_ARN") or None,
        )


def split_modules(value: str | None) -> tuple[str, ...]:
    """``APPSYNC_JOBS_TASK_MODULES`` / ``--task-modules``: ``a.tasks, b.tasks`` -> ("a.tasks", "b.tasks")."""
    return tuple(m.strip() for m in (value or "").split(",") if m.strip())
