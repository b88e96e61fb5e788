"""Benchmarks for ``scripts/bench``: every figure is measured in the same run as its baseline.

Wall-clock figures on a shared machine vary from run to run; ratios within one run are what to
compare. In-process rates are the best of a few rounds, with ours and the baseline alternating
round by round so both meet the same load.
"""
from __future__ import annotations

import http.client
import json
import os
import pickle
import platform
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from classifier.model import with_title_block

BATCH_SIZES = (1, 100, 10_000)
# Calls per round for each batch size: about the same number of texts for every size.
CALLS_PER_ROUND = {1: 300, 100: 30, 10_000: 1}
ROUNDS = 3


@dataclass
class Row:
    """One line of the table: our figure, its baseline from the same run, and the target."""
    section: str
    figure: str
    ours: float
    baseline: float | None = None
    unit: str = ""
    target: str = ""

    @property
    def ratio(self) -> float | None:
        return self.ours / self.baseline if self.baseline else None


# ------------------------------------------------------------------------------ inputs
def generated_texts(n: int, seed: int = 0) -> list[str]:
    """``n`` texts made from our corpus: task statements, some joined in pairs, so that batches
    are not one repeated sentence and not only sentences the model was fitted on."""
    from datasets.loaders import load_corpus
    corpus = load_corpus()["text"].to_numpy()
    rng = np.random.default_rng(seed)
    first, second = rng.choice(corpus, n), rng.choice(corpus, n)
    joined = rng.random(n) < 0.5
    return [f"{a} and {b[0].lower()}{b[1:]}" if j else a for a, b, j in zip(first, second, joined)]


def write_rows_csv(path: Path, n: int, seed: int = 0) -> Path:
    pd.DataFrame({"id": np.arange(n), "text": generated_texts(n, seed)}).to_csv(path, index=False)
    return path


# --------------------------------------------------------------------- (1) in process
def in_process(model, sizes=BATCH_SIZES, rounds: int = ROUNDS) -> list[Row]:
    """Texts/s of ``predict_columns`` and ``predict`` against the bare fitted scikit-learn pieces
    (``vectoriser_.transform``, the empty title columns, then ``category_head_.predict_proba``) on
    the same texts."""
    def bare(texts):
        return model.category_head_.predict_proba(with_title_block(model.vectoriser_.transform(texts), None))

    rows = []
    for size in sizes:
        batches = _batches(size, CALLS_PER_ROUND[size])
        candidates = {"bare": bare, "predict_columns": model.predict_columns, "predict": model.predict}
        best = _best_rates(candidates, batches, rounds)
        target = "ratio >= 0.80" + (", >= 10,000/s" if size == 10_000 else "")
        rows.append(Row("1 in-process", f"predict_columns, batches of {size:,}", best["predict_columns"],
                        best["bare"], "texts/s", target))
        rows.append(Row("1 in-process", f"predict (records), batches of {size:,}", best["predict"],
                        best["bare"], "texts/s"))
        rows.append(Row("1 in-process", f"predict_columns, batches of {size:,}, per CPU-second",
                        best["predict_columns cpu"], best["bare cpu"], "texts/CPU-s"))
    rows.append(_cold_start_row(model, bare))
    return rows


def _batches(size: int, calls: int) -> list[list[str]]:
    texts = generated_texts(size * calls, seed=size)
    return [texts[i * size:(i + 1) * size] for i in range(calls)]


def _best_rates(candidates: dict, batches: list[list[str]], rounds: int) -> dict[str, float]:
    """The best texts/s of each candidate over ``rounds`` rounds, candidates alternating; also
    texts per CPU-second of this process under ``"<name> cpu"``, which other load barely moves."""
    for fn in candidates.values():
        fn(batches[0])  # warm-up: imports, first-use allocations and the chunk cache
    texts = sum(len(b) for b in batches)
    best = dict.fromkeys([*candidates, *(f"{name} cpu" for name in candidates)], 0.0)
    for _ in range(rounds):
        for name, fn in candidates.items():
            started, cpu = time.perf_counter(), time.process_time()
            for batch in batches:
                fn(batch)
            best[name] = max(best[name], texts / (time.perf_counter() - started))
            best[f"{name} cpu"] = max(best[f"{name} cpu"], texts / max(time.process_time() - cpu, 1e-9))
    return best


