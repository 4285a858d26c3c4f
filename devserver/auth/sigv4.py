"""AWS Signature Version 4 verification for the local AppSync server (service ``appsync``).

Why verify at all: the local server must prove that IAM clients (gql's ``AppSyncIAMAuthentication``,
Amplify's ``iam`` mode, boto-signed requests from the worker) sign exactly as they would against AWS,
so that a signing bug shows up locally instead of on the first deploy. The secret is known to the
server (``jobcore.settings.LOCAL_SECRET_ACCESS_KEY``), so the signature can be recomputed.

The canonical request is rebuilt here with ``hmac``/``hashlib`` instead of botocore: the local server
does not depend on botocore, and an independent implementation is a real check of the clients (the
tests compare it against botocore's ``SigV4Auth`` and gql's signer).

What clients sign (see ``/work/shared/design/appsync-spec.md`` §1.3, §2.2, §3.3): gql signs
``POST https://{host}/graphql`` (HTTP and every websocket ``start``, body = the ``payload.data``
string) and ``POST https://{host}/graphql/connect`` with body ``{}``; Amplify signs
``<endpoint>[/connect]`` with lower-case header names. Only the path, query, signed headers and body
enter the signature, never the scheme, so the caller passes the path the client signed.
"""

from __future__ import annotations

import hashlib
import hmac
import posixpath
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, unquote

ALGORITHM = "AWS4-HMAC-SHA256"
SERVICE = "appsync"
#: The clock skew AWS tolerates for SigV4 requests.
DEFAULT_MAX_CLOCK_SKEW = timedelta(minutes=5)
_AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
_AMZ_DATE_RE = re.compile(r"^\d{8}T\d{6}Z$")
_SIGNATURE_RE = re.compile(r"^[0-9a-f]{64}$")

# AWS's own wording for each failure, so that clients and people see familiar text.
SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
)
UNKNOWN_ACCESS_KEY = "The security token included in the request is invalid."
MISSING_DATE = "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
HOST_NOT_SIGNED = "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
DATE_NOT_SIGNED = "'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization."
TOKEN_NOT_SIGNED = "'X-Amz-Security-Token' must be a 'SignedHeader' in the AWS Authorization."
PAYLOAD_HASH_MISMATCH = "The provided 'x-amz-content-sha256' header does not match what was computed."

#: Maps an access key id to its secret, or ``None`` when the key is unknown.
CredentialsLookup = Callable[[str], str | None]


class SignatureError(Exception):
    """The request is not validly signed. ``error_type`` is the AWS exception name for the failure;
    the local server reports every such failure as ``UnauthorizedException`` carrying ``message``."""

    def __init__(self, message: str, error_type: str = "InvalidSignatureException") -> None:
        super().__init__(message)
        self.message = message
        self.error_type = error_type


@dataclass(frozen=True, slots=True)
class ParsedAuthorization:
    access_key_id: str
    date: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str


@dataclass(frozen=True, slots=True)
class VerifiedSignature:
    """Who signed: the caller maps the access key to an identity."""

    access_key_id: str
    #: ``X-Amz-Security-Token`` when temporary credentials signed; not checked against any STS.
    session_token: str | None
    signed_at: datetime


def parse_authorization(value: str) -> ParsedAuthorization:
    """Split ``AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`` into its parts."""
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise SignatureError(f"Unsupported AWS 'algorithm': '{algorithm}'.", "IncompleteSignatureException")
    params: dict[str, str] = {}
    for part in rest.split(","):
        key, sep, val = part.strip().partition("=")
        if sep:
            params[key.strip()] = val.strip()
    missing = [name for name in ("Credential", "SignedHeaders", "Signature") if not params.get(name)]
    if missing:
        raise SignatureError(
            " ".join(f"Authorization header requires '{name}' parameter." for name in missing)
            + f" Authorization={value}",
            "IncompleteSignatureException",
        )
    scope = params["Credential"].split("/")
    if len(scope) != 5 or scope[4] != "aws4_request" or not all(scope):
        raise SignatureError(
            f"Credential should be scoped to a valid region. Credential={params['Credential']}",
            "IncompleteSignatureException",
        )
    signed_headers = tuple(params["SignedHeaders"].split(";"))
    return ParsedAuthorization(
        access_key_id=scope[0],
        date=scope[1],
        region=scope[2],
        service=scope[3],
        signed_headers=signed_headers,
        signature=params["Signature"].lower(),
    )


