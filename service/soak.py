"""A bounded soak of the real server: gunicorn on 127.0.0.1, many concurrent clients, the figures.

``scripts/soak`` runs :func:`soak` and prints :meth:`SoakResult.lines`; the test suite runs a short
one. The server gets its own temporary feedback database, metrics folder and API key, so a soak
never writes into a real feedback store.
"""
from __future__ import annotations

import contextlib
import http.client
import json
import os
import random
import secrets
import signal
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from service.server import gunicorn_argv, server_environment

ROOT = Path(__file__).resolve().parent.parent
TASKS = (
    "Answer customer calls about billing and update the account", "Reconcile vendor statements against the ledger",
    "Process insurance claims and key the policy data", "Build a discounted cash flow model for the acquisition",
    "Moderate user posts against the content policy", "Perform surgery on patients in the operating room",
    "Chat with customers about delayed orders", "Draft research notes on equity markets for clients",
    "Index scanned invoices into the ERP", "Repair the roof of the warehouse",
)
JOB = ("Accounts payable clerk\nResponsibilities:\n- Process vendor invoices and match them to POs\n"
       "- Answer supplier calls about payment status\n- Reconcile the AP ledger every month\n"
       "Requirements:\n- 2+ years of experience\nWe offer a competitive salary.")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def request(port: int, method: str, path: str, body=None, headers=None, timeout: float = 60.0) -> tuple[int, bytes]:
    """One request on a fresh connection (sync workers close every connection after answering).

    Returns
    -------
    (status, raw body)
    """
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        data = json.dumps(body).encode() if body is not None else None
        connection.request(method, path, body=data, headers={"Content-Type": "application/json", **(headers or {})})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def child_pids(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (gunicorn's workers), from /proc."""
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # the process ended while we looked
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            children.append(int(entry.name))
    return sorted(children)


def rss_mib(pid: int) -> float:
    """Resident memory of a process in MiB (0 when it is gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    line = next(line for line in status.splitlines() if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


@dataclass
class Server:
    """A running gunicorn master with its port and log file."""
    process: subprocess.Popen
    port: int
    log_path: Path
    api_key: str

    def workers(self) -> list[int]:
        return child_pids(self.process.pid)

    def stop(self, timeout: float = 60.0) -> int:
        """SIGTERM the master (a graceful shutdown) and return its exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)


def _environment(registry, folder: Path, api_key: str, environ: dict | None) -> dict:
    base = {k: v for k, v in os.environ.items() if not k.startswith("OUTSORT_")}
    base["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    base.update({"OUTSORT_DATABASE": str(folder / "feedback.sqlite3"), "OUTSORT_API_KEYS": api_key,
                 "OUTSORT_METRICS_DIR": str(folder / "metrics"), **(environ or {})})
    return server_environment(registry, base)


@contextlib.contextmanager
def serve(registry, folder, workers: int = 2, port: int | None = None, environ: dict | None = None,
          graceful_timeout: int = 30, ready_timeout: float = 120.0):
    """Run gunicorn over ``registry`` until the block ends, then stop it with SIGTERM.

    Parameters
    ----------
    registry : path
        Model registry folder with a current version.
    folder : path
        Where the feedback database, metrics and ``server.log`` go (unless ``environ`` says otherwise).
    workers : int
    port : int, optional
        A free port by default.
    environ : dict, optional
        Extra ``OUTSORT_*`` settings.
    graceful_timeout : int
        Seconds requests in flight get to finish on SIGTERM.
    ready_timeout : float
        Seconds to wait for every worker to answer ``/readyz``.

    Yields
    ------
    Server
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    api_key = (environ or {}).get("OUTSORT_API_KEYS") or secrets.token_urlsafe(24)
    env = _environment(registry, folder, api_key, environ)
    log_path = folder / "server.log"
    with open(log_path, "ab") as log:
        process = subprocess.Popen(gunicorn_argv(port=port, workers=workers, graceful_timeout=graceful_timeout),
                                   cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    server = Server(process, port, log_path, api_key)
    try:
        wait_ready(server, workers, ready_timeout)
        yield server
    finally:
        if process.poll() is None:
            server.stop()


def wait_ready(server: Server, workers: int, timeout: float) -> None:
    """Wait until ``workers`` workers run and ``/readyz`` answers 200 (each worker loads the model
    before it accepts a connection, so a ready answer comes from a worker that has one)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            break
        with contextlib.suppress(OSError):
            if len(server.workers()) == workers and request(server.port, "GET", "/readyz", timeout=5)[0] == 200:
                return
        time.sleep(0.1)
    server.process.kill()
    raise RuntimeError(f"server did not become ready; log:\n{server.log_path.read_text()[-4000:]}")


