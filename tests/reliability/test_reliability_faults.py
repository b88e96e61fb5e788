"""Faults: training killed mid-way, model files altered, a flood of concurrent feedback writers,
shutdown with requests in flight, and a restart. The served model and every stored row survive."""
from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import joblib
import pytest

from classifier.registry import MANIFEST_FILE, MODEL_FILE, Registry, sha256_of
from reliability_helpers import API_KEY, MANIFEST
from service.models import ModelHolder
from service.soak import ROOT, request, serve

pytestmark = pytest.mark.slow


def _env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OUTSORT_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def assert_current_serves(registry: Registry, version: str, tmp_path: Path) -> None:
    """The registry still points at ``version`` and the service answers with it."""
    from reliability_helpers import app_config
    from service import create_app
    assert registry.current() == version
    registry.load(version)  # checksum and unpickling
    client = create_app(app_config(tmp_path, registry)).test_client()
    response = client.post("/v1/classify", json={"text": "answer customer calls about billing"})
    assert response.status_code == 200 and response.get_json()["model_version"] == version


# ------------------------------------------------------------------------------ SIGKILL
def test_training_killed_at_random_points_leaves_the_current_model_serving(own_registry, tmp_path):
    """``outsort train`` SIGKILLed three times at random moments (seeded; printed on failure)."""
    before, versions = own_registry.current(), own_registry.versions()
    rng = random.Random(int(os.environ.get("OUTSORT_TEST_SEED", "9")))
    delays = sorted(rng.uniform(0.5, 6.0) for _ in range(3))
    for delay in delays:
        process = subprocess.Popen([sys.executable, "-m", "scripts.cli", "--registry", str(own_registry.root), "train"],
                                   cwd=ROOT, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        assert process.wait(timeout=30) == -signal.SIGKILL, f"training ended before the kill at {delay:.1f} s"
        assert own_registry.versions() == versions, f"killed at {delay:.1f} s"
        assert_current_serves(own_registry, before, tmp_path)


SAVE_AND_KILL_SELF = """
import os, signal, sys
import joblib
from classifier.registry import Registry
import classifier.registry as registry_module
model = joblib.load(sys.argv[2])
stage = sys.argv[3]
real_replace = os.replace
def replace(src, dst):  # die at the chosen step of saving a version, as SIGKILL would
    if stage == "before_rename" and ".staging-" in str(src):
        os.kill(os.getpid(), signal.SIGKILL)
    real_replace(src, dst)
    if stage == "after_rename" and ".staging-" in str(src):
        os.kill(os.getpid(), signal.SIGKILL)
    if stage == "while_switching" and str(dst).endswith("current"):
        os.kill(os.getpid(), signal.SIGKILL)
registry_module.os.replace = replace
Registry(sys.argv[1]).save(model, {"labels": []})
"""


@pytest.mark.parametrize("stage", ["before_rename", "after_rename", "while_switching"])
def test_training_killed_while_saving_the_version(own_registry, small_model, tmp_path, stage):
    """The last step of training, killed on each side of each rename: the registry is never half-switched."""
    before = own_registry.current()
    model_path = tmp_path / "model.joblib"
    joblib.dump(small_model, model_path)
    process = subprocess.run([sys.executable, "-c", SAVE_AND_KILL_SELF, str(own_registry.root), str(model_path), stage],
                             cwd=ROOT, env=_env(), capture_output=True, timeout=60)
    assert process.returncode == -signal.SIGKILL, process.stderr.decode()[-2000:]
    expected = own_registry.versions()[-1] if stage == "while_switching" else before
    assert_current_serves(own_registry, expected, tmp_path)
    for version in own_registry.versions():
        own_registry.load(version)  # every listed version is whole


# ------------------------------------------------------------------------------ altered model files
def _truncate(folder: Path) -> None:
    path = folder / MODEL_FILE
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _flip_a_byte(folder: Path) -> None:
    data = bytearray((folder / MODEL_FILE).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (folder / MODEL_FILE).write_bytes(bytes(data))


def _with_checksum(alter):
    """Alter the model file and write its new checksum into the manifest, as a careful tamperer would."""
    def altered(folder: Path) -> None:
        alter(folder)
        import json
        manifest = json.loads((folder / MANIFEST_FILE).read_text())
        manifest["sha256"] = sha256_of(folder / MODEL_FILE)
        (folder / MANIFEST_FILE).write_text(json.dumps(manifest))
    return altered


def _replace_with_other_object(folder: Path) -> None:
    joblib.dump({"not": "a model"}, folder / MODEL_FILE)


ALTERATIONS = {
    "truncated": (_truncate, "does not match its manifest checksum"),
    "one byte flipped": (_flip_a_byte, "does not match its manifest checksum"),
    "truncated, checksum updated": (_with_checksum(_truncate), "cannot load"),
    "byte flipped, checksum updated": (_with_checksum(_flip_a_byte), ""),
    "another object, checksum updated": (_with_checksum(_replace_with_other_object), "smoke test failed"),
    "model file deleted": (lambda folder: (folder / MODEL_FILE).unlink(), "model file missing"),
    "manifest truncated": (lambda folder: (folder / MANIFEST_FILE).write_text('{"version": "x", "sha'),
                           "unreadable manifest"),
}


@pytest.mark.parametrize("alter, words", ALTERATIONS.values(), ids=ALTERATIONS.keys())
def test_altered_model_is_refused_and_the_old_one_kept(own_registry, small_model, tmp_path, alter, words):
    from reliability_helpers import app_config
    from service import create_app
    old = own_registry.current()
    client = create_app(app_config(tmp_path, own_registry)).test_client()
    bad = own_registry.save(small_model, MANIFEST, make_current=False)
    alter(own_registry.root / bad)
    (own_registry.root / "current").write_text(bad + "\n")  # what a switch does, minus its checks

    response = client.post("/v1/admin/reload", headers={"X-API-Key": API_KEY})
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "model_refused"
    assert words in response.get_json()["error"]["message"]
    classify = client.post("/v1/classify", json={"text": "answer customer calls"})
    assert classify.status_code == 200 and classify.get_json()["model_version"] == old
    # A worker starting now gets no model rather than a bad one, and says so on its probe.
    fresh = create_app(app_config(tmp_path, own_registry)).test_client()
    assert fresh.get("/readyz").status_code == 503
    assert fresh.post("/v1/classify", json={"text": "answer calls"}).status_code == 503


def test_automatic_pickup_refuses_an_altered_model(own_registry, small_model):
    holder = ModelHolder(own_registry.root, check_interval=0)
    holder.load()
    old = holder.served.version
    bad = own_registry.save(small_model, MANIFEST, make_current=False)
    _with_checksum(_truncate)(own_registry.root / bad)
    (own_registry.root / "current").write_text(bad + "\n")
    holder.maybe_reload()
    assert holder.served.version == old and bad in holder.refused


# ------------------------------------------------------------------------------ concurrent feedback
FEEDBACK_WRITER = """
import sys, threading
from service import create_app
database, process, threads, rows = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
app = create_app({"REGISTRY": database + ".no-registry", "DATABASE": database, "API_KEYS": ("%s",),
                  "SECRET_KEY": "s" * 64, "RELOAD_INTERVAL": -1.0})
import logging; logging.getLogger("outsort.access").disabled = True
failures = []
def write(thread):
    client = app.test_client()
    for i in range(rows):
        response = client.post("/v1/feedback", headers={"X-API-Key": "%s"},
                               json={"text": f"p{process} t{thread} r{i}", "category": "kpo"})
        if response.status_code != 201:
            failures.append(response.get_data(as_text=True))
workers = [threading.Thread(target=write, args=(t,)) for t in range(threads)]
for w in workers: w.start()
for w in workers: w.join()
print(len(failures), failures[:3])
sys.exit(1 if failures else 0)
""" % (API_KEY, API_KEY)


def test_feedback_from_many_processes_and_threads_is_all_stored(tmp_path):
    database = tmp_path / "feedback.sqlite3"
    processes, threads, rows = 3, 6, 20
    writers = [subprocess.Popen([sys.executable, "-c", FEEDBACK_WRITER, str(database), str(p), str(threads), str(rows)],
                                cwd=ROOT, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for p in range(processes)]
    for writer in writers:
        out, err = writer.communicate(timeout=120)
        assert writer.returncode == 0, out + err[-2000:]
    with sqlite3.connect(database) as db:
        texts = [row[0] for row in db.execute("SELECT text FROM feedback")]
        ids = [row[0] for row in db.execute("SELECT id FROM feedback")]
    expected = {f"p{p} t{t} r{i}" for p in range(processes) for t in range(threads) for i in range(rows)}
    assert len(texts) == len(expected) == processes * threads * rows
    assert set(texts) == expected and len(set(ids)) == len(ids)


# ------------------------------------------------------------------------------ shutdown and restart
def test_graceful_shutdown_finishes_requests_in_flight_and_feedback_survives_a_restart(own_registry, tmp_path):
    """SIGTERM while both workers are busy and more requests wait in the listen queue: the requests
    the workers took finish; a waiting one is either answered or refused unprocessed (a reset
    connection), never half-done; every acknowledged correction survives a restart."""
    acknowledged, unanswered, results = [], [], []
    lock = threading.Lock()
    big = {"texts": [f"reconcile vendor statement {i} against the general ledger and post entries " * 4
                     for i in range(400)]}
    with serve(own_registry.root, tmp_path / "server", workers=2, environ={"OUTSORT_API_KEYS": API_KEY},
               graceful_timeout=30) as server:
        for i in range(5):
            assert request(server.port, "POST", "/v1/feedback", {"text": f"before {i}", "category": "kpo"},
                           {"X-API-Key": API_KEY})[0] == 201
            acknowledged.append(f"before {i}")

        def slow_classify() -> None:
            status = request(server.port, "POST", "/v1/classify", big, timeout=60)[0]
            with lock:
                results.append(status)

        def feedback(text: str) -> None:
            try:
                status = request(server.port, "POST", "/v1/feedback", {"text": text, "category": "kpo"},
                                 {"X-API-Key": API_KEY}, timeout=60)[0]
            except ConnectionError:  # still in the kernel's accept queue when the socket closed
                status = None
            with lock:
                (acknowledged if status == 201 else unanswered).append(text)

        busy = [threading.Thread(target=slow_classify) for _ in range(2)]
        waiting = [threading.Thread(target=feedback, args=(f"waiting {i}",)) for i in range(3)]
        for thread in busy:
            thread.start()
        time.sleep(0.5)  # both workers are now inside a slow batch
        for thread in waiting:
            thread.start()
        time.sleep(0.2)
        assert server.stop() == 0
        for thread in busy + waiting:
            thread.join(timeout=60)
    assert results == [200, 200]  # in flight when SIGTERM came, and finished

    # Restart on the same database: every acknowledged correction is there, nothing else, and new ones follow.
    with serve(own_registry.root, tmp_path / "server", workers=1, environ={"OUTSORT_API_KEYS": API_KEY}) as server:
        assert request(server.port, "POST", "/v1/feedback", {"text": "after", "category": "kpo"},
                       {"X-API-Key": API_KEY})[0] == 201
    with sqlite3.connect(tmp_path / "server" / "feedback.sqlite3") as db:
        stored = [row[0] for row in db.execute("SELECT text FROM feedback ORDER BY id")]
    assert sorted(stored) == sorted(acknowledged + ["after"]) and stored[-1] == "after"
    assert not set(unanswered) & set(stored)