def verify(
    *,
    method: str,
    path: str,
    headers: Mapping[str, str],
    body: bytes,
    credentials: CredentialsLookup,
    region: str,
    now: datetime,
    max_clock_skew: timedelta = DEFAULT_MAX_CLOCK_SKEW,
    query: str = "",
) -> VerifiedSignature:
    """Check a SigV4-signed request for service ``appsync``; raise ``SignatureError`` if it is not.

    ``headers`` may use any case (gql mixes ``X-Amz-Date`` and ``host``; Amplify sends lower case);
    ``query`` is the raw query string the client signed (empty for everything AppSync clients sign).
    """
    lowered = _lower_keys(headers)
    authorization = lowered.get("authorization")
    if not authorization:
        raise SignatureError("Missing Authentication Token", "MissingAuthenticationTokenException")
    parsed = parse_authorization(authorization)
    signed = set(parsed.signed_headers)
    if "host" not in signed:
        raise SignatureError(HOST_NOT_SIGNED, "IncompleteSignatureException")
    amz_date = lowered.get("x-amz-date")
    if not amz_date:
        raise SignatureError(MISSING_DATE, "IncompleteSignatureException")
    if "x-amz-date" not in signed:
        raise SignatureError(DATE_NOT_SIGNED, "IncompleteSignatureException")
    token = lowered.get("x-amz-security-token")
    if token is not None and "x-amz-security-token" not in signed:
        raise SignatureError(TOKEN_NOT_SIGNED, "IncompleteSignatureException")
    absent = sorted(name for name in signed if name not in lowered)
    if absent:
        raise SignatureError(
            f"Signed header(s) missing from the request: {', '.join(absent)}.", "IncompleteSignatureException"
        )

    signed_at = _parse_amz_date(amz_date)
    _check_scope(parsed, amz_date, region)
    _check_clock(signed_at, amz_date, now, max_clock_skew)

    secret = credentials(parsed.access_key_id)
    if secret is None:
        raise SignatureError(UNKNOWN_ACCESS_KEY, "UnrecognizedClientException")

    body_hash = hashlib.sha256(body).hexdigest()
    declared_hash = lowered.get("x-amz-content-sha256")
    if declared_hash is not None and declared_hash != body_hash:
        # Includes UNSIGNED-PAYLOAD: AppSync clients always sign the body, so an unsigned one is refused.
        raise SignatureError(PAYLOAD_HASH_MISMATCH, "XAmzContentSHA256Mismatch")

    canonical = canonical_request(method, path, query, lowered, parsed.signed_headers, body_hash)
    scope = f"{parsed.date}/{parsed.region}/{parsed.service}/aws4_request"
    to_sign = string_to_sign(amz_date, scope, canonical)
    expected = signature(secret, parsed.date, parsed.region, parsed.service, to_sign)
    if not _SIGNATURE_RE.match(parsed.signature) or not hmac.compare_digest(expected, parsed.signature):
        raise SignatureError(SIGNATURE_MISMATCH)
    return VerifiedSignature(parsed.access_key_id, token, signed_at)


def canonical_request(
    method: str,
    path: str,
    query: str,
    lowered_headers: Mapping[str, str],
    signed_headers: tuple[str, ...],
    body_hash: str,
) -> str:
    """Build the SigV4 canonical request from exactly the headers the client said it signed."""
    names = sorted(set(signed_headers))
    header_lines = "".join(f"{name}:{' '.join(lowered_headers[name].split())}\n" for name in names)
    return "\n".join(
        [
            method.upper(),
            canonical_uri(path),
            canonical_query(query),
            header_lines,
            ";".join(names),
            body_hash,
        ]
    )


def canonical_uri(path: str) -> str:
    """Normalise dot segments and URI-encode once, as botocore and Amplify do for non-S3 services."""
    if not path:
        return "/"
    normalized = posixpath.normpath(path)
    if path.endswith("/") and normalized != "/":
        normalized += "/"
    if normalized.startswith("//"):
        normalized = "/" + normalized.lstrip("/")
    return quote(unquote(normalized), safe="/~")


def canonical_query(query: str) -> str:
    """Decode each name and value, re-encode the SigV4 way and sort, so either encoding verifies."""
    if not query:
        return ""
    pairs: list[tuple[str, str]] = []
    for item in query.split("&"):
        if not item:
            continue
        key, _, value = item.partition("=")
        pairs.append((quote(unquote(key), safe="-_.~"), quote(unquote(value), safe="-_.~")))
    return "&".join(f"{key}={value}" for key, value in sorted(pairs))


def string_to_sign(amz_date: str, scope: str, canonical: str) -> str:
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return "\n".join([ALGORITHM, amz_date, scope, digest])


def signature(secret: str, date: str, region: str, service: str, to_sign: str) -> str:
    key = _hmac(f"AWS4{secret}".encode(), date)
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    return hmac.new(key, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()


def _lower_keys(headers: Mapping[str, str]) -> dict[str, str]:
    return {str(name).lower(): str(value) for name, value in headers.items()}


def _parse_amz_date(value: str) -> datetime:
    if not _AMZ_DATE_RE.match(value):
        raise SignatureError(f"Invalid X-Amz-Date value: '{value}'.", "IncompleteSignatureException")
    try:
        return datetime.strptime(value, _AMZ_DATE_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise SignatureError(f"Invalid X-Amz-Date value: '{value}'.", "IncompleteSignatureException") from None


def _check_scope(parsed: ParsedAuthorization, amz_date: str, region: str) -> None:
    if parsed.date != amz_date[:8]:
        raise SignatureError(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
            f"'{parsed.date}' != '{amz_date[:8]}', from '{amz_date}'."
        )
    if parsed.region != region:
        raise SignatureError(f"Credential should be scoped to a valid region, not '{parsed.region}'.")
    if parsed.service != SERVICE:
        raise SignatureError(f"Credential should be scoped to correct service: '{SERVICE}'.")


def _check_clock(signed_at: datetime, amz_date: str, now: datetime, skew: timedelta) -> None:
    now = now.astimezone(UTC) if now.tzinfo else now.replace(tzinfo=UTC)
    if signed_at < now - skew:
        raise SignatureError(
            f"Signature expired: {amz_date} is now earlier than {_fmt(now - skew)} ({_fmt(now)} - {_fmt_skew(skew)}).",
        )
    if signed_at > now + skew:
        raise SignatureError(
            f"Signature not yet current: {amz_date} is still later than {_fmt(now + skew)} "
            f"({_fmt(now)} + {_fmt_skew(skew)}).",
        )


def _fmt(moment: datetime) -> str:
    return moment.strftime(_AMZ_DATE_FORMAT)


def _fmt_skew(skew: timedelta) -> str:
    seconds = int(skew.total_seconds())
    return f"{seconds // 60} min." if seconds % 60 == 0 else f"{seconds} s."
