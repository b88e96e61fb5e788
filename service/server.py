"""Run the service under gunicorn: ``outsort serve`` calls :func:`run`.

Sync workers: predictions are CPU-bound, so one request per worker process at a time is the
right model; scale with ``workers``. Each worker builds its own app (no ``--preload``), so each
loads the model once and picks up a new registry version on its own. On SIGTERM gunicorn stops
accepting connections and gives requests in flight ``graceful_timeout`` seconds to finish.
"""
from __future__ import annotations

import os
import sys
import tempfile

APP_SPEC = "service:create_app()"


def gunicorn_argv(host: str = "127.0.0.1", port: int = 8000, workers: int = 2, timeout: int = 60,
                  graceful_timeout: int = 30) -> list[str]:
    """The command line that starts gunicorn with the service.

    Parameters
    ----------
    host, port : where to listen.
    workers : int
        Worker processes, each with its own copy of the model.
    timeout : int
        Seconds a request may take before its worker is restarted.
    graceful_timeout : int
        Seconds requests in flight get to finish on shutdown.

    Returns
    -------
    list of str
    """
    return [
        sys.executable, "-m", "gunicorn",
        "--bind", f"{host}:{port}",
        "--workers", str(workers),
        "--worker-class", "sync",
        "--timeout", str(timeout),
        "--graceful-timeout", str(graceful_timeout),
        "--error-logfile", "-",  # our own JSON lines replace gunicorn's access log
        APP_SPEC,
    ]


def server_environment(registry=None, environ=None, model: str | None = None) -> dict:
    """The environment for the server: ``registry`` as ``OUTSORT_REGISTRY``, ``model`` (a version
    name) as ``OUTSORT_MODEL_VERSION``, and a fresh shared ``OUTSORT_METRICS_DIR`` so ``/metrics``
    adds up all workers."""
    env = dict(os.environ if environ is None else environ)
    if registry is not None:
        env["OUTSORT_REGISTRY"] = os.fspath(registry)
    if model is not None:
        env["OUTSORT_MODEL_VERSION"] = model
    if not env.get("OUTSORT_METRICS_DIR"):
        env["OUTSORT_METRICS_DIR"] = tempfile.mkdtemp(prefix="outsort-metrics-")
    return env


def run(host: str = "127.0.0.1", port: int = 8000, workers: int = 2, registry=None,
        timeout: int = 60, graceful_timeout: int = 30, model: str | None = None) -> None:
    """Replace this process with gunicorn serving the app; does not return.

    Parameters
    ----------
    host : str
        Interface to listen on; use ``0.0.0.0`` to accept connections from other machines.
    port : int
    workers : int
        Gunicorn sync worker processes.
    registry : path, optional
        Model registry folder; defaults to ``OUTSORT_REGISTRY`` or the project's ``models/``.
    timeout, graceful_timeout : int
        See :func:`gunicorn_argv`.
    model : str, optional
        Serve this version name only, instead of following the registry's current version.
    """
    argv = gunicorn_argv(host, port, workers, timeout, graceful_timeout)
    os.execve(sys.executable, argv, server_environment(registry, model=model))
