"""Helpers shared by the reliability tests."""
from __future__ import annotations

from classifier.prediction import LABELS

API_KEY = "reliability-key-7f3a9c21"
SECRET = "r" * 64
MANIFEST = {"labels": list(LABELS), "metrics": {"macro_f1": 0.9}, "data_fingerprint": "reliability"}


ERROR_KEYS = {"code", "message", "field"}


def error_shape_problem(status: int, content_type: str, body) -> str | None:
    """Why a 4xx response breaks the ``{"error": {code, message, field}}`` contract, or None."""
    if not content_type.startswith("application/json"):
        return f"{status} answered with Content-Type {content_type!r}, not JSON"
    if not isinstance(body, dict) or set(body) != {"error"} or not isinstance(body["error"], dict):
        return f"{status} body is not {{'error': {{...}}}}: {body!r:.200}"
    error = body["error"]
    if set(error) != ERROR_KEYS:
        return f"{status} error has keys {sorted(error)}, expected {sorted(ERROR_KEYS)}"
    if not (isinstance(error["code"], str) and error["code"] and isinstance(error["message"], str)
            and error["message"] and (error["field"] is None or isinstance(error["field"], str))):
        return f"{status} error fields have the wrong types: {error!r:.200}"
    return None


def assert_answered_well(response) -> None:
    """No 5xx, and every 4xx in the JSON error shape (a Flask test response)."""
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    if response.status_code >= 400:
        problem = error_shape_problem(response.status_code, response.content_type or "",
                                      response.get_json(silent=True))
        assert problem is None, problem


def app_config(tmp_path, registry, **overrides) -> dict:
    config = {"TESTING": True, "REGISTRY": str(registry.root), "DATABASE": str(tmp_path / "feedback.sqlite3"),
              "API_KEYS": (API_KEY,), "SECRET_KEY": SECRET, "RELOAD_INTERVAL": -1.0}
    return {**config, **overrides}
