"""Shared fixtures: one real model trained on the shipped data, once per test session."""
from __future__ import annotations

import pytest

from classifier import load_model
from classifier.registry import Registry
from classifier.training import train


@pytest.fixture(scope="session")
def registry(tmp_path_factory) -> Registry:
    """A registry holding one default model trained on everything we ship (frozen split held out)."""
    reg = Registry(tmp_path_factory.mktemp("registry"))
    train(registry=reg)
    return reg


@pytest.fixture(scope="session")
def model(registry):
    return load_model(registry=registry)
