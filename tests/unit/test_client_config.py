"""The client finds the API from flags, environment or an amplify_outputs.json (local server or CDK stack)."""

from __future__ import annotations

import json
from pathlib import Path

from client.config import ClientConfig, realtime_url_for


def test_realtime_urls_follow_appsync_rules() -> None:
    assert realtime_url_for("https://abc.appsync-api.eu-west-1.amazonaws.com/graphql") == (
        "wss://abc.appsync-realtime-api.eu-west-1.amazonaws.com/graphql"
    )
    assert realtime_url_for("https://api.example.com/graphql") == "wss://api.example.com/graphql/realtime"
    assert realtime_url_for("http://127.0.0.1:8000/graphql") == "ws://127.0.0.1:8000/graphql/realtime"


def test_amplify_outputs_file_configures_url_key_and_region(tmp_path: Path) -> None:
    outputs = tmp_path / "amplify_outputs.json"
    outputs.write_text(json.dumps({"version": "1", "data": {
        "url": "https://abc.appsync-api.us-west-2.amazonaws.com/graphql", "aws_region": "us-west-2",
        "api_key": "da2-deployed", "default_authorization_type": "API_KEY", "authorization_types": ["AWS_IAM"]}}))
    config = ClientConfig.from_env({"APPSYNC_JOBS_OUTPUTS": str(outputs)})
    assert (config.url, config.api_key, config.region, config.iam) == (
        "https://abc.appsync-api.us-west-2.amazonaws.com/graphql", "da2-deployed", "us-west-2", False)
    assert config.host == "abc.appsync-api.us-west-2.amazonaws.com"


def test_environment_and_flags_override_the_file(tmp_path: Path) -> None:
    outputs = tmp_path / "o.json"
    outputs.write_text(json.dumps({"data": {"url": "https://x/graphql", "api_key": "k1"}}))
    config = ClientConfig.from_env({"APPSYNC_JOBS_OUTPUTS": str(outputs), "APPSYNC_JOBS_API_KEY": "k2",
                                    "APPSYNC_JOBS_AUTH": "iam"}, url="https://y/graphql")
    assert (config.url, config.api_key, config.iam) == ("https://y/graphql", "k2", True)


def test_a_user_pool_token_comes_from_the_environment_and_a_flag_wins() -> None:
    assert ClientConfig.from_env({"APPSYNC_JOBS_TOKEN": "eyJ.env.token"}).token == "eyJ.env.token"
    assert ClientConfig.from_env({"APPSYNC_JOBS_TOKEN": "eyJ.env.token"}, token="eyJ.flag").token == "eyJ.flag"
    assert ClientConfig.from_env({}).token is None


def test_the_client_signs_with_the_token_when_one_is_given() -> None:
    from gql.transport.appsync_auth import AppSyncApiKeyAuthentication, AppSyncJWTAuthentication

    from client.api import JobsClient

    with_token = JobsClient(ClientConfig(token="eyJ.a.b"))._auth()
    assert isinstance(with_token, AppSyncJWTAuthentication)
    assert with_token.get_headers()["Authorization"] == "eyJ.a.b"
    assert isinstance(JobsClient(ClientConfig())._auth(), AppSyncApiKeyAuthentication)
