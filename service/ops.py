"""Endpoints for operators: probes, metrics and the OpenAPI document."""
from __future__ import annotations

from flask import Blueprint, current_app

from service.errors import ApiError
from service.openapi import document
from service.schemas import Limits
from service.security import public

bp = Blueprint("ops", __name__)

READY_TEXT = ["answer customer calls about billing"]


@bp.get("/healthz")
@public
def healthz():
    """The process is alive; says nothing about the model, so a restart never waits on a load."""
    return {"status": "ok"}


@bp.get("/readyz")
@public
def readyz():
    """A model is loaded and answers a prediction."""
    holder = current_app.extensions["outsort"]
    served = holder.get()
    if served is None:
        raise ApiError(503, "not_ready", holder.last_error or "no model is loaded yet")
    try:
        served.model.predict(READY_TEXT)
    except Exception as exc:  # whatever breaks the model makes this worker not ready
        raise ApiError(503, "not_ready", f"model {served.version} does not answer: {type(exc).__name__}") from None
    return {"status": "ready", "model_version": served.version}


@bp.get("/metrics")
def metrics():
    """Prometheus text exposition format."""
    served = current_app.extensions["outsort"].served
    text = current_app.extensions["outsort_metrics"].render(served.version if served else None)
    return text, 200, {"Content-Type": "text/plain; version=0.0.4; charset=utf-8"}


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI 3.1 document, built from the schemas the routes validate with."""
    config = current_app.config
    return document(Limits.from_config(config), everywhere=config["REQUIRE_API_KEY_EVERYWHERE"])
