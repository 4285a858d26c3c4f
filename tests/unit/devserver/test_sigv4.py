"""SigV4 verification against signatures made by the signers real clients use (botocore, gql)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from gql.transport.appsync_auth import AppSyncIAMAuthentication
from hypothesis import given, settings
from hypothesis import strategies as st

from devserver.auth import sigv4
from jobcore.settings import LOCAL_ACCESS_KEY_ID, LOCAL_REGION, LOCAL_SECRET_ACCESS_KEY

HOST = "127.0.0.1:8000"
TEMP_KEY = "ASIAAPPSYNCJOBSTEMP0"
TEMP_SECRET = "temporary-secret"
SECRETS = {LOCAL_ACCESS_KEY_ID: LOCAL_SECRET_ACCESS_KEY, TEMP_KEY: TEMP_SECRET}
REALTIME_HEADERS = {
    "accept": "application/json, text/javascript",
    "content-encoding": "amz-1.0",
    "content-type": "application/json; charset=UTF-8",
}


def botocore_sign(
    path: str,
    body: str,
    *,
    key: str = LOCAL_ACCESS_KEY_ID,
    secret: str = LOCAL_SECRET_ACCESS_KEY,
    token: str | None = None,
    region: str = LOCAL_REGION,
    service: str = "appsync",
    host: str = HOST,
) -> dict[str, str]:
    """Sign like boto/gql do; botocore signs the URL's host without adding the header, so add it."""
    request = AWSRequest(method="POST", url=f"https://{host}{path}", data=body, headers=dict(REALTIME_HEADERS))
    SigV4Auth(Credentials(key, secret, token), service, region).add_auth(request)
    headers = dict(request.headers.items())
    headers["host"] = host
    return headers


def check(
    headers: dict[str, str], body: str | bytes, *, path: str = "/graphql", now: datetime | None = None, **kw: object
) -> sigv4.VerifiedSignature:
    raw = body.encode() if isinstance(body, str) else body
    return sigv4.verify(
        method="POST",
        path=path,
        headers=headers,
        body=raw,
        credentials=SECRETS.get,
        region=LOCAL_REGION,
        now=now or datetime.now(UTC),
        **kw,  # type: ignore[arg-type]
    )


def gql_auth(token: str | None = None) -> AppSyncIAMAuthentication:
    key, secret = (TEMP_KEY, TEMP_SECRET) if token else (LOCAL_ACCESS_KEY_ID, LOCAL_SECRET_ACCESS_KEY)
    return AppSyncIAMAuthentication(host=HOST, region_name=LOCAL_REGION, credentials=Credentials(key, secret, token))


# --- accepted -------------------------------------------------------------------------------------------


def test_botocore_signature_verifies() -> None:
    body = '{"query":"{ a }"}'
    verified = check(botocore_sign("/graphql", body), body)
    assert verified.access_key_id == LOCAL_ACCESS_KEY_ID
    assert verified.session_token is None


def test_gql_connect_headers_verify_with_connect_path_and_empty_object_body() -> None:
    headers = gql_auth().get_headers()
    assert check(headers, "{}", path="/graphql/connect").access_key_id == LOCAL_ACCESS_KEY_ID


def test_gql_start_headers_verify_over_the_exact_data_string() -> None:
    data = '{"query":"subscription { onJobUpdated { id } }","variables":{"id":"j-1"}}'
    headers = gql_auth().get_headers(data)
    assert check(headers, data, path="/graphql").access_key_id == LOCAL_ACCESS_KEY_ID


def test_gql_http_headers_verify() -> None:
    body = '{"query": "query { me }"}'
    headers = gql_auth().get_headers(body, {"content-type": "application/json"})
    check(headers, body)


def test_amplify_style_all_lower_case_header_names_verify() -> None:
    body = '{"query":"subscription S { s }","variables":{}}'
    headers = {name.lower(): value for name, value in botocore_sign("/graphql", body).items()}
    check(headers, body)


def test_header_names_in_any_case_verify() -> None:
    body = "{}"
    headers = {name.upper(): value for name, value in gql_auth().get_headers().items()}
    check(headers, body, path="/graphql/connect")


def test_temporary_credentials_with_signed_security_token_verify() -> None:
    data = '{"query":"subscription { s }"}'
    headers = gql_auth(token="session-token-xyz").get_headers(data)
    assert "X-Amz-Security-Token" in headers
    verified = check(headers, data)
    assert (verified.access_key_id, verified.session_token) == (TEMP_KEY, "session-token-xyz")


