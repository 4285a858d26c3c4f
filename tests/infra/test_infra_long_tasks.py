"""Issue 11 in the synthesized stack: the long-task route on ECS Fargate and the artifact bucket."""

from __future__ import annotations

from typing import Any

from aws_cdk.assertions import Match

from infra.config import HANDLERS, RESOLVERS_HANDLER, WORKER_HANDLER
from jobcore.registry import TaskRegistry
from jobcore.settings import Settings


def _function(synth: Any, handler: str) -> dict[str, Any]:
    for resource in synth.resources("AWS::Lambda::Function").values():
        if resource["Properties"].get("Handler") == handler:
            return dict(resource)
    raise AssertionError(handler)


def _container(synth: Any) -> dict[str, Any]:
    (task_definition,) = synth.resources("AWS::ECS::TaskDefinition").values()
    (container,) = task_definition["Properties"]["ContainerDefinitions"]
    return dict(container)


def _env(variables: Any) -> dict[str, Any]:
    if isinstance(variables, list):  # container definitions: [{"Name":..., "Value":...}]
        return {v["Name"]: v["Value"] for v in variables}
    return dict(variables)


def _policy_statements(synth: Any, role_logical_id: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for policy in synth.resources("AWS::IAM::Policy").values():
        if {"Ref": role_logical_id} in policy["Properties"]["Roles"]:
            found.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    return found


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


class TestLongRoute:
    def test_a_twenty_minute_task_is_routed_to_the_fargate_worker_and_fits_it(self, dev: Any, prod: Any) -> None:
        registry = TaskRegistry()
        registry.task("twenty-minutes", time_limit_seconds=20 * 60)(lambda ctx: None)
        registry.task("five-minutes", time_limit_seconds=5 * 60)(lambda ctx: None)
        for synth in (dev, prod):
            variables = _env(_function(synth, RESOLVERS_HANDLER)["Properties"]["Environment"]["Variables"])
            settings = Settings.from_env({k: v for k, v in variables.items() if isinstance(v, str)})
            # Submit (the resolvers, with the stack's settings) sends it to the long queue...
            assert registry.get("twenty-minutes").route_for(settings.lambda_budget_seconds) == "long"
            long_queue = synth.logical_id(synth.stack.long_queue)
            assert variables["JOBS_LONG_QUEUE_URL"] == {"Ref": long_queue}
            # ...which the Fargate service consumes with the same runner, no Lambda timeout in the way.
            container = _container(synth)
            assert container["Command"] == ["python", "-m", "worker.long_worker"]
            assert _env(container["Environment"])["JOBS_LONG_QUEUE_URL"] == {"Ref": long_queue}
            assert "StopTimeout" not in container
            # The lease and the reaper's deadline (limit + 60 s grace) fit SQS's visibility ceiling.
            assert 20 * 60 + 60 <= 43_200
        # prod's worker Lambda times out at 300 s: a 5-minute task no longer fits it (300 - 30 margin).
        prod_vars = _env(_function(prod, RESOLVERS_HANDLER)["Properties"]["Environment"]["Variables"])
        prod_settings = Settings.from_env({k: v for k, v in prod_vars.items() if isinstance(v, str)})
        assert prod_settings.lambda_budget_seconds == 270
        assert registry.get("five-minutes").route_for(prod_settings.lambda_budget_seconds) == "long"

    def test_every_function_knows_the_worker_timeout_for_routing(self, dev: Any) -> None:
        worker_timeout = _function(dev, WORKER_HANDLER)["Properties"]["Timeout"]
        for handler in HANDLERS:
            variables = _env(_function(dev, handler)["Properties"]["Environment"]["Variables"])
            assert variables["JOBS_LAMBDA_TIMEOUT_SECONDS"] == str(worker_timeout)
            assert variables["JOBS_HANDBACK_MARGIN_SECONDS"] == "30"

    def test_the_service_scales_from_zero_on_the_long_queues_depth(self, dev: Any) -> None:
        dev.template.has_resource_properties("AWS::ApplicationAutoScaling::ScalableTarget", {
            "MinCapacity": 0, "MaxCapacity": 10, "ScalableDimension": "ecs:service:DesiredCount"})
        long_queue_name = {"Fn::GetAtt": [dev.logical_id(dev.stack.long_queue), "QueueName"]}
        depth_alarms = [
            a for a in dev.resources("AWS::CloudWatch::Alarm").values()
            if a["Properties"].get("MetricName") == "ApproximateNumberOfMessagesVisible"
            and a["Properties"].get("Dimensions") == [{"Name": "QueueName", "Value": long_queue_name}]
        ]
        assert len(depth_alarms) == 2  # scale out on a backlog, in when nothing waits
        steps = [p["Properties"]["StepScalingPolicyConfiguration"]["StepAdjustments"]
                 for p in dev.resources("AWS::ApplicationAutoScaling::ScalingPolicy").values()]
        assert any(any(s.get("ScalingAdjustment") == 1 for s in step) for step in steps)
        assert not any(p["Properties"].get("TargetTrackingScalingPolicyConfiguration")
                       for p in dev.resources("AWS::ApplicationAutoScaling::ScalingPolicy").values())  # no CPU scaling

    def test_fargate_on_graviton_in_public_subnets_without_nat(self, dev: Any) -> None:
        dev.template.has_resource_properties("AWS::ECS::TaskDefinition", {
            "RequiresCompatibilities": ["FARGATE"],
            "RuntimePlatform": {"CpuArchitecture": "ARM64", "OperatingSystemFamily": "LINUX"},
            "Cpu": "1024", "Memory": "2048"})
        dev.template.has_resource_properties("AWS::ECS::Service", {
            "LaunchType": "FARGATE",
            "NetworkConfiguration": {"AwsvpcConfiguration": Match.object_like({"AssignPublicIp": "ENABLED"})}})
        assert not dev.resources("AWS::EC2::NatGateway")
        assert dev.resources("AWS::EC2::FlowLog")
        for group in dev.resources("AWS::EC2::SecurityGroup").values():
            assert not group["Properties"].get("SecurityGroupIngress")

    def test_the_task_role_may_only_report_consume_the_long_queue_and_touch_artifacts(self, dev: Any) -> None:
        (task_definition,) = dev.resources("AWS::ECS::TaskDefinition").values()
        role_id = task_definition["Properties"]["TaskRoleArn"]["Fn::GetAtt"][0]
        statements = _policy_statements(dev, role_id)
        actions = {a for s in statements for a in _as_list(s["Action"])}
        assert {a for a in actions if a.startswith("appsync:")} == {"appsync:GraphQL"}
        graphql = [dev.render(r) for s in statements if "appsync:GraphQL" in _as_list(s["Action"]) for r in _as_list(s["Resource"])]
        assert len(graphql) == 1 and graphql[0].endswith("/types/Mutation/fields/updateJob")
        assert not {a for a in actions if a.startswith("dynamodb:")}
        sqs_resources = {dev.render(r) for s in statements if any(a.startswith("sqs:") for a in _as_list(s["Action"]))
                         for r in _as_list(s["Resource"])}
        assert sqs_resources == {f"<{dev.logical_id(dev.stack.long_queue)}.Arn>"}
        assert "sqs:SendMessage" not in actions
        s3_grants = {(a, dev.render(r)) for s in statements for a in _as_list(s["Action"]) if a.startswith("s3:")
                     for r in _as_list(s["Resource"])}
        bucket = f"<{dev.logical_id(dev.stack.artifact_bucket)}.Arn>"
        assert s3_grants == {("s3:PutObject", f"{bucket}/jobs/*"), ("s3:GetObject", f"{bucket}/uploads/*")}
        assert actions - {a for a in actions if a.startswith(("sqs:", "s3:", "appsync:"))} == {"ecs:UpdateTaskProtection"}

    def test_the_container_image_is_built_by_cdk_from_the_repository(self, dev: Any) -> None:
        import json

        manifest = json.loads((dev.outdir / f"{dev.stack.artifact_id}.assets.json").read_text())
        images = list(manifest.get("dockerImages", {}).values())
        assert len(images) == 1
        source = images[0]["source"]
        assert source["dockerFile"] == "worker/Dockerfile"
        assert source.get("platform") == "linux/arm64"


class TestArtifactBucket:
    def test_private_encrypted_tls_only_and_expiring_with_the_jobs(self, dev: Any) -> None:
        bucket = dev.resource(dev.stack.artifact_bucket)["Properties"]
        assert bucket["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True, "RestrictPublicBuckets": True}
        assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"] == {
            "SSEAlgorithm": "AES256"}
        rules = {r["Id"]: r for r in bucket["LifecycleConfiguration"]["Rules"]}
        assert rules["ExpireWithJobs"]["ExpirationInDays"] == 30 and rules["ExpireWithJobs"]["Prefix"] == "jobs/"
        assert rules["ExpireUploads"]["ExpirationInDays"] == 30
        assert set(bucket["CorsConfiguration"]["CorsRules"][0]["AllowedMethods"]) == {"GET", "PUT", "HEAD"}
        dev.template.has_resource_properties("AWS::S3::BucketPolicy", {"PolicyDocument": {"Statement": Match.array_with([
            Match.object_like({"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}})])}})

    def test_resolvers_presign_and_the_worker_writes_nobody_deletes(self, dev: Any) -> None:
        bucket = f"<{dev.logical_id(dev.stack.artifact_bucket)}.Arn>"

        def grants(fn: Any) -> set[tuple[str, str]]:
            return {(a, dev.render(r)) for s in dev.statements(fn) for a in _as_list(s["Action"]) if a.startswith("s3:")
                    for r in _as_list(s["Resource"])}

        assert grants(dev.stack.resolvers_fn) == {
            ("s3:GetObject", f"{bucket}/jobs/*"), ("s3:PutObject", f"{bucket}/uploads/*"), ("s3:GetObject", f"{bucket}/uploads/*")}
        assert grants(dev.stack.worker_fn) == {("s3:PutObject", f"{bucket}/jobs/*"), ("s3:GetObject", f"{bucket}/uploads/*")}
        assert grants(dev.stack.dlq_fn) == set() and grants(dev.stack.reaper_fn) == set()
        variables = dev.resource(dev.stack.worker_fn)["Properties"]["Environment"]["Variables"]
        assert variables["JOBS_ARTIFACT_BUCKET"] == {"Ref": dev.logical_id(dev.stack.artifact_bucket)}
