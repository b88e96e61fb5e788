"""Shared fixtures: one real model trained on the shipped data, once per test session."""
from __future__ import annotations

import pytest

from classifier import load_model
from classifier.model import TaskModel
from classifier.registry import Registry
from classifier.training import train
from datasets.loaders import load_corpus


@pytest.fixture(scope="session")
def registry(tmp_path_factory) -> Registry:
    """A registry holding one default model trained on everything we ship (frozen split held out)."""
    reg = Registry(tmp_path_factory.mktemp("registry"))
    train(registry=reg)
    return reg


@pytest.fixture(scope="session")
def model(registry):
    return load_model(registry=registry)


@pytest.fixture(scope="session")
def small_model():
    """A small real model fitted on the shipped corpus without calibration (a few seconds, once)."""
    from classifier.posting_training import fit_duty_finder, fit_title_model, load_posting_data
    frame = load_corpus()
    model = TaskModel(calibration_folds=0).fit(frame.text, frame.label, frame.automation)
    data = load_posting_data()  # the duty finder from our written job descriptions' labeled parts
    model.duty_finder_ = fit_duty_finder(data.parts[data.parts["source"].eq("written")], data.descriptions)
    model.title_model_ = fit_title_model()  # None without the shared O*NET files: /v1/titles then says so
    return model
