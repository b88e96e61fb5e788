"""Corrections sent by users and systems, kept for retraining.

The store is SQLite (a file path, the default) or PostgreSQL (``OUTSORT_DATABASE_URL``), both
through :mod:`datasets.feedback_store`, which also holds the schema, its migrations and the reader
training uses. Each worker keeps one engine (a connection pool) for its life and migrates the
database at start; a commit is durable before the client hears "stored".
"""
from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from datasets import feedback_store
from datasets.feedback_store import FeedbackStoreError

EXTENSION = "outsort_feedback"

__all__ = ["FeedbackStoreError", "init_app", "init_db", "store"]


def init_db(target: str) -> list[int]:
    """Create or upgrade the feedback database at ``target`` (path or URL); safe at every start.

    Returns
    -------
    list of int
        The schema versions applied now.
    """
    engine = feedback_store.create_engine(target)
    try:
        return feedback_store.migrate(engine)
    finally:
        engine.dispose()


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

    Raises
    ------
    FeedbackStoreError
        When the row was not stored.
    """
    return feedback_store.insert(current_app.extensions[EXTENSION], record)


@click.command("init-db")
@with_appcontext
def init_db_command() -> None:
    """Create or upgrade the feedback database (also done when the service starts)."""
    target = current_app.config["DATABASE"]
    init_db(target)
    with current_app.extensions[EXTENSION].connect() as connection:
        version = feedback_store.schema_version(connection)
    click.echo(f"feedback database ready: {feedback_store.display(target)} (schema version {version})")


def init_app(app: Flask) -> None:
    """Migrate the database, keep this worker's engine, and register the ``init-db`` command."""
    init_db(app.config["DATABASE"])
    app.extensions[EXTENSION] = feedback_store.create_engine(app.config["DATABASE"])
    app.cli.add_command(init_db_command)
