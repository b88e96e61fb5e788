"""Property-based fuzzing: the API from its own OpenAPI document (schemathesis), hostile raw bodies,
and the library's text handling (hypothesis). No 500, every 4xx in the JSON error shape, no crash."""
from __future__ import annotations

import json
import math

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import ignored_auth

from classifier.parts import cut_parts
from classifier.prediction import CATEGORIES
from classifier.text import normalise
from reliability_helpers import assert_answered_well
from reliability_helpers import API_KEY

# Small limits keep generated batches small, so the whole fuzz run stays well under a minute; the
# document follows the limits, and the real limits are tried in the bad-input table.
FUZZ_LIMITS = {"MAX_TEXTS": 12, "MAX_TEXT_CHARS": 400, "MAX_JOBS": 4, "MAX_JOB_CHARS": 1500}
FUZZ = settings(max_examples=25, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))
WITH_INPUT = [("/v1/classify", "POST"), ("/v1/jobs", "POST"), ("/v1/titles", "POST"), ("/v1/feedback", "POST")]
WITHOUT_INPUT = [("/v1/model", "GET"), ("/v1/admin/reload", "POST"), ("/healthz", "GET"), ("/readyz", "GET"),
                 ("/metrics", "GET"), ("/openapi.json", "GET")]
OPERATIONS = WITH_INPUT + WITHOUT_INPUT
# Invalid input cannot be made for an operation that takes none.
FUZZ_CASES = ([(path, method, GenerationMode.POSITIVE) for path, method in OPERATIONS]
              + [(path, method, GenerationMode.NEGATIVE) for path, method in WITH_INPUT])


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory, shared_registry):
    from reliability_helpers import app_config
    from service import create_app
    tmp = tmp_path_factory.mktemp("fuzz")
    return create_app(app_config(tmp, shared_registry, **FUZZ_LIMITS))


@pytest.fixture(scope="module")
def api_schema(fuzz_app):
    return schemathesis.openapi.from_wsgi("/openapi.json", fuzz_app)


def test_the_document_lists_every_route(fuzz_app, api_schema):
    routes = {(rule.rule, method) for rule in fuzz_app.url_map.iter_rules() if rule.endpoint.startswith(("api.", "ops."))
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert routes == set(OPERATIONS)


@pytest.mark.parametrize("path, method, mode", FUZZ_CASES)
def test_api_from_its_openapi_document(api_schema, fuzz_app, path, method, mode):
    """Generated requests, valid and invalid, with and without a key: each is answered as documented."""
    operation = api_schema[path][method]

    @FUZZ
    @given(case=operation.as_strategy(generation_mode=mode), with_key=st.booleans())
    def check(case, with_key):
        response = case.call(headers={"X-API-Key": API_KEY} if with_key else None)
        assert response.status_code < 500, response.text[:500]
        # Schemathesis' own checks: status codes, content types and bodies as documented, invalid
        # data refused, valid data accepted. Its auth check guesses at keys we set ourselves.
        case.validate_response(response, excluded_checks=[ignored_auth])

    check()
    client = fuzz_app.test_client()
    assert client.get("/healthz").status_code == 200
    assert client.post("/v1/classify", json={"text": "answer customer calls"}).status_code == 200


def _nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


HOSTILE_BODIES = st.one_of(
    st.binary(max_size=2000),  # includes invalid UTF-8
    st.text(max_size=2000).map(lambda s: s.encode("utf-8", "surrogatepass")),
    st.integers(1, 200_000).map(_nested),  # deep JSON
    st.integers(1, 200_000).map(lambda n: b'{"text":' * n),  # deep and unterminated
    st.sampled_from([b'{"text": NaN}', b'{"text": Infinity}', b'{"text": 1e999}', b'{"texts": [1' + b"0" * 5000 + b"]}",
                     b'{"text": "\\ud800"}', b'{"text": "\\udfff\\ud800"}', b'{"text": "a\\u0000b"}',
                     b'{"text": "\\ud800 calls", "category": "kpo"}', b'{"texts": ["ok", "\\udc00"]}',
                     b'{"text": "ok", "category": "kpo", "comment": "\\udfff"}', b'{"description": "\\ud83d"}',
                     b'\xef\xbb\xbf{"text": "bom"}', b'{"text": "x", "text": "y"}', b"\xff\xfe{\x00}\x00"]),
    st.recursive(st.none() | st.booleans() | st.floats(allow_nan=False) | st.text(max_size=50),
                 lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5),
                 max_leaves=30).map(lambda v: json.dumps(v).encode()),
)
CONTENT_TYPES = st.sampled_from(["application/json", "application/json; charset=latin-1", "text/plain",
                                 "text/plain; charset=nope", "text/plain; charset=utf-16",
                                 "application/x-www-form-urlencoded",
                                 "multipart/form-data; boundary=x", "application/xml", "", "application/json;;;=",
                                 "*/*", "application/vnd.api+json"])