def test_signature_within_skew_in_either_direction_verifies() -> None:
    body = "{}"
    headers = botocore_sign("/graphql", body)
    check(headers, body, now=datetime.now(UTC) + timedelta(minutes=4))
    check(headers, body, now=datetime.now(UTC) - timedelta(minutes=4))


def test_signed_payload_hash_header_matching_the_body_verifies() -> None:
    body = '{"query":"{ a }"}'
    request = AWSRequest(
        method="POST",
        url=f"https://{HOST}/graphql",
        data=body,
        headers={"X-Amz-Content-SHA256": hashlib.sha256(body.encode()).hexdigest()},
    )
    SigV4Auth(Credentials(LOCAL_ACCESS_KEY_ID, LOCAL_SECRET_ACCESS_KEY), "appsync", LOCAL_REGION).add_auth(request)
    headers = {**dict(request.headers.items()), "host": HOST}
    check(headers, body)


@settings(max_examples=40, deadline=None)
@given(body=st.binary(max_size=300), segment=st.from_regex(r"[a-z0-9_\-]{1,12}", fullmatch=True))
def test_any_body_and_path_signed_by_botocore_verifies(body: bytes, segment: str) -> None:
    path = f"/graphql/{segment}"
    request = AWSRequest(method="POST", url=f"https://{HOST}{path}", data=body)
    SigV4Auth(Credentials(LOCAL_ACCESS_KEY_ID, LOCAL_SECRET_ACCESS_KEY), "appsync", LOCAL_REGION).add_auth(request)
    headers = {**dict(request.headers.items()), "host": HOST}
    check(headers, body, path=path)
    with pytest.raises(sigv4.SignatureError):
        check(headers, body + b" ", path=path)


def test_query_string_is_part_of_the_signature() -> None:
    request = AWSRequest(method="POST", url=f"https://{HOST}/graphql?b=2&a=x%2By", data="{}")
    SigV4Auth(Credentials(LOCAL_ACCESS_KEY_ID, LOCAL_SECRET_ACCESS_KEY), "appsync", LOCAL_REGION).add_auth(request)
    headers = {**dict(request.headers.items()), "host": HOST}
    check(headers, "{}", query="b=2&a=x%2By")
    with pytest.raises(sigv4.SignatureError):
        check(headers, "{}", query="b=3&a=x%2By")


# --- refused --------------------------------------------------------------------------------------------


def test_wrong_secret_is_refused_with_the_aws_mismatch_text() -> None:
    body = "{}"
    headers = botocore_sign("/graphql", body, secret="not-the-secret")
    with pytest.raises(sigv4.SignatureError) as caught:
        check(headers, body)
    assert caught.value.message == sigv4.SIGNATURE_MISMATCH
    assert caught.value.error_type == "InvalidSignatureException"


def test_tampered_body_is_refused() -> None:
    data = '{"query":"subscription { s }"}'
    headers = gql_auth().get_headers(data)
    with pytest.raises(sigv4.SignatureError, match="does not match"):
        check(headers, data.replace("s }", "t }"))


def test_tampered_signed_header_is_refused() -> None:
    headers = gql_auth().get_headers()
    headers["content-type"] = "text/plain"
    with pytest.raises(sigv4.SignatureError, match="does not match"):
        check(headers, "{}", path="/graphql/connect")


def test_tampered_host_is_refused() -> None:
    headers = gql_auth().get_headers()
    headers["host"] = "evil.example:8000"
    with pytest.raises(sigv4.SignatureError, match="does not match"):
        check(headers, "{}", path="/graphql/connect")


def test_wrong_path_is_refused() -> None:
    """A connect signature cannot be replayed as a start (different path and body)."""
    headers = gql_auth().get_headers()
    with pytest.raises(sigv4.SignatureError, match="does not match"):
        check(headers, "{}", path="/graphql")


def test_wrong_region_is_refused() -> None:
    headers = botocore_sign("/graphql", "{}", region="eu-west-1")
    with pytest.raises(sigv4.SignatureError, match="valid region, not 'eu-west-1'"):
        check(headers, "{}")


def test_wrong_service_is_refused() -> None:
    headers = botocore_sign("/graphql", "{}", service="execute-api")
    with pytest.raises(sigv4.SignatureError, match="correct service: 'appsync'"):
        check(headers, "{}")


def test_unknown_access_key_is_refused() -> None:
    headers = botocore_sign("/graphql", "{}", key="AKIAUNKNOWN000000000")
    with pytest.raises(sigv4.SignatureError) as caught:
        check(headers, "{}")
    assert caught.value.message == sigv4.UNKNOWN_ACCESS_KEY
    assert caught.value.error_type == "UnrecognizedClientException"


