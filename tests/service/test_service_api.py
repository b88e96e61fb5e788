"""The /v1 endpoints through app.test_client(): answers and every kind of bad input."""
from __future__ import annotations

import json
import sqlite3

import pytest

from classifier.prediction import CATEGORIES, LABELS, OUTPUT_COLUMNS

JOB = ("Accounts Payable Clerk\n\nResponsibilities:\n- Process and reconcile vendor invoices in the ERP\n"
       "- Answer supplier phone calls about payment status\n\nRequirements:\n- 2+ years of experience\n\n"
       "We offer a competitive salary and health insurance.")


# ------------------------------------------------------------------------------ classify
@pytest.mark.parametrize("body, n", [
    ({"text": "Reconcile vendor statements against the general ledger"}, 1),
    ({"texts": ["Answer customer calls about billing", "Draft a market research report", "Perform surgery"]}, 3),
    ({"texts": ["x" * 10_000]}, 1),
])
def test_classify_returns_one_prediction_per_text(client, body, n):
    response = client.post("/v1/classify", json=body)
    assert response.status_code == 200, response.json
    data = response.json
    assert data["model_version"] == client.application.extensions["outsort"].served.version
    assert len(data["predictions"]) == n
    for i, prediction in enumerate(data["predictions"]):
        assert list(prediction)[1:1 + len(OUTPUT_COLUMNS)] == list(OUTPUT_COLUMNS)
        assert prediction["id"] == f"{response.headers['X-Request-ID']}-{i}"
        assert prediction["category"] in CATEGORIES
        assert 0 <= prediction["automation_level"] <= 4
        assert set(prediction["explanation"]) == {"category", "automation"}


def test_classify_explains_with_the_words_of_the_text(client):
    data = client.post("/v1/classify", json={"text": "Reconcile vendor statements"}).json
    terms = [t["term"] for t in data["predictions"][0]["explanation"]["category"]]
    assert "reconcile" in terms
    assert all(isinstance(t["weight"], float) for t in data["predictions"][0]["explanation"]["category"])


def test_classify_can_leave_out_explanations(client):
    data = client.post("/v1/classify", json={"text": "Answer calls", "explain": False}).json
    assert "explanation" not in data["predictions"][0]


@pytest.mark.parametrize("body", [
    {"texts": ["Provide information to employees on payroll matters", "Answer inbound customer calls"],
     "title": "Payroll Clerk"},
    {"texts": ["Provide information to employees on payroll matters", "Answer inbound customer calls"], "title": ""},
    {"texts": [{"text": "Provide information to employees on payroll matters", "title": "Payroll Clerk"},
               "Answer inbound customer calls"]},
    {"texts": [{"text": "Provide information to employees on payroll matters"}, {"text": "Answer inbound calls"}],
     "title": "Payroll Clerk"},
])
def test_classify_takes_a_title_for_all_texts_or_one_per_text(client, body):
    response = client.post("/v1/classify", json=body)
    assert response.status_code == 200, response.json
    predictions = response.json["predictions"]
    assert len(predictions) == 2
    for prediction in predictions:
        assert prediction["category"] in CATEGORIES
        assert all(isinstance(t["from_title"], bool) for t in prediction["explanation"]["category"])


def test_classify_sorts_obvious_texts(client):
    texts = ["Reconcile vendor statements and post journal entries", "Answer inbound customer calls"]
    data = client.post("/v1/classify", json={"texts": texts}).json
    assert [p["category"] for p in data["predictions"]] == ["bpo_back_office", "bpo_front_office"]


# ------------------------------------------------------------------------------ jobs
def test_jobs_json_single(client):
    response = client.post("/v1/jobs", json={"title": "AP clerk", "description": JOB})
    assert response.status_code == 200, response.json
    job = response.json["jobs"][0]
    assert job["title"] == "AP clerk"
    assert job["category"] in LABELS
    assert job["n_tasks"] == len(job["tasks"]) >= 2
    assert {segment["kind"] for segment in job["left_out"]} >= {"heading", "requirement", "benefit"}
    shares = [job[f"share_{label}"] for label in LABELS]
    assert sum(shares) == pytest.approx(1.0, abs=1e-3)


def test_jobs_json_batch_with_explanations(client):
    body = {"jobs": [{"description": JOB}, {"title": "Agent", "description": "Answer customer calls and emails"}],
            "explain": True}
    data = client.post("/v1/jobs", json=body).json
    assert [job["title"] for job in data["jobs"]] == ["", "Agent"]
    assert "explanation" in data["jobs"][1]["tasks"][0]


