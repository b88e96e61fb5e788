"""The feedback store on SQLite and on a real PostgreSQL server: schema, migrations, replicas.

PostgreSQL tests need ``OUTSORT_TEST_POSTGRES_URL`` (``.ci/run`` starts a throwaway cluster and
sets it); each test gets a database of its own, dropped afterwards.
"""
from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import sqlite3
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

import service
from datasets import feedback_store
from datasets.feedback_store import FeedbackStoreError
from service import config as settings
from service.feedback import init_db
from service.server import gunicorn_argv, server_environment
from tests_service_helpers import MANIFEST

ROOT = Path(service.__file__).resolve().parent.parent
API_KEY = "storage-test-key"
# Read at import: the service tests' autouse fixture clears OUTSORT_* before each test runs.
POSTGRES_URL = os.environ.get("OUTSORT_TEST_POSTGRES_URL")
COLUMNS = ["id", "created", "text", "category", "automation_level", "prediction_id", "comment",
           "model_version", "client", "request_id"]
# What the service created before the schema was versioned: such files must be adopted as they are.
UNVERSIONED_SCHEMA = """
CREATE TABLE feedback (id INTEGER PRIMARY KEY AUTOINCREMENT, created TEXT NOT NULL, text TEXT NOT NULL,
    category TEXT NOT NULL, automation_level INTEGER, prediction_id TEXT, comment TEXT, model_version TEXT,
    client TEXT NOT NULL, request_id TEXT);
INSERT INTO feedback (created, text, category, client) VALUES ('2026-01-01T00:00:00+00:00', 'old', 'kpo', 'k');
"""


@pytest.fixture(scope="session")
def postgres_server():
    """The URL of a reachable PostgreSQL server, or a skip that says why there is none."""
    if not POSTGRES_URL:
        pytest.skip("OUTSORT_TEST_POSTGRES_URL is not set: no PostgreSQL server to test against "
                    "(.ci/run installs and starts one)")
    engine = feedback_store.create_engine(POSTGRES_URL)
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError as exc:
        pytest.skip(f"PostgreSQL at {feedback_store.display(POSTGRES_URL)} is not reachable: {exc.orig or exc}")
    finally:
        engine.dispose()
    return POSTGRES_URL


@pytest.fixture
def postgres_database(postgres_server):
    """A fresh, empty database on the test server; dropped after the test."""
    name = f"outsort_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(feedback_store.database_url(postgres_server), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield feedback_store.database_url(postgres_server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path):
    """The feedback database of each backend: a SQLite path or a PostgreSQL URL."""
    if request.param == "sqlite":
        return str(tmp_path / "feedback.sqlite3")
    return request.getfixturevalue("postgres_database")


def _query(database: str, sql: str) -> list[tuple]:
    engine = feedback_store.create_engine(database, readonly=True)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(sa.text(sql))]
    finally:
        engine.dispose()


# ----------------------------------------------------------------------------- schema
def test_migrations_create_the_schema_once(database):
    assert init_db(database) == [1]
    assert init_db(database) == []
    assert _query(database, "SELECT version, name FROM schema_migrations") == [(1, "create feedback table")]
    engine = feedback_store.create_engine(database)
    assert [column["name"] for column in sa.inspect(engine).get_columns("feedback")] == COLUMNS
    engine.dispose()


def test_a_database_made_before_versioning_is_adopted_with_its_rows(tmp_path):
    path = tmp_path / "feedback.sqlite3"
    with sqlite3.connect(path) as db:
        db.executescript(UNVERSIONED_SCHEMA)
    assert init_db(str(path)) == [1]
    assert _query(str(path), "SELECT text, category FROM feedback") == [("old", "kpo")]


def test_a_database_newer_than_the_code_is_refused(database):
    init_db(database)
    engine = feedback_store.create_engine(database)
    with engine.begin() as connection:
        connection.execute(feedback_store.migrations_table.insert().values(version=7, name="future", applied="x"))
    engine.dispose()
    with pytest.raises(FeedbackStoreError, match="schema version 7, newer than this code knows"):
        init_db(database)


