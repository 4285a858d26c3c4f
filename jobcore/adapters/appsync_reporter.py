"""The worker's side of the API: ``updateJob`` over HTTPS, signed with SigV4 (IAM), through gql.

The same class reports to AppSync in the cloud and to the local server, which verifies the same
signature - so the local run exercises the deployed authentication path, not a shortcut.
"""

from __future__ import annotations

import json
import threading
from typing import Any
from urllib.parse import urlparse

import requests
from gql import Client, GraphQLRequest, gql
from gql.transport.appsync_auth import AppSyncIAMAuthentication
from gql.transport.exceptions import TransportQueryError
from gql.transport.requests import RequestsHTTPTransport

from jobcore.documents import UPDATE_JOB
from jobcore.errors import JobsError, error_class_for
from jobcore.tracing import current_trace_header
from jobcore.wire import JobShape, job_from_graphql


class SigV4RequestsAuth(requests.auth.AuthBase):
    """Signs each request with gql's own AppSync IAM signer (the one gql's async transports use)."""

    def __init__(self, signer: AppSyncIAMAuthentication) -> None:
        self.signer = signer

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        body = request.body.decode() if isinstance(request.body, bytes) else (request.body or "")
        request.headers.update(self.signer.get_headers(body, {"content-type": "application/json"}))
        # The delivery's trace (the submit's, from the message): AppSync and the resolver behind it
        # record this updateJob under the same trace id. Not signed, as for AWS SDK calls. In Lambda
        # with tracing on, the X-Ray SDK's requests patch replaces it with the worker's own segment.
        trace = current_trace_header()
        if trace:
            request.headers["X-Amzn-Trace-Id"] = trace
        return request


class AppSyncJobReporter:
    def __init__(
        self,
        graphql_url: str,
        *,
        region: str,
        credentials: Any | None = None,
        verify: bool | str = True,
        timeout: int = 30,
    ) -> None:
        host = urlparse(graphql_url).netloc
        signer = AppSyncIAMAuthentication(host=host, region_name=region, credentials=credentials)
        self._transport_args: dict[str, Any] = {
            "url": graphql_url,
            "auth": SigV4RequestsAuth(signer),
            "verify": verify,
            "timeout": timeout,
            "retries": 2,
        }
        self._document = gql(UPDATE_JOB).document
        self._local = threading.local()  # a requests session per thread (heartbeats run on their own)

    def _client(self) -> Client:
        client: Client | None = getattr(self._local, "client", None)
        if client is None:
            client = Client(transport=RequestsHTTPTransport(**self._transport_args))
            client.connect_sync()  # type: ignore[no-untyped-call]
            self._local.client = client
        return client

    def update(self, job_id: str, fields: dict[str, Any]) -> JobShape:
        payload = {"id": job_id, **{k: v for k, v in fields.items() if v is not None}}
        if "result" in fields:  # AWSJSON travels as a JSON string, as on AppSync
            payload["result"] = json.dumps(fields["result"], separators=(",", ":"))
        try:
            session: Any = self._client().session
            # A fresh request per call: gql's legacy (document, variable_values=...) form writes the
            # variables onto the shared request object, so two threads (a task and its heartbeat)
            # could send each other's input.
            request = GraphQLRequest(self._document, variable_values={"input": payload})
            data: dict[str, Any] = session.execute(request)
        except TransportQueryError as exc:
            raise _domain_error(exc) from exc
        job = data["updateJob"]
        if job is None:
            raise JobsError(f"updateJob returned no job for {job_id}")
        for key in ("payload", "result"):
            if isinstance(job.get(key), str):
                job[key] = json.loads(job[key])
        return job_from_graphql(job)


def _domain_error(exc: TransportQueryError) -> JobsError:
    errors = exc.errors or [{}]
    first = errors[0]
    cls = error_class_for(first.get("errorType"))
    return cls(str(first.get("message", exc)), info=first.get("errorInfo"))
