"""Nothing the server prints contains a credential: API keys, IAM secrets and signatures, user tokens.

Exercises every credential path once - good and bad API key, a user-pool token and a forged one,
SigV4 from the worker and a tampered signature, a failing task - then reads all the server wrote.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from client.api import JobsApiError, JobsClient
from client.config import ClientConfig
from client.models import JobStatus
from devserver.auth.user_pool import LocalUserPool
from jobcore.settings import LOCAL_ACCESS_KEY_ID, LOCAL_REGION, LOCAL_SECRET_ACCESS_KEY
from support.server import ROOT, start_server

API_KEY = "da2-aprivatekeyfortheloggingtest0"
SECOND_KEY_ID = "AKIASECONDLOCALKEY00"
SECOND_SECRET = "second-iam-secret-that-must-never-be-printed"
SUBMIT = 'mutation { submitJob(input: {type: "echo", payload: "{\\"n\\": 1}"}) { id } }'


def test_no_credential_reaches_the_servers_output(tmp_path: Path) -> None:
    # DEBUG: the most the Lambda handlers ever log.
    # DEBUG also turns on the resolvers' per-request lines (correlation ids, trace headers) and the
    # worker's delivery lines with their job ids; metrics are recorded throughout.
    server = start_server(tmp_path, "--api-key", API_KEY, env={
        "POWERTOOLS_LOG_LEVEL": "DEBUG", "APPSYNC_JOBS_EXTRA_ACCESS_KEYS": f"{SECOND_KEY_ID}:{SECOND_SECRET}",
    })
    token = LocalUserPool().mint("alice")
    forged = LocalUserPool(secret="a-forged-secret-long-enough-for-hs256").mint("mallory")
    try:
        def post(headers: dict[str, str], query: str = SUBMIT) -> requests.Response:
            return requests.post(server.url, json={"query": query}, headers=headers, timeout=10)

        assert post({"x-api-key": API_KEY}).status_code == 200
        assert post({"x-api-key": API_KEY[:-1] + "x"}).status_code == 401
        assert post({"authorization": token}).status_code == 200
        assert post({"authorization": forged}).status_code == 401

        signed = AWSRequest(method="POST", url=server.url, data=f'{{"query": {SUBMIT!r}}}'.replace("'", '"'),
                            headers={"content-type": "application/json", "host": server.host})
        SigV4Auth(Credentials(LOCAL_ACCESS_KEY_ID, LOCAL_SECRET_ACCESS_KEY), "appsync", LOCAL_REGION).add_auth(signed)
        tampered = dict(signed.headers.items())
        tampered["Authorization"] = re.sub(r"Signature=\w+", "Signature=" + "0" * 64, tampered["Authorization"])
        assert requests.post(server.url, data=signed.body, headers=tampered, timeout=10).status_code == 401

        second = AWSRequest(method="POST", url=server.url, data=json.dumps({"query": SUBMIT}),
                            headers={"content-type": "application/json", "host": server.host})
        SigV4Auth(Credentials(SECOND_KEY_ID, SECOND_SECRET), "appsync", LOCAL_REGION).add_auth(second)
        answer = requests.post(server.url, data=second.body, headers=dict(second.headers.items()), timeout=10)
        assert answer.status_code == 200 and "errors" not in answer.json()  # the untrusted key works, as itself

        async def run_jobs() -> None:
            async with JobsClient(ClientConfig(url=server.url, api_key=API_KEY)) as client:
                done = await client.wait((await client.submit("echo", {"n": 2})).id, timeout=30)
                assert done.status is JobStatus.SUCCEEDED  # the worker reported with SigV4
                failed = await client.wait((await client.submit("fail", {"message": "boom"})).id, timeout=30)
                assert failed.status is JobStatus.FAILED
                with pytest.raises(JobsApiError):
                    await client.get("00000000-0000-4000-8000-000000000000")

        asyncio.run(run_jobs())
        scraped = requests.get(server.url.removesuffix("/graphql") + "/metrics", timeout=10).text
        assert "appsync_jobs_jobs_submitted_total" in scraped
        stats = subprocess.run(
            [sys.executable, "-m", "devserver.cli", "stats", "--data-dir", str(tmp_path)],
            cwd=ROOT, capture_output=True, text=True, timeout=30, check=True,
        )
        assert "jobs-dlq-archive" in stats.stdout
    finally:
        server.stop()
    printed = "".join(server.output) + scraped + stats.stdout + stats.stderr
    assert "job submitted" in printed  # the server did log, so an empty output proves nothing
    assert '"correlation_id"' in printed and '"job_id"' in printed  # the new DEBUG paths did run
    for secret in (API_KEY, LOCAL_SECRET_ACCESS_KEY, SECOND_SECRET, token, token.rsplit(".", 1)[1], forged, "Signature="):
        assert secret not in printed, f"the server printed a credential ({secret[:12]}…)"
