"""``JobsApi``: the whole kit (API, job table, queues, functions, long worker, artifacts, monitoring)
as one construct, to drop into any CDK Stack - ``infra.stack.JobsStack`` is just one such stack.

Construct tree (ids in parentheses)::

    JobsApi
    ├── Data        JobTable          the DynamoDB job table and its three indexes
    ├── Queues      JobQueues         job queue, long-task queue, DLQ, dead-letter archive
    ├── Artifacts   ArtifactStore     the S3 bucket for artifacts, large results and uploads
    ├── GraphQL     JobsGraphqlApi    AppSync API, optional Cognito pool, WAF, pagination secret, resolvers
    ├── Functions   JobFunctions      resolvers, worker, DLQ consumer and reaper Lambdas
    ├── LongTasks   LongWorker        the Fargate long-task worker
    └── Monitoring  JobsMonitoring    alarms, optional SNS topic, dashboard
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.assets import RESOLVER_JS_PATH, SCHEMA_PATH, lambda_code, long_worker_image
from infra.config import JobsConfig
from infra.constructs.api import JobsGraphqlApi
from infra.constructs.artifacts import ArtifactStore
from infra.constructs.functions import JobFunctions
from infra.constructs.long_worker import LongWorker
from infra.constructs.monitoring import METRICS_NAMESPACE, METRICS_SERVICE, JobsMonitoring
from infra.constructs.queues import JobQueues
from infra.constructs.table import JobTable

#: The ids of JobsApi's direct children (the layers). JobsStack leaves them, and JobsApi's own id,
#: out of its logical ids, so its template keeps the ids of the flat stack it replaced.
LAYER_IDS: Final = frozenset({"Data", "Queues", "Artifacts", "GraphQL", "Functions", "LongTasks", "Monitoring"})
#: The environment variable ``worker.tasks.load_registry`` reads (jobcore.settings.Settings.task_modules).
TASK_MODULES_ENV: Final = "APPSYNC_JOBS_TASK_MODULES"
_MODULE_NAME: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


class JobsApi(Construct):
    """Deploys the runtime under ``jobcore/``, ``resolvers/`` and ``worker/`` behind AppSync, in any Stack.

    Parameters
    ----------
    config:
        Every knob (stage, timeouts, batch sizes, alarms) - see ``JobsConfig``; ``JobsConfig()`` is dev.
        ``config.stack_name`` (``<prefix>-<stage>``) names the API, alarms, WAF ACL and dashboard, so two
        JobsApi in one account need different prefixes or stages.
    tasks:
        Your task modules (dotted names, e.g. ``("myapp.tasks",)``): set as ``APPSYNC_JOBS_TASK_MODULES``
        on every Lambda and the long worker, so the resolvers validate and the workers run your
        ``@task`` types next to the bundled examples. Each module must be importable from ``code``
        and ``image``: the default assets ship ``jobcore``, ``resolvers`` and ``worker`` only, so put
        your module under ``worker/tasks/`` (e.g. ``worker.tasks.mine``) or pass assets that contain it.
    code:
        The ONE Lambda code asset all four functions run (default ``infra.assets.lambda_code()``).
    long_worker_image:
        The long-task worker's container image (default ``infra.assets.long_worker_image()``).
    schema_path, resolver_code_path:
        ``schema.graphql`` and the APPSYNC_JS resolver file, loaded as they are (no copies).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: JobsConfig | None = None,
        tasks: Sequence[str] = (),
        code: lambda_.Code | None = None,
        long_worker_image: ecs.ContainerImage | None = None,
        schema_path: Path = SCHEMA_PATH,
        resolver_code_path: Path = RESOLVER_JS_PATH,
    ) -> None:
        super().__init__(scope, construct_id)
        bad = [name for name in tasks if not _MODULE_NAME.match(name)]
        if bad:
            raise ValueError(f"tasks must be dotted module names, not {bad!r}")
        cfg = config if config is not None else JobsConfig()
        self.config = cfg
        self.tasks = tuple(tasks)

        self.data = JobTable(self, "Data", config=cfg)
        self.queues = JobQueues(self, "Queues", config=cfg)
        self.artifacts = ArtifactStore(self, "Artifacts", config=cfg)
        self.graphql = JobsGraphqlApi(self, "GraphQL", config=cfg, schema_path=schema_path)
        env = self._environment()
        self.functions = JobFunctions(
            self,
            "Functions",
            config=cfg,
            code=code if code is not None else lambda_code(),
            environment=env,
            table=self.data,
            queues=self.queues,
            graphql=self.graphql,
            artifacts=self.artifacts,
        )
        self.graphql.add_resolvers(self.functions.resolvers_fn, resolver_code_path)
        self.functions.wire()
        self.long_tasks = LongWorker(
            self,
            "LongTasks",
            config=cfg,
            image=long_worker_image if long_worker_image is not None else _default_long_worker_image(),
            environment=env,
            queues=self.queues,
            graphql=self.graphql,
            artifacts=self.artifacts,
        )
        self.monitoring = JobsMonitoring(
            self, "Monitoring", config=cfg, table=self.data, queues=self.queues, graphql=self.graphql, functions=self.functions
        )

    def _environment(self) -> dict[str, str]:
        """What ``jobcore.settings.Settings.from_env`` reads (AWS_REGION is set by Lambda itself)."""
        cfg = self.config
        env = {
            "APPSYNC_JOBS_BACKEND": "aws",
            "GRAPHQL_URL": self.graphql.api.graphql_url,
            "JOBS_TABLE_NAME": self.data.table.table_name,
            "JOBS_QUEUE_URL": self.queues.queue.queue_url,
            "JOBS_RETENTION_DAYS": str(cfg.job_retention_days),
            "JOBS_MAX_RECEIVE_COUNT": str(cfg.max_receive_count),
            "JOBS_VISIBILITY_TIMEOUT": str(cfg.queue_visibility_timeout_seconds),
            # powertools Logger/Metrics/Tracer defaults; the alarms and the dashboard read the
            # custom metrics under exactly this namespace and service dimension.
            "POWERTOOLS_SERVICE_NAME": METRICS_SERVICE,
            "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
            # Routing and the registry check need the worker Lambda's timeout (every function gets it).
            "JOBS_LAMBDA_TIMEOUT_SECONDS": str(cfg.worker_timeout_seconds),
            "JOBS_HANDBACK_MARGIN_SECONDS": str(cfg.handback_margin_seconds),
            "JOBS_LONG_QUEUE_URL": self.queues.long_queue.queue_url,
            "JOBS_ARTIFACT_BUCKET": self.artifacts.bucket.bucket_name,
            "JOBS_ARTIFACT_URL_SECONDS": str(cfg.artifact_url_seconds),
        }
        if self.tasks:
            # The resolvers (submit-time validation) and both workers must load the same registry.
            env[TASK_MODULES_ENV] = ",".join(self.tasks)
        return env


def _default_long_worker_image() -> ecs.ContainerImage:
    image = long_worker_image()
    assert isinstance(image, ecs.ContainerImage)
    return image
