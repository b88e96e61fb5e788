"""The page for ops teams at ``/``, and an HTML rendering of the API document at ``/docs``.

The page is a static shell: ``static/page.js`` calls the same JSON API as any other client
(``/v1/classify``, ``/v1/jobs``, ``/v1/feedback``). The server only embeds what the script cannot
ask for without a key: the CSRF token for feedback, the request limits (so too-long input is
caught before it is sent), the label names and the serving model's version and evaluation date.

Every HTML response carries a Content-Security-Policy that allows nothing but this origin: no
inline script, no CDN, no frames; the embedded settings are JSON data, which a browser never runs.
"""
from __future__ import annotations

from flask import Blueprint, Response, current_app, render_template

from classifier.prediction import CATEGORIES, LABELS, OUTPUT_COLUMNS
from service.openapi import document
from service.schemas import Limits
from service.security import CSRF_HEADER, csrf_token

bp = Blueprint("page", __name__)

LABEL_NAMES = {"bpo_front_office": "Front office", "bpo_back_office": "Back office", "kpo": "KPO",
               "not_outsourceable": "Not outsourceable"}
MAX_CSV_ROWS = 5000
BATCH_SIZE = 200  # texts per request while a CSV is classified: small enough to show progress often
SHOWN_ROWS = 1000  # rows drawn in the table; the download always has every row

CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:",
    "connect-src 'self'", "font-src 'self'", "object-src 'none'", "base-uri 'none'",
    "form-action 'self'", "frame-ancestors 'none'",
))
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def model_facts() -> dict | None:
    """Version, evaluation date and headline figure of the serving model, for the footer.

    The model is evaluated on the frozen test split when it is trained, so the version's
    ``created`` time is its evaluation date.
    """
    served = current_app.extensions["outsort"].served
    if served is None:
        return None
    manifest = served.manifest
    frozen = manifest.get("metrics", {}).get("frozen_test", {}).get("all", {}).get("category", {})
    return {"version": served.version, "evaluated": str(manifest.get("created", ""))[:10] or None,
            "macro_f1": frozen.get("category_macro_f1")}


def page_config() -> dict:
    """The settings ``page.js`` reads from the page (limits are the server's own)."""
    limits = Limits.from_config(current_app.config)
    return {
        "maxTexts": limits.max_texts, "maxTextChars": limits.max_text_chars,
        "maxJobChars": limits.max_job_chars, "maxCsvRows": MAX_CSV_ROWS,
        "batchSize": min(BATCH_SIZE, limits.max_texts), "shownRows": SHOWN_ROWS,
        # Jinja's tojson sorts keys, so the order of the labels travels as a list of its own.
        "categories": list(CATEGORIES), "labelOrder": list(LABELS),
        "labels": {label: LABEL_NAMES[label] for label in LABELS},
        "outputColumns": list(OUTPUT_COLUMNS), "csrfHeader": CSRF_HEADER,
    }


@bp.get("/")
def index():
    """The page: paste or upload work descriptions and read the results."""
    html = render_template("page.html", config=page_config(), csrf_token=csrf_token(), model=model_facts())
    # The token is bound to this browser's session cookie: never cache the page anywhere.
    return Response(html, headers={"Cache-Control": "no-store"})


@bp.get("/docs")
def api_docs():
    """The OpenAPI document as a readable page (the JSON stays at ``/openapi.json``)."""
    config = current_app.config
    spec = document(Limits.from_config(config), everywhere=config["REQUIRE_API_KEY_EVERYWHERE"])
    return render_template("docs.html", spec=spec, model=model_facts())


@bp.after_app_request
def add_security_headers(response: Response) -> Response:
    """Every response: no MIME sniffing; HTML responses also get the CSP and frame protection."""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    if response.mimetype == "text/html":
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
    return response