@settings(max_examples=150, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
@given(path=st.sampled_from(["/v1/classify", "/v1/jobs", "/v1/feedback", "/v1/admin/reload"]),
       body=HOSTILE_BODIES, content_type=CONTENT_TYPES, with_key=st.booleans())
def test_hostile_bodies_and_content_types(fuzz_client, path, body, content_type, with_key):
    headers = {"Content-Type": content_type} if content_type else {}
    if with_key:
        headers["X-API-Key"] = API_KEY
    assert_answered_well(fuzz_client.post(path, data=body, headers=headers))


@pytest.fixture(scope="module")
def fuzz_client(fuzz_app):
    return fuzz_app.test_client()


# ------------------------------------------------------------------------------ the library
TEXTS = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(codec="utf-8", categories=("Cc", "Cf", "Zs", "Zl", "Zp", "Mn")), max_size=200),
    st.lists(st.sampled_from(["Process", "invoices", "AP/AR", "KYC", ".", "\n", "- ", "•", "Ⅻ", "ﬁ", "İ", "ß",
                              "e.g.", "1)", "Requirements:", "\u200b", "\x00", "\ud800", "ｆｕｌｌ"]),
             max_size=60).map("".join),
)


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(text=TEXTS)
def test_normalise_never_raises_and_collapses_space(text):
    out = normalise(text)
    assert isinstance(out, str)
    assert out == out.strip() and "  " not in out and "\n" not in out


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(description=TEXTS)
def test_cut_parts_never_raises_and_keeps_its_shape(description):
    parts = cut_parts(description)
    assert all(description[p.start:p.end] == p.text and p.text.strip() for p in parts)
    assert len(parts) <= max(len(description), 1)


def _assert_sane(predictions, n: int) -> None:
    assert len(predictions) == n
    for p in predictions:
        numbers = (p.confidence, p.p_bpo_front_office, p.p_bpo_back_office, p.p_kpo, p.outsourceable, p.automation_score)
        assert all(math.isfinite(x) and 0 <= x <= 1 for x in numbers)
        assert p.category in CATEGORIES and p.automation_level in range(5)
        assert abs(p.p_bpo_front_office + p.p_bpo_back_office + p.p_kpo - 1) < 1e-3
        json.dumps(p.to_dict())  # every field serialises


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(texts=st.lists(TEXTS, min_size=1, max_size=8), explain=st.booleans())
def test_predict_never_raises_and_keeps_its_shape(small_model, texts, explain):
    _assert_sane(small_model.predict(texts, explain=explain), len(texts))


@settings(max_examples=40, deadline=None, derandomize=True, database=None)
@given(descriptions=st.lists(TEXTS, min_size=1, max_size=4))
def test_predict_jobs_never_raises_and_keeps_its_shape(small_model, descriptions):
    jobs = small_model.predict_jobs([{"title": "t", "description": d} for d in descriptions])
    assert len(jobs) == len(descriptions)
    for job in jobs:
        shares = (job.share_bpo_front_office, job.share_bpo_back_office, job.share_kpo, job.share_not_outsourceable)
        assert job.n_tasks == len(job.tasks) and (sum(shares) == 0 or abs(sum(shares) - 1) < 1e-3)
        _assert_sane([task.prediction for task in job.tasks], job.n_tasks)


HUGE = {
    "1 MB without spaces or breaks": "a" * 1_000_000,
    "1 MB of control characters": "".join(chr(i % 32) for i in range(1_000_000)),
    "1 MB of emoji and combining marks": "👩‍💻\u0301" * 250_000,
    "1 MB of bullets (52,000 duties)": "- process invoices\n" * 52_000,
    "one sentence, no breaks, 20,000 words": " ".join(["reconcile vendor statements against the ledger"] * 4000),
}


@pytest.mark.parametrize("text", HUGE.values(), ids=HUGE.keys())
def test_huge_strings_are_handled(small_model, text):
    assert isinstance(normalise(text), str)
    _assert_sane(small_model.predict([text], explain=True), 1)
    job = small_model.predict_jobs([text])[0]
    assert job.n_tasks >= 1
