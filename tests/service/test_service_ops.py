"""Probes, metrics, request ids and log lines, and the OpenAPI document against the routes."""
from __future__ import annotations

import json
import logging

import jsonschema
import pytest
from openapi_spec_validator import validate

from classifier.registry import Registry


def test_healthz(client):
    assert client.get("/healthz").json == {"status": "ok"}


def test_readyz(client, session_registry):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json == {"status": "ready", "model_version": session_registry.current()}


def test_not_ready_without_model_but_alive(make_app, tmp_path):
    client = make_app(registry=Registry(tmp_path / "empty")).test_client()
    assert client.get("/healthz").status_code == 200
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["error"]["code"] == "not_ready"


# ------------------------------------------------------------------------------ request ids and logs
@pytest.mark.parametrize("sent, echoed", [
    ("abc-123", True),
    ("trace.id:42_x", True),
    ("bad id with spaces", False),
    ('inject" {"fake": 1}', False),
    ("x" * 200, False),
])
def test_request_id_echoed_or_generated(client, sent, echoed):
    response = client.get("/healthz", headers={"X-Request-ID": sent})
    got = response.headers["X-Request-ID"]
    assert (got == sent) is echoed
    assert got


def test_request_id_generated_and_unique(client):
    ids = {client.get("/healthz").headers["X-Request-ID"] for _ in range(5)}
    assert len(ids) == 5


