"""powertools behind ``jobcore.metrics`` and the handlers' tracer: the cloud's observability.

``PowertoolsMetrics`` writes CloudWatch EMF (namespace ``AppSyncJobs``, dimension
``service=appsync-jobs``); the durations go out twice, once in the invocation's metric set and once
as a ``single_metric`` with the extra ``taskType`` dimension (EMF has one dimension set per blob).
``flush`` prints the set only when it holds something, instead of ``@log_metrics``, which warns on
every invocation that recorded nothing (most queries).

The tracer is powertools ``Tracer(service="appsync-jobs")`` when tracing can work: in Lambda
(``LAMBDA_TASK_ROOT`` set), not under SAM/Chalice local, and without ``POWERTOOLS_TRACE_DISABLED`` -
powertools' own rule. Anywhere else (the local server, tests) it is ``NoTracer``, whose decorators
return the function unchanged: even a *disabled* powertools Tracer imports the X-Ray SDK (~180 ms of
CPU, measured with ``-X importtime``), which the local runtime and the tests would pay for nothing.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from jobcore.metrics import NAMESPACE, SERVICE, Metric

if TYPE_CHECKING:
    from aws_lambda_powertools import Metrics, Tracer

F = TypeVar("F", bound=Callable[..., Any])


def tracing_enabled(env: dict[str, str] | None = None) -> bool:
    """powertools' rule for when its Tracer is active (``Tracer._is_tracer_disabled``, inverted)."""
    env = dict(os.environ) if env is None else env
    if env.get("POWERTOOLS_TRACE_DISABLED", "false").lower() in ("1", "true", "yes", "y", "on"):
        return False
    return bool(env.get("LAMBDA_TASK_ROOT")) and not env.get("AWS_SAM_LOCAL") and not env.get("AWS_CHALICE_CLI_MODE")


class NoTracer:
    """Tracer's decorators as no-ops, used wherever powertools' Tracer would be disabled anyway."""

    disabled = True

    def capture_lambda_handler(self, fn: F | None = None, **options: Any) -> Any:
        return fn if fn is not None else (lambda inner: inner)

    def capture_method(self, fn: F | None = None, **options: Any) -> Any:
        return fn if fn is not None else (lambda inner: inner)


@functools.cache
def tracer() -> Tracer | NoTracer:
    if not tracing_enabled():
        return NoTracer()
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
