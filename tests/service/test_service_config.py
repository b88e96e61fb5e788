"""Settings from the environment, and the secret key shared by workers."""
from __future__ import annotations

import threading

import pytest

from service import create_app
from service.config import from_environment, shared_secret


def test_defaults():
    config = from_environment({})
    assert (config["MAX_TEXTS"], config["MAX_TEXT_CHARS"], config["API_KEYS"]) == (1000, 10_000, ())
    assert config["REQUIRE_API_KEY_EVERYWHERE"] is False


@pytest.mark.parametrize("variable, raw, key, value", [
    ("OUTSORT_MAX_TEXTS", "50", "MAX_TEXTS", 50),
    ("OUTSORT_MAX_TEXT_CHARS", "200", "MAX_TEXT_CHARS", 200),
    ("OUTSORT_MAX_CONTENT_LENGTH", "1048576", "MAX_CONTENT_LENGTH", 1048576),
    ("OUTSORT_API_KEYS", " a , b,,c ", "API_KEYS", ("a", "b", "c")),
    ("OUTSORT_REQUIRE_API_KEY_EVERYWHERE", "true", "REQUIRE_API_KEY_EVERYWHERE", True),
    ("OUTSORT_REQUIRE_API_KEY_EVERYWHERE", "0", "REQUIRE_API_KEY_EVERYWHERE", False),
    ("OUTSORT_RELOAD_INTERVAL", "0.5", "RELOAD_INTERVAL", 0.5),
    ("OUTSORT_DATABASE", "/tmp/x.db", "DATABASE", "/tmp/x.db"),
])
def test_parsed_from_environment(variable, raw, key, value):
    assert from_environment({variable: raw})[key] == value


@pytest.mark.parametrize("variable, raw", [
    ("OUTSORT_MAX_TEXTS", "many"), ("OUTSORT_MAX_TEXTS", "0"), ("OUTSORT_REQUIRE_API_KEY_EVERYWHERE", "maybe"),
])
def test_bad_values_name_the_variable(variable, raw):
    with pytest.raises(ValueError, match=variable):
        from_environment({variable: raw})


def test_create_app_reads_the_environment(monkeypatch, tmp_path, session_registry, api_key):
    monkeypatch.setenv("OUTSORT_REGISTRY", str(session_registry.root))
    monkeypatch.setenv("OUTSORT_DATABASE", str(tmp_path / "fb.db"))
    monkeypatch.setenv("OUTSORT_API_KEYS", api_key)
    monkeypatch.setenv("OUTSORT_MAX_TEXTS", "2")
    monkeypatch.setenv("OUTSORT_SECRET_KEY_FILE", str(tmp_path / "secret"))
    app = create_app()
    assert app.extensions["outsort"].served.version == session_registry.current()
    client = app.test_client()
    assert client.post("/v1/classify", json={"texts": ["a", "b", "c"]}).status_code == 422
    assert client.post("/v1/feedback", json={"text": "t", "category": "kpo"},
                       headers={"X-API-Key": api_key}).status_code == 201


def test_secret_from_file_is_shared_by_concurrent_workers(tmp_path):
    path = tmp_path / "registry" / ".secret_key"
    results = []
    threads = [threading.Thread(target=lambda: results.append(shared_secret(path))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(results)) == 1 and len(results[0]) == 64
    assert path.stat().st_mode & 0o077 == 0  # readable by the owner only
    assert shared_secret(path) == results[0]


def test_two_apps_on_one_registry_share_the_secret(tmp_path, session_registry, registry):
    config = {"REGISTRY": str(registry.root), "DATABASE": str(tmp_path / "fb.db")}
    assert create_app(dict(config)).secret_key == create_app(dict(config)).secret_key


def test_environment_secret_wins(monkeypatch, tmp_path, registry):
    monkeypatch.setenv("OUTSORT_SECRET_KEY", "k" * 40)
    app = create_app({"REGISTRY": str(registry.root), "DATABASE": str(tmp_path / "fb.db")})
    assert app.secret_key == "k" * 40
    assert not (registry.root / ".secret_key").exists()