class _Lines(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


@pytest.fixture
def log_lines():
    handler = _Lines()
    logger = logging.getLogger("outsort.access")
    logger.addHandler(handler)
    yield handler.lines
    logger.removeHandler(handler)


def test_one_json_log_line_per_request_without_keys(client, auth, api_key, log_lines):
    client.post("/v1/feedback?key=" + api_key, json={"text": "t", "category": "kpo"},
                headers={**auth, "X-Request-ID": "log-test"})
    client.get("/healthz", headers={"X-API-Key": api_key})
    assert len(log_lines) == 2
    record = json.loads(log_lines[0])
    assert record["request_id"] == "log-test"
    assert record["status"] == 201 and record["path"] == "/v1/feedback"
    assert record["client"].startswith("key:")
    assert all(api_key not in line for line in log_lines)


# ------------------------------------------------------------------------------ metrics
def test_metrics_count_requests_predictions_and_version(client, session_registry):
    client.post("/v1/classify", json={"texts": ["Answer customer calls", "Reconcile vendor statements"]})
    client.post("/v1/classify", json={"text": ""})
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain" and "version=0.0.4" in response.content_type
    text = response.text
    assert 'outsort_http_requests_total{endpoint="/v1/classify",method="POST",status="200"} 1' in text
    assert 'outsort_http_requests_total{endpoint="/v1/classify",method="POST",status="422"} 1' in text
    assert 'outsort_predictions_total{category="bpo_front_office"} 1' in text
    assert 'outsort_predictions_total{category="bpo_back_office"} 1' in text
    assert 'outsort_http_request_duration_seconds_count{endpoint="/v1/classify"} 2' in text
    assert 'le="+Inf"' in text
    assert f'outsort_model_info{{version="{session_registry.current()}"' in text


def test_metrics_text_format_is_well_formed(client):
    client.get("/healthz")
    for line in client.get("/metrics").text.splitlines():
        if line.startswith("#"):
            assert line.split()[1] in ("HELP", "TYPE")
        else:
            name_labels, value = line.rsplit(" ", 1)
            float(value)
            assert name_labels.startswith("outsort_")


def test_metrics_add_up_workers_through_a_shared_folder(make_app, tmp_path):
    """Two apps stand in for two gunicorn workers: each writes its file, a scrape adds them."""
    from service.metrics import Metrics
    folder = tmp_path / "metrics"
    first, second = Metrics(folder), Metrics(folder)
    first.inc("outsort_feedback_total")
    first.flush()
    (folder / f"{__import__('os').getpid()}.json").rename(folder / "other-worker.json")
    second.inc("outsort_feedback_total", amount=2)
    assert "outsort_feedback_total 3" in second.render(None)


# ------------------------------------------------------------------------------ OpenAPI
def test_openapi_document_validates(client):
    validate(client.get("/openapi.json").json)


def test_openapi_documents_every_route(app, client):
    paths = client.get("/openapi.json").json["paths"]
    # The page's HTML views (``page.*``) are for people, not part of the API.
    routes = {(rule.rule, method.lower()) for rule in app.url_map.iter_rules()
              if rule.endpoint != "static" and not rule.endpoint.startswith("page.")
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    documented = {(path, method) for path, ops in paths.items() for method in ops}
    assert routes == documented


def test_openapi_shows_configured_limits(make_app):
    document = make_app(MAX_TEXTS=7, MAX_TEXT_CHARS=99).test_client().get("/openapi.json").json
    schema = document["components"]["schemas"]["ClassifyRequest"]["properties"]
    assert schema["texts"]["maxItems"] == 7
    assert schema["text"]["maxLength"] == 99


def _validator(document, name):
    """A JSON Schema validator for a component, resolving $refs within the document."""
    return jsonschema.Draft202012Validator({"$ref": f"#/components/schemas/{name}",
                                            "components": document["components"]})


REQUESTS = [
    ("ClassifyRequest", {"text": "a"}, True),
    ("ClassifyRequest", {"texts": ["a", "b"], "explain": False}, True),
    ("ClassifyRequest", {}, False),
    ("ClassifyRequest", {"text": ""}, False),
    ("ClassifyRequest", {"text": "  "}, False),
    ("ClassifyRequest", {"text": "a", "texts": ["b"]}, False),
    ("ClassifyRequest", {"text": "a", "extra": 1}, False),
    ("ClassifyRequest", {"texts": []}, False),
    ("ClassifyRequest", {"text": 1}, False),
    ("ClassifyRequest", {"text": "x" * 10_001}, False),
    ("ClassifyRequest", {"text": "a", "title": "Payroll Clerk"}, True),
    ("ClassifyRequest", {"texts": ["a", {"text": "b", "title": "Clerk"}, {"text": "c"}], "title": "Analyst"}, True),
    ("ClassifyRequest", {"text": "a", "title": 3}, False),
    ("ClassifyRequest", {"text": "a", "title": "t" * 501}, False),
    ("ClassifyRequest", {"texts": [{"title": "Clerk"}]}, False),
    ("ClassifyRequest", {"texts": [{"text": " ", "title": "Clerk"}]}, False),
    ("ClassifyRequest", {"texts": [{"text": "a", "role": "Clerk"}]}, False),
    ("ClassifyRequest", {"texts": [5]}, False),
    ("JobsRequest", {"description": "d"}, True),
    ("JobsRequest", {"jobs": [{"title": "t", "description": "d"}]}, True),
    ("JobsRequest", {"jobs": [{"title": "t"}]}, False),
    ("JobsRequest", {"title": "t"}, False),
    ("FeedbackRequest", {"text": "t", "category": "kpo", "automation_level": 3}, True),
    ("FeedbackRequest", {"text": "t", "category": "offshore"}, False),
    ("FeedbackRequest", {"text": "t", "category": "kpo", "automation_level": 9}, False),
    ("FeedbackRequest", {"text": "t", "category": "kpo", "automation_level": True}, False),
]


@pytest.mark.parametrize("name, body, valid", REQUESTS)
def test_document_and_routes_agree_on_what_is_accepted(client, auth, name, body, valid):
    """The same body is accepted by the document's schema exactly when the route accepts it."""
    document = client.get("/openapi.json").json
    assert _validator(document, name).is_valid(body) is valid
    path = {"ClassifyRequest": "/v1/classify", "JobsRequest": "/v1/jobs", "FeedbackRequest": "/v1/feedback"}[name]
    status = client.post(path, json=body, headers=auth).status_code
    assert (status < 400) is valid, status


@pytest.mark.parametrize("path, body, name", [
    ("/v1/classify", {"texts": ["Answer calls", "Reconcile statements"]}, "ClassifyResponse"),
    ("/v1/classify", {"text": "Answer calls", "explain": False}, "ClassifyResponse"),
    ("/v1/jobs", {"jobs": [{"title": "t", "description": "Responsibilities:\n- Answer calls\n- File"}],
                  "explain": True}, "JobsResponse"),
    ("/v1/feedback", {"text": "t", "category": "kpo"}, "FeedbackResponse"),
    ("/v1/classify", {"text": ""}, "Error"),
])
def test_responses_match_the_document(client, auth, path, body, name):
    document = client.get("/openapi.json").json
    _validator(document, name).validate(client.post(path, json=body, headers=auth).json)


@pytest.mark.parametrize("path, name", [("/v1/model", "ModelInfo"), ("/readyz", "Status"), ("/healthz", "Status")])
def test_get_responses_match_the_document(client, path, name):
    document = client.get("/openapi.json").json
    _validator(document, name).validate(client.get(path).json)
