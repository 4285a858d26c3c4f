"""``listJobs``' nextToken: an opaque, signed page position that only its own listing accepts.

A token is ``base64url(position) "." base64url(HMAC-SHA256(key, owner, filters, position))``. The
owner and the filters are bound by the MAC but not carried, so a token shows nothing but the caller's
own last job's creation time and id, and cannot be replayed by another caller, with other filters, or
edited to start elsewhere (which in DynamoDB would mean an ExclusiveStartKey in another owner's
partition). Every way a token can be wrong - garbled, truncated, forged, another owner's, another
filter's, signed with an old key - is the same ``ValidationError("Invalid nextToken")``, so a
refusal reveals nothing about why.

The key comes from a ``KeySource`` (a file locally, Secrets Manager in the cloud; see
``jobcore.bootstrap``); this module is stdlib-only on purpose.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Callable

from jobcore.domain.job import JobStatus
from jobcore.errors import ValidationError

#: Returns the signing key; called per use so an adapter may cache and rotate it.
KeySource = Callable[[], bytes]

#: A position is ``<AWSDateTime>#<job id>`` (~70 characters); anything much longer is not ours.
MAX_TOKEN_LENGTH = 512
TOKEN_VERSION = "1"
INVALID_TOKEN = "Invalid nextToken"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    if not text or any(c not in _B64_ALPHABET for c in text):
        raise ValueError("not base64url")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if _b64(data) != text:
        # Non-canonical spellings (other trailing bits) of the same bytes: a token has exactly one.
        raise ValueError("not canonical base64url")
    return data


_B64_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def _mac(key: bytes, owner: str, status: JobStatus | None, job_type: str | None, position: str) -> bytes:
    # JSON keeps the fields apart unambiguously (no separator a value could contain).
    bound = json.dumps(
        [TOKEN_VERSION, owner, status.value if status else None, job_type, position],
        separators=(",", ":"), ensure_ascii=True,
    )
    return hmac.new(key, bound.encode("utf-8"), hashlib.sha256).digest()


def sign(key: bytes, *, owner: str, status: JobStatus | None, job_type: str | None, position: str) -> str:
    """The nextToken a client gets for ``position`` in this owner's listing with these filters."""
    return _b64(position.encode("utf-8")) + "." + _b64(_mac(key, owner, status, job_type, position))


def verify(key: bytes, token: object, *, owner: str, status: JobStatus | None, job_type: str | None) -> str:
    """The position ``token`` stands for, if and only if it was signed for exactly this listing."""
    if not isinstance(token, str) or not 0 < len(token) <= MAX_TOKEN_LENGTH or token.count(".") != 1:
        raise ValidationError(INVALID_TOKEN)
    encoded, signature = token.split(".")
    try:
        position = _unb64(encoded).decode("utf-8")
        given = _unb64(signature)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ValidationError(INVALID_TOKEN) from None
    expected = _mac(key, owner, status, job_type, position)
    if not hmac.compare_digest(given, expected):
        raise ValidationError(INVALID_TOKEN)
    return position
