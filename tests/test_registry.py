import json
import os
import threading

import pytest

from classifier.lifecycle import rollback
from classifier.registry import CURRENT_FILE, MODEL_FILE, ModelLoadError, Registry


@pytest.fixture
def reg(tmp_path):
    return Registry(tmp_path / "models")


def test_save_writes_model_manifest_and_switches_current(reg):
    version = reg.save({"weights": [1, 2, 3]}, {"labels": ["a"], "metrics": {}})
    assert reg.current() == version
    model, manifest = reg.load()
    assert model == {"weights": [1, 2, 3]}
    assert manifest["version"] == version
    for key in ("created", "sha256", "libraries", "labels", "parent"):
        assert key in manifest
    assert manifest["libraries"]["scikit-learn"]


def test_save_without_switch_keeps_current(reg):
    first = reg.save("one", {})
    second = reg.save("two", {}, make_current=False)
    assert reg.current() == first
    assert reg.versions() == sorted([first, second])
    assert reg.manifest(second)["parent"] == first


def test_tampered_model_is_refused(reg):
    version = reg.save("genuine", {})
    path = reg.root / version / MODEL_FILE
    path.write_bytes(path.read_bytes() + b"x")
    with pytest.raises(ModelLoadError, match="checksum"):
        reg.load(version)


def test_missing_model_file_is_refused(reg):
    version = reg.save("genuine", {})
    (reg.root / version / MODEL_FILE).unlink()
    with pytest.raises(ModelLoadError, match="missing"):
        reg.load(version)


def test_empty_registry_says_how_to_fix_it(reg):
    with pytest.raises(ModelLoadError, match="outsort train"):
        reg.load()


def test_current_pointer_never_half_written(reg):
    """Readers racing a stream of switches always see a complete version name."""
    versions = [reg.save(i, {}) for i in range(3)]
    seen, stop = set(), threading.Event()

    def read():
        while not stop.is_set():
            seen.add((reg.root / CURRENT_FILE).read_text())

    reader = threading.Thread(target=read)
    reader.start()
    for _ in range(200):
        for v in versions:
            reg.set_current(v)
    stop.set()
    reader.join()
    assert seen <= {v + "\n" for v in versions}
    assert not [p for p in os.listdir(reg.root) if p.startswith(".")]


def test_rollback_walks_back_one_version_at_a_time(reg):
    a, b, c = (reg.save(name, {}) for name in "abc")
    assert rollback(reg) == b
    assert rollback(reg) == a
    with pytest.raises(ModelLoadError):
        rollback(reg)
    assert reg.current() == a
    history = [json.loads(line)["action"] for line in (reg.root / "history.jsonl").read_text().splitlines()]
    assert history == ["train", "train", "train", "rollback", "rollback"]


def test_version_names_cannot_point_outside_the_registry(reg):
    with pytest.raises(ModelLoadError):
        reg.load("../../etc")
