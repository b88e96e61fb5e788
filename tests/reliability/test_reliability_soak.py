"""A short soak of the real server through ``scripts/soak`` (which runs 60 s at 50 clients by
default): no errors, no worker lost, memory flat."""
from __future__ import annotations

import re
import subprocess
import sys

import pytest

from service.soak import ROOT

pytestmark = pytest.mark.slow


def test_short_soak_has_no_errors_and_flat_memory(shared_registry):
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "soak"), "--seconds", "5", "--clients", "20",
                           "--workers", "2", "--registry", str(shared_registry.root)],
                          capture_output=True, text=True, timeout=180)
    report = done.stdout + done.stderr
    assert done.returncode == 0, report  # non-zero on any error or restarted worker
    assert "errors: 0" in done.stdout and "p99" in done.stdout, report
    assert int(re.search(r"requests served: (\d+)", done.stdout).group(1)) > 20, report
    growth = float(re.search(r"total \d+ MiB, ([-+][\d.]+) MiB\)", done.stdout).group(1))
    assert growth < 50, report