def test_concurrent_migrators_apply_a_new_step_exactly_once(database):
    """Every worker migrates at start: without the lock two would run the ALTER and one would fail."""
    def add_source_column(connection):
        connection.execute(sa.text("ALTER TABLE feedback ADD COLUMN source TEXT"))
    steps = feedback_store.MIGRATIONS + ((2, "add source", add_source_column),)
    barrier, results, errors = threading.Barrier(6), [], []

    def migrator() -> None:
        engine = feedback_store.create_engine(database)
        try:
            barrier.wait()
            results.append(feedback_store.migrate(engine, steps))
        except Exception as exc:  # collected: the assertion below names it
            errors.append(exc)
        finally:
            engine.dispose()
    threads = [threading.Thread(target=migrator) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(results) == [[]] * 5 + [[1, 2]]
    assert _query(database, "SELECT version FROM schema_migrations ORDER BY version") == [(1,), (2,)]


# ----------------------------------------------------------------------------- settings
@pytest.mark.parametrize("environ, expected", [
    ({}, "{instance}/feedback.sqlite3"),
    ({"OUTSORT_DATABASE": "/data/fb.sqlite3"}, "/data/fb.sqlite3"),
    ({"OUTSORT_DATABASE_URL": "postgresql://app@db/outsort"}, "postgresql://app@db/outsort"),
    ({"OUTSORT_DATABASE": "/data/fb.sqlite3", "OUTSORT_DATABASE_URL": "postgresql://db/o"}, "postgresql://db/o"),
])
def test_the_database_url_wins_over_the_sqlite_path(tmp_path, environ, expected):
    config = settings.from_environment({**environ, "OUTSORT_SECRET_KEY": "k" * 64})
    settings.finalise(config, str(tmp_path))
    assert config["DATABASE"] == expected.format(instance=tmp_path)


@pytest.mark.parametrize("url, message", [
    ("mysql://app:hunter2@db/outsort", "OUTSORT_DATABASE_URL: unsupported database 'mysql'"),
    ("postgresql://app:hunter2@db:notaport/o", "OUTSORT_DATABASE_URL: cannot parse database URL"),
])
def test_a_bad_database_url_is_named_at_start(url, message):
    with pytest.raises(ValueError, match=message) as caught:
        settings.from_environment({"OUTSORT_DATABASE_URL": url})
    assert "hunter2" not in str(caught.value)


def test_an_unreachable_postgresql_server_is_one_clear_error(tmp_path):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(FeedbackStoreError, match=rf"cannot migrate feedback database .*:{port}/outsort"):
        init_db(f"postgresql://app:secret@127.0.0.1:{port}/outsort")


# ----------------------------------------------------------------------------- one process
def test_feedback_sent_to_the_api_lands_in_the_database(make_app, database, auth):
    app = make_app(DATABASE=database)
    bodies = [{"text": "Answer customer calls", "category": "bpo_front_office", "automation_level": 2},
              {"text": "Perform surgery", "category": "not_outsourceable"}]
    ids = [app.test_client().post("/v1/feedback", json=body, headers=auth).json["id"] for body in bodies]
    rows = feedback_store.read_feedback(database)
    assert rows["id"].tolist() == ids
    assert rows[["text", "category"]].to_dict("records") == [{k: b[k] for k in ("text", "category")} for b in bodies]


# ----------------------------------------------------------------------------- replicas
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _call(port: int, method: str, path: str, body=None, headers=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path, body=json.dumps(body).encode() if body is not None else None,
                           headers={"Content-Type": "application/json", **(headers or {})})
        response = connection.getresponse()
        return response.status, json.loads(response.read().decode() or "null")
    finally:
        connection.close()


@contextlib.contextmanager
def _replicas(tmp_path: Path, registry, database: str, count: int = 2):
    """``count`` service processes (gunicorn, one worker each: two replicas behind a balancer) over
    one registry and one database, started side by side; yields their (port, process) pairs."""
    started = [_start(tmp_path / f"replica-{n}", registry, database) for n in range(count)]
    try:
        for port, process, log_path in started:
            _wait_ready(port, process, log_path)
        yield [(port, process) for port, process, _ in started]
    finally:
        for _, process, _ in started:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for _, process, _ in started:
            process.wait(timeout=20)


def _start(folder: Path, registry, database: str):
    port = _free_port()
    folder.mkdir()
    key = "OUTSORT_DATABASE_URL" if "://" in database else "OUTSORT_DATABASE"
    env = server_environment(registry.root, environ={
        **{k: v for k, v in os.environ.items() if not k.startswith("OUTSORT_")},
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        key: database, "OUTSORT_API_KEYS": API_KEY, "OUTSORT_RELOAD_INTERVAL": "0.2",
        "OUTSORT_METRICS_DIR": str(folder / "metrics"),
    })
    log_path = folder / "server.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(gunicorn_argv(port=port, workers=1, graceful_timeout=2), cwd=ROOT, env=env,
                                   stdout=log, stderr=subprocess.STDOUT)
    return port, process, log_path


