"""Local adapters: a durable job store and an SQS-like queue in one SQLite file (WAL mode).

Several processes (the server and ``appsync-jobs worker`` processes) share the file safely: every
read-modify-write runs inside ``BEGIN IMMEDIATE``, so SQLite serialises writers across processes,
and a crash at any point rolls the open transaction back - a job is never half-written and a
leased message simply becomes visible again when its visibility timeout lapses, as on SQS.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from jobcore.adapters.codec import job_from_record, job_to_record, pending_marker, stuck_keys, stuck_marker
from jobcore.domain.job import Job, JobStatus
from jobcore.errors import QueueError, TransitionConflict, ValidationError
from jobcore.ports import CreateResult, JobQueue, JobStore, Page, QueueDepth, ReceivedMessage, listing_position
from jobcore.wire import format_datetime

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    idempotency_key TEXT,
    version INTEGER NOT NULL,
    stuck_status TEXT,
    stuck_at TEXT,
    record TEXT NOT NULL,
    status TEXT,
    type TEXT,
    position TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS jobs_idempotency ON jobs(owner, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS jobs_stuck ON jobs(stuck_status, stuck_at) WHERE stuck_status IS NOT NULL;
CREATE TABLE IF NOT EXISTS messages (
    id TEXT PRIMARY KEY,
    queue TEXT NOT NULL,
    body TEXT NOT NULL,
    sent_at REAL NOT NULL,
    visible_at REAL NOT NULL,
    receive_count INTEGER NOT NULL DEFAULT 0,
    receipt TEXT,
    attributes TEXT,
    trace_header TEXT
);
CREATE INDEX IF NOT EXISTS messages_visible ON messages(queue, visible_at);
CREATE UNIQUE INDEX IF NOT EXISTS messages_receipt ON messages(receipt) WHERE receipt IS NOT NULL;
"""

#: listJobs' indexes (created after ``the columns of ``_ADDED_COLUMNS```` exist, so a file from before them upgrades).
#: ``position`` is ``<createdAt>#<id>`` (``jobcore.ports.listing_position``): unique and time-ordered,
#: so "newest first, after this one" is one range of one index, with or without a status.
_LISTING_INDEXES = """
CREATE INDEX IF NOT EXISTS jobs_by_owner ON jobs(owner, position DESC);
CREATE INDEX IF NOT EXISTS jobs_by_owner_status ON jobs(owner, status, position DESC);
"""
#: Columns added after the first release: (type, how to fill existing rows or None). A data
#: directory from before gets them on open (``SqliteDatabase._migrate``).
_ADDED_COLUMNS: dict[str, dict[str, tuple[str, str | None]]] = {
    "messages": {"attributes": ("TEXT", None), "trace_header": ("TEXT", None)},
    "jobs": {
        "status": ("TEXT", "json_extract(record, '$.status')"),
        "type": ("TEXT", "json_extract(record, '$.type')"),
        "position": ("TEXT", "json_extract(record, '$.createdAt') || '#' || id"),
    },
}


class SqliteDatabase:
    """One SQLite file; a connection per thread (sqlite3 connections must not cross threads)."""

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        # executescript manages its own transaction; every statement is IF NOT EXISTS, so concurrent
        # processes opening the same file at once are harmless.
        self.connection().executescript(_SCHEMA)
        self._migrate()
        self.connection().executescript(_LISTING_INDEXES)

    def _migrate(self) -> None:
        """Add (and fill) columns a data directory from an earlier release lacks (a write lock only when needed)."""
        if not self._missing_columns(self.connection()):
            return
        with self.transaction() as conn:  # re-checked under the lock: another process may have done it
            for table, name, (kind, backfill) in self._missing_columns(conn):
                conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")
                if backfill is not None:
                    conn.execute(f"UPDATE {table} SET {name} = {backfill}")

    @staticmethod
    def _missing_columns(conn: sqlite3.Connection) -> list[tuple[str, str, tuple[str, str | None]]]:
        missing = []
        for table, columns in _ADDED_COLUMNS.items():
            present = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
            missing += [(table, name, spec) for name, spec in columns.items() if name not in present]
        return missing

    def connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            # NORMAL is durable across process crashes in WAL mode (only an OS crash can lose the last
            # commits), which is the failure the local runtime promises to survive.
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=30000")
            self._local.conn = conn
        return conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        conn = self.connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


