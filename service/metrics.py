"""Prometheus metrics in the text exposition format, written by hand.

The format is a few lines of text, so no client library is needed. Under gunicorn each worker
counts its own requests; a scrape reaches one worker, so each worker also writes its counters to
``METRICS_DIR/<pid>.json`` at the end of every request (one small atomic file write) and a
scrape adds up the files of all workers, including those that have exited (counters only ever
grow). Without a
``METRICS_DIR`` (tests, a single process) only this process's counters are shown.
"""
from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

HELP = {
    "outsort_http_requests_total": ("counter", "HTTP requests by endpoint, method and status."),
    "outsort_http_request_duration_seconds": ("histogram", "Time to answer a request, by endpoint."),
    "outsort_predictions_total": ("counter", "Texts and job tasks classified, by predicted category."),
    "outsort_feedback_total": ("counter", "Corrections stored."),
    "outsort_model_reloads_total": ("counter", "Model swaps and refusals, by result."),
    "outsort_model_info": ("gauge", "The model version a worker serves (value 1)."),
}


def _labels(pairs) -> str:
    if not pairs:
        return ""
    escaped = (f'{k}="{str(v)}"'.replace("\\", "\\\\").replace("\n", "\\n") for k, v in pairs)
    return "{" + ",".join(escaped) + "}"


class Metrics:
    """Counters and histograms of one process.

    Parameters
    ----------
    directory : path, optional
        Where workers share their counters; None keeps them in this process only.
    share_interval : float
        Seconds between writes of this worker's counters for the others to read. Writing after
        every request cost a third of a short request's time; a scrape sees the other workers'
        counters at most this old, and its own exactly.
    """

    def __init__(self, directory=None, share_interval: float = 0.2):
        self.directory = Path(directory) if directory else None
        self.share_interval = share_interval
        self._dirty = False
        self._sharer_pid: int | None = None
        self._lock = threading.Lock()
        self.counters: dict[str, dict[tuple, float]] = {}
        self.histograms: dict[str, dict[tuple, list[float]]] = {}

    def inc(self, name: str, labels: dict | None = None, amount: float = 1.0) -> None:
        """Add ``amount`` to the counter ``name`` with ``labels``."""
        key = tuple(sorted((labels or {}).items()))
        with self._lock:
            series = self.counters.setdefault(name, {})
            series[key] = series.get(key, 0.0) + amount
            self._dirty = True

    def observe(self, name: str, value: float, labels: dict | None = None) -> None:
        """Record ``value`` in the histogram ``name``: bucket counts, then sum, then count."""
        key = tuple(sorted((labels or {}).items()))
        with self._lock:
            series = self.histograms.setdefault(name, {})
            cells = series.setdefault(key, [0.0] * (len(BUCKETS) + 2))
            for i, bound in enumerate(BUCKETS):
                if value <= bound:
                    cells[i] += 1
            cells[-2] += value
            cells[-1] += 1
            self._dirty = True

    # ---------------------------------------------------------------- sharing
    def _snapshot(self) -> dict:
        with self._lock:
            return {"counters": {n: [[list(k), v] for k, v in s.items()] for n, s in self.counters.items()},
                    "histograms": {n: [[list(k), c] for k, c in s.items()] for n, s in self.histograms.items()}}

    def flush(self) -> None:
        """Share this process's counters with the other workers (no-op without a directory)."""
        if self.directory is None:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{os.getpid()}.json"
        tmp = path.with_suffix(f".{threading.get_ident()}.tmp")
        tmp.write_text(json.dumps(self._snapshot()))
        os.replace(tmp, path)  # readers see the old or the new file, never half of one

    def share_soon(self) -> None:
        """Have this worker's counters written for the others within ``share_interval`` seconds,
        by a background thread started once per process (threads do not survive a fork)."""
        if self.directory is None or self._sharer_pid == os.getpid():
            return
        self._sharer_pid = os.getpid()
        threading.Thread(target=self._share_loop, name="outsort-metrics", daemon=True).start()

    def _share_loop(self) -> None:
        while True:
            time.sleep(self.share_interval)
            if self._dirty:
                self._dirty = False
                try:
                    self.flush()
                except OSError:
                    self._dirty = True  # a full or vanished folder: try again next round

    def _merged(self) -> tuple[dict, dict]:
        self.flush()
        snapshots = [self._snapshot()] if self.directory is None else []
        for path in sorted(self.directory.glob("*.json")) if self.directory else []:
            try:
                snapshots.append(json.loads(path.read_text()))
            except (OSError, ValueError):
                continue  # a file being replaced right now; its worker's next flush will be read
        counters: dict[str, dict[tuple, float]] = {}
        histograms: dict[str, dict[tuple, list[float]]] = {}
        for snap in snapshots:
            for name, series in snap["counters"].items():
                target = counters.setdefault(name, {})
                for key, value in series:
                    key = tuple(tuple(pair) for pair in key)
                    target[key] = target.get(key, 0.0) + value
            for name, series in snap["histograms"].items():
                target = histograms.setdefault(name, {})
                for key, cells in series:
                    key = tuple(tuple(pair) for pair in key)
                    old = target.get(key, [0.0] * len(cells))
                    target[key] = [a + b for a, b in zip(old, cells)]
        return counters, histograms

    # ---------------------------------------------------------------- exposition
    def render(self, model_version: str | None) -> str:
        """All metrics in the Prometheus text format (version 0.0.4)."""
        counters, histograms = self._merged()
        lines: list[str] = []
        for name, (kind, text) in HELP.items():
            lines += [f"# HELP {name} {text}", f"# TYPE {name} {kind}"]
            if kind == "counter":
                for key, value in sorted(counters.get(name, {}).items()):
                    lines.append(f"{name}{_labels(key)} {value:g}")
            elif kind == "histogram":
                for key, cells in sorted(histograms.get(name, {}).items()):
                    lines += _histogram_lines(name, key, cells)
            elif model_version is not None:
                lines.append(f'{name}{_labels([("version", model_version), ("pid", os.getpid())])} 1')
        return "\n".join(lines) + "\n"


def _histogram_lines(name: str, key: tuple, cells: list[float]) -> list[str]:
    lines = [f"{name}_bucket{_labels(key + (('le', f'{bound:g}'),))} {cells[i]:g}"
             for i, bound in enumerate(BUCKETS)]
    lines.append(f"{name}_bucket{_labels(key + (('le', '+Inf'),))} {cells[-1]:g}")
    lines.append(f"{name}_sum{_labels(key)} {cells[-2]:.6f}")
    lines.append(f"{name}_count{_labels(key)} {cells[-1]:g}")
    return lines