def _logs(tmp_path: Path) -> str:
    return "\n".join(path.read_text()[-3000:] for path in sorted(tmp_path.glob("replica-*/server.log")))


def _wait_ready(port: int, process, log_path: Path) -> None:
    deadline = time.monotonic() + 90  # four workers importing at once on a busy two-core machine
    while True:
        with contextlib.suppress(OSError):
            if _call(port, "GET", "/readyz")[0] == 200:
                return
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"server did not start:\n{log_path.read_text()}")
        time.sleep(0.1)


@pytest.mark.slow
def test_two_replicas_writing_at_once_store_every_row_exactly_once(tmp_path, registry, database):
    init_db(database)  # as a deployment does before rolling out replicas; each also migrates at start
    clients, per_client = 8, 25
    statuses, lock = [], threading.Lock()
    with _replicas(tmp_path, registry, database) as [(port_a, _), (port_b, _)]:
        def client(n: int) -> None:
            for i in range(per_client):
                port = (port_a, port_b)[(n + i) % 2]
                status, _ = _call(port, "POST", "/v1/feedback", {"text": f"correction {n}-{i}", "category": "kpo"},
                                  {"X-API-Key": API_KEY})
                with lock:
                    statuses.append(status)
        threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert statuses == [201] * clients * per_client, _logs(tmp_path)
    rows = feedback_store.read_feedback(database)
    expected = {f"correction {n}-{i}" for n in range(clients) for i in range(per_client)}
    assert len(rows) == len(expected)
    assert set(rows["text"]) == expected  # with the count: each text exactly once
    assert rows["id"].is_unique


@pytest.mark.slow
def test_two_replicas_pick_up_a_promoted_model_without_restart(tmp_path, registry, fitted_model):
    database = str(tmp_path / "feedback.sqlite3")
    with _replicas(tmp_path, registry, database) as [(port_a, process_a), (port_b, process_b)]:
        before = {_call(port, "GET", "/v1/model")[1]["version"] for port in (port_a, port_b)}
        promoted = registry.save(fitted_model, MANIFEST, make_current=False)
        registry.set_current(promoted)
        deadline, seen = time.monotonic() + 30, set()
        while time.monotonic() < deadline:
            seen = {_call(port, "GET", "/v1/model")[1]["version"] for port in (port_a, port_b)}
            if seen == {promoted}:
                break
            time.sleep(0.2)
        assert before == {registry.versions()[0]} and seen == {promoted}
        assert process_a.poll() is None and process_b.poll() is None  # the same processes, never restarted
