"""The S3 artifact store on moto: put/head/open, and presigned GET/PUT URLs that carry their terms."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
import requests
from botocore.config import Config
from moto import mock_aws

from jobcore.adapters.s3 import S3ArtifactStore
from jobcore.artifacts import artifact_key
from jobcore.errors import ValidationError

BUCKET = "appsync-jobs-artifacts"


@pytest.fixture
def store() -> Iterator[S3ArtifactStore]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1",
                              config=Config(signature_version="s3v4", s3={"addressing_style": "virtual"}))
        client.create_bucket(Bucket=BUCKET)
        yield S3ArtifactStore(client, BUCKET)


def test_put_head_and_open(store: S3ArtifactStore, tmp_path: Path) -> None:
    key = artifact_key("job-1", "report.csv")
    assert store.head(key) is None
    assert store.put_bytes(key, b"a,b\n1,2\n", "text/csv") == 8
    info = store.head(key)
    assert info is not None and (info.size, info.content_type) == (8, "text/csv")
    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * (9 * 1024 * 1024))  # above boto3's multipart threshold
    assert store.put_file(artifact_key("job-1", "big.bin"), big, "application/octet-stream") == big.stat().st_size
    with store.open(artifact_key("job-1", "big.bin")) as stream:
        assert stream.read() == big.read_bytes()
    with pytest.raises(ValidationError):
        store.open("jobs/job-1/missing")


def test_presigned_get_downloads_with_the_artifacts_name(store: S3ArtifactStore) -> None:
    key = artifact_key("job-2", "result.json")
    store.put_bytes(key, b'{"ok":true}', "application/json")
    signed = store.presign_get(key, expires_in=300, filename="result.json")
    query = parse_qs(urlsplit(signed.url).query)
    assert query["X-Amz-Expires"] == ["300"] and query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert query["response-content-disposition"] == ['attachment; filename="result.json"']
    answer = requests.get(signed.url, timeout=10)
    assert answer.status_code == 200 and answer.content == b'{"ok":true}'


def test_presigned_put_signs_the_content_type_and_length(store: S3ArtifactStore) -> None:
    signed = store.presign_put("uploads/o/u", content_type="text/plain", size=5, expires_in=300)
    signed_headers = parse_qs(urlsplit(signed.url).query)["X-Amz-SignedHeaders"][0].split(";")
    assert {"content-type", "content-length", "host"} <= set(signed_headers)
    assert signed.headers == {"Content-Type": "text/plain"}
    assert requests.put(signed.url, data=b"hello", headers=signed.headers, timeout=10).status_code == 200
    info = store.head("uploads/o/u")
    assert info is not None and info.size == 5


def test_a_missing_key_answered_403_without_list_bucket_is_not_found() -> None:
    from botocore.exceptions import ClientError

    class Forbidden:
        def head_object(self, **_: object) -> None:
            raise ClientError({"Error": {"Code": "403", "Message": "Forbidden"}}, "HeadObject")

    assert S3ArtifactStore(Forbidden(), BUCKET).head("uploads/o/missing") is None


def test_the_cloud_store_comes_from_settings_and_builds_its_client_on_first_use() -> None:
    from jobcore.bootstrap import artifact_store_from_settings
    from jobcore.settings import Settings

    assert artifact_store_from_settings(Settings.from_env({"APPSYNC_JOBS_BACKEND": "aws"})) is None
    with mock_aws():
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=BUCKET)
        store = artifact_store_from_settings(Settings.from_env({"JOBS_ARTIFACT_BUCKET": BUCKET, "AWS_REGION": "us-east-1"}))
        assert isinstance(store, S3ArtifactStore)
        store.put_bytes("jobs/j/x.txt", b"x", "text/plain")
        assert store.head("jobs/j/x.txt") is not None
        assert "X-Amz-Signature=" in store.presign_get("jobs/j/x.txt", expires_in=60).url