# ------------------------------------------------------------------------------ load
def _pick(rng: random.Random, n: int) -> tuple[str, str, dict | None, bool]:
    """One request of the mix: (method, path, body, needs key); mostly single texts, like integrators."""
    roll = rng.random()
    task = f"{rng.choice(TASKS)} {n}"
    if roll < 0.60:
        return "POST", "/v1/classify", {"text": task}, False
    if roll < 0.75:
        return "POST", "/v1/classify", {"texts": [f"{rng.choice(TASKS)} {i}" for i in range(20)]}, False
    if roll < 0.90:
        return "POST", "/v1/jobs", {"description": JOB}, False
    if roll < 0.95:
        return "POST", "/v1/feedback", {"text": task, "category": "bpo_back_office"}, True
    return "GET", rng.choice(["/v1/model", "/healthz", "/readyz"]), None, False


@dataclass
class SoakResult:
    """What a soak measured."""
    seconds: float
    clients: int
    workers: int
    latencies_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    rss_start_mib: dict[int, float] = field(default_factory=dict)
    rss_end_mib: dict[int, float] = field(default_factory=dict)

    @property
    def served(self) -> int:
        return len(self.latencies_ms) - len(self.errors)

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))] if ordered else float("nan")

    @property
    def workers_restarted(self) -> bool:
        return set(self.rss_start_mib) != set(self.rss_end_mib)

    def lines(self) -> list[str]:
        """The figures as printable lines."""
        start, end = sum(self.rss_start_mib.values()), sum(self.rss_end_mib.values())
        lines = [
            f"soak: {self.seconds:.0f} s, {self.clients} concurrent clients, {self.workers} gunicorn sync workers "
            f"on 127.0.0.1",
            f"requests served: {self.served} ({self.served / self.seconds:.1f}/s)",
            f"errors: {len(self.errors)}",
            f"latency: p50 {self.percentile(50):.0f} ms, p99 {self.percentile(99):.0f} ms, "
            f"max {max(self.latencies_ms, default=float('nan')):.0f} ms",
            f"worker RSS at start: {_mib(self.rss_start_mib)} (total {start:.0f} MiB)",
            f"worker RSS at end:   {_mib(self.rss_end_mib)} (total {end:.0f} MiB, {end - start:+.1f} MiB)",
        ]
        if self.workers_restarted:
            lines.append(f"workers restarted during the soak: {sorted(self.rss_start_mib)} -> "
                         f"{sorted(self.rss_end_mib)}")
        lines += [f"  error: {e}" for e in self.errors[:5]]
        return lines


def _mib(by_pid: dict[int, float]) -> str:
    return ", ".join(f"pid {pid} {mib:.0f} MiB" for pid, mib in sorted(by_pid.items()))


def run_load(server: Server, seconds: float, clients: int, seed: int = 0) -> tuple[list[float], list[str]]:
    """``clients`` threads send the request mix for ``seconds``; any status but 2xx is an error.

    Returns
    -------
    (latencies in ms of every request, error descriptions)
    """
    deadline = time.monotonic() + seconds
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def client(number: int) -> None:
        rng = random.Random(seed * 1000 + number)
        n = 0
        while time.monotonic() < deadline:
            method, path, body, keyed = _pick(rng, n)
            headers = {"X-API-Key": server.api_key} if keyed else None
            started = time.perf_counter()
            try:
                status, raw = request(server.port, method, path, body, headers)
                problem = None if 200 <= status < 300 else f"{method} {path}: {status} {raw[:200]!r}"
            except OSError as exc:  # refused, reset or timed out: the client got no answer
                problem = f"{method} {path}: {type(exc).__name__}: {exc}"
            with lock:
                latencies.append((time.perf_counter() - started) * 1000)
                if problem:
                    errors.append(problem)
            n += 1

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, errors


def soak(registry, seconds: float = 60.0, clients: int = 50, workers: int = 2, port: int | None = None,
         seed: int = 0) -> SoakResult:
    """Start the server over ``registry``, warm it up, load it, and measure.

    Parameters
    ----------
    registry : path
        Model registry folder with a current version.
    seconds : float
        How long the load runs (start-up and warm-up not counted).
    clients : int
        Concurrent client threads, each sending one request after another.
    workers : int
        Gunicorn sync workers.
    port : int, optional
    seed : int
        Seed of the request mix.

    Returns
    -------
    SoakResult
    """
    result = SoakResult(seconds=seconds, clients=clients, workers=workers)
    with tempfile.TemporaryDirectory(prefix="outsort-soak-") as folder, \
            serve(registry, folder, workers=workers, port=port) as server:
        run_load(server, seconds=min(2.0, seconds), clients=workers * 2, seed=seed + 1)  # warm every worker
        result.rss_start_mib = {pid: rss_mib(pid) for pid in server.workers()}
        result.latencies_ms, result.errors = run_load(server, seconds, clients, seed)
        result.rss_end_mib = {pid: rss_mib(pid) for pid in server.workers()}
        if server.stop() != 0:
            result.errors.append(f"server exited with an error; log:\n{server.log_path.read_text()[-2000:]}")
    return result