class SqliteJobStore(JobStore):
    def __init__(self, db: SqliteDatabase) -> None:
        self.db = db

    def _create(self, job: Job) -> CreateResult:
        marker = stuck_marker(job)
        try:
            with self.db.transaction() as conn:
                conn.execute(
                    "INSERT INTO jobs (id, owner, idempotency_key, version, stuck_status, stuck_at, record,"
                    " status, type, position) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (job.id, job.owner, job.idempotency_key, job.version, *(marker or (None, None)),
                     json.dumps(job_to_record(job)), job.status.value, job.type, listing_position(job)),
                )
        except sqlite3.IntegrityError as exc:
            existing = self._by_idempotency_key(job.owner, job.idempotency_key)
            if existing is None:
                raise ValidationError(f"job {job.id} already exists") from exc
            return CreateResult(existing, created=False)
        return CreateResult(job, created=True)

    def _by_idempotency_key(self, owner: str, key: str | None) -> Job | None:
        if key is None:
            return None
        row = self.db.connection().execute(
            "SELECT record FROM jobs WHERE owner = ? AND idempotency_key = ?", (owner, key)
        ).fetchone()
        return job_from_record(json.loads(row[0])) if row else None

    def _get(self, job_id: str) -> Job | None:
        row = self.db.connection().execute("SELECT record FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return job_from_record(json.loads(row[0])) if row else None

    def _replace(self, new: Job, expected_version: int) -> None:
        marker = stuck_marker(new)
        with self.db.transaction() as conn:
            cursor = conn.execute(
                "UPDATE jobs SET version = ?, stuck_status = ?, stuck_at = ?, record = ?, status = ?"
                " WHERE id = ? AND version = ?",
                (new.version, *(marker or (None, None)), json.dumps(job_to_record(new)), new.status.value, new.id,
                 expected_version),
            )
            if cursor.rowcount != 1:
                raise TransitionConflict(f"Job {new.id} changed since version {expected_version}")

    def _list_by_owner(
        self, owner: str, status: JobStatus | None, job_type: str | None, limit: int, after: str | None
    ) -> Page:
        # One range of jobs_by_owner (or jobs_by_owner_status with a status); a type is checked on the
        # owner's rows only. One row more than asked tells whether a next page exists.
        clauses = ["owner = ?"]
        params: list[object] = [owner]
        if status is not None:
            clauses.append("status = ?")
            params.append(status.value)
        if job_type is not None:
            clauses.append("type = ?")
            params.append(job_type)
        if after is not None:
            clauses.append("position < ?")
            params.append(after)
        rows = self.db.connection().execute(
            f"SELECT record, position FROM jobs WHERE {' AND '.join(clauses)} ORDER BY position DESC LIMIT ?",
            (*params, limit + 1),
        ).fetchall()
        items = [job_from_record(json.loads(record)) for record, _ in rows[:limit]]
        cursor = rows[limit - 1][1] if len(rows) > limit else None
        return Page(items, cursor)

    def _find_stuck(self, now: datetime, pending_before: datetime, limit: int) -> Iterator[Job]:
        # The same sharded keys as DynamoDB (one code path in codec), queried per status like the reaper does there.
        running, pending = stuck_keys(JobStatus.RUNNING), stuck_keys(JobStatus.PENDING)
        rows = self.db.connection().execute(
            f"SELECT record FROM jobs WHERE (stuck_status IN ({','.join('?' * len(running))}) AND stuck_at <= ?)"
            f" OR (stuck_status IN ({','.join('?' * len(pending))}) AND stuck_at <= ?) LIMIT ?",
            (*running, format_datetime(now), *pending, format_datetime(pending_before), limit),
        ).fetchall()
        for (record,) in rows:
            yield job_from_record(json.loads(record))

    def _mark_requeued(self, job: Job, at: datetime) -> bool:
        key, sort = pending_marker(job, at)
        with self.db.transaction() as conn:
            cursor = conn.execute(
                "UPDATE jobs SET stuck_at = ? WHERE id = ? AND version = ? AND stuck_status = ?",
                (sort, job.id, job.version, key),
            )
        return cursor.rowcount == 1

    def count_by_status(self) -> dict[str, int]:
        """Jobs per status, every status present (zeros included), for ``stats`` and ``/metrics``."""
        rows = self.db.connection().execute(
            "SELECT json_extract(record, '$.status'), COUNT(*) FROM jobs GROUP BY 1"
        ).fetchall()
        counts = {status.value: 0 for status in JobStatus}
        counts.update({str(status): int(count) for status, count in rows})
        return counts


class SqliteJobQueue(JobQueue):
    """A named queue in the same file, with SQS's visibility timeout, receive count and redrive."""

    def __init__(
        self,
        db: SqliteDatabase,
        name: str = "jobs",
        *,
        visibility_timeout: int = 30,
        dead_letter: SqliteJobQueue | None = None,
        max_receive_count: int = 3,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self.name = name
        self.visibility_timeout = visibility_timeout
        self.dead_letter = dead_letter
        self.max_receive_count = max_receive_count
        self.clock = clock
        self._listeners: list[Callable[[], None]] = []

    def add_listener(self, listener: Callable[[], None]) -> None:
        """Called after every send from this process: lets the local worker loop wake without polling."""
        self._listeners.append(listener)

    def _send(self, body: str, delay_seconds: int, attributes: dict[str, str], trace_header: str | None) -> str:
        message_id = str(uuid.uuid4())
        now = self.clock()
        try:
            with self.db.transaction() as conn:
                conn.execute(
                    "INSERT INTO messages (id, queue, body, sent_at, visible_at, attributes, trace_header)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (message_id, self.name, body, now, now + delay_seconds,
                     json.dumps(attributes) if attributes else None, trace_header),
                )
        except sqlite3.Error as exc:
            raise QueueError(f"could not send to queue {self.name}: {exc}") from exc
        for listener in self._listeners:
            listener()
        return message_id

    def _receive(self, max_messages: int, visibility_timeout: int | None) -> list[ReceivedMessage]:
        if not 1 <= max_messages <= 10:
            raise ValidationError("max_messages must be between 1 and 10, as on SQS")
        hide_for = self.visibility_timeout if visibility_timeout is None else visibility_timeout
        now = self.clock()
        received: list[ReceivedMessage] = []
        with self.db.transaction() as conn:
            rows = conn.execute(
                "SELECT id, body, sent_at, receive_count, attributes, trace_header FROM messages"
                " WHERE queue = ? AND visible_at <= ? ORDER BY visible_at, sent_at LIMIT ?",
                (self.name, now, max_messages * 2),
            ).fetchall()
            for message_id, body, sent_at, receive_count, attributes, trace_header in rows:
                if self.dead_letter is not None and receive_count >= self.max_receive_count:
                    # SQS moves a message on the receive that would exceed maxReceiveCount.
                    conn.execute(
                        "UPDATE messages SET queue = ?, visible_at = ?, receipt = NULL WHERE id = ?",
                        (self.dead_letter.name, now, message_id),
                    )
                    continue
                if len(received) == max_messages:
                    break
                receipt = f"{message_id}:{uuid.uuid4()}"
                conn.execute(
                    "UPDATE messages SET receive_count = receive_count + 1, visible_at = ?, receipt = ? WHERE id = ?",
                    (now + hide_for, receipt, message_id),
                )
                received.append(
                    ReceivedMessage(
                        message_id, receipt, body, receive_count + 1, datetime.fromtimestamp(sent_at, UTC),
                        attributes=json.loads(attributes) if attributes else {}, trace_header=trace_header,
                    )
                )
        return received

    def _delete(self, receipt_handle: str) -> None:
        # Like SQS, deleting with a receipt that is no longer current is not an error.
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM messages WHERE receipt = ?", (receipt_handle,))

    def _change_visibility(self, receipt_handle: str, seconds: int) -> None:
        if not 0 <= seconds <= 43_200:
            raise ValidationError("visibility timeout must be between 0 and 43200 seconds")
        with self.db.transaction() as conn:
            cursor = conn.execute(
                "UPDATE messages SET visible_at = ? WHERE receipt = ? AND queue = ?",
                (self.clock() + seconds, receipt_handle, self.name),
            )
            if cursor.rowcount != 1:
                raise QueueError(f"receipt handle {receipt_handle} is not in flight on queue {self.name}")

    def next_visible_in(self) -> float | None:
        """Seconds until the next message becomes visible (0 if one is now), or None if the queue is empty."""
        row = self.db.connection().execute(
            "SELECT MIN(visible_at) FROM messages WHERE queue = ?", (self.name,)
        ).fetchone()
        if row is None or row[0] is None:
            return None
        return max(0.0, float(row[0]) - self.clock())

    def _approximate_depth(self) -> QueueDepth:
        # Never received and hidden = delayed at send; received and hidden = in flight (as SQS counts them).
        row = self.db.connection().execute(
            "SELECT COALESCE(SUM(visible_at <= ?), 0),"
            " COALESCE(SUM(visible_at > ? AND receive_count > 0), 0),"
            " COALESCE(SUM(visible_at > ? AND receive_count = 0), 0)"
            " FROM messages WHERE queue = ?",
            (now := self.clock(), now, now, self.name),
        ).fetchone()
        return QueueDepth(self.name, int(row[0]), int(row[1]), int(row[2]))

    def depth(self) -> int:
        row = self.db.connection().execute("SELECT COUNT(*) FROM messages WHERE queue = ?", (self.name,)).fetchone()
        return int(row[0])
