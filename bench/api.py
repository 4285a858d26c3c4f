"""The GraphQL requests the benchmarks send, as a real client and the worker send them."""

from __future__ import annotations

import json
import uuid
from typing import Any

from bench.httpclient import build_request
from bench.servers import ACCESS_KEY_ID, API_KEY, REGION, ROOT, SECRET_ACCESS_KEY
from jobcore.documents import UPDATE_JOB

#: The client's own operations document (client/operations/jobs.graphql), fragments and all.
CLIENT_DOCUMENT = (ROOT / "client" / "operations" / "jobs.graphql").read_text()


def _body(query: str, variables: dict[str, Any], operation: str | None = None) -> bytes:
    payload: dict[str, Any] = {"query": query, "variables": variables}
    if operation:
        payload["operationName"] = operation
    return json.dumps(payload, separators=(",", ":")).encode()


def submit_request(authority: str, job_type: str = "echo", payload: Any = None) -> bytes:
    """``SubmitJob`` with the API key, exactly as ``JobsClient.submit`` sends it."""
    job_input: dict[str, Any] = {"type": job_type}
    if payload is not None:
        job_input["payload"] = json.dumps(payload)
    body = _body(CLIENT_DOCUMENT, {"input": job_input}, "SubmitJob")
    return build_request(authority, "/graphql", body, {"host": authority, "x-api-key": API_KEY})


def list_request(authority: str, limit: int = 100) -> bytes:
    """``ListJobs`` (the first page, ``limit`` items) with the API key, exactly as ``JobsClient.list_jobs`` sends it."""
    body = _body(CLIENT_DOCUMENT, {"limit": limit}, "ListJobs")
    return build_request(authority, "/graphql", body, {"host": authority, "x-api-key": API_KEY})


def subscription_start(sub_id: str, job_id: str | None, authority: str) -> str:
    """``OnJobUpdated(id)``, or with ``job_id=None`` ``OnMyJobsUpdated`` (every job of the API-key principal)."""
    from bench.realtime import start_message

    if job_id is None:
        return start_message(sub_id, _subscription_query(mine=True), {}, authority, API_KEY)
    return start_message(sub_id, _subscription_query(), {"id": job_id}, authority, API_KEY)


def _subscription_query(*, mine: bool = False) -> str:
    # gql sends the printed document with only the operation it runs plus its fragments; the server
    # parses whatever it gets, so the whole client document with operationName would also do.
    fragment = CLIENT_DOCUMENT.split("mutation SubmitJob")[0]
    if mine:
        return "subscription OnMyJobsUpdated {\n  onMyJobsUpdated {\n    ...JobFields\n  }\n}\n" + fragment
    return "subscription OnJobUpdated($id: ID!) {\n  onJobUpdated(id: $id) {\n    ...JobFields\n  }\n}\n" + fragment


class Signer:
    """SigV4 for ``updateJob`` (IAM only), with gql's AppSync signer and the documented local keys."""

    def __init__(self, authority: str) -> None:
        from botocore.credentials import Credentials
        from gql.transport.appsync_auth import AppSyncIAMAuthentication

        self.authority = authority
        self._auth = AppSyncIAMAuthentication(
            host=authority, region_name=REGION, credentials=Credentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY)
        )

    def update_request(self, job_id: str, fields: dict[str, Any]) -> bytes:
        body = _body(UPDATE_JOB, {"input": {"id": job_id, **fields}})
        headers = self._auth.get_headers(body.decode(), {"content-type": "application/json"})
        return build_request(self.authority, "/graphql", body, headers)


def new_lease_token() -> str:
    return str(uuid.uuid4())


def data_of(status: int, body: bytes, field: str) -> dict[str, Any]:
    """The field's object from a GraphQL answer, or raise with what came back."""
    if status != 200:
        raise RuntimeError(f"HTTP {status}: {body[:300]!r}")
    answer = json.loads(body)
    if answer.get("errors") or not (answer.get("data") or {}).get(field):
        raise RuntimeError(f"{field} failed: {body[:400]!r}")
    return answer["data"][field]  # type: ignore[no-any-return]
