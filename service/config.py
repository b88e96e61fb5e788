"""Configuration from ``OUTSORT_*`` environment variables, typed and checked once at start-up.

Secret key
----------
Every gunicorn worker must sign and check CSRF tokens and session cookies with the same key, so a
random key per process will not do. ``OUTSORT_SECRET_KEY`` wins when set (use it when the
registry is read-only or workers run on several hosts). Otherwise the key is kept in the file
``OUTSORT_SECRET_KEY_FILE`` (default ``<registry>/.secret_key``), created on first start with
mode 0600 by whichever worker comes first; the others read the same file.
"""
from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

from classifier.registry import default_registry_path
from datasets.feedback_store import FeedbackStoreError, database_url

TRUE = {"1", "true", "yes", "on"}
FALSE = {"0", "false", "no", "off", ""}


def _bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in TRUE | FALSE:
        return value in TRUE
    raise ValueError(f"expected a boolean (1/0, true/false), got {raw!r}")


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value < 1:
        raise ValueError(f"expected a positive integer, got {raw!r}")
    return value


def _float(raw: str) -> float:
    return float(raw)


def _database_url(raw: str) -> str:
    try:
        database_url(raw)
    except FeedbackStoreError as exc:
        raise ValueError(str(exc)) from None
    return raw


def _keys(raw: str) -> tuple[str, ...]:
    return tuple(key.strip() for key in raw.split(",") if key.strip())


# config key, environment variable, parser, default
SETTINGS = (
    ("REGISTRY", "OUTSORT_REGISTRY", str, None),
    ("DATABASE", "OUTSORT_DATABASE", str, None),
    ("DATABASE_URL", "OUTSORT_DATABASE_URL", _database_url, None),
    ("API_KEYS", "OUTSORT_API_KEYS", _keys, ()),
    ("API_KEYS_FILE", "OUTSORT_API_KEYS_FILE", str, None),
    ("REQUIRE_API_KEY_EVERYWHERE", "OUTSORT_REQUIRE_API_KEY_EVERYWHERE", _bool, False),
    ("MAX_TEXTS", "OUTSORT_MAX_TEXTS", _positive_int, 1000),
    ("MAX_TEXT_CHARS", "OUTSORT_MAX_TEXT_CHARS", _positive_int, 10_000),
    ("MAX_JOBS", "OUTSORT_MAX_JOBS", _positive_int, 100),
    ("MAX_JOB_CHARS", "OUTSORT_MAX_JOB_CHARS", _positive_int, 50_000),
    ("MAX_CONTENT_LENGTH", "OUTSORT_MAX_CONTENT_LENGTH", _positive_int, 16 * 1024 * 1024),
    ("SECRET_KEY", "OUTSORT_SECRET_KEY", str, None),
    ("SECRET_KEY_FILE", "OUTSORT_SECRET_KEY_FILE", str, None),
    ("RELOAD_INTERVAL", "OUTSORT_RELOAD_INTERVAL", _float, 5.0),
    ("MODEL_VERSION", "OUTSORT_MODEL_VERSION", str, None),
    ("METRICS_DIR", "OUTSORT_METRICS_DIR", str, None),
    ("CSRF_MAX_AGE", "OUTSORT_CSRF_MAX_AGE", _positive_int, 8 * 3600),
)


def from_environment(environ=None) -> dict:
    """The service settings read from ``environ`` (``os.environ`` by default).

    Raises
    ------
    ValueError
        Naming the variable whose value cannot be parsed.
    """
    environ = os.environ if environ is None else environ
    config = {}
    for key, variable, parse, default in SETTINGS:
        raw = environ.get(variable)
        if raw is None:
            config[key] = default
            continue
        try:
            config[key] = parse(raw)
        except ValueError as exc:
            raise ValueError(f"{variable}: {exc}") from None
    return config


def finalise(config: dict, instance_path: str) -> None:
    """Fill in the settings that depend on others: registry, database, keys, secret key."""
    config["REGISTRY"] = str(config.get("REGISTRY") or default_registry_path())
    # A URL (PostgreSQL, shared by replicas) wins over a SQLite path.
    config["DATABASE"] = str(config.get("DATABASE_URL") or config.get("DATABASE")
                             or Path(instance_path) / "feedback.sqlite3")
    keys = tuple(config.get("API_KEYS") or ())
    if config.get("API_KEYS_FILE"):
        keys += read_keys_file(Path(config["API_KEYS_FILE"]))
    config["API_KEYS"] = keys
    if not config.get("SECRET_KEY"):
        path = Path(config.get("SECRET_KEY_FILE") or Path(config["REGISTRY"]) / ".secret_key")
        config["SECRET_KEY"] = shared_secret(path)
    # The session cookie only carries the CSRF nonce; keep it away from scripts and other sites.
    config.setdefault("SESSION_COOKIE_HTTPONLY", True)
    config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")


def read_keys_file(path: Path) -> tuple[str, ...]:
    """API keys from a file: one per line, blank lines and ``#`` comments ignored."""
    lines = path.read_text().splitlines()
    return tuple(line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#"))


def shared_secret(path: Path) -> str:
    """The secret in ``path``, created atomically when missing so concurrent workers agree.

    The key is written to a temporary file and hard-linked into place: a link fails when the name
    exists, so exactly one worker's key wins and nobody ever reads a half-written file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".secret-")
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32))
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass
        finally:
            os.unlink(tmp)
    secret = path.read_text().strip()
    if len(secret) < 32:
        raise ValueError(f"secret key file {path} holds fewer than 32 characters")
    return secret
