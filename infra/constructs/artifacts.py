"""The S3 bucket for artifacts, large results and client uploads, and its prefix-scoped grants."""

from __future__ import annotations

from typing import Final

from aws_cdk import Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.config import JobsConfig
from infra.constructs import base

ARTIFACT_KEYS_REASON: Final = (
    "Artifacts live under jobs/<job id>/ and uploads under uploads/<owner>/<id>: the keys are created at "
    "run time, so each grant is scoped to its key prefix (one action per statement, never the whole bucket)."
)
BUCKET_ACCESS_LOGS_REASON: Final = (
    "Objects are only reached through short-lived presigned URLs minted by the resolvers for a caller "
    "the API authorised (logged by AppSync and the resolvers); S3 server access logs would add a second "
    "bucket and per-request log objects without identifying anyone the API has not already logged."
)


class ArtifactStore(Construct):
    """Private, encrypted, TLS-only, expiring with the jobs; ``jobs/*`` for artifacts, ``uploads/*`` for inputs."""

    def __init__(self, scope: Construct, construct_id: str, *, config: JobsConfig) -> None:
        super().__init__(scope, construct_id)
        self.bucket = s3.Bucket(
            self,
            "ArtifactBucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[
                # A job record lives job_retention_days after it finished (DynamoDB TTL); its files
                # as long from their upload, so a URL never outlives the job that lists it by much.
                s3.LifecycleRule(id="ExpireWithJobs", prefix="jobs/", expiration=Duration.days(config.job_retention_days)),
                s3.LifecycleRule(id="ExpireUploads", prefix="uploads/", expiration=Duration.days(config.job_retention_days)),
                s3.LifecycleRule(id="AbortIncompleteUploads", abort_incomplete_multipart_upload_after=Duration.days(1)),
            ],
            # Browsers (the web console) GET artifacts and PUT uploads with presigned URLs.
            cors=[s3.CorsRule(
                allowed_methods=[s3.HttpMethods.GET, s3.HttpMethods.PUT, s3.HttpMethods.HEAD],
                allowed_origins=["*"],
                allowed_headers=["content-type"],
                exposed_headers=["etag"],
                max_age=3000,
            )],
            removal_policy=base.removal_policy(config),
        )
        base.acknowledge(self.bucket, "AwsSolutions-S1", BUCKET_ACCESS_LOGS_REASON)

    def grant_objects(self, grantee: iam.IGrantable, sid: str, action: str, prefix: str) -> None:
        """One action on ``<prefix>/*`` only (presigning signs with the signer's own permissions)."""
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(sid=sid, actions=[action], resources=[self.bucket.arn_for_objects(f"{prefix}/*")])
        )

    def acknowledge_prefix_grants(self, role: iam.IRole) -> None:
        """Record why ``role``'s ``jobs/*`` and ``uploads/*`` object grants end in a wildcard."""
        bucket_id = Stack.of(self).get_logical_id(base.cfn(self.bucket))
        for prefix in ("jobs", "uploads"):
            base.acknowledge(role, f"AwsSolutions-IAM5[Resource::<{bucket_id}.Arn>/{prefix}/*]", ARTIFACT_KEYS_REASON)
