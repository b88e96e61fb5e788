"""API keys and the page's CSRF token."""
from __future__ import annotations

import pytest

from service.security import csrf_token

FEEDBACK = {"text": "Answer customer calls", "category": "bpo_front_office"}


@pytest.mark.parametrize("headers, status, code", [
    ({}, 401, "api_key_required"),
    ({"Authorization": "Bearer wrong"}, 401, "invalid_api_key"),
    ({"X-API-Key": "wrong"}, 401, "invalid_api_key"),
    ({"X-API-Key": "tést-ключ"}, 401, "invalid_api_key"),
    ({"Authorization": "Basic dXNlcjpwYXNz"}, 401, "api_key_required"),
])
def test_feedback_and_admin_refuse_without_a_valid_key(client, headers, status, code):
    for path, body in (("/v1/feedback", FEEDBACK), ("/v1/admin/reload", None)):
        response = client.post(path, json=body, headers=headers)
        assert (response.status_code, response.json["error"]["code"]) == (status, code)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", ["Authorization", "X-API-Key"])
def test_key_in_either_header(client, api_key, header):
    value = f"Bearer {api_key}" if header == "Authorization" else api_key
    assert client.post("/v1/feedback", json=FEEDBACK, headers={header: value}).status_code == 201


def test_no_keys_configured_means_no_key_works(make_app):
    client = make_app(API_KEYS=()).test_client()
    assert client.post("/v1/feedback", json=FEEDBACK, headers={"X-API-Key": ""}).status_code == 401


def test_keys_from_file(make_app, tmp_path):
    keys = tmp_path / "keys.txt"
    keys.write_text("# systems\nfile-key-1\n\n  file-key-2  \n")
    client = make_app(API_KEYS=(), API_KEYS_FILE=str(keys)).test_client()
    for key in ("file-key-1", "file-key-2"):
        assert client.post("/v1/feedback", json=FEEDBACK, headers={"X-API-Key": key}).status_code == 201
    assert client.post("/v1/feedback", json=FEEDBACK, headers={"X-API-Key": "# systems"}).status_code == 401


@pytest.mark.parametrize("path, method, protected", [
    ("/v1/classify", "post", True),
    ("/v1/jobs", "post", True),
    ("/v1/model", "get", True),
    ("/metrics", "get", True),
    ("/openapi.json", "get", True),
    ("/healthz", "get", False),
    ("/readyz", "get", False),
])
def test_keys_required_everywhere_but_the_probes(make_app, api_key, path, method, protected):
    client = make_app(REQUIRE_API_KEY_EVERYWHERE=True).test_client()
    payload = {"description": "Answer calls"} if path == "/v1/jobs" else {"text": "Answer calls"}
    body = {"json": payload} if method == "post" else {}
    without = getattr(client, method)(path, **body)
    assert (without.status_code == 401) is protected
    with_key = getattr(client, method)(path, headers={"X-API-Key": api_key}, **body)
    assert with_key.status_code == 200


# ------------------------------------------------------------------------------ CSRF
@pytest.fixture
def page_app(make_app):
    """An app with a stand-in page that embeds the token, as the real page will."""
    app = make_app()
    app.add_url_rule("/_test_page", "test_page", lambda: {"csrf_token": csrf_token()})
    return app


def test_page_token_allows_feedback(page_app):
    client = page_app.test_client()
    token = client.get("/_test_page").json["csrf_token"]
    response = client.post("/v1/feedback", json=FEEDBACK, headers={"X-CSRF-Token": token, "Origin": "http://localhost"})
    assert response.status_code == 201, response.json


def test_token_works_repeatedly_and_across_page_loads(page_app):
    client = page_app.test_client()
    first = client.get("/_test_page").json["csrf_token"]
    second = client.get("/_test_page").json["csrf_token"]
    for token in (first, second, first):
        assert client.post("/v1/feedback", json=FEEDBACK, headers={"X-CSRF-Token": token}).status_code == 201


@pytest.mark.parametrize("case", ["garbage", "other_session", "cross_origin", "no_cookie", "other_secret"])
def test_bad_csrf_is_refused(page_app, make_app, case):
    client = page_app.test_client()
    token = client.get("/_test_page").json["csrf_token"]
    headers = {"X-CSRF-Token": token}
    if case == "garbage":
        headers["X-CSRF-Token"] = "not-a-token"
    elif case == "other_session":
        other = page_app.test_client()
        headers["X-CSRF-Token"] = other.get("/_test_page").json["csrf_token"]
    elif case == "cross_origin":
        headers["Origin"] = "https://evil.example"
    elif case == "no_cookie":
        client = page_app.test_client()
    elif case == "other_secret":
        client = make_app(SECRET_KEY="t" * 64).test_client()
    response = client.post("/v1/feedback", json=FEEDBACK, headers=headers)
    assert (response.status_code, response.json["error"]["code"]) == (403, "csrf_failed")


def test_expired_token_is_refused(make_app):
    app = make_app(CSRF_MAX_AGE=1)
    app.add_url_rule("/_test_page", "test_page", lambda: {"csrf_token": csrf_token()})
    client = app.test_client()
    token = client.get("/_test_page").json["csrf_token"]
    import time
    from unittest import mock
    with mock.patch.object(time, "time", return_value=time.time() + 3600):
        response = client.post("/v1/feedback", json=FEEDBACK, headers={"X-CSRF-Token": token})
    assert response.status_code == 403


def test_session_cookie_is_httponly_and_samesite(page_app):
    response = page_app.test_client().get("/_test_page")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_csrf_does_not_open_admin(page_app):
    client = page_app.test_client()
    token = client.get("/_test_page").json["csrf_token"]
    assert client.post("/v1/admin/reload", headers={"X-CSRF-Token": token}).status_code == 401
