"""Fixtures for the service tests: one small real model per session, an app per test."""
from __future__ import annotations

import shutil

import pytest

from classifier.registry import Registry
from service import create_app
from tests_service_helpers import MANIFEST

API_KEY = "test-key-0123456789"
SECRET = "s" * 64


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    """Settings come only from each test's config, never from the developer's shell."""
    import os
    for name in list(os.environ):
        if name.startswith("OUTSORT_"):
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def fitted_model(small_model):
    """The session's small real model (tests/conftest.py), fitted once for every folder."""
    return small_model


@pytest.fixture(scope="module", autouse=True)
def load_each_version_once():
    """Unpickling the model takes a few hundred milliseconds and almost every test builds an app:
    remember what each version loaded to. Versions are immutable and tests that tamper with one
    make a new version, so those still go through the real, checksum-verifying load. Module scope
    keeps the patch away from other test folders."""
    real_load = Registry.load
    loaded = {}

    def load(self, version_or_dir=None):
        folder = self.resolve(version_or_dir)
        key = (folder.name, (folder / "model.joblib").stat().st_size)
        if key not in loaded:
            loaded[key] = real_load(self, version_or_dir)
        model, manifest = loaded[key]
        return model, dict(manifest)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Registry, "load", load)
        yield


@pytest.fixture(scope="session")
def session_registry(tmp_path_factory, fitted_model):
    """A registry with one current version, shared by tests that do not change it."""
    registry = Registry(tmp_path_factory.mktemp("registry"))
    registry.save(fitted_model, MANIFEST)
    return registry


@pytest.fixture
def registry(tmp_path, session_registry):
    """A private copy of the session registry, for tests that add versions or switch ``current``."""
    root = tmp_path / "registry"
    shutil.copytree(session_registry.root, root)
    return Registry(root)


def make_config(tmp_path, registry, **overrides) -> dict:
    config = {"TESTING": True, "REGISTRY": str(registry.root), "DATABASE": str(tmp_path / "feedback.sqlite3"),
              "API_KEYS": (API_KEY,), "SECRET_KEY": SECRET, "RELOAD_INTERVAL": -1.0}
    config.update(overrides)
    return config


@pytest.fixture
def make_app(tmp_path, session_registry):
    """Build an app with config overrides; the shared registry unless ``registry`` is given."""
    def build(registry=None, **overrides):
        return create_app(make_config(tmp_path, registry or session_registry, **overrides))
    return build


@pytest.fixture
def app(make_app):
    """The app over the shared registry, with automatic reload off (tests trigger it themselves)."""
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def api_key():
    return API_KEY


@pytest.fixture
def auth():
    """Headers that carry the test API key."""
    return {"Authorization": f"Bearer {API_KEY}"}
