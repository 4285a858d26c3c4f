"""The long-task worker: ``python -m worker.long_worker`` on Fargate, scaling 0..N on the long queue."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from aws_cdk import Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_ecs_patterns as ecs_patterns
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.config import JobsConfig
from infra.constructs import base
from infra.constructs.api import WORKER_MUTATION, JobsGraphqlApi
from infra.constructs.artifacts import ArtifactStore
from infra.constructs.queues import JobQueues

ECS_ENV_REASON: Final = (
    "The long worker's environment holds only resource names and URLs (queue URL, API URL, bucket name, "
    "timeouts) - no secrets; its credentials come from the task role."
)
ECS_EXECUTION_ROLE_REASON: Final = (
    "The task execution role needs ecr:GetAuthorizationToken, which supports no resource-level "
    "permissions (Resource '*'); the image pull and log writes are scoped to the repository and log group."
)
TASK_PROTECTION_REASON: Final = (
    "Scale-in protection (ecs:UpdateTaskProtection) for the worker's own tasks: task ARNs are created "
    "at run time, so the statement is scoped to this cluster's tasks (task/<cluster>/*)."
)


class LongWorker(Construct):
    """``service``: the Fargate service on ``queues.long_queue`` (its own VPC, cluster and log groups).

    Its task role gets what the Lambda worker gets - ``updateJob`` only on the API, the long
    queue's consume actions, jobs/* writes and uploads/* reads - plus scale-in protection for its
    own tasks, so scaling in on an emptied queue never stops a container mid-job.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: JobsConfig,
        image: ecs.ContainerImage,
        environment: Mapping[str, str],
        queues: JobQueues,
        graphql: JobsGraphqlApi,
        artifacts: ArtifactStore,
    ) -> None:
        super().__init__(scope, construct_id)
        cfg = config
        retention, removal = base.log_retention(cfg), base.removal_policy(cfg)
        # Public subnets without NAT on purpose: the worker only makes outbound HTTPS calls (AppSync,
        # SQS, S3, ECR, CloudWatch), its security group allows no inbound traffic, and a NAT gateway
        # would cost ~$32/month per AZ before a single job runs.
        vpc = ec2.Vpc(
            self,
            "LongWorkerVpc",
            max_azs=2,
            nat_gateways=0,
            subnet_configuration=[ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24)],
        )
        vpc.add_flow_log("FlowLog", destination=ec2.FlowLogDestination.to_cloud_watch_logs(
            logs.LogGroup(self, "LongWorkerVpcFlowLogs", retention=retention, removal_policy=removal)
        ))
        cluster = ecs.Cluster(self, "LongWorkerCluster", vpc=vpc, container_insights_v2=ecs.ContainerInsights.ENABLED)
        log_group = logs.LogGroup(self, "LongWorkerLogs", retention=retention, removal_policy=removal)
        service = ecs_patterns.QueueProcessingFargateService(
            self,
            "LongWorker",
            cluster=cluster,
            queue=queues.long_queue,
            image=image,
            command=["python", "-m", "worker.long_worker"],
            environment={**environment, "POWERTOOLS_SERVICE_NAME": f"{cfg.prefix}-long-worker", "JOBS_LONG_CONCURRENCY": "1"},
            cpu=cfg.long_worker_cpu,
            memory_limit_mib=cfg.long_worker_memory_mb,
            runtime_platform=ecs.RuntimePlatform(
                cpu_architecture=ecs.CpuArchitecture.ARM64, operating_system_family=ecs.OperatingSystemFamily.LINUX
            ),
            min_scaling_capacity=0,
            max_scaling_capacity=cfg.long_worker_max_tasks,
            # On visible messages: none waiting -> one fewer task (busy tasks are scale-in protected),
            # any waiting -> one more, a backlog of 5 -> three more.
            scaling_steps=[
                {"upper": 0, "change": -1},
                {"lower": 1, "change": +1},
                {"lower": 5, "change": +3},
            ],
            disable_cpu_based_scaling=True,
            assign_public_ip=True,
            task_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC),
            log_driver=ecs.LogDrivers.aws_logs(stream_prefix="long-worker", log_group=log_group),
            min_healthy_percent=0,
        )
        stack = Stack.of(self)
        task_role = service.task_definition.task_role
        graphql.api.grant_mutation(task_role, WORKER_MUTATION)
        artifacts.grant_objects(task_role, "WriteArtifacts", "s3:PutObject", "jobs")
        artifacts.grant_objects(task_role, "ReadUploads", "s3:GetObject", "uploads")
        task_role.add_to_principal_policy(iam.PolicyStatement(
            sid="ScaleInProtection",
            actions=["ecs:UpdateTaskProtection"],
            resources=[stack.format_arn(service="ecs", resource="task", resource_name=f"{cluster.cluster_name}/*")],
        ))
        base.acknowledge(service.task_definition, "AwsSolutions-ECS2", ECS_ENV_REASON)
        artifacts.acknowledge_prefix_grants(task_role)
        cluster_id = stack.get_logical_id(base.cfn(cluster))
        protection_resource = f"arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:task/<{cluster_id}>/*"
        base.acknowledge(task_role, f"AwsSolutions-IAM5[Resource::{protection_resource}]", TASK_PROTECTION_REASON)
        if service.task_definition.execution_role is not None:
            base.acknowledge(service.task_definition.execution_role, "AwsSolutions-IAM5[Resource::*]", ECS_EXECUTION_ROLE_REASON)
        self.vpc = vpc
        self.cluster = cluster
        self.service = service
