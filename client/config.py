"""Where the API is and how to authenticate: flags, environment, or an Amplify outputs file.

One auth object serves both transports (HTTP for queries/mutations, the AppSync real-time socket for
subscriptions); only the URLs differ between the local server and a deployed API.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

LOCAL_URL = "http://127.0.0.1:8000/graphql"
#: The local server's documented default key (see README); a deployed API has its own.
LOCAL_API_KEY = "da2-appsyncjobslocal0000000000"


def realtime_url_for(url: str) -> str:
    """AppSync's real-time URL for a GraphQL URL (standard domain, custom domain, or the local server)."""
    parsed = urlparse(url)
    if ".appsync-api." in parsed.netloc:
        return "wss://" + parsed.netloc.replace(".appsync-api.", ".appsync-realtime-api.") + parsed.path
    scheme = "wss" if parsed.scheme == "https" else "ws"
    return f"{scheme}://{parsed.netloc}{parsed.path.rstrip('/')}/realtime"


@dataclass(frozen=True)
class ClientConfig:
    url: str = LOCAL_URL
    api_key: str | None = LOCAL_API_KEY
    #: Use SigV4 (IAM) with the default botocore credentials instead of the API key.
    iam: bool = False
    #: A Cognito user-pool token (access or ID token) to act as that user instead of the API key.
    token: str | None = None
    region: str | None = None
    realtime_url: str | None = None
    #: TLS verification: True, False, or a CA bundle path (the local --tls certificate).
    verify: bool | str = True

    @property
    def host(self) -> str:
        return urlparse(self.url).netloc

    @property
    def websocket_url(self) -> str:
        return self.realtime_url or realtime_url_for(self.url)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: Any) -> ClientConfig:
        env = dict(os.environ if env is None else env)
        values: dict[str, Any] = {}
        outputs = env.get("APPSYNC_JOBS_OUTPUTS")
        if outputs:
            values.update(from_amplify_outputs(json.loads(Path(outputs).read_text())))
        if "APPSYNC_JOBS_URL" in env:
            values["url"] = env["APPSYNC_JOBS_URL"]
        if "APPSYNC_JOBS_API_KEY" in env:
            values["api_key"] = env["APPSYNC_JOBS_API_KEY"]
        if env.get("APPSYNC_JOBS_TOKEN"):
            values["token"] = env["APPSYNC_JOBS_TOKEN"]
        if env.get("APPSYNC_JOBS_AUTH", "").lower() == "iam":
            values["iam"] = True
        if "AWS_REGION" in env and "region" not in values:
            values["region"] = env["AWS_REGION"]
        if "APPSYNC_JOBS_CA_BUNDLE" in env:
            values["verify"] = env["APPSYNC_JOBS_CA_BUNDLE"]
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


def from_amplify_outputs(outputs: dict[str, Any]) -> dict[str, Any]:
    """Read the ``data`` section of an ``amplify_outputs.json`` (what the CDK stack and local server emit)."""
    data = outputs.get("data", outputs)
    values: dict[str, Any] = {"url": data["url"], "region": data.get("aws_region")}
    if data.get("api_key"):
        values["api_key"] = data["api_key"]
    if data.get("default_authorization_type") == "AWS_IAM":
        values["iam"] = True
    return values
