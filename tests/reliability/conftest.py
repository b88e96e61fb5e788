"""Fixtures for the reliability tests: one small real model, a registry holding it, apps over it."""
from __future__ import annotations

import os
import shutil

import pytest

from classifier.registry import Registry
from service import create_app

from reliability_helpers import API_KEY, MANIFEST, app_config


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    """Settings come only from each test's config, never from the developer's shell."""
    for name in list(os.environ):
        if name.startswith("OUTSORT_"):
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def shared_registry(tmp_path_factory, small_model) -> Registry:
    """A registry with one current version, for tests that do not change it."""
    registry = Registry(tmp_path_factory.mktemp("reliability-registry"))
    registry.save(small_model, MANIFEST)
    return registry


@pytest.fixture
def own_registry(tmp_path, shared_registry) -> Registry:
    """A private copy of the shared registry, for tests that add, alter or switch versions."""
    root = tmp_path / "registry"
    shutil.copytree(shared_registry.root, root)
    return Registry(root)


@pytest.fixture
def make_app(tmp_path, shared_registry):
    """Build an app with config overrides, over the shared registry unless ``registry`` is given."""
    def build(registry=None, **overrides):
        return create_app(app_config(tmp_path, registry or shared_registry, **overrides))
    return build


@pytest.fixture
def client(make_app):
    return make_app().test_client()


@pytest.fixture
def auth() -> dict:
    return {"Authorization": f"Bearer {API_KEY}"}
