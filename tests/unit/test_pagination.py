"""listJobs' nextToken: signed for one owner, one set of filters and one position - nothing else passes."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from jobcore.adapters.pagination_keys import FileKey
from jobcore.domain.job import JobStatus
from jobcore.errors import ValidationError
from jobcore.pagination import INVALID_TOKEN, MAX_TOKEN_LENGTH, sign, verify

KEY = b"k" * 64
POSITION = "2026-03-01T12:00:00.000Z#5d2c7e8a-1111-2222-3333-444455556666"


def token(**overrides: object) -> str:
    args: dict[str, object] = {"owner": "alice", "status": JobStatus.FAILED, "job_type": "sleep", "position": POSITION}
    args.update(overrides)
    return sign(KEY, **args)  # type: ignore[arg-type]


def check(value: object, *, key: bytes = KEY, owner: str = "alice", status: JobStatus | None = JobStatus.FAILED,
          job_type: str | None = "sleep") -> str:
    return verify(key, value, owner=owner, status=status, job_type=job_type)


def test_a_token_round_trips_for_its_own_listing() -> None:
    assert check(token()) == POSITION
    assert check(token(status=None, job_type=None), status=None, job_type=None) == POSITION


def test_it_does_not_carry_the_owner_or_the_filters() -> None:
    import base64

    value = token(owner="arn:aws:iam::123456789012:role/secret-service-name")
    decoded = b"".join(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)) for part in value.split("."))
    assert b"secret-service-name" not in decoded
    assert b"sleep" not in decoded


@pytest.mark.parametrize(
    ("description", "listing"),
    [
        ("another owner", {"owner": "bob"}),
        ("another status", {"status": JobStatus.PENDING}),
        ("no status", {"status": None}),
        ("another type", {"job_type": "echo"}),
        ("no type", {"job_type": None}),
        ("another key", {"key": b"x" * 64}),
    ],
)
def test_it_is_refused_by_any_other_listing(description: str, listing: dict[str, object]) -> None:
    with pytest.raises(ValidationError, match=f"^{INVALID_TOKEN}$"):
        check(token(), **listing)  # type: ignore[arg-type]


def test_an_edited_position_is_refused() -> None:
    import base64

    value = token()
    forged_position = base64.urlsafe_b64encode(b"2099-01-01T00:00:00.000Z#x").rstrip(b"=").decode()
    with pytest.raises(ValidationError, match=INVALID_TOKEN):
        check(forged_position + "." + value.split(".")[1])


def test_a_token_with_another_spelling_of_the_same_bytes_is_refused() -> None:
    value = token()
    encoded, mac = value.split(".")
    # Flip the unused low bits of the last base64 character: same bytes decoded, different text.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    assert len(POSITION.encode()) % 3 != 0, "the last character must have unused bits for this test"
    last = alphabet.index(encoded[-1])
    variant = encoded[:-1] + alphabet[last ^ 1]
    with pytest.raises(ValidationError, match=INVALID_TOKEN):
        check(variant + "." + mac)


@pytest.mark.parametrize(
    "garbage",
    ["", ".", "..", "a.b.c", "no-dot", "%%%.%%%", "YQ.", ".YQ", "YQ.YQ", "🙂.🙂", "x" * (MAX_TOKEN_LENGTH + 1),
     "A" * 40 + "." + "B" * 43, 12, None, ["a.b"]],
)
def test_garbage_is_refused_with_the_same_message(garbage: object) -> None:
    with pytest.raises(ValidationError) as refused:
        check(garbage)
    assert refused.value.message == INVALID_TOKEN
    assert refused.value.info is None


def test_a_truncated_token_is_refused() -> None:
    value = token()
    for cut in range(1, len(value)):
        with pytest.raises(ValidationError):
            check(value[:cut])


class TestFileKey:
    def test_created_on_first_use_private_and_stable(self, tmp_path: Path) -> None:
        path = tmp_path / "data" / "pagination.key"
        key = FileKey(path)()
        assert len(key) >= 64
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert FileKey(path)() == key  # another process on the same data directory
        assert FileKey(tmp_path / "other.key")() != key

    def test_concurrent_first_uses_agree_on_one_key(self, tmp_path: Path) -> None:
        path = tmp_path / "pagination.key"
        keys: list[bytes] = []
        barrier = threading.Barrier(8)

        def first_use() -> None:
            barrier.wait()
            keys.append(FileKey(path)())

        threads = [threading.Thread(target=first_use) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert len(keys) == 8
        assert len(set(keys)) == 1
        assert [p.name for p in tmp_path.iterdir()] == ["pagination.key"]  # no temporary file left behind

    def test_a_damaged_key_file_is_an_error_not_a_weak_key(self, tmp_path: Path) -> None:
        path = tmp_path / "pagination.key"
        path.write_text("short")
        with pytest.raises(ValueError, match="pagination key"):
            FileKey(path)()
