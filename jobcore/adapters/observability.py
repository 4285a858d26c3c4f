"""powertools behind ``jobcore.metrics`` and the handlers' tracer: the cloud's observability.

``PowertoolsMetrics`` writes CloudWatch EMF (namespace ``AppSyncJobs``, dimension
``service=appsync-jobs``); the durations go out twice, once in the invocation's metric set and once
as a ``single_metric`` with the extra ``taskType`` dimension (EMF has one dimension set per blob).
``flush`` prints the set only when it holds something, instead of ``@log_metrics``, which warns on
every invocation that recorded nothing (most queries).

The tracer is powertools ``Tracer(service="appsync-jobs")``. Outside Lambda (the local server,
tests: no ``LAMBDA_TASK_ROOT``) or with ``POWERTOOLS_TRACE_DISABLED=true`` it is a no-op and the
X-Ray SDK is never imported, so the local runtime and cold imports pay nothing for it.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from jobcore.metrics import NAMESPACE, SERVICE, Metric

if TYPE_CHECKING:
    from aws_lambda_powertools import Metrics, Tracer


@functools.cache
def tracer() -> Tracer:
    from aws_lambda_powertools import Tracer

    return Tracer(service=SERVICE)


class PowertoolsMetrics:
    def __init__(self, metrics: Metrics | None = None) -> None:
        if metrics is None:
            from aws_lambda_powertools import Metrics

            metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
        self.metrics = metrics

    def count(self, name: Metric, value: int = 1) -> None:
        from aws_lambda_powertools.metrics import MetricUnit

        self.metrics.add_metric(name=name.value, unit=MetricUnit.Count, value=value)

    def duration_ms(self, name: Metric, value: float, *, task_type: str) -> None:
        from aws_lambda_powertools.metrics import MetricUnit, single_metric

        self.metrics.add_metric(name=name.value, unit=MetricUnit.Milliseconds, value=value)
        with single_metric(
            name=name.value, unit=MetricUnit.Milliseconds, value=value, namespace=NAMESPACE,
            default_dimensions={"service": SERVICE},
        ) as metric:
            metric.add_dimension(name="taskType", value=task_type)

    def flush(self) -> None:
        if self.metrics.metric_set:
            self.metrics.flush_metrics()