def test_jobs_plain_text_with_title(client):
    response = client.post("/v1/jobs?title=AP%20clerk", data=JOB.encode(), content_type="text/plain; charset=utf-8")
    assert response.status_code == 200, response.json
    assert response.json["jobs"][0]["title"] == "AP clerk"
    assert response.json["jobs"][0]["n_tasks"] >= 2


def test_jobs_accept_a_long_description(client):
    description = "\n".join(f"- Process vendor invoice batch number {i} in the ERP" for i in range(400))
    response = client.post("/v1/jobs", data=description, content_type="text/plain")
    assert response.status_code == 200
    assert response.json["jobs"][0]["n_tasks"] == 400


# ------------------------------------------------------------------------------ errors
TOO_MANY = {"texts": ["a b c"] * 1001}
TOO_LONG = {"text": "x" * 10_001}


@pytest.mark.parametrize("path, kwargs, status, code, field", [
    ("/v1/classify", {"data": "{bad json", "content_type": "application/json"}, 400, "invalid_json", None),
    ("/v1/classify", {"data": "", "content_type": "application/json"}, 400, "invalid_json", None),
    ("/v1/classify", {"data": '{"text": NaN}', "content_type": "application/json"}, 400, "invalid_json", None),
    ("/v1/classify", {"data": b'{"text": "\xff"}', "content_type": "application/json"}, 400, "invalid_json", None),
    ("/v1/classify", {"data": "[" * 100_000, "content_type": "application/json"}, 400, "invalid_json", None),
    ("/v1/classify", {"data": "text=hello", "content_type": "application/x-www-form-urlencoded"}, 415,
     "unsupported_media_type", None),
    ("/v1/classify", {"data": "hello"}, 415, "unsupported_media_type", None),
    ("/v1/classify", {"json": {}}, 422, "missing_field", "text"),
    ("/v1/classify", {"json": {"text": ""}}, 422, "empty_value", "text"),
    ("/v1/classify", {"json": {"text": "   \n"}}, 422, "empty_value", "text"),
    ("/v1/classify", {"json": {"texts": []}}, 422, "empty_value", "texts"),
    ("/v1/classify", {"json": {"texts": ["ok text", ""]}}, 422, "empty_value", "texts[1]"),
    ("/v1/classify", {"json": TOO_MANY}, 422, "too_many_items", "texts"),
    ("/v1/classify", {"json": TOO_LONG}, 422, "too_long", "text"),
    ("/v1/classify", {"json": {"texts": ["fine", "y" * 10_001]}}, 422, "too_long", "texts[1]"),
    ("/v1/classify", {"json": {"text": "a", "lang": "en"}}, 422, "unknown_field", "lang"),
    ("/v1/classify", {"json": {"text": "a", "texts": ["b"]}}, 422, "conflicting_fields", "texts"),
    ("/v1/classify", {"json": {"text": 42}}, 422, "wrong_type", "text"),
    ("/v1/classify", {"json": {"text": None}}, 422, "wrong_type", "text"),
    ("/v1/classify", {"json": {"texts": "one text"}}, 422, "wrong_type", "texts"),
    ("/v1/classify", {"json": {"texts": [["nested"]]}}, 422, "wrong_type", "texts[0]"),
    ("/v1/classify", {"json": {"text": "a", "explain": "yes"}}, 422, "wrong_type", "explain"),
    ("/v1/classify", {"json": {"text": "a", "title": 5}}, 422, "wrong_type", "title"),
    ("/v1/classify", {"json": {"text": "a", "title": "t" * 501}}, 422, "too_long", "title"),
    ("/v1/classify", {"json": {"texts": ["a", {"text": "b", "title": 3}]}}, 422, "wrong_type", "texts[1].title"),
    ("/v1/classify", {"json": {"texts": [{"title": "Clerk"}]}}, 422, "missing_field", "texts[0].text"),
    ("/v1/classify", {"json": {"texts": [{"text": ""}]}}, 422, "empty_value", "texts[0].text"),
    ("/v1/classify", {"json": {"texts": [{"text": "a", "role": "Clerk"}]}}, 422, "unknown_field", "texts[0].role"),
    ("/v1/classify", {"json": {"texts": [7]}}, 422, "wrong_type", "texts[0]"),
    ("/v1/classify", {"json": ["a list"]}, 422, "wrong_type", None),
    ("/v1/classify", {"json": "just a string"}, 422, "wrong_type", None),
    ("/v1/jobs", {"json": {"title": "no description"}}, 422, "missing_field", "description"),
    ("/v1/jobs", {"json": {"jobs": [{"title": "t"}]}}, 422, "missing_field", "jobs[0].description"),
    ("/v1/jobs", {"json": {"jobs": [{"description": "d", "salary": 1}]}}, 422, "unknown_field", "jobs[0].salary"),
    ("/v1/jobs", {"json": {"jobs": [{"description": "d"}] * 101}}, 422, "too_many_items", "jobs"),
    ("/v1/jobs", {"json": {"description": "z" * 50_001}}, 422, "too_long", "description"),
    ("/v1/jobs", {"data": "", "content_type": "text/plain"}, 422, "empty_value", None),
    ("/v1/jobs", {"data": b"\xff\xfe broken", "content_type": "text/plain"}, 400, "invalid_text", None),
    ("/v1/jobs", {"data": "d", "content_type": "text/plain; charset=klingon"}, 400, "invalid_text", None),
    ("/v1/jobs?title=" + "t" * 501, {"data": "desc", "content_type": "text/plain"}, 422, "too_long", "title"),
    ("/v1/jobs", {"data": "<job/>", "content_type": "application/xml"}, 415, "unsupported_media_type", None),
])
def test_bad_input_gets_a_json_4xx(client, path, kwargs, status, code, field):
    response = client.post(path, **kwargs)
    assert response.status_code == status
    assert response.is_json
    assert response.json["error"]["code"] == code
    assert response.json["error"]["field"] == field
    assert response.json["error"]["message"]
    assert response.headers["X-Request-ID"]


