"""Security: API keys, timing-safe comparison, the size limit before the body is read, no pickle from
a path a request can choose, no secret in logs, no CORS."""
from __future__ import annotations

import hmac
import logging
import socket
import time

import joblib
import pytest

import service.security as security
from classifier.registry import Registry
from reliability_helpers import API_KEY, MANIFEST
from reliability_helpers import assert_answered_well
from service.soak import request, serve

FEEDBACK = {"text": "answer customer calls", "category": "bpo_front_office"}
PROTECTED = [("/v1/feedback", FEEDBACK), ("/v1/admin/reload", None)]


# ------------------------------------------------------------------------------ API keys
KEY_CASES = [
    ("missing", {}, "", "api_key_required"),
    ("wrong", {"X-API-Key": "not-the-key"}, "", "invalid_api_key"),
    ("wrong bearer", {"Authorization": "Bearer not-the-key"}, "", "invalid_api_key"),
    ("key plus one character", {"X-API-Key": API_KEY + "x"}, "", "invalid_api_key"),
    ("key prefix", {"X-API-Key": API_KEY[:-1]}, "", "invalid_api_key"),
    ("key as Basic auth", {"Authorization": f"Basic {API_KEY}"}, "", "api_key_required"),
    ("empty bearer", {"Authorization": "Bearer "}, "", "api_key_required"),
    ("key in the query string", {}, f"api_key={API_KEY}", "api_key_required"),
    ("key in another query name", {}, f"key={API_KEY}&access_token={API_KEY}&token={API_KEY}", "api_key_required"),
    ("key in a cookie", {"Cookie": f"api_key={API_KEY}; X-API-Key={API_KEY}"}, "", "api_key_required"),
]


@pytest.mark.parametrize("name, headers, query, code", KEY_CASES, ids=[c[0] for c in KEY_CASES])
def test_api_keys_are_enforced(client, name, headers, query, code):
    for path, body in PROTECTED:
        response = client.post(path, json=body, headers=headers, query_string=query)
        assert_answered_well(response)
        assert (response.status_code, response.get_json()["error"]["code"]) == (401, code), path


def test_keys_required_everywhere_refuse_query_string_keys(make_app):
    client = make_app(REQUIRE_API_KEY_EVERYWHERE=True).test_client()
    refused = client.post("/v1/classify", json={"text": "answer calls"}, query_string={"api_key": API_KEY})
    assert refused.status_code == 401
    assert client.get("/v1/model", query_string={"api_key": API_KEY}).status_code == 401
    assert client.get("/healthz").status_code == 200  # probes stay open
    assert client.get("/v1/model", headers={"X-API-Key": API_KEY}).status_code == 200


def test_keys_are_compared_in_constant_time_against_every_key(make_app, monkeypatch):
    """Every configured key goes through hmac.compare_digest, with no early exit, and nothing else decides."""
    keys = ("first-key-000000000000", API_KEY, "third-key-000000000000")
    client = make_app(API_KEYS=keys).test_client()
    compared = []
    real = hmac.compare_digest

    def spy(a, b):
        compared.append(b)
        return real(a, b)
    monkeypatch.setattr(security.hmac, "compare_digest", spy)
    for presented in (API_KEY, "wrong-key"):
        compared.clear()
        client.post("/v1/feedback", json=FEEDBACK, headers={"X-API-Key": presented})
        assert compared == [k.encode() for k in keys]  # all of them, even after the match
    monkeypatch.setattr(security.hmac, "compare_digest", lambda a, b: False)
    assert client.post("/v1/feedback", json=FEEDBACK, headers={"X-API-Key": API_KEY}).status_code == 401  # no other path


# ------------------------------------------------------------------------------ no pickle from a request's path
def _outside_version(tmp_path, small_model) -> tuple[Registry, str]:
    """A whole, valid version folder outside the served registry: loading it would be the exploit."""
    evil = Registry(tmp_path / "elsewhere")
    return evil, evil.save(small_model, MANIFEST)


def test_reload_ignores_any_path_the_request_names(make_app, own_registry, small_model, tmp_path, monkeypatch):
    evil, evil_version = _outside_version(tmp_path, small_model)
    evil_folder = str(evil.root / evil_version)
    loaded = []
    real = joblib.load
    monkeypatch.setattr("classifier.registry.joblib.load", lambda path, *a, **k: loaded.append(str(path)) or real(path))
    client = make_app(registry=own_registry).test_client()
    served = client.get("/v1/model").get_json()["version"]
    for kwargs in ({"json": {"version": evil_folder}}, {"json": {"path": evil_folder + "/model.joblib"}},
                   {"query_string": {"version": evil_folder}},
                   {"query_string": {"version": f"../elsewhere/{evil_version}"}},
                   {"data": evil_folder, "content_type": "text/plain"}):
        response = client.post("/v1/admin/reload", headers={"X-API-Key": API_KEY}, **kwargs)
        assert response.status_code == 200 and response.get_json()["version"] == served
    assert not any(path.startswith(str(evil.root)) for path in loaded)


