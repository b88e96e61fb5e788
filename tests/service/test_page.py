"""The page's view code through the test client: rendering, embedded settings, assets, headers."""
from __future__ import annotations

import json
import re

import pytest

from classifier.prediction import LABELS, OUTPUT_COLUMNS
from service.page import CONTENT_SECURITY_POLICY, MAX_CSV_ROWS
from service.security import CSRF_HEADER


def embedded_config(html: str) -> dict:
    match = re.search(r'<script id="page-config" type="application/json">(.*?)</script>', html, re.S)
    assert match, "the page embeds its settings as JSON"
    return json.loads(match.group(1))


def csrf_token_of(html: str) -> str:
    match = re.search(r'<meta name="csrf-token" content="([^"]+)">', html)
    assert match, "the page embeds a CSRF token"
    return match.group(1)


def test_page_renders_with_form_results_and_footer(client):
    response = client.get("/")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    for landmark in ('id="input-text"', 'name="mode" value="auto"', 'name="mode" value="job"', 'id="csv-file"',
                     'id="csv-column"', 'id="results-table"', 'id="job-stack"', 'id="download"',
                     'role="status"', 'role="alert"', 'for="input-text"', 'for="csv-file"', 'for="csv-column"'):
        assert landmark in html, landmark
    assert 'href="/openapi.json"' in html and 'href="/docs"' in html


def test_footer_names_the_serving_model_and_its_evaluation_date(client, app):
    manifest = app.extensions["outsort"].served.manifest
    html = client.get("/").get_data(as_text=True)
    assert manifest["version"] in html
    assert f'datetime="{manifest["created"][:10]}"' in html


def test_footer_says_when_no_model_is_loaded(make_app, tmp_path):
    from classifier.registry import Registry
    client = make_app(registry=Registry(tmp_path / "empty")).test_client()
    response = client.get("/")
    assert response.status_code == 200
    assert "No model is loaded yet" in response.get_data(as_text=True)


def test_embedded_config_carries_the_servers_limits_and_labels(make_app):
    app = make_app(MAX_TEXTS=50, MAX_TEXT_CHARS=300, MAX_JOB_CHARS=2000)
    config = embedded_config(app.test_client().get("/").get_data(as_text=True))
    assert config["maxTexts"] == 50 and config["maxTextChars"] == 300 and config["maxJobChars"] == 2000
    assert config["batchSize"] == 50  # never more texts per request than the API takes
    assert config["maxCsvRows"] == MAX_CSV_ROWS == 5000
    assert config["labelOrder"] == list(LABELS) and set(config["labels"]) == set(LABELS)
    assert config["outputColumns"] == list(OUTPUT_COLUMNS)
    assert config["csrfHeader"] == CSRF_HEADER


def test_embedded_token_is_accepted_by_the_feedback_endpoint(client):
    token = csrf_token_of(client.get("/").get_data(as_text=True))
    response = client.post("/v1/feedback", json={"text": "answer calls", "category": "bpo_front_office"},
                           headers={CSRF_HEADER: token})
    assert response.status_code == 201, response.get_json()


def test_token_from_another_browser_is_refused(app):
    token = csrf_token_of(app.test_client().get("/").get_data(as_text=True))
    other = app.test_client()
    other.get("/")  # a session of its own, with a different nonce
    response = other.post("/v1/feedback", json={"text": "answer calls", "category": "kpo"},
                          headers={CSRF_HEADER: token})
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "csrf_failed"


def test_page_is_never_cached_and_sets_a_private_cookie(client):
    response = client.get("/")
    assert response.headers["Cache-Control"] == "no-store"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


@pytest.mark.parametrize("path", ["/", "/docs"])
def test_html_pages_carry_security_headers(client, path):
    response = client.get(path)
    assert response.status_code == 200
    csp = response.headers["Content-Security-Policy"]
    assert csp == CONTENT_SECURITY_POLICY
    directives = dict(part.strip().split(" ", 1) for part in csp.split(";"))
    for directive in ("default-src", "script-src", "style-src", "connect-src"):
        assert directives[directive] == "'self'", directive
    assert directives["frame-ancestors"] == "'none'"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_page_loads_nothing_from_elsewhere_and_runs_no_inline_script(client):
    html = client.get("/").get_data(as_text=True)
    assert not re.search(r'(src|href)="(https?:)?//', html), "every asset comes from this service"
    for script in re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S):
        attributes, body = script
        assert 'src="/static/' in attributes or 'type="application/json"' in attributes
        assert not body.strip() or 'type="application/json"' in attributes


@pytest.mark.parametrize("asset, mimetype, marker", [
    ("page.js", "text/javascript", "/v1/classify"),
    ("page.css", "text/css", ":focus-visible"),
])
def test_static_assets_are_served_by_the_app(client, asset, mimetype, marker):
    html = client.get("/").get_data(as_text=True)
    assert f"/static/{asset}" in html
    response = client.get(f"/static/{asset}")
    assert response.status_code == 200
    assert response.mimetype == mimetype
    assert marker in response.get_data(as_text=True)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    response.close()


def test_json_responses_keep_their_type_and_get_nosniff(client):
    response = client.get("/healthz")
    assert response.mimetype == "application/json"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "Content-Security-Policy" not in response.headers


def test_settings_cannot_break_out_of_the_json_script(make_app, monkeypatch):
    from service import page
    monkeypatch.setitem(page.LABEL_NAMES, "kpo", "</script><script>alert(1)</script>")
    html = make_app().test_client().get("/").get_data(as_text=True)
    assert "<script>alert(1)" not in html
    assert embedded_config(html)["labels"]["kpo"] == "</script><script>alert(1)</script>"


def test_api_docs_page_lists_every_operation_and_schema(client):
    spec = client.get("/openapi.json").get_json()
    html = client.get("/docs").get_data(as_text=True)
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            assert f'id="op-{operation["operationId"]}"' in html
            assert f"<code>{path}</code>" in html
    for name in spec["components"]["schemas"]:
        assert f'id="schema-{name}"' in html


def test_page_needs_a_key_when_the_operator_requires_keys_everywhere(make_app, api_key):
    client = make_app(REQUIRE_API_KEY_EVERYWHERE=True).test_client()
    assert client.get("/").status_code == 401
    assert client.get("/", headers={"X-API-Key": api_key}).status_code == 200