def _cold_start_row(model, bare) -> Row:
    """The first batch a freshly loaded model sees: its chunk cache is still empty."""
    fresh = pickle.loads(pickle.dumps(model))  # a saved model carries no cache
    texts = generated_texts(10_000, seed=99)
    started = time.perf_counter()
    fresh.predict_columns(texts)
    ours = len(texts) / (time.perf_counter() - started)
    started = time.perf_counter()
    bare(texts)
    return Row("1 in-process", "predict_columns, first 10,000 after loading", ours,
               len(texts) / (time.perf_counter() - started), "texts/s")


# --------------------------------------------------------------------- (3) file scoring
def file_scoring(registry: str, version: str, workdir: Path, rows: int = 100_000,
                 small: int = 20_000, large: int = 200_000, dask: bool = True) -> list[Row]:
    """Rows/s and peak memory of scoring a CSV in a fresh process, single process against Dask
    local; and peak memory of the single process at ``small`` and ``large`` rows."""
    out = []
    main = _score_in_child("single", registry, version, write_rows_csv(workdir / f"rows{rows}.csv", rows), workdir)
    if dask:
        spread = _score_in_child("dask", registry, version, workdir / f"rows{rows}.csv", workdir)
        out.append(Row("3 file scoring", f"{rows:,} rows, Dask local (2 workers) vs single process",
                       spread["rows_per_s"], main["rows_per_s"], "rows/s"))
        out.append(Row("3 file scoring", f"{rows:,} rows, Dask peak RSS (client + largest worker)",
                       spread["peak_mb"] + spread["children_peak_mb"], main["peak_mb"], "MB"))
    out.insert(0, Row("3 file scoring", f"{rows:,} rows, single process", main["rows_per_s"], None, "rows/s"))
    low = _score_in_child("single", registry, version, write_rows_csv(workdir / f"rows{small}.csv", small), workdir)
    high = _score_in_child("single", registry, version, write_rows_csv(workdir / f"rows{large}.csv", large), workdir)
    out.append(Row("3 file scoring", f"single-process peak RSS, {large:,} vs {small:,} rows", high["peak_mb"],
                   low["peak_mb"], "MB", "ratio ~1 (flat)"))
    return out


def _score_in_child(engine: str, registry: str, version: str, path: Path, workdir: Path) -> dict:
    """Score ``path`` in a new Python process, which reports its own time and peak memory."""
    output = workdir / f"out-{engine}-{path.stem}"
    code = "import sys; from classifier.benchmark import score_file_child; score_file_child(*sys.argv[1:])"
    done = subprocess.run([sys.executable, "-c", code, engine, registry, version, str(path), str(output)],
                          capture_output=True, text=True, check=True, cwd=Path(__file__).resolve().parent.parent)
    return json.loads(done.stdout.strip().splitlines()[-1])


def score_file_child(engine: str, registry: str, version: str, path: str, output: str) -> None:
    """Entry point of the child process of :func:`_score_in_child`: prints one JSON line.

    The time covers loading the model (and, for Dask, starting the local cluster), as a user
    running ``outsort predict`` waits for them too.
    """
    started = time.perf_counter()
    if engine == "dask":
        from classifier.distributed import predict_dask
        rows = predict_dask(version, path, output, registry=registry)
    else:
        from classifier import load_model
        from classifier.batch import predict_file
        rows = predict_file(load_model(version, registry=registry), path, output + ".csv")
    seconds = time.perf_counter() - started
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps({"rows": rows, "seconds": seconds, "rows_per_s": rows / seconds,
                      "peak_mb": peak_rss_mb(), "children_peak_mb": children}))


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ------------------------------------------------------------------------ (4) training
def training(registry_root: Path) -> tuple[list[Row], str]:
    """Train the default model on the shipped data into ``registry_root``; time it and size it."""
    from classifier.registry import MODEL_FILE, Registry
    from classifier.training import train
    registry = Registry(registry_root)
    started = time.perf_counter()
    version, manifest = train(registry=registry)
    seconds = time.perf_counter() - started
    size = (registry.root / version / MODEL_FILE).stat().st_size / 1e6
    rows = manifest["data"]["rows"]["total"]
    return [Row("4 training", f"full retrain on the shipped data ({rows:,} rows, with evaluation)", seconds,
                None, "s", "< 120 s"),
            Row("4 training", "model file size", size, None, "MB", "< 50 MB")], version


