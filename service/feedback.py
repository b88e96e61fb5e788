"""Corrections sent by users and systems, kept in SQLite for retraining.

One connection per request (Flask's ``g``), closed on teardown. WAL mode lets several gunicorn
workers write while others read; ``synchronous=FULL`` makes a commit durable before the client
hears "stored", so an acknowledged correction is never lost.
"""
from __future__ import annotations

import sqlite3
from datetime import datetime, timezone
from pathlib import Path

import click
from flask import Flask, current_app, g
from flask.cli import with_appcontext

SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    created          TEXT NOT NULL,
    text             TEXT NOT NULL,
    category         TEXT NOT NULL,
    automation_level INTEGER,
    prediction_id    TEXT,
    comment          TEXT,
    model_version    TEXT,
    client           TEXT NOT NULL,
    request_id       TEXT
);
"""


def connect(path: str) -> sqlite3.Connection:
    """Open the feedback database with the settings every writer must share."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, timeout=10.0)
    db.row_factory = sqlite3.Row
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("PRAGMA busy_timeout=10000")  # wait for another worker's write instead of failing
    return db


def get_db() -> sqlite3.Connection:
    """This request's connection, opened on first use."""
    if "db" not in g:
        g.db = connect(current_app.config["DATABASE"])
    return g.db


def close_db(exc=None) -> None:
    db = g.pop("db", None)
    if db is not None:
        db.close()


def init_db(path: str) -> None:
    """Create the table if it does not exist (safe to run at every start)."""
    db = connect(path)
    try:
        with db:
            db.executescript(SCHEMA)
    finally:
        db.close()


def store(record: dict) -> int:
    """Insert one correction and commit it.

    Parameters
    ----------
    record : dict
        ``text``, ``category`` and optionally ``automation_level``, ``prediction_id``,
        ``comment``, ``model_version``, ``client``, ``request_id``.

    Returns
    -------
    int
        The new row's id.
    """
    row = {"created": datetime.now(timezone.utc).isoformat(timespec="seconds"), "automation_level": None,
           "prediction_id": None, "comment": None, "model_version": None, "client": "unknown",
           "request_id": None, **record}
    db = get_db()
    with db:  # commits, or rolls back on error
        cursor = db.execute(
            "INSERT INTO feedback (created, text, category, automation_level, prediction_id, comment,"
            " model_version, client, request_id) VALUES (:created, :text, :category, :automation_level,"
            " :prediction_id, :comment, :model_version, :client, :request_id)", row)
    return int(cursor.lastrowid)


@click.command("init-db")
@with_appcontext
def init_db_command() -> None:
    """Create the feedback database (it is also created when the service starts)."""
    init_db(current_app.config["DATABASE"])
    click.echo(f"feedback database ready: {current_app.config['DATABASE']}")


def init_app(app: Flask) -> None:
    """Register teardown and the ``init-db`` command, and make sure the table exists."""
    app.teardown_appcontext(close_db)
    app.cli.add_command(init_db_command)
    init_db(app.config["DATABASE"])
