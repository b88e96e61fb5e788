"""outsort's library: sort work descriptions into outsourcing categories and score automation.

>>> from classifier import load_model
>>> model = load_model()
>>> model.predict(["reconcile vendor statements"])[0].category
'bpo_back_office'
"""
from __future__ import annotations

from classifier.prediction import LABELS, CATEGORIES, OUTPUT_COLUMNS, Prediction
from classifier.registry import ModelLoadError, Registry


def load_model(version_or_dir: str | None = None, registry=None):
    """Load a model from the registry (the current version by default), its checksum verified.

    Parameters
    ----------
    version_or_dir : str, optional
        A version name, a version folder, or None for the registry's current version.
    registry : Registry or path, optional
        Defaults to ``OUTSORT_REGISTRY`` or the project's ``models/`` folder.

    Returns
    -------
    TaskModel
        With ``predict(texts)`` and ``predict_jobs(jobs)``; its manifest is on ``model.manifest_``.
    """
    if not isinstance(registry, Registry):
        registry = Registry(registry)
    model, manifest = registry.load(version_or_dir)
    model.manifest_ = manifest
    return model


__all__ = ["load_model", "Registry", "ModelLoadError", "Prediction", "LABELS", "CATEGORIES", "OUTPUT_COLUMNS"]
