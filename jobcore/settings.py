"""Typed settings read from the environment - only by ``jobcore.bootstrap``, never by domain code."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from jobcore.table_schema import DEFAULT_RETENTION_DAYS

#: Credentials the local server accepts for SigV4 (IAM) requests. They are public on purpose: they
#: prove the signing code path, not an identity. Override them with the variables below.
LOCAL_ACCESS_KEY_ID = "AKIAAPPSYNCJOBSLOCAL"
LOCAL_SECRET_ACCESS_KEY = "appsync-jobs-local-secret-access-key"
LOCAL_API_KEY = "da2-appsyncjobslocal0000000000"
LOCAL_REGION = "us-east-1"


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
            pagination_secret_arn=env.get("JOBS_PAGINATION_SECRET_ARN") or None,
        )