@pytest.mark.parametrize("method, path, status, code", [
    ("get", "/v1/classify", 405, "method_not_allowed"),
    ("delete", "/v1/feedback", 405, "method_not_allowed"),
    ("get", "/v2/classify", 404, "not_found"),
    ("post", "/healthz", 405, "method_not_allowed"),
])
def test_routing_errors_are_json(client, method, path, status, code):
    response = getattr(client, method)(path)
    assert response.status_code == status
    assert response.json["error"]["code"] == code


def test_body_too_large_is_refused_before_it_is_read(make_app):
    client = make_app(MAX_CONTENT_LENGTH=1000).test_client()
    response = client.post("/v1/classify", json={"text": "a" * 2000})
    assert response.status_code == 413
    assert response.json["error"]["code"] == "payload_too_large"


def test_body_too_large_without_content_length(make_app):
    """A chunked body declares no length; the limit is enforced while reading."""
    import io
    client = make_app(MAX_CONTENT_LENGTH=1000).test_client()
    stream = io.BytesIO(json.dumps({"text": "a" * 5000}).encode())
    response = client.post("/v1/classify", input_stream=stream, content_type="application/json",
                           environ_overrides={"wsgi.input_terminated": True})
    assert response.status_code == 413


@pytest.mark.parametrize("overrides, body, code", [
    ({"MAX_TEXTS": 2}, {"texts": ["a", "b", "c"]}, "too_many_items"),
    ({"MAX_TEXT_CHARS": 5}, {"text": "abcdef"}, "too_long"),
])
def test_limits_are_configurable(make_app, overrides, body, code):
    client = make_app(**overrides).test_client()
    assert client.post("/v1/classify", json=body).json["error"]["code"] == code


def test_unexpected_errors_are_json_500_without_details(app, client, monkeypatch):
    served = app.extensions["outsort"].served

    def broken(*args, **kwargs):
        raise RuntimeError("secret internals")
    monkeypatch.setattr(served.model, "predict", broken)
    response = client.post("/v1/classify", json={"text": "hello there"})
    assert response.status_code == 500
    assert response.json["error"]["code"] == "internal_error"
    assert "secret" not in response.text


def test_model_unavailable_is_503(make_app, tmp_path):
    from classifier.registry import Registry
    client = make_app(registry=Registry(tmp_path / "empty")).test_client()
    response = client.post("/v1/classify", json={"text": "hello"})
    assert response.status_code == 503
    assert response.json["error"]["code"] == "model_unavailable"
    assert response.headers["Retry-After"]
    assert client.get("/v1/model").status_code == 503


# ------------------------------------------------------------------------------ feedback
def _rows(app):
    db = sqlite3.connect(app.config["DATABASE"])
    db.row_factory = sqlite3.Row
    try:
        return [dict(row) for row in db.execute("SELECT * FROM feedback ORDER BY id")]
    finally:
        db.close()


