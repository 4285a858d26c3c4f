"""Mode inference and identity building, with the header shapes gql and Amplify really send."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from gql.transport.appsync_auth import AppSyncApiKeyAuthentication, AppSyncIAMAuthentication

from devserver.auth import identity
from devserver.auth.identity import AuthConfig, AuthenticationFailed
from devserver.auth.user_pool import LocalUserPool
from jobcore.auth import API_KEY_CALLER, AuthMode, Caller
from jobcore.settings import LOCAL_ACCESS_KEY_ID, LOCAL_API_KEY, LOCAL_REGION, LOCAL_SECRET_ACCESS_KEY

HOST = "127.0.0.1:8000"
CONFIG = AuthConfig.local_default()
LOCAL_ARN = f"arn:aws:iam::000000000000:user/{LOCAL_ACCESS_KEY_ID}"


def now() -> datetime:
    return datetime.now(UTC)


def iam() -> AppSyncIAMAuthentication:
    return AppSyncIAMAuthentication(
        host=HOST, region_name=LOCAL_REGION, credentials=Credentials(LOCAL_ACCESS_KEY_ID, LOCAL_SECRET_ACCESS_KEY)
    )


def test_local_default_uses_the_settings_constants() -> None:
    assert CONFIG.api_keys == frozenset({LOCAL_API_KEY})
    assert dict(CONFIG.credentials) == {LOCAL_ACCESS_KEY_ID: LOCAL_SECRET_ACCESS_KEY}
    assert CONFIG.region == LOCAL_REGION
    assert CONFIG.max_clock_skew == timedelta(minutes=5)


# --- HTTP -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["x-api-key", "X-Api-Key", "X-API-KEY"])
def test_http_api_key_in_any_case(name: str) -> None:
    caller = identity.authenticate_http({name: LOCAL_API_KEY, "host": HOST}, b"{}", "/graphql", CONFIG, now())
    assert caller == API_KEY_CALLER


def test_http_wrong_api_key_is_refused() -> None:
    with pytest.raises(AuthenticationFailed) as caught:
        identity.authenticate_http({"x-api-key": "da2-wrong"}, b"{}", "/graphql", CONFIG, now())
    assert caught.value.message == identity.NOT_AUTHORIZED == "You are not authorized to make this call."
    assert caught.value.error_type == "UnauthorizedException"


def test_http_without_credentials_is_refused() -> None:
    with pytest.raises(AuthenticationFailed) as caught:
        identity.authenticate_http({"host": HOST}, b"{}", "/graphql", CONFIG, now())
    assert caught.value.message == identity.NOT_AUTHORIZED


def test_http_malformed_jwt_authorization_is_refused_as_not_a_valid_header() -> None:
    with pytest.raises(AuthenticationFailed) as caught:
        identity.authenticate_http({"Authorization": "eyJhbGciOi.x.y"}, b"{}", "/graphql", CONFIG, now())
    assert caught.value.message == identity.NO_VALID_AUTH_HEADER == "Valid authorization header not provided."


def test_http_jwt_authorization_with_api_key_is_api_key_mode() -> None:
    headers = {"Authorization": "eyJhbGciOi.x.y", "x-api-key": LOCAL_API_KEY}
    assert identity.authenticate_http(headers, b"{}", "/graphql", CONFIG, now()) == API_KEY_CALLER


def test_http_iam_signed_by_gql() -> None:
    body = '{"query": "mutation { updateJob }"}'
    headers = iam().get_headers(body, {"content-type": "application/json"})
    caller = identity.authenticate_http(headers, body.encode(), "/graphql", CONFIG, now())
    assert caller == Caller(AuthMode.AWS_IAM, LOCAL_ARN)
    # Authentication only says who signed; whether that principal is the trusted reporter is the
    # resolver's decision (jobcore.auth.ReporterTrust), made on the identity AppSync passes it.
    assert not caller.trusted


def test_http_iam_wins_over_an_api_key_header() -> None:
    body = "{}"
    headers = {**iam().get_headers(body, {"content-type": "application/json"}), "x-api-key": "da2-wrong"}
    assert identity.authenticate_http(headers, body.encode(), "/graphql", CONFIG, now()).mode is AuthMode.AWS_IAM


def test_http_iam_signed_by_botocore_with_lower_case_headers() -> None:
    body = b'{"query":"{ a }","variables":null}'
    request = AWSRequest(
        method="POST",
        url=f"https://{HOST}/graphql",
        data=body,
        headers={"content-type": "application/json; charset=UTF-8"},
    )
    SigV4Auth(Credentials(LOCAL_ACCESS_KEY_ID, LOCAL_SECRET_ACCESS_KEY), "appsync", LOCAL_REGION).add_auth(request)
    headers = {name.lower(): value for name, value in request.headers.items()} | {"host": HOST}
    assert identity.authenticate_http(headers, body, "/graphql", CONFIG, now()).principal == LOCAL_ARN


def test_http_iam_bad_signature_carries_the_signature_message() -> None:
    body = '{"query":"{ a }"}'
    headers = iam().get_headers(body, {"content-type": "application/json"})
    with pytest.raises(AuthenticationFailed) as caught:
        identity.authenticate_http(headers, b'{"query":"{ b }"}', "/graphql", CONFIG, now())
    assert caught.value.message.startswith("The request signature we calculated does not match")


def test_http_iam_expired_signature_is_refused() -> None:
    body = "{}"
    headers = iam().get_headers(body, {"content-type": "application/json"})
    with pytest.raises(AuthenticationFailed, match="Signature expired"):
        identity.authenticate_http(headers, body.encode(), "/graphql", CONFIG, now() + timedelta(minutes=10))


def test_http_iam_key_unknown_to_this_config_is_refused() -> None:
    config = AuthConfig(api_keys=frozenset(), credentials={"AKIAOTHER": "x"}, region=LOCAL_REGION)
    body = "{}"
    headers = iam().get_headers(body, {"content-type": "application/json"})
    with pytest.raises(AuthenticationFailed, match="security token included in the request is invalid"):
        identity.authenticate_http(headers, body.encode(), "/graphql", config, now())


def test_http_iam_region_comes_from_the_config() -> None:
    config = AuthConfig(
        api_keys=frozenset(), credentials={LOCAL_ACCESS_KEY_ID: LOCAL_SECRET_ACCESS_KEY}, region="eu-central-1"
    )
    body = "{}"
    headers = iam().get_headers(body, {"content-type": "application/json"})
    with pytest.raises(AuthenticationFailed, match="valid region"):
        identity.authenticate_http(headers, body.encode(), "/graphql", config, now())


# --- realtime header objects ------------------------------------------------------------------------------


def test_realtime_gql_api_key_header() -> None:
    header = AppSyncApiKeyAuthentication(host=HOST, api_key=LOCAL_API_KEY).get_headers()
    caller = identity.authenticate_realtime(header, body="{}", path="/graphql/connect", config=CONFIG, now=now())
    assert caller == API_KEY_CALLER


def test_realtime_amplify_api_key_header_with_extra_keys() -> None:
    header = {
        "host": HOST,
        "x-amz-date": "20240101T000000Z",
        "x-api-key": LOCAL_API_KEY,
        "x-amz-user-agent": "aws-amplify/6",
    }
    caller = identity.authenticate_realtime(header, body="{}", path="/graphql/connect", config=CONFIG, now=now())
    assert caller == API_KEY_CALLER


def test_realtime_iam_connect_and_start() -> None:
    connect = identity.authenticate_realtime(
        iam().get_headers(), body="{}", path="/graphql/connect", config=CONFIG, now=now()
    )
    data = '{"query":"subscription { onJobUpdated { id } }"}'
    start = identity.authenticate_realtime(
        iam().get_headers(data), body=data, path="/graphql", config=CONFIG, now=now()
    )
    assert connect == start == Caller(AuthMode.AWS_IAM, LOCAL_ARN)


def test_realtime_start_signature_is_bound_to_its_data() -> None:
    data = '{"query":"subscription { a }"}'
    header = iam().get_headers(data)
    with pytest.raises(AuthenticationFailed, match="does not match"):
        identity.authenticate_realtime(header, body=data + " ", path="/graphql", config=CONFIG, now=now())


def test_realtime_header_values_that_are_not_text_are_coerced() -> None:
    with pytest.raises(AuthenticationFailed):
        identity.authenticate_realtime({"x-api-key": 42}, body="{}", path="/graphql/connect", config=CONFIG, now=now())


def test_realtime_empty_header_is_refused() -> None:
    with pytest.raises(AuthenticationFailed) as caught:
        identity.authenticate_realtime({}, body="{}", path="/graphql/connect", config=CONFIG, now=now())
    assert caught.value.message == identity.NOT_AUTHORIZED


# --- ctx.identity -----------------------------------------------------------------------------------------


def test_iam_identity_has_the_appsync_iam_shape() -> None:
    caller = Caller(AuthMode.AWS_IAM, LOCAL_ARN)
    assert identity.appsync_identity(caller, "127.0.0.1") == {
        "accountId": "000000000000",
        "cognitoIdentityPoolId": None,
        "cognitoIdentityId": None,
        "sourceIp": ["127.0.0.1"],
        "username": LOCAL_ACCESS_KEY_ID,
        "userArn": LOCAL_ARN,
        "cognitoIdentityAuthType": None,
        "cognitoIdentityAuthProvider": None,
    }


def test_iam_identity_keeps_a_source_ip_chain() -> None:
    result = identity.appsync_identity(Caller(AuthMode.AWS_IAM, LOCAL_ARN), ["10.0.0.1", "127.0.0.1"])
    assert result is not None
    assert result["sourceIp"] == ["10.0.0.1", "127.0.0.1"]


def test_iam_identity_round_trips_through_jobcore() -> None:
    from jobcore.auth import caller_from_appsync_identity

    caller = Caller(AuthMode.AWS_IAM, LOCAL_ARN)
    assert caller_from_appsync_identity(identity.appsync_identity(caller, "127.0.0.1")) == caller


def test_iam_identity_is_none_for_api_key() -> None:
    assert identity.appsync_identity(API_KEY_CALLER, "127.0.0.1") is None
    assert identity.LOCAL_ACCOUNT_ID == "000000000000"


# --- user pool (Cognito) ---------------------------------------------------------------------------

POOL = LocalUserPool()


@pytest.mark.parametrize("prefix", ["", "Bearer "])
def test_http_user_pool_token_is_cognito_mode_keyed_on_sub(prefix: str) -> None:
    headers = {"Authorization": prefix + POOL.mint("alice"), "host": HOST}
    caller = identity.authenticate_http(headers, b"{}", "/graphql", CONFIG, now())
    assert (caller.mode, caller.principal) == (AuthMode.AMAZON_COGNITO_USER_POOLS, POOL.sub_for("alice"))


def test_http_expired_user_pool_token_is_refused_as_expired() -> None:
    stale = POOL.mint("alice", lifetime_seconds=60, now=datetime.now(UTC).timestamp() - 3600)
    with pytest.raises(AuthenticationFailed) as caught:
        identity.authenticate_http({"Authorization": stale}, b"{}", "/graphql", CONFIG, now())
    assert caught.value.message == "Token has expired."


def test_a_server_without_a_user_pool_refuses_tokens() -> None:
    config = AuthConfig(api_keys=frozenset({LOCAL_API_KEY}))
    with pytest.raises(AuthenticationFailed) as caught:
        identity.authenticate_http({"Authorization": POOL.mint("alice")}, b"{}", "/graphql", config, now())
    assert caught.value.message == identity.NO_VALID_AUTH_HEADER


def test_realtime_user_pool_header_as_gql_sends_it() -> None:
    from gql.transport.appsync_auth import AppSyncJWTAuthentication

    header = AppSyncJWTAuthentication(host=HOST, jwt=POOL.mint("bob")).get_headers("{}")
    caller = identity.authenticate_realtime(header, body="{}", path="/graphql/connect", config=CONFIG, now=now())
    assert caller.principal == POOL.sub_for("bob")


def test_user_pool_identity_has_the_appsync_cognito_shape_and_round_trips() -> None:
    from jobcore.auth import caller_from_appsync_identity

    headers = {"Authorization": POOL.mint("carol", groups=["admins"])}
    caller = identity.authenticate_http(headers, b"{}", "/graphql", CONFIG, now())
    built = identity.appsync_identity(caller, ["127.0.0.1"])
    assert built is not None
    assert set(built) == {"sub", "issuer", "username", "claims", "sourceIp", "defaultAuthStrategy", "groups"}
    assert (built["username"], built["groups"], built["issuer"]) == ("carol", ["admins"], POOL.issuer)
    assert caller_from_appsync_identity(built) == caller
