"""The feedback database: one schema for the service that writes it and the training that reads it.

SQLite (a file path) is the default; a ``postgresql://`` URL selects PostgreSQL, so several service
replicas can share one store. Both go through SQLAlchemy Core with the same table definition.

Migrations are numbered functions recorded in a ``schema_migrations`` table. Every service worker
runs :func:`migrate` at start, so the runner takes the database's write lock first (PostgreSQL: an
advisory transaction lock; SQLite: ``BEGIN IMMEDIATE``): one worker applies what is missing, the
others then find nothing to do.

Merge rules for training (:func:`merge_feedback`): texts are compared by :func:`text_key`; for each
text the latest correction (highest row id, the database's own order, immune to replica clock
skew) gives the label, and overrides every older row with that text, shipped or added.
"""
from __future__ import annotations

import hashlib
import os
import re
import sqlite3
import time
import unicodedata
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine

from datasets.loaders import FRAME_COLUMNS, LEVEL_TO_SCORE
from datasets.schema import LABELS

POSTGRES_DRIVER = "postgresql+psycopg"
_LOCK_ID = 0x6F7574736F7274  # "outsort": the advisory lock every PostgreSQL migrator waits on

metadata = sa.MetaData()


class FeedbackStoreError(RuntimeError):
    """The feedback database cannot be opened, read, written or migrated; the message says which."""


def _v1_columns() -> list[sa.Column]:
    """The columns of schema version 1: the table the service has written from the start."""
    return [
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("created", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("category", sa.Text, nullable=False),
        sa.Column("automation_level", sa.Integer),
        sa.Column("prediction_id", sa.Text),
        sa.Column("comment", sa.Text),
        sa.Column("model_version", sa.Text),
        sa.Column("client", sa.Text, nullable=False),
        sa.Column("request_id", sa.Text),
    ]


# The current shape of the table; a new migration that changes it changes this line too.
feedback = sa.Table("feedback", metadata, *_v1_columns(), sqlite_autoincrement=True)

migrations_table = sa.Table(
    "schema_migrations", metadata,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("applied", sa.Text, nullable=False),
)


def _v1_create_feedback(connection: sa.Connection) -> None:
    # checkfirst adopts databases the service created before migrations were versioned.
    table = sa.Table("feedback", sa.MetaData(), *_v1_columns(), sqlite_autoincrement=True)
    table.create(connection, checkfirst=True)


# (version, name, function): append only, never edit a released step.
MIGRATIONS = ((1, "create feedback table", _v1_create_feedback),)


# ----------------------------------------------------------------------------- connecting
def database_url(target: str | os.PathLike) -> URL:
    """The SQLAlchemy URL of a feedback database given as a SQLite path or a URL.

    Raises
    ------
    FeedbackStoreError
        For a URL of a database other than PostgreSQL or SQLite, or one that cannot be parsed.
    """
    text = os.fspath(target)
    if "://" not in text:
        return URL.create("sqlite", database=str(Path(text).expanduser()))
    try:
        url = sa.make_url(text)
    except (sa.exc.ArgumentError, ValueError):  # the URL may hold a password: do not echo it
        raise FeedbackStoreError("cannot parse database URL: expected "
                                 "postgresql://USER:PASSWORD@HOST:PORT/DATABASE") from None
    if url.get_backend_name() == "postgresql":
        return url.set(drivername=POSTGRES_DRIVER)  # psycopg 3, whatever driver the URL named
    if url.get_backend_name() == "sqlite":
        return url
    raise FeedbackStoreError(f"unsupported database {url.get_backend_name()!r} in "
                             f"{display(url)}: use postgresql://... or a SQLite file path")


def display(target: str | os.PathLike | URL) -> str:
    """The path, or the URL as given with its password hidden, to show in messages and manifests."""
    if not isinstance(target, URL):
        text = os.fspath(target)
        if "://" not in text:
            return text
        try:
            target = sa.make_url(text)
        except (sa.exc.ArgumentError, ValueError):
            return "(unparseable database URL)"
    url = target
    if url.get_backend_name() == "sqlite":
        return str(url.database)
    return url.render_as_string(hide_password=True)


def create_engine(target: str | os.PathLike | URL, readonly: bool = False) -> Engine:
    """An engine over the feedback database, with the settings every writer must share.

    Parameters
    ----------
    target : path or URL
    readonly : bool
        For readers: SQLite transactions then start deferred, so reading never blocks a writer
        and works on a file this process may not write.

    Returns
    -------
    sqlalchemy.engine.Engine
    """
    url = target if isinstance(target, URL) else database_url(target)
    if url.get_backend_name() == "postgresql":
        return sa.create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 10})
    if url.database and url.database != ":memory:" and not readonly:
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, connect_args={"timeout": 10.0})
    _sqlite_settings(engine, readonly)
    return engine