@pytest.mark.parametrize("body", [
    {"text": "Answer customer calls", "category": "bpo_front_office"},
    {"text": "Perform surgery", "category": "not_outsourceable", "automation_level": 0,
     "prediction_id": "abc-0", "comment": "a surgeon's task"},
])
def test_feedback_with_api_key_is_stored(app, client, auth, api_key, body):
    response = client.post("/v1/feedback", json=body, headers={**auth, "X-Request-ID": "req-1"})
    assert response.status_code == 201, response.json
    assert response.json["status"] == "stored"
    row = _rows(app)[-1]
    assert row["id"] == response.json["id"]
    assert {k: row[k] for k in body} == body
    assert row["model_version"] == app.extensions["outsort"].served.version
    assert row["request_id"] == "req-1"
    assert row["client"].startswith("key:") and api_key not in row["client"]


def test_feedback_database_is_in_wal_mode(app, client, auth):
    client.post("/v1/feedback", json={"text": "t", "category": "kpo"}, headers=auth)
    db = sqlite3.connect(app.config["DATABASE"])
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()


@pytest.mark.parametrize("body, code, field", [
    ({"category": "kpo"}, "missing_field", "text"),
    ({"text": "t"}, "missing_field", "category"),
    ({"text": "t", "category": "offshore"}, "invalid_value", "category"),
    ({"text": "t", "category": "kpo", "automation_level": 5}, "invalid_value", "automation_level"),
    ({"text": "t", "category": "kpo", "automation_level": True}, "wrong_type", "automation_level"),
    ({"text": "t", "category": "kpo", "automation_level": 2.5}, "wrong_type", "automation_level"),
    ({"text": "t", "category": "kpo", "automation_level": "2"}, "wrong_type", "automation_level"),
    ({"text": "t", "category": "kpo", "rating": 5}, "unknown_field", "rating"),
    ({"text": "", "category": "kpo"}, "empty_value", "text"),
])
def test_feedback_validation(app, client, auth, body, code, field):
    response = client.post("/v1/feedback", json=body, headers=auth)
    assert (response.status_code, response.json["error"]["code"], response.json["error"]["field"]) == (422, code, field)
    assert _rows(app) == []


def test_feedback_storage_failure_is_503(app, client, auth):
    db = sqlite3.connect(app.config["DATABASE"])  # a real failure: the table vanishes under the worker
    db.execute("DROP TABLE feedback")
    db.commit()
    db.close()
    response = client.post("/v1/feedback", json={"text": "t", "category": "kpo"}, headers=auth)
    assert response.status_code == 503
    assert response.json["error"]["code"] == "storage_unavailable"


def test_init_db_command(runner, app):
    result = runner.invoke(args=["init-db"])
    assert result.exit_code == 0
    assert "feedback database ready" in result.output
    assert _rows(app) == []


# ------------------------------------------------------------------------------ model
def test_model_info(client, session_registry):
    data = client.get("/v1/model").json
    assert data["version"] == session_registry.current()
    assert data["labels"] == list(LABELS)
    assert data["metrics"] == {"macro_f1": 0.9}
    assert data["trained_on"] == {"data_fingerprint": "test-corpus"}
    assert data["created"] and data["loaded_at"] and len(data["sha256"]) == 64


# ------------------------------------------------------------------------------ titles
@pytest.mark.parametrize("body, n", [({"title": "Payroll Clerk"}, 1),
                                     ({"titles": ["Payroll Clerk", "Registered Nurse"], "explain": False}, 2)])
def test_titles_answer_each_title(client, body, n):
    response = client.post("/v1/titles", json=body)
    assert response.status_code == 200, response.json
    answers = response.json["titles"]
    assert len(answers) == n and answers[0]["title"] == "Payroll Clerk"
    for answer in answers:
        assert answer["category"] in LABELS
        shares = [answer[f"share_{label}"] for label in LABELS]
        assert sum(shares) == pytest.approx(1.0, abs=1e-3)
    assert bool(answers[0]["terms"]) == body.get("explain", True)
    if body.get("explain", True):
        assert answers[0]["nearest_occupations"][0]["onet_soc_code"]


@pytest.mark.parametrize("body, field", [({"title": " "}, "title"), ({"titles": []}, "titles"),
                                         ({"titles": ["x" * 501]}, "titles[0]"), ({}, "title"),
                                         ({"title": "a", "titles": ["b"]}, "titles")])
def test_titles_bad_input_names_the_field(client, body, field):
    response = client.post("/v1/titles", json=body)
    assert 400 <= response.status_code < 500
    assert response.json["error"]["field"] == field