def test_signature_older_than_skew_is_refused() -> None:
    headers = botocore_sign("/graphql", "{}")
    with pytest.raises(sigv4.SignatureError, match="Signature expired"):
        check(headers, "{}", now=datetime.now(UTC) + timedelta(minutes=6))


def test_signature_from_the_future_is_refused() -> None:
    headers = botocore_sign("/graphql", "{}")
    with pytest.raises(sigv4.SignatureError, match="not yet current"):
        check(headers, "{}", now=datetime.now(UTC) - timedelta(minutes=6))


def test_custom_skew_is_honoured() -> None:
    headers = botocore_sign("/graphql", "{}")
    with pytest.raises(sigv4.SignatureError, match="Signature expired"):
        check(headers, "{}", now=datetime.now(UTC) + timedelta(seconds=90), max_clock_skew=timedelta(seconds=60))


def test_unsigned_host_is_refused() -> None:
    request = AWSRequest(method="POST", url=f"https://{HOST}/graphql", data="{}")
    SigV4Auth(Credentials(LOCAL_ACCESS_KEY_ID, LOCAL_SECRET_ACCESS_KEY), "appsync", LOCAL_REGION).add_auth(request)
    headers = {**dict(request.headers.items()), "host": HOST}
    headers["Authorization"] = headers["Authorization"].replace("SignedHeaders=host;", "SignedHeaders=")
    with pytest.raises(sigv4.SignatureError) as caught:
        check(headers, "{}")
    assert caught.value.message == sigv4.HOST_NOT_SIGNED


def test_signed_header_absent_from_the_request_is_refused() -> None:
    headers = botocore_sign("/graphql", "{}")
    del headers["accept"]
    with pytest.raises(sigv4.SignatureError, match="missing from the request: accept"):
        check(headers, "{}")


def test_missing_date_is_refused() -> None:
    headers = botocore_sign("/graphql", "{}")
    del headers["X-Amz-Date"]
    with pytest.raises(sigv4.SignatureError) as caught:
        check(headers, "{}")
    assert caught.value.message == sigv4.MISSING_DATE


def test_credential_date_must_match_the_request_day() -> None:
    headers = botocore_sign("/graphql", "{}")
    day = headers["X-Amz-Date"][:8]
    headers["Authorization"] = headers["Authorization"].replace(f"/{day}/", "/19990101/")
    with pytest.raises(sigv4.SignatureError, match="Date in Credential scope does not match"):
        check(headers, "{}")


def test_unsigned_security_token_is_refused() -> None:
    headers = botocore_sign("/graphql", "{}")
    headers["X-Amz-Security-Token"] = "smuggled"
    with pytest.raises(sigv4.SignatureError) as caught:
        check(headers, "{}")
    assert caught.value.message == sigv4.TOKEN_NOT_SIGNED


def test_payload_hash_header_that_disagrees_with_the_body_is_refused() -> None:
    headers = botocore_sign("/graphql", "{}")
    headers["X-Amz-Content-SHA256"] = "UNSIGNED-PAYLOAD"
    with pytest.raises(sigv4.SignatureError, match="x-amz-content-sha256"):
        check(headers, "{}")


@pytest.mark.parametrize(
    "authorization",
    [
        "AWS4-HMAC-SHA1 Credential=a/b/c/d/aws4_request, SignedHeaders=host, Signature=00",
        "AWS4-HMAC-SHA256 SignedHeaders=host;x-amz-date, Signature=00",
        "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/appsync, SignedHeaders=host;x-amz-date, Signature=00",
        "AWS4-HMAC-SHA256",
    ],
)
def test_malformed_authorization_is_refused(authorization: str) -> None:
    headers = {"host": HOST, "x-amz-date": "20240101T000000Z", "authorization": authorization}
    with pytest.raises(sigv4.SignatureError) as caught:
        check(headers, "{}", now=datetime(2024, 1, 1, tzinfo=UTC))
    assert caught.value.error_type == "IncompleteSignatureException"


def test_garbage_signature_is_refused_not_crashing() -> None:
    headers = botocore_sign("/graphql", "{}")
    headers["Authorization"] = headers["Authorization"].rsplit("Signature=", 1)[0] + "Signature=zz"
    with pytest.raises(sigv4.SignatureError, match="does not match"):
        check(headers, "{}")


def test_malformed_date_is_refused() -> None:
    headers = botocore_sign("/graphql", "{}")
    headers["X-Amz-Date"] = "2024-01-01T00:00:00Z"
    with pytest.raises(sigv4.SignatureError, match="Invalid X-Amz-Date"):
        check(headers, "{}")
