"""The local artifact store: files under ``<data dir>/artifacts`` and HMAC-signed URLs the local
server serves (``/artifacts/<key>``), standing in for S3 and its presigned URLs.

A URL binds the method, the key, its expiry and - for uploads - the content type and exact size,
with HMAC-SHA256 under a random key created once per data directory (``artifacts.key``, mode 0600;
never printed). The server refuses an expired, tampered or re-purposed URL with 403, as S3 does.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote, urlencode

from jobcore.artifacts import ArtifactStore, ObjectInfo, PresignedUrl
from jobcore.errors import ValidationError

#: Query parameters of a signed local URL.
METHOD, EXPIRES, CONTENT_TYPE, SIZE, SIGNATURE = "X-Method", "X-Expires", "X-Content-Type", "X-Size", "X-Signature"


class UrlRefused(Exception):
    """A signed URL that must not be honoured (expired, tampered, wrong method); the server answers 403."""


class LocalArtifactStore(ArtifactStore):
    def __init__(self, data_dir: Path, *, base_url: str = "http://127.0.0.1:8000",
                 clock: object = time.time) -> None:
        self.root = data_dir / "artifacts"
        #: Where the local server serves ``/artifacts/...``; set once the server knows its port.
        self.base_url = base_url.rstrip("/")
        self._clock = clock
        self._secret = _signing_key(data_dir / "artifacts.key")

    # --- storage -------------------------------------------------------------------------------
    def _paths(self, key: str) -> tuple[Path, Path]:
        parts = key.split("/")
        if not key or any(p in ("", ".", "..") for p in parts):
            raise ValidationError(f"bad object key {key[:100]!r}")
        return self.root / "objects" / key, self.root / "meta" / f"{key}.json"

    def _commit(self, key: str, temp: Path, content_type: str) -> int:
        data_path, meta_path = self._paths(key)
        data_path.parent.mkdir(parents=True, exist_ok=True)
        meta_path.parent.mkdir(parents=True, exist_ok=True)
        size = temp.stat().st_size
        meta_temp = meta_path.with_name(meta_path.name + f".{secrets.token_hex(4)}.tmp")
        meta_temp.write_text(json.dumps({"contentType": content_type, "size": size}))
        os.replace(temp, data_path)  # readers see the old object or the new one, never half of one
        os.replace(meta_temp, meta_path)
        return size

    def _temp(self, key: str) -> Path:
        data_path, _ = self._paths(key)
        data_path.parent.mkdir(parents=True, exist_ok=True)
        return data_path.with_name(data_path.name + f".{secrets.token_hex(4)}.tmp")

    def put_bytes(self, key: str, data: bytes, content_type: str) -> int:
        temp = self._temp(key)
        temp.write_bytes(data)
        return self._commit(key, temp, content_type)

    def put_file(self, key: str, path: Path, content_type: str) -> int:
        temp = self._temp(key)
        shutil.copyfile(path, temp)
        return self._commit(key, temp, content_type)

    def head(self, key: str) -> ObjectInfo | None:
        data_path, meta_path = self._paths(key)
        try:
            meta = json.loads(meta_path.read_text())
        except (OSError, ValueError):
            return None
        if not data_path.exists():
            return None
        return ObjectInfo(int(meta["size"]), str(meta["contentType"]))

    def open(self, key: str) -> BinaryIO:
        data_path, _ = self._paths(key)
        try:
            return data_path.open("rb")
        except FileNotFoundError as exc:
            raise ValidationError(f"no object {key}") from exc

    def path(self, key: str) -> Path:
        return self._paths(key)[0]

    # --- signed URLs ---------------------------------------------------------------------------
    def _now(self) -> float:
        return float(self._clock())  # type: ignore[operator]

    def _sign(self, method: str, key: str, expires: int, content_type: str, size: str) -> str:
        text = "\n".join((method, key, str(expires), content_type, size))
        return hmac.new(self._secret, text.encode(), hashlib.sha256).hexdigest()

    def _url(self, method: str, key: str, expires_in: int, content_type: str = "", size: str = "") -> PresignedUrl:
        expires = int(self._now()) + expires_in
        query = {METHOD: method, EXPIRES: str(expires)}
        if method == "PUT":
            query[CONTENT_TYPE] = content_type
            query[SIZE] = size
        query[SIGNATURE] = self._sign(method, key, expires, content_type, size)
        url = f"{self.base_url}/artifacts/{quote(key)}?{urlencode(query)}"
        headers = {"Content-Type": content_type} if method == "PUT" else {}
        return PresignedUrl(url, datetime.fromtimestamp(expires, UTC), headers)

    def presign_get(self, key: str, *, expires_in: int, filename: str | None = None) -> PresignedUrl:
        self._paths(key)
        return self._url("GET", key, expires_in)

    def presign_put(self, key: str, *, content_type: str, size: int, expires_in: int) -> PresignedUrl:
        self._paths(key)
        return self._url("PUT", key, expires_in, content_type, str(size))

    def verify(self, method: str, key: str, query: dict[str, str]) -> None:
        """Raise ``UrlRefused`` unless ``query`` signs exactly this method and key, unexpired."""
        try:
            signed_method, expires = query[METHOD], int(query[EXPIRES])
            signature = query[SIGNATURE]
        except (KeyError, ValueError) as exc:
            raise UrlRefused("the URL is not signed") from exc
        content_type = query.get(CONTENT_TYPE, "") if signed_method == "PUT" else ""
        size = query.get(SIZE, "") if signed_method == "PUT" else ""
        expected = self._sign(signed_method, key, expires, content_type, size)
        if not hmac.compare_digest(expected, signature):
            raise UrlRefused("the signature does not match (the URL was altered)")
        if signed_method != method:
            raise UrlRefused(f"the URL was signed for {signed_method}, not {method}")
        if expires < self._now():
            raise UrlRefused("the URL has expired")


def _signing_key(path: Path) -> bytes:
    """The data directory's URL-signing key, created once (atomically, owner-only)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        return path.read_bytes()
    temp = path.with_name(f"{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(secrets.token_bytes(32))
    try:
        os.link(temp, path)  # atomic: two processes starting at once agree on one key
    except FileExistsError:
        pass
    finally:
        temp.unlink()
    return path.read_bytes()
