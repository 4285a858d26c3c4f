"""The kit's CDK constructs: ``JobsApi`` composes them all; each layer is usable on its own."""

from infra.constructs.api import JobsGraphqlApi
from infra.constructs.artifacts import ArtifactStore
from infra.constructs.functions import JobFunctions
from infra.constructs.jobs_api import JobsApi
from infra.constructs.long_worker import LongWorker
from infra.constructs.monitoring import JobsMonitoring
from infra.constructs.queues import JobQueues
from infra.constructs.table import JobTable

__all__ = ["ArtifactStore", "JobFunctions", "JobQueues", "JobTable", "JobsApi", "JobsGraphqlApi", "JobsMonitoring", "LongWorker"]
