"""The local user pool signs tokens the way Cognito shapes them and refuses what AppSync would refuse."""

from __future__ import annotations

import time

import jwt
import pytest

from devserver.auth.user_pool import TOKEN_EXPIRED, TOKEN_INVALID, LocalUserPool, TokenRejected, cognito_identity

POOL = LocalUserPool()


def test_access_token_carries_cognitos_access_claims() -> None:
    claims = POOL.verify(POOL.mint("alice", groups=["admins"]))
    assert claims["token_use"] == "access"
    assert claims["username"] == "alice"
    assert claims["client_id"] == POOL.client_id
    assert claims["cognito:groups"] == ["admins"]
    assert claims["iss"] == f"https://cognito-idp.us-east-1.amazonaws.com/{POOL.pool_id}"


def test_id_token_carries_cognito_username_and_audience() -> None:
    claims = POOL.verify(POOL.mint("alice", token_use="id"))
    assert (claims["cognito:username"], claims["aud"]) == ("alice", POOL.client_id)
    assert cognito_identity(claims, ["127.0.0.1"])["username"] == "alice"


def test_one_username_is_one_sub_across_tokens_and_pools_differ() -> None:
    assert POOL.verify(POOL.mint("alice"))["sub"] == POOL.verify(POOL.mint("alice"))["sub"] == POOL.sub_for("alice")
    assert POOL.sub_for("alice") != POOL.sub_for("bob")
    assert LocalUserPool(pool_id="us-east-1_Other").sub_for("alice") != POOL.sub_for("alice")


def test_expired_token_is_refused_with_appsyncs_message() -> None:
    stale = POOL.mint("alice", lifetime_seconds=10, now=time.time() - 600)
    with pytest.raises(TokenRejected) as caught:
        POOL.verify(stale)
    assert caught.value.message == TOKEN_EXPIRED


@pytest.mark.parametrize(
    "token",
    [
        LocalUserPool(secret="someone-elses-secret-that-is-long-enough").mint("alice"),  # forged signature
        LocalUserPool(pool_id="us-east-1_Other").mint("alice"),  # another pool's issuer
        LocalUserPool(client_id="another-client").mint("alice"),  # another app client
        LocalUserPool().mint("alice", token_use="refresh"),
        jwt.encode({"sub": "x", "iss": POOL.issuer, "exp": int(time.time()) + 60, "token_use": "access",
                    "client_id": POOL.client_id}, key="", algorithm="none"),  # unsigned
        "not-a-jwt",
    ],
    ids=["signature", "issuer", "client", "token-use", "alg-none", "garbage"],
)
def test_tokens_this_pool_did_not_issue_are_refused(token: str) -> None:
    with pytest.raises(TokenRejected) as caught:
        POOL.verify(token)
    assert caught.value.message == TOKEN_INVALID
