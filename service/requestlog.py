"""Request ids and one JSON log line per request.

The line holds what an operator needs to find a request (id, method, path, status, time taken,
model version) and nothing a client sent as credentials: no headers, no query string, no body.
"""
from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from datetime import datetime, timezone

from flask import Flask, Response, current_app, g, request

REQUEST_ID_HEADER = "X-Request-ID"
# A client's id is echoed only when it is short and plain, so it cannot forge log lines or headers.
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")

access_log = logging.getLogger("outsort.access")


def _configure_logger() -> None:
    if not access_log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        access_log.addHandler(handler)
        access_log.setLevel(logging.INFO)
        access_log.propagate = False  # the line is already complete JSON; no second, reformatted copy


def start_request() -> None:
    """``before_request``: take the client's request id or make one, and start the clock."""
    given = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = given if _SAFE_ID.match(given) else uuid.uuid4().hex
    g.started = time.perf_counter()


def finish_request(response: Response) -> Response:
    """``after_request``: echo the request id, count the request, write the log line."""
    request_id = g.get("request_id") or uuid.uuid4().hex
    response.headers[REQUEST_ID_HEADER] = request_id
    elapsed = time.perf_counter() - g.get("started", time.perf_counter())
    endpoint = request.url_rule.rule if request.url_rule else "unmatched"
    metrics = current_app.extensions["outsort_metrics"]
    metrics.inc("outsort_http_requests_total",
                {"endpoint": endpoint, "method": request.method, "status": str(response.status_code)})
    metrics.observe("outsort_http_request_duration_seconds", elapsed, {"endpoint": endpoint})
    metrics.share_soon()
    served = current_app.extensions["outsort"].served
    access_log.info(json.dumps({
        "time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
        "request_id": request_id, "method": request.method, "path": request.path,
        "endpoint": endpoint, "status": response.status_code, "duration_ms": round(elapsed * 1000, 2),
        "bytes_in": request.content_length, "model_version": served.version if served else None,
        "client": g.get("client"), "remote_addr": request.remote_addr,
    }))
    return response


def init_app(app: Flask) -> None:
    _configure_logger()
    app.before_request(start_request)
    app.after_request(finish_request)
