"""One typed configuration for the stack, read from CDK context (``cdk.json`` defaults, ``-c key=value``).

Every knob the stack has lives here, so tests build a stack by handing over a plain dict and the
stack itself never calls ``try_get_context``. Values given on the command line arrive as strings
(``-c worker_batch_size=5``), so each field is coerced and range-checked once, here, with an error
that names the context key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Final, Literal

from jobcore.table_schema import DEFAULT_RETENTION_DAYS

Stage = Literal["dev", "prod"]
FieldLogLevel = Literal["ERROR", "ALL", "INFO", "DEBUG"]

#: Handler strings of the four functions. They share one code asset; only these differ. ``infra``
#: never imports the modules (deploy-time code must not pull in runtime dependencies); a test checks
#: that each ``<module>.<attr>`` names a real file and a top-level name in it.
RESOLVERS_HANDLER: Final = "resolvers.handler.lambda_handler"
WORKER_HANDLER: Final = "worker.handler.lambda_handler"
DLQ_HANDLER: Final = "worker.dlq.lambda_handler"
REAPER_HANDLER: Final = "worker.reaper.lambda_handler"
HANDLERS: Final = (RESOLVERS_HANDLER, WORKER_HANDLER, DLQ_HANDLER, REAPER_HANDLER)

#: Lambda's ceiling; also the worker's default, so a task gets the longest run a Lambda allows.
MAX_LAMBDA_TIMEOUT_SECONDS: Final = 900
#: SQS's ceiling for a queue's visibility timeout (12 h).
MAX_VISIBILITY_TIMEOUT_SECONDS: Final = 43_200
#: Lambda's guidance for SQS event sources: queue visibility timeout >= 6x the function timeout.
VISIBILITY_TIMEOUT_FACTOR: Final = 6

#: AppSync's limits for an API key's lifetime are 1-365 days from the moment CloudFormation creates
#: or updates it; the expiry is fixed at synth, so both ends keep a margin for synth-to-deploy lag.
MIN_API_KEY_EXPIRY_DAYS: Final = 2
MAX_API_KEY_EXPIRY_DAYS: Final = 300
DEFAULT_API_KEY_EXPIRY_DAYS: Final = 180

# CloudWatch Logs accepts only these retention periods (days).
_LOG_RETENTION_DAYS: Final = frozenset(
    {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}
)
_PREFIX_RE: Final = re.compile(r"^[a-z][a-z0-9-]{0,30}$")
# Cognito accepts https callbacks, and plain http only for localhost.
_CALLBACK_RE: Final = re.compile(r"^(https://[^\s,]+|http://localhost(:\d+)?(/[^\s,]*)?)$")


class ConfigError(ValueError):
    """Raised when a context value is missing, of the wrong type or out of range."""


@dataclass(frozen=True, slots=True)
class JobsConfig:
    """Everything that varies between deployments of the jobs stack.

    Examples
    --------
    >>> cfg = JobsConfig.from_context({"stage": "prod", "worker_batch_size": "5"})
    >>> (cfg.stack_name, cfg.worker_batch_size, cfg.retain_data)
    ('appsync-jobs-prod', 5, True)
    """

    stage: Stage = "dev"
    #: Names the stack (``<prefix>-<stage>``) and the API; lower-case, so it is valid everywhere.
    prefix: str = "appsync-jobs"

    # --- AppSync ---------------------------------------------------------------------------
    #: The default-mode API key's lifetime. AppSync accepts 1-365 days *counted at deploy time*,
    #: but CDK computes the expiry at synth, so a template synthesized at 365 days fails to deploy
    #: a moment later (and a pipeline may deploy a day after it synthesizes). Capped at
    #: ``MAX_API_KEY_EXPIRY_DAYS`` for that margin; each deploy pushes the expiry forward, and
    #: docs/deploy.md has the rotation procedure for stacks that are not redeployed in time.
    api_key_expiry_days: int = DEFAULT_API_KEY_EXPIRY_DAYS
    #: Bump to rotate the API key: a new generation gives the key resource a new logical id, so
    #: CloudFormation creates a new key (new value) and deletes the old one in the same deploy.
    #: 0 keeps CDK's own logical id (the key deployed before this knob existed).
    api_key_generation: int = 0
    #: ERROR by default: failed resolvers are logged with their request and context, successes are
    #: not. ALL logs every field resolution including job payloads and results (possible user data,
    #: and CloudWatch ingestion cost per request), so turn it on per stage only while debugging.
    api_field_log_level: FieldLogLevel = "ERROR"
    #: Adds a Cognito user pool as a third auth mode (for an Amplify frontend with sign-in).
    enable_cognito: bool = False
    #: Comma-separated OAuth callback URLs of the Cognito app client (the hosted UI / Amplify
    #: ``signInWithRedirect``). Empty: OAuth is off on the client (SRP sign-in only), instead of
    #: CDK's default of the implicit grant with an https://example.com callback.
    cognito_callback_urls: str = ""
    #: Puts an AWS WAFv2 web ACL with a per-IP rate-based rule in front of the API. Always on in
    #: prod (``waf_enabled``); opt-in for dev, where the ~$6/month would often be wasted.
    enable_waf: bool = False
    #: Requests one client IP may make in any 5-minute window before WAF blocks it (WAF: 10-2e9).
    waf_rate_limit: int = 2000

    # --- queue and worker -------------------------------------------------------------------
    worker_timeout_seconds: int = MAX_LAMBDA_TIMEOUT_SECONDS
    worker_memory_mb: int = 1024
    #: 1 by default: jobs are long, and a batch shares one invocation's timeout, so a second job in
    #: the same batch would wait for the first. Raise it for many short jobs.
    worker_batch_size: int = 1
    worker_batching_window_seconds: int = 0
    #: Caps concurrent worker invocations from the queue (SQS event source: 2-1000).
    worker_max_concurrency: int = 10
    #: Receives before SQS moves a message to the DLQ (each failed worker attempt is one receive).
    max_receive_count: int = 3
    queue_retention_days: int = 4
    dlq_retention_days: int = 14

    # --- long tasks (ECS Fargate) and artifacts (S3) ----------------------------------------
    #: Seconds before the worker Lambda's end that an attempt is stopped and handed back; tasks whose
    #: time limit exceeds worker_timeout_seconds minus this are routed to the Fargate long worker.
    handback_margin_seconds: int = 30
    #: Fargate task size of the long worker (valid Fargate cpu/memory pairs, e.g. 1024/2048).
    long_worker_cpu: int = 1024
    long_worker_memory_mb: int = 2048
    #: At most this many long-worker tasks; the service scales from 0 on the long queue's depth.
    long_worker_max_tasks: int = 10
    #: Lifetime of presigned artifact and upload URLs.
    artifact_url_seconds: int = 900

    # --- data and logs ----------------------------------------------------------------------
    #: Days a finished job is kept before DynamoDB's TTL deletes it (JOBS_RETENTION_DAYS).
    job_retention_days: int = DEFAULT_RETENTION_DAYS
    log_retention_days: int = 30
    reaper_rate_minutes: int = 1

    # --- alarms -----------------------------------------------------------------------------
    #: Oldest-message age on the job queue that counts as "workers are not keeping up". It must
    #: exceed the worker timeout, because an in-flight message keeps ageing while its job runs.
    queue_age_alarm_seconds: int = 1800
    #: Visible (waiting, not in-flight) job messages that count as a backlog, sustained for 15 min.
    queue_depth_alarm_messages: int = 100
    #: AppSync 4XX responses per 5 minutes, sustained for 15 min, that count as "clients are being
    #: refused" (an expired API key, a worker role that lost updateJob) rather than one bad client.
    api_4xx_alarm_threshold: int = 50
    #: Create an SNS topic and make it every alarm's action.
    alarm_topic: bool = False
    #: Optional e-mail subscribed to that topic (needs ``alarm_topic``).
    alarm_email: str = ""

    def __post_init__(self) -> None:
        if self.stage not in ("dev", "prod"):
            raise ConfigError(f"stage must be 'dev' or 'prod', not {self.stage!r}")
        if not _PREFIX_RE.match(self.prefix):
            raise ConfigError(f"prefix must match {_PREFIX_RE.pattern}, not {self.prefix!r}")
        if self.api_field_log_level not in ("ERROR", "ALL", "INFO", "DEBUG"):
            raise ConfigError(f"api_field_log_level must be ERROR, ALL, INFO or DEBUG, not {self.api_field_log_level!r}")
        _check_range("api_key_expiry_days", self.api_key_expiry_days, MIN_API_KEY_EXPIRY_DAYS, MAX_API_KEY_EXPIRY_DAYS)
        for url in self.callback_urls:
            if not _CALLBACK_RE.match(url):
                raise ConfigError(f"cognito_callback_urls must be https:// URLs (or http://localhost), not {url!r}")
        if self.callback_urls and not self.enable_cognito:
            raise ConfigError("cognito_callback_urls needs enable_cognito=true")
        _check_range("api_key_generation", self.api_key_generation, 0, 10_000)
        _check_range("waf_rate_limit", self.waf_rate_limit, 10, 2_000_000_000)
        _check_range("queue_depth_alarm_messages", self.queue_depth_alarm_messages, 1, 1_000_000)
        _check_range("api_4xx_alarm_threshold", self.api_4xx_alarm_threshold, 1, 1_000_000)
        _check_range("worker_timeout_seconds", self.worker_timeout_seconds, 1, MAX_LAMBDA_TIMEOUT_SECONDS)
        _check_range("worker_memory_mb", self.worker_memory_mb, 128, 10_240)
        _check_range("worker_batch_size", self.worker_batch_size, 1, 10_000)
        _check_range("worker_batching_window_seconds", self.worker_batching_window_seconds, 0, 300)
        if self.worker_batch_size > 10 and self.worker_batching_window_seconds < 1:
            raise ConfigError("worker_batch_size > 10 needs worker_batching_window_seconds >= 1 (an SQS rule)")
        _check_range("worker_max_concurrency", self.worker_max_concurrency, 2, 1000)
        _check_range("max_receive_count", self.max_receive_count, 1, 1000)
        _check_range("queue_retention_days", self.queue_retention_days, 1, 14)
        _check_range("dlq_retention_days", self.dlq_retention_days, 1, 14)
        if self.dlq_retention_days < self.queue_retention_days:
            # A dead-lettered message keeps its original enqueue time (standard queues), so a DLQ
            # that keeps messages for less time than the source queue could drop them on arrival.
            raise ConfigError("dlq_retention_days must be >= queue_retention_days")
        _check_range("job_retention_days", self.job_retention_days, 1, 3650)
        _check_range("reaper_rate_minutes", self.reaper_rate_minutes, 1, 60)
        _check_range("queue_age_alarm_seconds", self.queue_age_alarm_seconds, 60, 1_209_600)
        if self.log_retention_days not in _LOG_RETENTION_DAYS:
            raise ConfigError(f"log_retention_days must be one of {sorted(_LOG_RETENTION_DAYS)}, not {self.log_retention_days}")
        _check_range("handback_margin_seconds", self.handback_margin_seconds, 5, 300)
        if self.handback_margin_seconds >= self.worker_timeout_seconds:
            raise ConfigError("handback_margin_seconds must be below worker_timeout_seconds")
        if self.long_worker_cpu not in (256, 512, 1024, 2048, 4096, 8192, 16384):
            raise ConfigError(f"long_worker_cpu must be a Fargate CPU size (256-16384), not {self.long_worker_cpu}")
        _check_range("long_worker_memory_mb", self.long_worker_memory_mb, 512, 122_880)
        _check_range("long_worker_max_tasks", self.long_worker_max_tasks, 1, 1000)
        _check_range("artifact_url_seconds", self.artifact_url_seconds, 60, 604_800)
        if self.alarm_email and not self.alarm_topic:
            raise ConfigError("alarm_email needs alarm_topic=true")

    # --- derived values ----------------------------------------------------------------------
    @property
    def stack_name(self) -> str:
        return f"{self.prefix}-{self.stage}"

    @property
    def retain_data(self) -> bool:
        """prod keeps the table, queues, user pool and logs when the stack goes; dev deletes them."""
        return self.stage == "prod"

    @property
    def waf_enabled(self) -> bool:
        """prod always sits behind the WAF rate limit; dev only when asked (``enable_waf``)."""
        return self.enable_waf or self.stage == "prod"

    @property
    def callback_urls(self) -> tuple[str, ...]:
        """``cognito_callback_urls`` split on commas, blanks dropped."""
        return tuple(url.strip() for url in self.cognito_callback_urls.split(",") if url.strip())

    @property
    def lambda_budget_seconds(self) -> int:
        """The longest task time limit the Lambda worker honours; longer tasks run on Fargate."""
        return self.worker_timeout_seconds - self.handback_margin_seconds

    @property
    def queue_visibility_timeout_seconds(self) -> int:
        """6x the worker timeout (Lambda's rule for SQS sources), capped at SQS's 12 h."""
        return min(VISIBILITY_TIMEOUT_FACTOR * self.worker_timeout_seconds, MAX_VISIBILITY_TIMEOUT_SECONDS)

    # --- construction ------------------------------------------------------------------------
    @classmethod
    def from_context(cls, context: Mapping[str, Any]) -> JobsConfig:
        """Build from CDK context; keys not named after a field are ignored (CDK keeps its own there)."""
        values: dict[str, Any] = {}
        for field in fields(cls):
            if field.name not in context or context[field.name] is None:
                continue
            raw = context[field.name]
            default = field.default
            if isinstance(default, bool):
                values[field.name] = _to_bool(field.name, raw)
            elif isinstance(default, int):
                values[field.name] = _to_int(field.name, raw)
            else:
                values[field.name] = str(raw)
        return cls(**values)

    @classmethod
    def from_node(cls, node: Any) -> JobsConfig:
        """Read every field from a construct node's context (``app.node``)."""
        return cls.from_context({f.name: node.try_get_context(f.name) for f in fields(cls)})


def _check_range(name: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, not {value}")


def _to_int(name: str, raw: Any) -> int:
    if isinstance(raw, bool):
        raise ConfigError(f"{name} must be an integer, not {raw!r}")
    if isinstance(raw, int):
        return raw
    try:
        return int(str(raw).strip())
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer, not {raw!r}") from exc


def _to_bool(name: str, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off", ""):
        return False
    raise ConfigError(f"{name} must be true or false, not {raw!r}")
