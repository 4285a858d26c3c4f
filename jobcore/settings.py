"""Typed settings read from the environment - only by ``jobcore.bootstrap``, never by domain code."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
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


@dataclass(frozen=True, slots=True)
class Settings:
    backend: Literal["aws", "local"]
    region: str
    graphql_url: str | None = None
    table_name: str | None = None
    queue_url: str | None = None
    data_dir: Path = Path(".appsync-jobs")
    retention_days: int = DEFAULT_RETENTION_DAYS
    max_receive_count: int = 3
    visibility_timeout_seconds: int = 900
    #: Extra modules whose import registers user tasks (comma separated in the environment).
    task_modules: tuple[str, ...] = ()
    #: How long a worker's claim lasts without a heartbeat; a crashed attempt is retried after it lapses.
    lease_seconds: int = 60
    visibility_margin_seconds: int = 10
    retry_backoff_base_seconds: int = 2
    access_key_id: str | None = None
    secret_access_key: str | None = None
    session_token: str | None = None
    #: ``JOBS_TRUSTED_REPORTER_ROLES``: IAM role names whose sessions are the trusted reporter.
    trusted_reporter_roles: frozenset[str] = frozenset()
    #: ``JOBS_DLQ_ARCHIVE_URL``: where the dead-letter consumer keeps a redrivable copy of each message.
    dlq_archive_url: str | None = None

    def reporter_trust(self) -> ReporterTrust:
        """Who may call ``updateJob`` and see every job: the configured roles, plus, locally, the local
        server's own IAM key (the embedded worker signs with it). In AWS nothing else is trusted, so an
        unset variable trusts no IAM caller at all (fail closed; ``resolvers.handler`` logs it)."""
        principals: frozenset[str] = frozenset()
        if self.backend == "local" and self.access_key_id:
            principals = frozenset({local_iam_principal(self.access_key_id)})
        return ReporterTrust(role_names=self.trusted_reporter_roles, principals=principals)
    #: The worker Lambda's timeout (the stack sets it on every function), for routing and the registry check.
    lambda_timeout_seconds: int = 900
    #: How long before the Lambda's end an attempt is stopped and handed back (report + release).
    handback_margin_seconds: int = 30
    #: The long-task queue (consumed by the Fargate worker; locally a second SQLite queue).
    long_queue_url: str | None = None
    #: S3 bucket for artifacts and large results (locally: files under ``data_dir/artifacts``).
    artifact_bucket: str | None = None
    #: Lifetime of presigned artifact/upload URLs.
    artifact_url_seconds: int = 900

    @property
    def lambda_budget_seconds(self) -> int:
        """The longest task time limit the Lambda worker can honour: its timeout minus the margin."""
        return max(1, self.lambda_timeout_seconds - self.handback_margin_seconds)
    #: Secrets Manager secret whose value signs listJobs' nextToken (cloud; locally a file in data_dir).
    pagination_secret_arn: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        backend = env.get("APPSYNC_JOBS_BACKEND", "aws")
        if backend not in ("aws", "local"):
            raise ValueError(f"APPSYNC_JOBS_BACKEND must be 'aws' or 'local', not {backend!r}")
        local = backend == "local"
        return cls(
            backend="local" if local else "aws",
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or LOCAL_REGION,
            graphql_url=env.get("GRAPHQL_URL"),
            table_name=env.get("JOBS_TABLE_NAME"),
            queue_url=env.get("JOBS_QUEUE_URL"),
            data_dir=Path(env.get("APPSYNC_JOBS_DATA_DIR", ".appsync-jobs")),
            retention_days=int(env.get("JOBS_RETENTION_DAYS", DEFAULT_RETENTION_DAYS)),
            max_receive_count=int(env.get("JOBS_MAX_RECEIVE_COUNT", "3")),
            visibility_timeout_seconds=int(env.get("JOBS_VISIBILITY_TIMEOUT", "900")),
            lease_seconds=int(env.get("JOBS_LEASE_SECONDS", "60")),
            visibility_margin_seconds=int(env.get("JOBS_VISIBILITY_MARGIN", "10")),
            retry_backoff_base_seconds=int(env.get("JOBS_RETRY_BACKOFF_BASE", "2")),
            task_modules=tuple(m.strip() for m in env.get("APPSYNC_JOBS_TASK_MODULES", "").split(",") if m.strip()),
            access_key_id=env.get("APPSYNC_JOBS_ACCESS_KEY_ID", LOCAL_ACCESS_KEY_ID) if local else None,
            secret_access_key=env.get("APPSYNC_JOBS_SECRET_ACCESS_KEY", LOCAL_SECRET_ACCESS_KEY) if local else None,
            trusted_reporter_roles=ReporterTrust.from_setting(env.get("JOBS_TRUSTED_REPORTER_ROLES")).role_names,
            dlq_archive_url=env.get("JOBS_DLQ_ARCHIVE_URL") or None,
            lambda_timeout_seconds=int(env.get("JOBS_LAMBDA_TIMEOUT_SECONDS", "900")),
            handback_margin_seconds=int(env.get("JOBS_HANDBACK_MARGIN_SECONDS", "30")),
            long_queue_url=env.get("JOBS_LONG_QUEUE_URL"),
            artifact_bucket=env.get("JOBS_ARTIFACT_BUCKET"),
            artifact_url_seconds=int(env.get("JOBS_ARTIFACT_URL_SECONDS", "900")),
            pagination_secret_arn=env.get("JOBS_PAGINATION_SECRET_ARN") or None,
        )