@pytest.mark.parametrize("pointer", ["../elsewhere/{v}", "{root}/{v}", "{v}/../../elsewhere/{v}", "{v}\n../x"])
def test_a_current_pointer_outside_the_registry_is_never_followed(make_app, own_registry, small_model, tmp_path,
                                                                   pointer):
    evil, evil_version = _outside_version(tmp_path, small_model)
    client = make_app(registry=own_registry).test_client()
    served = client.get("/v1/model").get_json()["version"]
    (own_registry.root / "current").write_text(pointer.format(v=evil_version, root=evil.root))
    response = client.post("/v1/admin/reload", headers={"X-API-Key": API_KEY})
    assert response.status_code in (200, 409)
    assert client.get("/v1/model").get_json()["version"] == served != evil_version


def test_the_holder_refuses_a_path_for_a_version_name(own_registry, small_model, tmp_path):
    from service.models import ModelHolder, ModelRefused
    evil, evil_version = _outside_version(tmp_path, small_model)
    holder = ModelHolder(own_registry.root, check_interval=-1)
    with pytest.raises(ModelRefused, match="not a version name"):
        holder.load(str(evil.root / evil_version))
    assert holder.served is None


# ------------------------------------------------------------------------------ CORS
@pytest.mark.parametrize("method, path", [("OPTIONS", "/v1/classify"), ("OPTIONS", "/v1/feedback"),
                                          ("OPTIONS", "/v1/admin/reload"), ("GET", "/v1/model"), ("POST", "/v1/classify"),
                                          ("GET", "/openapi.json"), ("GET", "/healthz")])
def test_cors_is_off(client, method, path):
    headers = {"Origin": "https://evil.example", "Access-Control-Request-Method": "POST",
               "Access-Control-Request-Headers": "X-API-Key, Content-Type"}
    body = {"json": {"text": "answer calls"}} if method == "POST" else {}
    response = client.open(path, method=method, headers=headers, **body)
    assert not [h for h in response.headers.keys() if h.lower().startswith("access-control-")]


# ------------------------------------------------------------------------------ the real server
@pytest.fixture(scope="module")
def server(tmp_path_factory, shared_registry):
    folder = tmp_path_factory.mktemp("security-server")
    with serve(shared_registry.root, folder, workers=1, environ={"OUTSORT_API_KEYS": API_KEY}) as running:
        yield running


def _raw(port: int, head: bytes, body: bytes = b"", timeout: float = 10.0) -> tuple[bytes, float]:
    """Send raw bytes, read the answer; returns (response bytes, seconds until the status line)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        started = time.monotonic()
        sock.sendall(head + body)
        data = sock.recv(65536)
        elapsed = time.monotonic() - started
        while chunk := sock.recv(65536):
            data += chunk
    return data, elapsed


@pytest.mark.slow
@pytest.mark.parametrize("path, content_type, headers", [
    ("/v1/classify", "application/json", b""),
    ("/v1/jobs", "text/plain", b""),
    ("/v1/feedback", "application/json", f"X-API-Key: {API_KEY}\r\n".encode()),
])
def test_size_limit_is_enforced_before_the_body_is_read(server, path, content_type, headers):
    """10 GB announced, 20 bytes sent: a 413 comes back at once, without waiting for the rest."""
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: 10000000000\r\n").encode() + headers + b"\r\n"
    data, elapsed = _raw(server.port, head, b'{"text": "answer ca')
    assert data.startswith(b"HTTP/1.1 413"), data[:200]
    assert b'"code":"payload_too_large"' in data
    assert elapsed < 2.0
    assert request(server.port, "GET", "/healthz")[0] == 200


@pytest.mark.slow
def test_no_secret_in_logs(server):
    wrong = "wrong-secret-5f0b1e0c"
    sends = [
        ("POST", "/v1/feedback", FEEDBACK, {"X-API-Key": API_KEY}),
        ("POST", "/v1/feedback", FEEDBACK, {"Authorization": f"Bearer {API_KEY}"}),
        ("POST", "/v1/feedback", FEEDBACK, {"X-API-Key": wrong}),
        ("POST", f"/v1/feedback?api_key={API_KEY}", FEEDBACK, {}),
        ("POST", f"/v1/classify?token={API_KEY}", {"text": "answer calls"}, {"X-API-Key": API_KEY}),
        ("POST", "/v1/admin/reload", None, {"X-API-Key": API_KEY}),
        ("POST", "/v1/admin/reload", None, {"X-API-Key": wrong}),
    ]
    for method, path, body, headers in sends:
        request(server.port, method, path, body, headers)
    time.sleep(0.3)  # let the worker flush its log lines
    log = server.log_path.read_text()
    assert '"path": "/v1/feedback"' in log  # the requests were logged ...
    assert API_KEY not in log and wrong not in log  # ... without any key


def test_no_secret_in_in_process_logs(make_app, caplog):
    client = make_app().test_client()
    with caplog.at_level(logging.DEBUG):
        client.post("/v1/feedback", json=FEEDBACK, headers={"X-API-Key": API_KEY})
        client.post("/v1/feedback", json=FEEDBACK, headers={"X-API-Key": "wrong-" + API_KEY})
        client.post(f"/v1/admin/reload?api_key={API_KEY}")
    assert caplog.records and API_KEY not in caplog.text