def _sqlite_settings(engine: Engine, readonly: bool) -> None:
    @sa.event.listens_for(engine, "connect")
    def configure(dbapi_connection, _record):
        # SQLAlchemy, not the driver, starts transactions: the driver's implicit BEGIN would
        # defer the write lock and let two writers deadlock on upgrading it.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if not readonly:
            # WAL: readers and writers in other workers do not block each other; FULL: a commit
            # is durable before the client hears "stored".
            _enable_wal(cursor)
            cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA busy_timeout=10000")  # wait for another worker's write
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def begin(connection):
        connection.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")


def _enable_wal(cursor, patience: float = 10.0) -> None:
    """Switch a new file to WAL (the mode is then stored in the file for every later connection).

    Changing the mode fails at once, without the busy timeout, while another connection holds a
    lock, which is what happens when several workers open a new file together: retry a while.
    """
    deadline = time.monotonic() + patience
    while cursor.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
        except sqlite3.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


# ----------------------------------------------------------------------------- migrations
def schema_version(connection: sa.Connection) -> int:
    """The highest migration applied to the database (0 for a new or pre-versioning one)."""
    if not sa.inspect(connection).has_table("schema_migrations"):
        return 0
    return int(connection.execute(sa.select(sa.func.max(migrations_table.c.version))).scalar() or 0)


