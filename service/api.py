"""The versioned JSON API: ``/v1/classify``, ``/v1/jobs``, ``/v1/titles``, ``/v1/feedback``, ``/v1/model``,
``/v1/admin/reload``."""
from __future__ import annotations

import json

from flask import Blueprint, current_app, g, request

from service import feedback
from service.errors import ApiError
from service.models import ModelRefused, ServedModel
from service.openapi import JSON, TEXT_PLAIN, request_schema
from service.schemas import MAX_TITLE_CHARS, Limits, String
from service.security import api_key_required, key_or_csrf_required

bp = Blueprint("api", __name__, url_prefix="/v1")

TRAINED_ON_KEYS = ("data_fingerprint", "fingerprint", "rows", "row_counts", "datasets", "sources", "data")
_TITLE = String(max_length=MAX_TITLE_CHARS)


# ------------------------------------------------------------------------------ helpers
def limits() -> Limits:
    return Limits.from_config(current_app.config)


def _reject_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


def json_body():
    """The decoded JSON body; 415 for another content type, 400 when it does not parse.

    The size limit (``MAX_CONTENT_LENGTH``) is checked by Werkzeug from ``Content-Length``
    before anything is read, and while reading when the length is not declared.
    """
    if not request.is_json:
        raise ApiError(415, "unsupported_media_type",
                       f"send Content-Type: {JSON} (got {request.mimetype or 'none'})")
    raw = request.get_data(cache=False)
    try:
        return json.loads(raw, parse_constant=_reject_constant)
    except RecursionError:
        raise ApiError(400, "invalid_json", "body is nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are both ValueErrors
        raise ApiError(400, "invalid_json", f"body is not valid JSON: {exc}") from None


def text_body() -> str:
    """A ``text/plain`` body decoded as UTF-8 (or the declared charset)."""
    charset = request.mimetype_params.get("charset", "utf-8")
    try:
        return request.get_data(cache=False).decode(charset)
    except (LookupError, UnicodeDecodeError) as exc:
        raise ApiError(400, "invalid_text", f"body is not valid {charset} text: {exc}") from None


def require_model() -> ServedModel:
    """The model for this request, taken once so a swap cannot change it mid-request."""
    holder = current_app.extensions["outsort"]
    served = holder.get()
    if served is None:
        raise ApiError(503, "model_unavailable", holder.last_error or "no model is loaded yet",
                       headers={"Retry-After": "5"})
    g.model_version = served.version
    return served


def count_predictions(predictions) -> None:
    metrics = current_app.extensions["outsort_metrics"]
    for p in predictions:
        label = "not_outsourceable" if p.out_of_scope else p.category
        metrics.inc("outsort_predictions_total", {"category": label})


# ------------------------------------------------------------------------------ routes
@bp.post("/classify")
def classify():
    """Classify one text or a batch of texts."""
    body = request_schema(limits(), "classify").validate(json_body())
    items = [body["text"]] if "text" in body else body["texts"]
    texts, titles = _texts_and_titles(items, body.get("title"))
    served = require_model()
    predictions = served.model.predict(texts, explain=body.get("explain", True), titles=titles)
    count_predictions(predictions)
    return {"model_version": served.version,
            "predictions": [{"id": f"{g.request_id}-{i}", **p.to_dict()} for i, p in enumerate(predictions)]}


def _texts_and_titles(items: list, common_title: str | None) -> tuple[list[str], list[str] | str | None]:
    """The texts, and the title each is read with: its own where it has one, else the common one."""
    if all(isinstance(item, str) for item in items):
        return items, common_title
    texts = [item if isinstance(item, str) else item["text"] for item in items]
    titles = [item["title"] if isinstance(item, dict) and "title" in item else (common_title or "") for item in items]
    return texts, titles


@bp.post("/jobs")
def jobs():
    """Classify the duties of one job description (JSON or text/plain) or of several (JSON)."""
    # The documented query parameter is checked whatever the body, though only text/plain uses it.
    title = _TITLE.validate(request.args.get("title", ""), "title")
    if request.mimetype == TEXT_PLAIN:
        description = request_schema(limits(), "jobs", TEXT_PLAIN).validate(text_body())
        batch, explain = [{"title": title, "description": description}], False
    else:
        body = request_schema(limits(), "jobs").validate(json_body())
        batch = body["jobs"] if "jobs" in body else [{"title": body.get("title", ""),
                                                       "description": body["description"]}]
        explain = body.get("explain", False)
    served = require_model()
    results = served.model.predict_jobs(batch, explain=explain)
    count_predictions(task.prediction for job in results for task in job.tasks)
    return {"model_version": served.version, "jobs": [job.to_dict() for job in results]}


@bp.post("/titles")
def titles():
    """What one job title or several say alone."""
    body = request_schema(limits(), "titles").validate(json_body())
    batch = [body["title"]] if "title" in body else body["titles"]
    served = require_model()
    try:
        results = served.model.predict_titles(batch, explain=body.get("explain", True))
    except ValueError as exc:
        raise ApiError(409, "titles_unavailable", str(exc)) from None
    return {"model_version": served.version, "titles": [r.to_dict() for r in results]}


@bp.post("/feedback")
@key_or_csrf_required
def submit_feedback():
    """Store a correction; systems use an API key, the page its CSRF token."""
    body = request_schema(limits(), "feedback").validate(json_body())
    served = current_app.extensions["outsort"].served
    try:
        row_id = feedback.store({**body, "model_version": served.version if served else None,
                                 "client": g.client, "request_id": g.request_id})
    except feedback.FeedbackStoreError as exc:
        current_app.logger.error("feedback not stored: %s", exc)
        raise ApiError(503, "storage_unavailable", "the correction could not be stored; send it again",
                       headers={"Retry-After": "5"}) from None
    current_app.extensions["outsort_metrics"].inc("outsort_feedback_total")
    return {"id": row_id, "status": "stored"}, 201


@bp.get("/model")
def model_info():
    """The serving model's version, training data, metrics and labels."""
    served = require_model()
    manifest = served.manifest
    return {
        "version": served.version, "created": manifest.get("created"), "sha256": manifest.get("sha256"),
        "loaded_at": served.loaded_at, "labels": manifest.get("labels", []),
        "metrics": manifest.get("metrics", {}),
        "trained_on": {key: manifest[key] for key in TRAINED_ON_KEYS if key in manifest},
        "thresholds": manifest.get("thresholds", {}), "libraries": manifest.get("libraries", {}),
        "parent": manifest.get("parent"),
    }


@bp.post("/admin/reload")
@api_key_required
def reload_model():
    """Load the registry's current version now, retrying it even if it was refused before."""
    holder = current_app.extensions["outsort"]
    try:
        status, previous = holder.load(force=True)
    except ModelRefused as exc:
        raise ApiError(409, "model_refused", str(exc)) from None
    return {"status": status, "version": holder.served.version, "previous_version": previous}