# ---------------------------------------------------------------------------- (2) HTTP
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """A server process started from ``argv``; ``ready_seconds`` is start until ``ready_path`` answers 200."""

    def __init__(self, argv: list[str], env: dict, port: int, ready_path: str = "/readyz", timeout: float = 60):
        self.port = port
        self.log = tempfile.TemporaryFile()
        started = time.perf_counter()
        self.process = subprocess.Popen(argv, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        while not self._ready(ready_path):
            if self.process.poll() is not None or time.perf_counter() - started > timeout:
                self.stop()
                self.log.seek(0)
                raise RuntimeError(f"server did not become ready: {self.log.read().decode()[-2000:]}")
            time.sleep(0.02)
        self.ready_seconds = time.perf_counter() - started

    def _ready(self, path: str) -> bool:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            conn.request("GET", path)
            return conn.getresponse().status == 200
        except OSError:
            return False

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def load(port: int, path: str, bodies: list[bytes], clients: int, seconds: float) -> dict:
    """A bounded load: ``clients`` threads, each with one keep-alive connection, sending one
    request after another for ``seconds``. Returns requests/s, p50/p99 latency (ms) and errors."""
    stop_at = time.perf_counter() + seconds
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients

    def client(k: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        i = k
        while time.perf_counter() < stop_at:
            body = bodies[i % len(bodies)]
            i += clients
            started = time.perf_counter()
            try:
                conn.request("POST", path, body, {"Content-Type": "application/json"})
                response = conn.getresponse()
                response.read()
                ok = response.status == 200
            except (OSError, http.client.HTTPException):
                conn.close()
                ok = False
            if ok:
                latencies[k].append(time.perf_counter() - started)
            else:
                errors[k] += 1
        conn.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    done = np.concatenate([np.asarray(lat) for lat in latencies]) * 1000
    return {"requests_per_s": len(done) / elapsed, "p50_ms": float(np.percentile(done, 50)) if len(done) else None,
            "p99_ms": float(np.percentile(done, 99)) if len(done) else None, "errors": int(sum(errors)),
            "requests": int(len(done))}


def http_rows(server_argv, env: dict, port: int, in_process_single: float, in_process_100: float,
              seconds: float = 8.0) -> list[Row]:
    """Requests/s and latency of the real server against the in-process figures of this run."""
    server = Server(server_argv, env, port)
    try:
        singles = [json.dumps({"text": t, "explain": False}).encode() for t in generated_texts(2000, seed=5)]
        texts = generated_texts(100 * 50, seed=6)
        batches = [json.dumps({"texts": texts[i:i + 100], "explain": False}).encode() for i in range(0, len(texts), 100)]
        load(port, "/v1/classify", singles[:50], 4, 1.0)  # warm-up: workers load and warm their models
        rows = [Row("2 HTTP", "service start to ready (2 workers)", server.ready_seconds, None, "s", "< 3 s")]
        for clients in (4, 50):
            result = load(port, "/v1/classify", singles, clients, seconds)
            rows.append(Row("2 HTTP", f"single text, {clients} clients: requests/s", result["requests_per_s"],
                            in_process_single, "req/s", ">= 1,000 at 4 clients" if clients == 4 else ""))
            rows.append(Row("2 HTTP", f"single text, {clients} clients: p50 / p99 latency", result["p99_ms"],
                            None, f"ms p99 (p50 {result['p50_ms']:.1f})",
                            "p99 < 10 ms" if clients == 4 else ""))
            rows.append(Row("2 HTTP", f"single text, {clients} clients: errors", result["errors"], None,
                            f"of {result['requests'] + result['errors']}", "0"))
        result = load(port, "/v1/classify", batches, 4, seconds)
        rows.append(Row("2 HTTP", "batches of 100, 4 clients: texts/s", result["requests_per_s"] * 100,
                        in_process_100, "texts/s", "ratio >= 1.0"))
        return rows
    finally:
        server.stop()


# ------------------------------------------------------------------------------ output
def machine() -> str:
    """nproc, CPU model, RAM and load: the context every figure needs."""
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or "unknown")
    ram = next((int(line.split()[1]) / 1024 ** 2 for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal")), 0.0)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (f"{os.cpu_count()} CPUs ({cpu}), {ram:.0f} GB RAM, Python {platform.python_version()}, "
            f"load average {load}")


def format_table(rows: list[Row]) -> str:
    """The rows as one Markdown table."""
    lines = ["| section | figure | ours | baseline | ratio | unit | target |",
             "|---|---|---:|---:|---:|---|---|"]
    for row in rows:
        baseline = "" if row.baseline is None else _number(row.baseline)
        ratio = "" if row.ratio is None else f"{row.ratio:.2f}"
        lines.append(f"| {row.section} | {row.figure} | {_number(row.ours)} | {baseline} | {ratio} | "
                     f"{row.unit} | {row.target} |")
    return "\n".join(lines)


def _number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.2f}" if abs(value) >= 1 else f"{value:.3f}"


# The slowest of the repeated units tried against the cutter (tests/test_jobs.py tries them for
# linear time): each "1. A" is a numbered item of its own, so 50,000 characters make 12,500 parts.
HOSTILE_UNIT = "1. A "
HOSTILE_CHARS = 50_000


def hostile_postings(model, rounds: int = ROUNDS) -> list[Row]:
    """Seconds to read one posting of ``HOSTILE_CHARS`` characters made of the slowest unit found,
    against an ordinary posting of the same length (generated duties, one per line)."""
    from classifier.parts import cut_parts
    hostile = (HOSTILE_UNIT * (HOSTILE_CHARS // len(HOSTILE_UNIT) + 1))[:HOSTILE_CHARS]
    ordinary = "\n".join(generated_texts(2_000))[:HOSTILE_CHARS]
    rows = []
    for name, step in (("cut into parts", cut_parts),
                       ("predict_jobs (whole answer)", lambda text: model.predict_jobs([{"description": text}]))):
        times = {}
        for label, text in (("hostile", hostile), ("ordinary", ordinary)):
            best = float("inf")
            for _ in range(rounds):
                started = time.perf_counter()
                step(text)
                best = min(best, time.perf_counter() - started)
            times[label] = best
        rows.append(Row("5 hostile postings", f"{HOSTILE_CHARS:,} chars of {HOSTILE_UNIT.strip()!r}: {name}, seconds",
                        times["hostile"], times["ordinary"], "s", "linear in length (tested), no worker pinned"))
    return rows


def run(workdir: Path, rows: int = 100_000, server=None, progress=print) -> tuple[list[Row], str]:
    """Every section in order; ``server(registry, port)`` gives the HTTP server's argv and
    environment, or None to leave HTTP out.

    Returns
    -------
    (rows, machine description)
    """
    from classifier import load_model
    registry = workdir / "models"
    progress("training the default model on the shipped data")
    train_rows, version = training(registry)
    model = load_model(version, registry=str(registry))
    progress("in-process prediction")
    table = in_process(model)
    progress("hostile postings")
    table += hostile_postings(model)
    if server is not None:
        progress("HTTP against gunicorn")
        # The service calls ``predict``: its in-process rates are the HTTP baselines.
        single = next(r.ours for r in table if r.figure == "predict (records), batches of 1")
        hundred = next(r.ours for r in table if r.figure == "predict (records), batches of 100")
        port = free_port()
        argv, env = server(registry, port)
        table += http_rows(argv, env, port, single, hundred)
    progress(f"file scoring: {rows:,} rows single process and Dask local, memory at 20,000 and 200,000 rows")
    table += file_scoring(str(registry), version, workdir, rows=rows)
    return table + train_rows, machine()
