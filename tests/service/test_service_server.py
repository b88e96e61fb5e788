"""The real server: gunicorn with two workers on 127.0.0.1, concurrent clients, a model swap."""
from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

import service
from classifier.registry import Registry
from service.server import gunicorn_argv, server_environment
from tests_service_helpers import MANIFEST, tampered_version

pytestmark = pytest.mark.slow
ROOT = Path(service.__file__).resolve().parent.parent
API_KEY = "server-test-key"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def call(port: int, method: str, path: str, body=None, headers=None, timeout: float = 30):
    """One request on a fresh connection; returns (status, decoded JSON or text)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        data = json.dumps(body).encode() if body is not None else None
        connection.request(method, path, body=data, headers={"Content-Type": "application/json", **(headers or {})})
        response = connection.getresponse()
        raw = response.read().decode()
        kind = response.getheader("Content-Type", "")
        return response.status, json.loads(raw) if kind.startswith("application/json") else raw
    finally:
        connection.close()


@contextlib.contextmanager
def running_server(tmp_path: Path, registry):
    """gunicorn with two workers over ``registry``; yields (port, registry, process)."""
    port = free_port()
    env = server_environment(registry.root, environ={
        **{k: v for k, v in os.environ.items() if not k.startswith("OUTSORT_")},
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "OUTSORT_DATABASE": str(tmp_path / "feedback.sqlite3"), "OUTSORT_API_KEYS": API_KEY,
        "OUTSORT_RELOAD_INTERVAL": "0.2", "OUTSORT_METRICS_DIR": str(tmp_path / "metrics"),
    })
    log_path = tmp_path / "server.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(gunicorn_argv(port=port, workers=2, graceful_timeout=10), cwd=ROOT, env=env,
                                   stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_ready(port, process, log_path)
            yield port, registry, process
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                assert process.wait(timeout=20) == 0, log_path.read_text()


def _wait_ready(port: int, process, log_path: Path) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            if call(port, "GET", "/readyz", timeout=2)[0] == 200:
                return
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail("server did not start:\n" + log_path.read_text())
        time.sleep(0.1)


def _registry_copy(tmp_path: Path, session_registry) -> Registry:
    shutil.copytree(session_registry.root, tmp_path / "registry")
    return Registry(tmp_path / "registry")


@pytest.fixture(scope="module")
def server(tmp_path_factory, session_registry):
    """One server shared by the tests that leave it running (starting one takes seconds)."""
    tmp_path = tmp_path_factory.mktemp("server")
    with running_server(tmp_path, _registry_copy(tmp_path, session_registry)) as running:
        yield running


@pytest.fixture
def own_server(tmp_path, session_registry):
    """A server for a test that stops it."""
    with running_server(tmp_path, _registry_copy(tmp_path, session_registry)) as running:
        yield running


def test_concurrent_requests_survive_model_swaps(server, fitted_model):
    port, registry, _ = server
    first = registry.current()
    failures, versions, stop = [], set(), threading.Event()
    lock = threading.Lock()

    def client(n: int) -> None:
        while not stop.is_set():
            if n % 2:
                status, body = call(port, "POST", "/v1/classify",
                                    {"texts": ["Answer customer calls", "Reconcile vendor statements"]})
            else:
                status, body = call(port, "POST", "/v1/jobs",
                                    {"description": "Responsibilities:\n- Answer customer calls\n- Process invoices"})
            with lock:
                if status != 200:
                    failures.append((status, body))
                else:
                    versions.add(body["model_version"])

    def safe_client(n: int) -> None:
        try:
            client(n)
        except Exception as exc:  # a dropped connection is a failed request too
            failures.append(repr(exc))

    threads = [threading.Thread(target=safe_client, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    time.sleep(1.0)
    second = registry.save(fitted_model, MANIFEST)
    time.sleep(1.5)
    refused = tampered_version(registry, fitted_model)
    time.sleep(1.0)
    third = registry.save(fitted_model, MANIFEST)
    time.sleep(1.5)
    stop.set()
    for thread in threads:
        thread.join(timeout=30)

    assert failures == []
    assert {first, second, third} <= versions
    assert refused not in versions
    served = {call(port, "GET", "/v1/model")[1]["version"] for _ in range(10)}
    assert served == {third}  # every worker moved on


def test_metrics_add_up_both_workers(server):
    port, _, _ = server
    for _ in range(20):
        assert call(port, "GET", "/healthz")[0] == 200
    time.sleep(0.5)  # workers share their counters every 0.2 s
    text = call(port, "GET", "/metrics")[1]
    line = next(l for l in text.splitlines() if l.startswith('outsort_http_requests_total{endpoint="/healthz"'))
    assert float(line.rsplit(" ", 1)[1]) == 20  # whichever worker answers the scrape


def test_feedback_from_both_workers_is_stored(server):
    port, registry, _ = server
    results = []

    def send(i: int) -> None:
        results.append(call(port, "POST", "/v1/feedback", {"text": f"task {i}", "category": "kpo"},
                            {"X-API-Key": API_KEY})[0])
    threads = [threading.Thread(target=send, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [201] * 20
    import sqlite3
    db = sqlite3.connect(registry.root.parent / "feedback.sqlite3")
    assert db.execute("SELECT COUNT(*) FROM feedback").fetchone()[0] == 20
    db.close()


def test_graceful_shutdown_finishes_the_request_in_flight(own_server):
    port, _, process = own_server
    result = {}
    texts = [f"Reconcile vendor statement number {i} against the general ledger and post entries" * 5
             for i in range(300)]

    def slow_request() -> None:
        result["status"] = call(port, "POST", "/v1/classify", {"texts": texts})[0]
    thread = threading.Thread(target=slow_request)
    thread.start()
    time.sleep(0.3)
    process.send_signal(signal.SIGTERM)
    thread.join(timeout=30)
    assert result.get("status") == 200
    assert process.wait(timeout=20) == 0
