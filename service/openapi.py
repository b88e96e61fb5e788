"""The OpenAPI 3.1 document, generated from the schemas the routes validate with.

:func:`operations` is the one list of what each endpoint accepts and answers; the routes take
their request schemas from it (via :func:`request_schema`) and :func:`document` renders it.
"""
from __future__ import annotations

import functools

from service import schemas
from service.schemas import Limits

TEXT_PLAIN = "text/plain"
JSON = "application/json"

_ERRORS = {
    400: "Malformed JSON.",
    401: "API key missing or invalid.",
    403: "CSRF token missing or invalid, or a cross-origin request.",
    409: "The model was refused; the previous one keeps serving.",
    413: "Body larger than the configured limit (rejected before it is read).",
    415: "Wrong Content-Type.",
    422: "The body breaks the schema: missing, empty, unknown or wrongly typed field, too many items, "
         "text too long.",
    503: "No model is loaded, or the feedback store is unavailable.",
}


@functools.lru_cache(maxsize=8)
def operations(limits: Limits) -> tuple[dict, ...]:
    """Every endpoint: path, method, request schemas by content type, responses and security.

    Cached per set of limits: the schemas are built once per process, not per request.
    """
    return (
        {"id": "classify", "path": "/v1/classify", "method": "post", "security": "optional",
         "summary": "Classify work descriptions: category, probabilities, automation, explanation.",
         "request": {JSON: schemas.classify_request(limits)},
         "responses": {200: ("One prediction per text, in order.", schemas.classify_response())},
         "errors": (400, 413, 415, 422, 503)},
        {"id": "jobs", "path": "/v1/jobs", "method": "post", "security": "optional",
         "summary": "Split job descriptions into duties, classify each, and summarise the job's mix.",
         "request": {JSON: schemas.jobs_request(limits), TEXT_PLAIN: schemas.plain_job_request(limits)},
         "parameters": [{"name": "title", "in": "query", "required": False,
                         "description": "Job title, for text/plain bodies.",
                         "schema": {"type": "string", "maxLength": 500}}],
         "responses": {200: ("One summary per job, with its tasks.", schemas.jobs_response())},
         "errors": (400, 413, 415, 422, 503)},
        {"id": "titles", "path": "/v1/titles", "method": "post", "security": "optional",
         "summary": "What job titles alone say: label mix, on-site share, automation estimate, the words "
                    "behind it and the nearest O*NET occupations.",
         "request": {JSON: schemas.titles_request(limits)},
         "responses": {200: ("One answer per title, in order.", schemas.titles_response())},
         "errors": (400, 409, 413, 415, 422, 503)},
        {"id": "feedback", "path": "/v1/feedback", "method": "post", "security": "key_or_csrf",
         "summary": "Store a correction for retraining.",
         "request": {JSON: schemas.feedback_request(limits)},
         "responses": {201: ("Stored.", schemas.feedback_response())},
         "errors": (400, 401, 403, 413, 415, 422, 503)},
        {"id": "model", "path": "/v1/model", "method": "get", "security": "optional",
         "summary": "The serving model: version, training data, metrics, labels.",
         "responses": {200: ("The serving model.", schemas.model_response())}, "errors": (503,)},
        {"id": "reload", "path": "/v1/admin/reload", "method": "post", "security": "key",
         "summary": "Load the registry's current version now (in the worker that answers).",
         "responses": {200: ("Swapped, or already serving that version.", schemas.reload_response())},
         "errors": (401, 409, 413)},
        {"id": "healthz", "path": "/healthz", "method": "get", "security": None,
         "summary": "The process is alive.", "responses": {200: ("Alive.", schemas.status_response())}},
        {"id": "readyz", "path": "/readyz", "method": "get", "security": None,
         "summary": "A model is loaded and answers.",
         "responses": {200: ("Ready.", schemas.status_response())}, "errors": (503,)},
        {"id": "metrics", "path": "/metrics", "method": "get", "security": "optional",
         "summary": "Prometheus metrics (text exposition format 0.0.4).",
         "responses": {200: ("Metrics.", TEXT_PLAIN)}},
        {"id": "openapi", "path": "/openapi.json", "method": "get", "security": "optional",
         "summary": "This document.", "responses": {200: ("OpenAPI 3.1 document.", None)}},
    )


def request_schema(limits: Limits, operation_id: str, content_type: str = JSON):
    """The schema a route validates its body with: the same object the document shows."""
    for operation in operations(limits):
        if operation["id"] == operation_id:
            return operation["request"][content_type]
    raise KeyError(operation_id)


def _security(kind: str | None, everywhere: bool) -> list[dict] | None:
    keys = [{"bearerKey": []}, {"headerKey": []}]
    if kind == "key" or (kind in ("optional", "key_or_csrf") and everywhere):
        return keys
    if kind == "key_or_csrf":
        return keys + [{"csrfToken": []}]
    return [] if kind is None else None


def _operation(op: dict, components: dict, everywhere: bool) -> dict:
    out = {"operationId": op["id"], "summary": op["summary"], "responses": {}}
    if op.get("parameters"):
        out["parameters"] = op["parameters"]
    if op.get("request"):
        out["requestBody"] = {"required": True, "content": {
            ctype: {"schema": schema.to_json_schema(components)} for ctype, schema in op["request"].items()}}
    for status, (description, schema) in op["responses"].items():
        response = {"description": description}
        if schema == TEXT_PLAIN:
            response["content"] = {TEXT_PLAIN: {"schema": {"type": "string"}}}
        elif schema is not None:
            response["content"] = {JSON: {"schema": schema.to_json_schema(components)}}
        else:
            response["content"] = {JSON: {"schema": {"type": "object"}}}
        out["responses"][str(status)] = response
    for status in op.get("errors", ()):
        out["responses"][str(status)] = {"$ref": f"#/components/responses/Error{status}"}
    security = _security(op["security"], everywhere)
    if security is not None:
        out["security"] = security
    return out


def document(limits: Limits, everywhere: bool = False, version: str = "1") -> dict:
    """The OpenAPI 3.1 document for these limits.

    Parameters
    ----------
    limits : Limits
    everywhere : bool
        Whether every endpoint but the probes needs an API key.
    version : str
        The API version shown in ``info``.
    """
    components: dict = {}
    paths: dict = {}
    for op in operations(limits):
        paths.setdefault(op["path"], {})[op["method"]] = _operation(op, components, everywhere)
    error_ref = schemas.error_response().to_json_schema(components)
    responses = {f"Error{status}": {"description": text, "content": {JSON: {"schema": error_ref}}}
                 for status, text in _ERRORS.items()}
    return {
        "openapi": "3.1.0",
        "info": {"title": "outsort", "version": version,
                 "description": "Sort work descriptions into BPO front office, BPO back office and KPO, flag "
                                "work that cannot be outsourced, and estimate how automatable it is. Every "
                                "response carries X-Request-ID; every error is {\"error\": {code, message, field}}."},
        "paths": paths,
        "components": {
            "schemas": components,
            "responses": responses,
            "securitySchemes": {
                "bearerKey": {"type": "http", "scheme": "bearer", "description": "An API key."},
                "headerKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
                "csrfToken": {"type": "apiKey", "in": "header", "name": "X-CSRF-Token",
                              "description": "The token the service's own page embeds (same origin only)."},
            },
        },
    }
