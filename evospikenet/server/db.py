"""The database: engine (SQLite WAL by default, PostgreSQL by URL), migrations, sessions."""

from __future__ import annotations

import fcntl
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    CursorResult,
    DateTime,
    Engine,
    Interval,
    create_engine,
    delete,
    event,
    func,
    literal,
    select,
    text,
    tuple_,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


SQLITE_TIME = "%Y-%m-%d %H:%M:%f000"
"""SQLite's clock in the text form SQLAlchemy stores (``SS.fff`` padded to microseconds), so
times written by the database and by Python compare as text."""


def db_now(dialect: str, offset_seconds: float = 0.0) -> ColumnElement[datetime]:
    """The database's clock, plus ``offset_seconds``, as a SQL expression.

    Leases, expiries and purge cut-offs are written and compared with this, never with the
    process's clock, so processes whose clocks disagree agree on what has expired.
    PostgreSQL: ``statement_timestamp()`` of the server (stable within a statement, so a
    comparison with it can use an index; ``clock_timestamp()`` is volatile and cannot);
    SQLite (one server process per file): ``strftime(…, 'now')`` in the stored text form."""
    stamp = DateTime(timezone=True)
    if dialect == "postgresql":
        now = func.statement_timestamp(type_=stamp)
        if not offset_seconds:
            return now
        return now + literal(timedelta(seconds=offset_seconds), Interval())
    return func.strftime(SQLITE_TIME, "now", f"{offset_seconds:+.6f} seconds", type_=stamp)


def as_utc(value: datetime) -> datetime:
    """``value`` as aware UTC (SQLite hands back naive datetimes that were stored as UTC)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def isoformat(value: datetime | None) -> str | None:
    """RFC 3339 text of ``value`` in UTC with a ``Z``, or None."""
    if value is None:
        return None
    return as_utc(value).isoformat().replace("+00:00", "Z")


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL, foreign keys and a busy timeout."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, pool_size=8
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=8, max_overflow=8)


def lock_key(name: str) -> int:
    """A stable 63-bit key for ``pg_advisory_*lock`` naming ``name``."""
    return zlib.crc32(f"evospikenet:{name}".encode()) | (1 << 40)


def insert(table: Any, dialect: str) -> Any:
    """The dialect's ``INSERT`` (with ``on_conflict_do_update`` / ``on_conflict_do_nothing``)."""
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


@contextmanager
def _sqlite_file_lock(engine: Engine) -> Iterator[None]:
    """An exclusive lock on ``<database>.migrate.lock`` (a no-op for in-memory SQLite)."""
    database = engine.url.database
    if not database or database == ":memory:":
        yield
        return
    with open(f"{database}.migrate.lock", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes (or the process dies)
        yield


def run_migrations(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision (applied at every start).

    Safe when several processes start at once: on PostgreSQL the upgrade runs in one
    transaction holding an advisory lock (the others wait, then find the schema current);
    on SQLite behind an exclusive lock on a file next to the database."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))

    def upgrade(connection: Connection) -> None:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")

    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock_key("migrate")}
            )
            upgrade(connection)
        return
    with _sqlite_file_lock(engine), engine.begin() as connection:
        upgrade(connection)


PURGE_PAGE = 1000
"""Rows a periodic purge deletes per transaction (short locks, bounded undo at any size)."""


def delete_in_pages(
    database: Database,
    key: Sequence[Any],
    *where: Any,
    page: int = PURGE_PAGE,
    max_pages: int = 100,
) -> int:
    """Delete the rows matching ``where`` ``page`` at a time, each page its own transaction,
    until none is left or ``max_pages`` were deleted (the rest waits for the next pass);
    ``key`` are the table's primary-key columns. Returns how many rows were deleted."""
    table = key[0].table
    target = key[0] if len(key) == 1 else tuple_(*key)
    chosen = select(*key).where(*where).limit(page)
    total = 0
    for _ in range(max_pages):
        with database.session() as db:
            result = db.execute(delete(table).where(target.in_(chosen)))
        assert isinstance(result, CursorResult)
        deleted = int(result.rowcount or 0)
        total += deleted
        if deleted < page:
            break
    return total


class Database:
    """The engine and a session factory; ``session()`` commits on success, rolls back on error."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._factory = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        """``"postgresql"`` or ``"sqlite"``."""
        return self.engine.dialect.name

    def now(self, offset_seconds: float = 0.0) -> ColumnElement[datetime]:
        """This database's clock plus ``offset_seconds`` (``db_now``), for leases and expiries."""
        return db_now(self.dialect, offset_seconds)

    def migrate(self) -> None:
        """Apply pending migrations."""
        run_migrations(self.engine)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: committed when the block ends, rolled back if it raises."""
        with self._factory() as session, session.begin():
            yield session

    @contextmanager
    def try_lock(self, name: str) -> Iterator[bool]:
        """Hold a lock named ``name`` across every process on this database while the block
        runs, if no one else holds it (yields False then, without waiting)."""
        if self.dialect == "postgresql":
            key = lock_key(name)
            with self.engine.connect() as connection:
                held = bool(
                    connection.execute(
                        text("SELECT pg_try_advisory_lock(:key)"), {"key": key}
                    ).scalar()
                )
                connection.commit()
                try:
                    yield held
                finally:
                    if held:
                        connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                        connection.commit()
            return
        database = self.engine.url.database or ":memory:"
        if database == ":memory:":
            yield True
            return
        safe = "".join(c if c.isalnum() else "_" for c in name)
        with open(f"{database}.{safe}.lock", "a+b") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                yield False
                return
            yield True

    def ping(self) -> None:
        """Raise if the database does not answer."""
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
