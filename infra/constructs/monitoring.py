"""Operations: alarms on what actually happens (messages dead-lettered, failed records, 4XX/5XX,
queue depth and age, worker duration near its timeout, DynamoDB throttles) with an optional SNS topic
CloudWatch may publish to, and one CloudWatch dashboard (README "Operations")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.config import JobsConfig
from infra.constructs.api import WAF_RULE_NAME, JobsGraphqlApi
from infra.constructs.functions import JobFunctions
from infra.constructs.queues import JobQueues
from infra.constructs.table import JobTable
from jobcore import table_schema

# --- the custom-metrics contract with the runtime (powertools Metrics, EMF) -------------------
#: Every custom metric is in this namespace with exactly one dimension, service=METRICS_SERVICE
#: (QueueWaitMs and RunDurationMs are also emitted with an extra taskType dimension, unused here).
METRICS_NAMESPACE: Final = "AppSyncJobs"
METRICS_SERVICE: Final = "appsync-jobs"
JOB_COUNT_METRICS: Final = ("JobsSubmitted", "JobsSucceeded", "JobsFailed", "JobsCancelled", "JobsRetried", "JobsDeadLettered")
FAILED_RECORDS_METRIC: Final = "FailedRecords"
JOB_TIME_METRICS: Final = ("QueueWaitMs", "RunDurationMs")

#: The worker-duration alarm fires when a run reaches this fraction of the worker's timeout: the
#: next slower run is killed mid-job and retried.
WORKER_DURATION_ALARM_FRACTION: Final = 0.8
#: The DynamoDB operations the adapter makes; ThrottledRequests counts a request once if any part
#: of it (the table or an index, e.g. the ``stuck`` GSI's hot key) was throttled.
DYNAMODB_OPERATIONS: Final = ("GetItem", "BatchGetItem", "PutItem", "UpdateItem", "Query", "TransactWriteItems")


@dataclass(frozen=True)
class _AlarmSpec:
    """One alarm: its metric, when it fires (``evaluation_periods`` breaching periods in a row), and why."""

    metric: cloudwatch.IMetric
    threshold: float
    comparison: cloudwatch.ComparisonOperator
    description: str
    evaluation_periods: int = 1


class JobsMonitoring(Construct):
    """``alarms`` (by name), ``alarm_topic`` (when ``config.alarm_topic``), ``dashboard``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: JobsConfig,
        table: JobTable,
        queues: JobQueues,
        graphql: JobsGraphqlApi,
        functions: JobFunctions,
    ) -> None:
        super().__init__(scope, construct_id)
        self.config = config
        self._table = table
        self._queues = queues
        self._graphql = graphql
        self._functions = functions
        self.alarm_topic = self._alarm_topic() if config.alarm_topic else None
        self.alarms = self._alarms()
        self.dashboard = self._dashboard()


    def _alarm_topic(self) -> sns.Topic:
        topic = sns.Topic(self, "AlarmTopic", display_name=f"{self.config.stack_name} alarms", enforce_ssl=True)
        # enforce_ssl gives the topic a policy with only a Deny in it, which replaces SNS's default
        # policy: without this Allow, CloudWatch cannot publish and every alarm reaches no one.
        # Scoped to this stack's alarms (their names start with the stack name) in this account.
        topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsPublish",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[topic.topic_arn],
                conditions={
                    "ArnLike": {"aws:SourceArn": self.alarm_arn_pattern},
                    "StringEquals": {"aws:SourceAccount": Stack.of(self).account},
                },
            )
        )
        if self.config.alarm_email:
            topic.add_subscription(subscriptions.EmailSubscription(self.config.alarm_email))
        return topic

    @property
    def alarm_arn_pattern(self) -> str:
        """``arn:<partition>:cloudwatch:<region>:<account>:alarm:<stack name>-*`` - every alarm of this stack."""
        return Stack.of(self).format_arn(
            service="cloudwatch",
            resource="alarm",
            resource_name=f"{self.config.stack_name}-*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )

    def custom_metric(self, name: str, *, statistic: str, period: Duration | None = None) -> cloudwatch.Metric:
        """One of the runtime's EMF metrics (namespace ``AppSyncJobs``, dimension ``service``)."""
        return cloudwatch.Metric(
            namespace=METRICS_NAMESPACE,
            metric_name=name,
            dimensions_map={"service": METRICS_SERVICE},
            statistic=statistic,
            period=period or Duration.minutes(5),
        )

    def _appsync_metric(self, name: str, *, statistic: str, period: Duration | None = None) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace="AWS/AppSync",
            metric_name=name,
            dimensions_map={"GraphQLAPIId": self._graphql.api.api_id},
            statistic=statistic,
            period=period or Duration.minutes(5),
        )

    def _dynamodb_throttles(self) -> cloudwatch.MathExpression:
        """ThrottledRequests summed over every operation the adapter makes (table and index throttles)."""
        metrics = {
            operation.lower(): cloudwatch.Metric(
                namespace="AWS/DynamoDB",
                metric_name="ThrottledRequests",
                dimensions_map={"TableName": self._table.table.table_name, "Operation": operation},
                statistic="Sum",
                period=Duration.minutes(5),
            )
            for operation in DYNAMODB_OPERATIONS
        }
        return cloudwatch.MathExpression(
            expression=f"SUM([{', '.join(metrics)}])",
            using_metrics=dict(metrics),
            label="DynamoDB throttled requests",
            period=Duration.minutes(5),
        )

    def _alarms(self) -> dict[str, cloudwatch.Alarm]:
        """Alarms on what happens, each with why its threshold is what it is (README "Operations").

        Lambda ``Errors`` alone misses most failures here: the worker and the DLQ consumer report
        per-record failures instead of raising, and the DLQ consumer drains the DLQ in seconds,
        so the alarms watch the records, the queues and the API's answers instead.
        """
        cfg = self.config
        one_minute = Duration.minutes(1)
        five_minutes = Duration.minutes(5)
        at_least = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
        above = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
        worker_timeout_ms = cfg.worker_timeout_seconds * 1000
        alarms: dict[str, _AlarmSpec] = {
            "DeadLetterQueueReceived": _AlarmSpec(
                self._queues.dead_letter_queue.metric_number_of_messages_received(period=five_minutes, statistic="Sum"),
                1,
                at_least,
                "Jobs were dead-lettered: a job's message failed max_receive_count deliveries (the DLQ consumer "
                "marks them FAILED within seconds, so DLQ depth alone would never show it)",
            ),
            "DeadLetterQueueNotDrained": _AlarmSpec(
                self._queues.dead_letter_queue.metric_approximate_number_of_messages_visible(period=five_minutes, statistic="Maximum"),
                0,
                above,
                "The DLQ has not been drained for 15 minutes: the DLQ consumer is failing, so dead-lettered jobs stay un-FAILED",
                evaluation_periods=3,
            ),
            "JobQueueDepth": _AlarmSpec(
                self._queues.queue.metric_approximate_number_of_messages_visible(period=five_minutes, statistic="Maximum"),
                cfg.queue_depth_alarm_messages,
                at_least,
                "A backlog: this many jobs have waited (not in flight) for 15 minutes; workers are at max concurrency or failing",
                evaluation_periods=3,
            ),
            "JobQueueOldestMessageAge": _AlarmSpec(
                self._queues.queue.metric_approximate_age_of_oldest_message(period=one_minute, statistic="Maximum"),
                cfg.queue_age_alarm_seconds,
                at_least,
                "Jobs wait too long in the queue: workers are failing, throttled or at max concurrency",
            ),
            "FailedRecords": _AlarmSpec(
                self.custom_metric(FAILED_RECORDS_METRIC, statistic="Sum"),
                1,
                at_least,
                "Worker/DLQ-consumer records failed and will be redelivered (e.g. 401/403 from AppSync on updateJob); "
                "these are reported per record, so Lambda Errors never counts them",
            ),
            "WorkerErrors": _AlarmSpec(
                self._functions.worker_fn.metric_errors(period=five_minutes, statistic="Sum"),
                1,
                at_least,
                "Worker invocations failed as a whole (crash or timeout, not a reported job failure)",
            ),
            "WorkerThrottles": _AlarmSpec(
                self._functions.worker_fn.metric_throttles(period=five_minutes, statistic="Sum"),
                1,
                at_least,
                "Worker invocations were throttled (account concurrency exhausted)",
            ),
            "WorkerDurationNearTimeout": _AlarmSpec(
                self._functions.worker_fn.metric_duration(period=five_minutes, statistic="Maximum"),
                int(worker_timeout_ms * WORKER_DURATION_ALARM_FRACTION),
                at_least,
                f"A worker run took {int(WORKER_DURATION_ALARM_FRACTION * 100)} % of the worker timeout: a slightly slower "
                "job is killed mid-run and retried",
            ),
            "ResolversErrors": _AlarmSpec(
                self._functions.resolvers_fn.metric_errors(period=five_minutes, statistic="Sum"),
                1,
                at_least,
                "The resolvers Lambda raised (clients saw Lambda:Unhandled)",
            ),
            "DeadLetterConsumerErrors": _AlarmSpec(
                self._functions.dlq_fn.metric_errors(period=five_minutes, statistic="Sum"),
                1,
                at_least,
                "The DLQ consumer failed; dead-lettered jobs stay un-FAILED until it recovers",
            ),
            "ReaperErrors": _AlarmSpec(
                self._functions.reaper_fn.metric_errors(period=five_minutes, statistic="Sum"),
                1,
                at_least,
                "The reaper failed; stuck jobs are not being recovered",
            ),
            "Api5xxErrors": _AlarmSpec(
                self._appsync_metric("5XXError", statistic="Sum"),
                1,
                at_least,
                "AppSync answered with 5xx (service-side errors)",
            ),
            "Api4xxErrors": _AlarmSpec(
                self._appsync_metric("4XXError", statistic="Sum"),
                cfg.api_4xx_alarm_threshold,
                at_least,
                "AppSync refused many requests for 15 minutes (expired/rotated API key, a role that lost appsync:GraphQL); "
                "a sustained count, because single clients with bad input or keys also produce 4XX",
                evaluation_periods=3,
            ),
            "DynamoDbThrottles": _AlarmSpec(
                self._dynamodb_throttles(),
                1,
                at_least,
                "DynamoDB throttled requests for 10 minutes (a hot partition, e.g. the stuck index's keys, or an account limit)",
                evaluation_periods=2,
            ),
        }
        created: dict[str, cloudwatch.Alarm] = {}
        for name, spec in alarms.items():
            alarm = cloudwatch.Alarm(
                self,
                f"{name}Alarm",
                metric=spec.metric,
                # Named after the stack: the topic policy trusts exactly "<stack name>-*" alarms.
                alarm_name=f"{self.config.stack_name}-{name}",
                alarm_description=spec.description,
                threshold=spec.threshold,
                comparison_operator=spec.comparison,
                evaluation_periods=spec.evaluation_periods,
                datapoints_to_alarm=spec.evaluation_periods,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            if self.alarm_topic is not None:
                alarm.add_alarm_action(cw_actions.SnsAction(self.alarm_topic))
            created[name] = alarm
        return created

    def _dashboard(self) -> cloudwatch.Dashboard:
        """One CloudWatch dashboard with the figures ``appsync-jobs stats`` prints locally, and more."""
        five_minutes = Duration.minutes(5)
        width = 12

        def graph(
            title: str, left: list[cloudwatch.IMetric], right: list[cloudwatch.IMetric] | None = None, **kwargs: Any
        ) -> cloudwatch.GraphWidget:
            return cloudwatch.GraphWidget(title=title, left=left, right=right or [], width=width, height=6, **kwargs)

        def biggest(queue: sqs.Queue, label: str) -> cloudwatch.Metric:
            return queue.metric_approximate_number_of_messages_visible(period=five_minutes, statistic="Maximum", label=label)

        def percentiles(name: str) -> list[cloudwatch.IMetric]:
            return [
                self.custom_metric(name, statistic=stat).with_(label=f"{name} {stat}")
                for stat in ("p50", "p99")
            ]

        worker_timeout_ms = self.config.worker_timeout_seconds * 1000
        widgets: list[cloudwatch.IWidget] = [
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=list(self.alarms.values()), width=24, height=4),
            graph("Jobs", [self.custom_metric(name, statistic="Sum") for name in JOB_COUNT_METRICS]),
            graph(
                "Job queue: depth and age",
                [
                    biggest(self._queues.queue, "visible (waiting)"),
                    self._queues.queue.metric_approximate_number_of_messages_not_visible(
                        period=five_minutes, statistic="Maximum", label="in flight"
                    ),
                ],
                [
                    self._queues.queue.metric_approximate_age_of_oldest_message(
                        period=five_minutes, statistic="Maximum", label="oldest message age (s)"
                    )
                ],
            ),
            graph(
                "Dead letters and failed records",
                [
                    self._queues.dead_letter_queue.metric_number_of_messages_received(
                        period=five_minutes, statistic="Sum", label="DLQ received"
                    ),
                    biggest(self._queues.dead_letter_queue, "DLQ visible"),
                    biggest(self._queues.dead_letter_archive, "archived"),
                    self.custom_metric(FAILED_RECORDS_METRIC, statistic="Sum"),
                ],
            ),
            graph("Queue wait and run duration (ms)", [line for name in JOB_TIME_METRICS for line in percentiles(name)]),
            graph(
                "AppSync API",
                [self._appsync_metric("4XXError", statistic="Sum"), self._appsync_metric("5XXError", statistic="Sum")],
                [self._appsync_metric("Latency", statistic=stat).with_(label=f"latency {stat}") for stat in ("p50", "p99")],
            ),
            graph(
                "Worker",
                [
                    self._functions.worker_fn.metric_errors(period=five_minutes, statistic="Sum"),
                    self._functions.worker_fn.metric_throttles(period=five_minutes, statistic="Sum"),
                ],
                [
                    self._functions.worker_fn.metric_duration(period=five_minutes, statistic=stat).with_(label=f"duration {stat}")
                    for stat in ("p99", "Maximum")
                ],
                right_annotations=[cloudwatch.HorizontalAnnotation(value=worker_timeout_ms, label="worker timeout")],
            ),
            graph(
                "DynamoDB throttles",
                [
                    self._dynamodb_throttles(),
                    *(
                        cloudwatch.Metric(
                            namespace="AWS/DynamoDB",
                            metric_name=metric,
                            dimensions_map=dims,
                            statistic="Sum",
                            period=five_minutes,
                            label=f"{label} {metric}",
                        )
                        for metric in ("ReadThrottleEvents", "WriteThrottleEvents")
                        for label, dims in (
                            ("table", {"TableName": self._table.table.table_name}),
                            (
                                "stuck index",
                                {"TableName": self._table.table.table_name, "GlobalSecondaryIndexName": table_schema.STUCK_INDEX},
                            ),
                        )
                    ),
                ],
            ),
        ]
        if self._graphql.web_acl is not None:
            widgets.append(
                graph(
                    "WAF",
                    [
                        cloudwatch.Metric(
                            namespace="AWS/WAFV2",
                            metric_name=metric,
                            dimensions_map={"WebACL": str(self._graphql.web_acl.name), "Region": Stack.of(self).region, "Rule": rule},
                            statistic="Sum",
                            period=five_minutes,
                            label=f"{metric} ({rule})",
                        )
                        for metric, rule in (("AllowedRequests", "ALL"), ("BlockedRequests", WAF_RULE_NAME))
                    ],
                )
            )
        dashboard = cloudwatch.Dashboard(self, "Dashboard", dashboard_name=self.config.stack_name)
        for index in range(0, len(widgets), 2):
            dashboard.add_widgets(*widgets[index : index + 2])
        return dashboard

