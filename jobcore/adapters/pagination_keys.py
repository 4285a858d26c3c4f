"""Where the nextToken signing key comes from (``jobcore.pagination.KeySource``).

Locally a random key in ``<data-dir>/pagination.key`` (created on first use, mode 0600, shared by
every process on that data directory so a token from one server process works in another); in the
cloud a Secrets Manager secret, read lazily - only ``listJobs`` needs it - and cached by powertools.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

#: How long the cloud's key stays cached in a warm Lambda (a rotated key takes effect within this).
SECRET_MAX_AGE_SECONDS = 300
KEY_BYTES = 32


class FileKey:
    """A key file created atomically on first use: written to a private temporary file, then linked
    into place, so concurrent first uses by several processes all end up with the same complete key."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._key: bytes | None = None

    def __call__(self) -> bytes:
        if self._key is None:
            self._key = self._read_or_create()
        return self._key

    def _read_or_create(self) -> bytes:
        if not self.path.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.{secrets.token_hex(4)}")
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                with os.fdopen(descriptor, "w") as handle:
                    handle.write(secrets.token_hex(KEY_BYTES))
                with contextlib.suppress(FileExistsError):  # another process won the race: use its key
                    os.link(temporary, self.path)
            finally:
                temporary.unlink(missing_ok=True)
        key = self.path.read_text().strip()
        if len(key) < 2 * KEY_BYTES:
            raise ValueError(f"{self.path} does not hold a pagination key; delete it to create a new one")
        return key.encode("ascii")


class SecretsManagerKey:
    """The secret's string value, through powertools' cached ``get_secret``."""

    def __init__(self, secret_arn: str) -> None:
        self.secret_arn = secret_arn

    def __call__(self) -> bytes:
        from aws_lambda_powertools.utilities import parameters

        value = parameters.get_secret(self.secret_arn, max_age=SECRET_MAX_AGE_SECONDS)
        if isinstance(value, bytes):
            return value
        if not value:
            raise ValueError("the pagination secret is empty")
        return str(value).encode("utf-8")