def migrate(engine: Engine, steps=MIGRATIONS) -> list[int]:
    """Bring the database to the newest schema; safe to run from many processes at once.

    Parameters
    ----------
    engine : Engine
    steps : sequence of (version, name, function)
        The migrations, in order.

    Returns
    -------
    list of int
        The versions this call applied (empty when another process had applied them).

    Raises
    ------
    FeedbackStoreError
        When the database is unreachable, or newer than every step known here (a replica
        running older code must not write into a schema it does not know).
    """
    try:
        with engine.begin() as connection:
            if engine.dialect.name == "postgresql":
                connection.execute(sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": _LOCK_ID})
            migrations_table.create(connection, checkfirst=True)
            current, known = schema_version(connection), max(version for version, _, _ in steps)
            if current > known:
                raise FeedbackStoreError(f"feedback database {display(engine.url)} has schema version {current}, "
                                         f"newer than this code knows ({known}): upgrade outsort")
            applied = []
            for version, name, step in steps:
                if version > current:
                    step(connection)
                    connection.execute(migrations_table.insert().values(version=version, name=name, applied=_now()))
                    applied.append(version)
            return applied
    except sa.exc.SQLAlchemyError as exc:
        raise FeedbackStoreError(f"cannot migrate feedback database {display(engine.url)}: {_reason(exc)}") from None


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def _reason(exc: sa.exc.SQLAlchemyError) -> str:
    """The driver's message, without SQLAlchemy's statement dump and help link."""
    original = getattr(exc, "orig", None) or exc
    return str(original).strip().splitlines()[0]


# ----------------------------------------------------------------------------- writing
def insert(engine: Engine, record: dict) -> int:
    """Store one correction and commit it; returns the new row's id.

    Parameters
    ----------
    engine : Engine
    record : dict
        ``text``, ``category`` and optionally ``automation_level``, ``prediction_id``,
        ``comment``, ``model_version``, ``client``, ``request_id``.

    Raises
    ------
    FeedbackStoreError
        When the row could not be committed (nothing was stored).
    """
    row = {"created": _now(), "client": "unknown", **record}
    try:
        with engine.begin() as connection:
            return int(connection.execute(feedback.insert().values(**row)).inserted_primary_key[0])
    except sa.exc.SQLAlchemyError as exc:
        raise FeedbackStoreError(f"cannot store feedback in {display(engine.url)}: {_reason(exc)}") from None


# ----------------------------------------------------------------------------- reading
def default_database(environ=None) -> str | None:
    """The database the service is configured with: ``OUTSORT_DATABASE_URL``, else ``OUTSORT_DATABASE``."""
    environ = os.environ if environ is None else environ
    return environ.get("OUTSORT_DATABASE_URL") or environ.get("OUTSORT_DATABASE") or None


def read_feedback(target: str | os.PathLike) -> pd.DataFrame:
    """Every stored correction, oldest first, without changing the database.

    Raises
    ------
    FeedbackStoreError
        When the file does not exist, the server cannot be reached, or there is no feedback table.
    """
    url, shown = database_url(target), display(target)
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").is_file():
        raise FeedbackStoreError(f"feedback database {shown} not found")
    engine = create_engine(url, readonly=True)
    try:
        with engine.connect() as connection:
            if not sa.inspect(connection).has_table("feedback"):
                raise FeedbackStoreError(f"{shown} has no feedback table: not a feedback database")
            columns = [feedback.c.id, feedback.c.created, feedback.c.text, feedback.c.category,
                       feedback.c.automation_level]
            rows = connection.execute(sa.select(*columns).order_by(feedback.c.id)).mappings().all()
    except sa.exc.SQLAlchemyError as exc:
        raise FeedbackStoreError(f"cannot read feedback database {shown}: {_reason(exc)}") from None
    finally:
        engine.dispose()
    return pd.DataFrame(rows, columns=["id", "created", "text", "category", "automation_level"])


def text_key(text: str) -> str:
    """What "the same text" means for merging: case, accents' forms, punctuation and spacing ignored."""
    folded = unicodedata.normalize("NFKC", str(text)).casefold()
    return re.sub(r"[\W_]+", " ", folded).strip() or str(text).strip()


def _check_rows(rows: pd.DataFrame, source: str) -> None:
    faults = []
    for row in rows.itertuples():
        if not str(row.text or "").strip():
            faults.append(f"{source}: feedback row id {row.id}, column 'text': empty text")
        if row.category not in LABELS:
            faults.append(f"{source}: feedback row id {row.id}, column 'category': unknown label "
                          f"{row.category!r}; allowed: {', '.join(LABELS)}")
        if pd.notna(row.automation_level) and int(row.automation_level) not in LEVEL_TO_SCORE:
            faults.append(f"{source}: feedback row id {row.id}, column 'automation_level': "
                          f"must be 0-4, got {row.automation_level!r}")
    if faults:
        raise FeedbackStoreError("\n".join(faults[:20]) + (f"\n... and {len(faults) - 20} more" if len(faults) > 20 else ""))


def feedback_frame(rows: pd.DataFrame, source: str = "feedback") -> pd.DataFrame:
    """Corrections as training rows: one per text (the latest correction), in the loaders' columns.

    Parameters
    ----------
    rows : DataFrame
        As returned by :func:`read_feedback` (``id``, ``text``, ``category``, ``automation_level``).
    source : str
        Names the database in error messages.

    Returns
    -------
    DataFrame
        ``FRAME_COLUMNS``; ``source`` and ``style`` are ``"feedback"``, ``group`` is one per text.
        ``automation`` is the latest level given for the text by any correction, else missing.

    Raises
    ------
    FeedbackStoreError
        Naming the row id and column of every stored value training cannot use.
    """
    _check_rows(rows, source)
    rows = rows.assign(key=rows["text"].map(text_key)).sort_values("id", kind="stable")
    levels = rows.dropna(subset=["automation_level"]).groupby("key")["automation_level"].last()
    latest = rows.groupby("key", sort=False).tail(1).set_index("key")
    automation = levels.reindex(latest.index).map(LEVEL_TO_SCORE)
    out = pd.DataFrame({
        "text": latest["text"].str.strip().to_numpy(),
        "label": latest["category"].to_numpy(),
        "automation": automation.astype(float).to_numpy(),
        "style": "feedback",
        "domain": "general",
        "group": ["feedback:" + hashlib.sha1(key.encode()).hexdigest()[:16] for key in latest.index],
        "source": "feedback",
        "occupation": "",
        "task_id": "",
        "confidence": "high",
        "exposure": None,
        "title": "",
    })
    return out[FRAME_COLUMNS]


def merge_feedback(frame: pd.DataFrame, corrections: pd.DataFrame) -> pd.DataFrame:
    """The training frame with each correction replacing every older row of the same text.

    A correction without an automation level keeps the automation score of the rows it replaces
    (the last one with a score), so correcting a category never costs the automation head an
    example.

    Parameters
    ----------
    frame : DataFrame
        Training rows (``FRAME_COLUMNS``): shipped corpus, O*NET tasks, added label files.
    corrections : DataFrame
        From :func:`feedback_frame`.

    Returns
    -------
    DataFrame
        The rows of ``frame`` whose text no correction names, then the corrections.
    """
    frame_keys = frame["text"].map(text_key)
    corrected = corrections["text"].map(text_key)
    replaced = frame_keys.isin(set(corrected))
    inherited = frame.loc[replaced, "automation"].astype(float).groupby(frame_keys[replaced]).last()
    corrections = corrections.assign(
        automation=corrections["automation"].fillna(corrected.map(inherited).astype(float)))
    return pd.concat([frame.loc[~replaced], corrections], ignore_index=True)[FRAME_COLUMNS]


def load_feedback(target: str | os.PathLike) -> pd.DataFrame:
    """:func:`read_feedback` then :func:`feedback_frame`: the corrections ready to merge."""
    return feedback_frame(read_feedback(target), source=display(target))
