"""Amazon S3 artifact store: objects in the stack's bucket, presigned GET/PUT URLs (SigV4).

Presigned URLs carry the signer's credentials' authority for their lifetime: the resolvers Lambda
mints them (its role may GetObject on ``jobs/*`` and PutObject on ``uploads/*`` only), for a caller
the resolver has already allowed to read the job.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO, cast

from botocore.exceptions import ClientError

from jobcore.artifacts import ArtifactStore, ObjectInfo, PresignedUrl
from jobcore.errors import ValidationError


class S3ArtifactStore(ArtifactStore):
    def __init__(self, client: Any, bucket: str) -> None:
        self.client = client
        self.bucket = bucket

    def put_bytes(self, key: str, data: bytes, content_type: str) -> int:
        self.client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)
        return len(data)

    def put_file(self, key: str, path: Path, content_type: str) -> int:
        # upload_file streams in parts (multipart above 8 MB), so a large file is never read whole.
        self.client.upload_file(str(path), self.bucket, key, ExtraArgs={"ContentType": content_type})
        return path.stat().st_size

    def presign_get(self, key: str, *, expires_in: int, filename: str | None = None) -> PresignedUrl:
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": key}
        if filename:
            params["ResponseContentDisposition"] = f'attachment; filename="{filename}"'
        url = self.client.generate_presigned_url("get_object", Params=params, ExpiresIn=expires_in)
        return PresignedUrl(str(url), _expiry(expires_in))

    def presign_put(self, key: str, *, content_type: str, size: int, expires_in: int) -> PresignedUrl:
        # Content-Type and Content-Length are signed headers: S3 refuses a PUT that differs in either.
        url = self.client.generate_presigned_url(
            "put_object",
            Params={"Bucket": self.bucket, "Key": key, "ContentType": content_type, "ContentLength": size},
            ExpiresIn=expires_in,
        )
        return PresignedUrl(str(url), _expiry(expires_in), {"Content-Type": content_type})

    def head(self, key: str) -> ObjectInfo | None:
        try:
            reply = self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            # Without s3:ListBucket (deliberately not granted) S3 answers a missing key with 403, not 404.
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound", "403", "AccessDenied", "Forbidden"):
                return None
            raise
        return ObjectInfo(int(reply["ContentLength"]), str(reply.get("ContentType", "binary/octet-stream")))

    def open(self, key: str) -> BinaryIO:
        try:
            reply = self.client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            raise ValidationError(f"no object {key}") from exc
        return cast("BinaryIO", reply["Body"])


def _expiry(expires_in: int) -> datetime:
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000) + timedelta(seconds=expires_in)
