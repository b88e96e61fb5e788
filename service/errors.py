"""Every error leaves the service as ``{"error": {"code", "message", "field"}}``.

Our own errors are :class:`ApiError` (an ``HTTPException``), so one handler formats them and
Werkzeug's (404, 405, 413, ...) alike. Anything else is a bug: it is logged with its traceback and
answered with a bare 500 that leaks nothing.
"""
from __future__ import annotations

import logging

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException, InternalServerError

log = logging.getLogger("outsort.service")

# Codes for Werkzeug's own exceptions, so clients can rely on ``code`` rather than the message.
_WERKZEUG_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 406: "not_acceptable", 408: "request_timeout", 411: "length_required",
    413: "payload_too_large", 414: "uri_too_long", 415: "unsupported_media_type", 429: "too_many_requests",
    431: "headers_too_large", 500: "internal_error", 501: "not_implemented", 503: "unavailable",
}


class ApiError(HTTPException):
    """An error with a stable ``code`` and, for bad input, the ``field`` at fault.

    Parameters
    ----------
    status : int
    code : str
    message : str
    field : str, optional
    headers : dict, optional
    """

    def __init__(self, status: int, code: str, message: str, field: str | None = None,
                 headers: dict | None = None):
        super().__init__(description=message)
        self.code = status  # HTTPException calls the status ``code``
        self.error_code = code
        self.field = field
        self.extra_headers = headers or {}


class ValidationError(ApiError):
    """The body parsed but breaks the schema (422)."""

    def __init__(self, code: str, message: str, field: str | None = None):
        super().__init__(422, code, message, field or None)  # "" is the body itself: no field


def error_body(code: str, message: str, field: str | None = None) -> dict:
    """The JSON shape of every error."""
    return {"error": {"code": code, "message": message, "field": field}}


def handle_http_exception(exc: HTTPException):
    """Format any ``HTTPException`` (ours or Werkzeug's) as a JSON error response."""
    status = exc.code or 500
    code = getattr(exc, "error_code", None) or _WERKZEUG_CODES.get(status, "error")
    message = exc.description or exc.name
    response = jsonify(error_body(code, message, getattr(exc, "field", None)))
    response.status_code = status
    if isinstance(exc, ApiError):
        response.headers.update(exc.extra_headers)
    elif status == 405 and exc.get_response().headers.get("Allow"):
        response.headers["Allow"] = exc.get_response().headers["Allow"]
    return response


def handle_unexpected(exc: Exception):
    """A bug, not bad input: log the traceback, answer 500 without details."""
    if isinstance(exc, HTTPException):
        return handle_http_exception(exc)
    log.exception("unhandled error")
    return handle_http_exception(InternalServerError("internal error; the request id identifies it in the logs"))


def register(app: Flask) -> None:
    """Install the JSON error handlers on ``app``."""
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)
