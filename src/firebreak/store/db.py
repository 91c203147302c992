"""Engine and sessions: SQLite (WAL, the default) or PostgreSQL, chosen by URL."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from firebreak.errors import ConfigError

log = structlog.get_logger(__name__)
SLOW_WRITE_SECONDS = 0.5  # a write this slow is logged: containment steps are writes


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    # FULL: a commit is on disk before ingest answers 2xx ("durable before the response").
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA busy_timeout=30000")
    # Ingest inserts into several B-trees at random places (event_id, request and user
    # ids): a 64 MiB page cache keeps their pages in memory, and checkpointing every
    # 40 MiB instead of 4 MiB writes a page that many commits touched once, not each time.
    cur.execute("PRAGMA cache_size=-65536")
    cur.execute("PRAGMA wal_autocheckpoint=10000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def make_engine(url: str) -> Engine:
    """An engine for `url`, tuned for its dialect."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if url.startswith("postgresql"):
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
        try:
            import psycopg  # noqa: F401
        except ImportError as exc:  # pragma: no cover - depends on the extra
            raise ConfigError("PostgreSQL needs: pip install 'firebreak[postgres]'") from exc
        return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)
    raise ConfigError(f"database_url: unsupported scheme in {url.split(':', 1)[0]!r}")


class Database:
    """An engine, a session factory and (for SQLite) one writer lock.

    SQLite allows one writer at a time; serialising writes in-process avoids lock
    contention between threads of the same server.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self._write_lock = threading.Lock() if self.is_sqlite else None

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A read session."""
        with self.sessions() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session whose work commits on exit (rolled back on error)."""
        lock = self._write_lock
        asked = time.monotonic()
        if lock is not None:
            lock.acquire()
        began = time.monotonic()
        try:
            with self.sessions.begin() as session:
                yield session
        finally:
            if lock is not None:
                lock.release()
            done = time.monotonic()
            if done - asked > SLOW_WRITE_SECONDS:
                # which it was: waiting for this process's other writers, or the
                # transaction itself (another process's write lock, the commit's fsync)
                log.warning("store.slow_write", lock_wait_s=round(began - asked, 3),
                            transaction_s=round(done - began, 3))

    def dispose(self) -> None:
        self.engine.dispose()
