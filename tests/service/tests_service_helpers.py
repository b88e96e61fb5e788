"""Helpers shared by the service tests: registry versions that must be refused."""
from __future__ import annotations

from classifier.model import TaskModel
from classifier.prediction import LABELS
from classifier.registry import MODEL_FILE

MANIFEST = {"labels": list(LABELS), "metrics": {"macro_f1": 0.9}, "data_fingerprint": "test-corpus"}


def tampered_version(registry, fitted_model) -> str:
    """A version whose model file no longer matches its manifest checksum; made current."""
    version = registry.save(fitted_model, MANIFEST, make_current=False)
    path = registry.root / version / MODEL_FILE
    path.write_bytes(path.read_bytes() + b"tampered")
    registry.set_current(version)
    return version


def broken_version(registry, fitted_model) -> str:
    """A version that loads (checksum fine) but cannot predict: an unfitted model; made current."""
    return registry.save(TaskModel(), MANIFEST)
