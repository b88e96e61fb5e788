"""API keys for systems, CSRF tokens for the service's own page.

Keys arrive as ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``; they are compared in
constant time and never logged (a short hash identifies the caller in stored feedback).

The page embeds :func:`csrf_token` and sends it back as the ``X-CSRF-Token`` header. The token is
signed with the app's secret key and bound to a random nonce in the session cookie, so it is only
good together with that browser's cookie; a custom header cannot be sent cross-site without CORS
(which this service never enables), and the ``Origin``, when the browser sends one, must be ours.
"""
from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from urllib.parse import urlsplit

from flask import current_app, g, request, session
from itsdangerous import BadSignature, URLSafeTimedSerializer

from service.errors import ApiError

CSRF_HEADER = "X-CSRF-Token"
_CSRF_SALT = "outsort-csrf"
_SESSION_NONCE = "csrf_nonce"


# ------------------------------------------------------------------------------ API keys
def presented_key() -> str | None:
    """The API key the client sent, if any."""
    auth = request.headers.get("Authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip() or None
    return request.headers.get("X-API-Key", "").strip() or None


def is_valid_key(key: str | None) -> bool:
    """Whether ``key`` is one of the configured keys, checked in constant time against all of them."""
    if not key:
        return False
    given = key.encode("utf-8", "surrogateescape")
    found = False
    for known in current_app.config["API_KEYS"]:
        # No early exit: the time taken does not tell which key matched or how far.
        found |= hmac.compare_digest(given, known.encode("utf-8"))
    return found


def key_id(key: str) -> str:
    """A short, non-reversible name for a key, safe to store and log."""
    return "key:" + hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:10]


def authenticate_key() -> str:
    """Require a valid API key on this request and return its :func:`key_id`.

    Raises
    ------
    ApiError
        401 ``api_key_required`` or ``invalid_api_key``.
    """
    key = presented_key()
    challenge = {"WWW-Authenticate": 'Bearer realm="outsort"'}
    if key is None:
        raise ApiError(401, "api_key_required", "this endpoint needs an API key (Authorization: Bearer <key> "
                                                "or X-API-Key)", headers=challenge)
    if not is_valid_key(key):
        raise ApiError(401, "invalid_api_key", "the API key is not valid", headers=challenge)
    g.client = key_id(key)
    return g.client


def api_key_required(view):
    """Decorator: the view needs a valid API key."""
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        authenticate_key()
        return view(*args, **kwargs)
    return wrapped


def public(view):
    """Decorator: the view stays open even when keys are required everywhere (probes)."""
    view.outsort_public = True
    return view


def enforce_everywhere() -> None:
    """``before_request`` hook: with ``REQUIRE_API_KEY_EVERYWHERE``, every non-public view needs a key."""
    if not current_app.config["REQUIRE_API_KEY_EVERYWHERE"] or request.endpoint is None:
        return
    view = current_app.view_functions.get(request.endpoint)
    if not getattr(view, "outsort_public", False):
        authenticate_key()


# ------------------------------------------------------------------------------ CSRF
def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_CSRF_SALT)


def csrf_token() -> str:
    """A fresh CSRF token for a page to embed; call it while rendering the page.

    It stores a random nonce in the session cookie (kept across calls) and returns the nonce
    signed and time-stamped. Tokens expire after ``CSRF_MAX_AGE`` seconds.

    Returns
    -------
    str
        Send it back in the ``X-CSRF-Token`` header of ``POST /v1/feedback``.
    """
    nonce = session.get(_SESSION_NONCE)
    if not isinstance(nonce, str):
        nonce = secrets.token_urlsafe(16)
        session[_SESSION_NONCE] = nonce
    return _serializer().dumps(nonce)


def _same_origin() -> bool:
    """Browsers send ``Origin`` on cross-site POSTs; when present it must be this host."""
    origin = request.headers.get("Origin") or request.headers.get("Referer")
    if not origin:
        return True
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and parts.netloc == request.host


def check_csrf() -> str:
    """Require a valid CSRF token from our page and return the client name ``"page"``.

    Raises
    ------
    ApiError
        403 ``csrf_failed``.
    """
    token = request.headers.get(CSRF_HEADER, "")
    nonce = session.get(_SESSION_NONCE)
    if not _same_origin():
        raise ApiError(403, "csrf_failed", "cross-origin request refused")
    try:
        signed = _serializer().loads(token, max_age=current_app.config["CSRF_MAX_AGE"])
    except BadSignature:  # also covers expired tokens
        raise ApiError(403, "csrf_failed", "missing, invalid or expired CSRF token; reload the page") from None
    if not isinstance(nonce, str) or not hmac.compare_digest(str(signed), nonce):
        raise ApiError(403, "csrf_failed", "CSRF token does not belong to this session; reload the page")
    g.client = "page"
    return g.client


def key_or_csrf_required(view):
    """Decorator: systems authenticate with an API key, the page with its CSRF token."""
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if presented_key() is not None or not request.headers.get(CSRF_HEADER):
            authenticate_key()
        else:
            check_csrf()
        return view(*args, **kwargs)
    return wrapped
