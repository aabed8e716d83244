"""The database: engine (SQLite with WAL and foreign keys, or PostgreSQL), sessions, migrations."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).with_name("migrations")
#: A connection's execution option: its transaction begins holding SQLite's write lock
#: (``BEGIN IMMEDIATE``) on an engine made with ``own_begin`` (see ``begin_write``).
WRITE_LOCK = "fieldroute_write_lock"


def make_engine(url: str, *, own_begin: bool = False, **options) -> Engine:
    """An engine for ``url``; a SQLite file gets its folder, WAL, foreign keys and a busy timeout
    (plan jobs write from other processes while the server reads). ``options`` go to
    ``create_engine`` (e.g. the pool's size).

    ``own_begin`` (SQLite): every transaction really begins at its first statement (``BEGIN``;
    ``BEGIN IMMEDIATE`` on a connection with the ``WRITE_LOCK`` option), as SQLAlchemy's docs
    show for pysqlite. Without it pysqlite's legacy mode runs each read on its own and begins
    a transaction only at the first write, so what a transaction read may have changed by then
    (kept for every other use: there, a writer waits for the lock instead of failing at once
    when another process wrote since it began)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, **options)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **options)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
        if own_begin:
            dbapi_connection.isolation_level = None  # pysqlite begins nothing: _begin does

    if own_begin:
        @event.listens_for(engine, "begin")
        def _begin(connection) -> None:
            connection.exec_driver_sql("BEGIN IMMEDIATE" if connection.get_execution_options().get(WRITE_LOCK) else "BEGIN")

    return engine


def begin_write(session: Session) -> None:
    """Begin ``session``'s transaction as a writer that reads the latest state and keeps it
    until it commits: on an ``own_begin`` SQLite engine with ``BEGIN IMMEDIATE`` (another
    writer waits for it, up to the busy timeout; an ``OperationalError`` if this one waited
    that long); elsewhere an ordinary transaction. The session must have none under way."""
    if session.in_transaction():
        raise RuntimeError("begin_write: the session has a transaction under way")
    session.connection(execution_options={WRITE_LOCK: True})


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: committed if the block ends normally, rolled back (nothing changed) if it raises."""
    with factory() as session, session.begin():
        yield session


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply the Alembic migrations up to ``revision`` on ``engine``'s database."""
    _migrate(engine, "upgrade", revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Undo the Alembic migrations down to ``revision`` ("base": an empty database)."""
    _migrate(engine, "downgrade", revision)


def _migrate(engine: Engine, direction: str, revision: str) -> None:
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        getattr(command, direction)(config, revision)


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at (None before the first)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
