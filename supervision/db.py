"""Engine and transaction helpers. Services take a Session and never commit; callers own it."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, MetaData, event
from sqlalchemy.engine import make_url
from sqlmodel import Session, SQLModel, create_engine

# Deterministic constraint names so Alembic migrations (batch mode on SQLite) can address them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION
metadata: MetaData = SQLModel.metadata


def is_sqlite(url_or_engine: str | Engine) -> bool:
    url = url_or_engine.url if isinstance(url_or_engine, Engine) else make_url(url_or_engine)
    return url.get_backend_name() == "sqlite"


# Address space, not memory: pages are shared with the operating system's file cache.
SQLITE_MMAP_BYTES = 4 * 1024**3
SQLITE_CACHE_KIB = 32 * 1024


def make_engine(url: str, **kwargs) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys and a busy timeout."""
    if is_sqlite(url):
        db_path = make_url(url).database
        if db_path and db_path != ":memory:":
            Path(db_path).parent.mkdir(parents=True, exist_ok=True)
            # Connections stay open for the thread pool's workers: the default pool (5, plus
            # 10 overflow closed after each use) reconnected and re-ran the pragmas under load.
            kwargs.setdefault("pool_size", 20)
            kwargs.setdefault("max_overflow", 40)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:  # noqa: ANN001
            # Let SQLAlchemy, not pysqlite, decide when transactions begin (savepoints work).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            # Reads through a memory map instead of a read() call and a copy per page, and a
            # larger page cache per connection: a registry of a million entities is read at
            # random by the portal (measured: bench/bench_portal.py, README → Performance).
            cur.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
            cur.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn) -> None:  # noqa: ANN001
            # IMMEDIATE takes the write lock up front: two writers queue instead of deadlocking.
            # Reads (engine.execution_options(sqlite_read=True)) begin deferred and never queue.
            read = conn.get_execution_options().get("sqlite_read")
            conn.exec_driver_sql("BEGIN" if read else "BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
