"""outsort's HTTP service: a Flask application factory.

Run it with ``gunicorn 'service:create_app()'`` or ``outsort serve`` (see :mod:`service.server`).
Settings come from ``OUTSORT_*`` environment variables (see :mod:`service.config`); nothing is
loaded at import time, and each worker loads its model once, in :func:`create_app`.
"""
from __future__ import annotations

from flask import Flask

from service import config as settings
from service import errors, feedback, requestlog, security
from service.metrics import Metrics
from service.models import ModelHolder, ModelRefused


def create_app(test_config: dict | None = None) -> Flask:
    """Build the application.

    Parameters
    ----------
    test_config : dict, optional
        Settings (keys as in :data:`service.config.SETTINGS`, e.g. ``REGISTRY``, ``DATABASE``,
        ``API_KEYS``) that override the environment.

    Returns
    -------
    Flask
        With the model holder in ``app.extensions["outsort"]``. When the registry has no usable
        model the app still starts: ``/readyz`` answers 503 until a version appears.
    """
    app = Flask(__name__, instance_relative_config=True)
    config = settings.from_environment()
    config.update(test_config or {})
    settings.finalise(config, app.instance_path)
    app.config.update(config)
    app.json.sort_keys = False  # keep fields in the order of the CLI's columns

    errors.register(app)
    app.extensions["outsort_metrics"] = Metrics(app.config["METRICS_DIR"])
    pinned = app.config.get("MODEL_VERSION")
    # A pinned version serves until the process ends: the registry's current is not followed.
    holder = ModelHolder(app.config["REGISTRY"], -1.0 if pinned else app.config["RELOAD_INTERVAL"])
    app.extensions["outsort"] = holder
    try:
        holder.load(pinned)
    except ModelRefused:
        pass  # logged by the holder; the app serves probes and picks up a model when one appears

    requestlog.init_app(app)  # first, so even a refused request gets an id and a log line
    app.before_request(security.enforce_everywhere)
    feedback.init_app(app)

    from service import api, ops, page
    app.register_blueprint(api.bp)
    app.register_blueprint(ops.bp)
    app.register_blueprint(page.bp)
    return app


__all__ = ["create_app"]
