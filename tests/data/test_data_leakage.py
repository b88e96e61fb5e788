"""Leakage guard: no O*NET task statement is copied into the repository.

The O*NET text stays in the shared reference file; the repository holds only task ids. Every
statement of at least 50 characters is searched for, with case, spacing and punctuation ignored,
in every file git tracks or would add (untracked files that are not ignored).
"""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from datasets.checks import canonical
from datasets.loaders import onet_tasks_path, read_onet_tasks

MIN_SENTENCE_CHARS = 50
# A statement is looked up by its first characters, then compared whole.
ANCHOR_CHARS = 40
REPO = Path(__file__).resolve().parents[2]


def repository_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=REPO,
                            capture_output=True, check=True).stdout.decode().split("\0")
    return [REPO / name for name in listed if name and (REPO / name).is_file()]


def copied_statements(statements: list[str], files: list[Path]) -> list[tuple[Path, str]]:
    """(file, statement) for every statement whose canonical form occurs inside a file's."""
    by_anchor: dict[str, list[str]] = {}
    for statement in statements:
        key = canonical(statement)
        by_anchor.setdefault(key[:ANCHOR_CHARS], []).append(key)
    hits = []
    for path in files:
        raw = path.read_bytes()
        if b"\0" in raw:
            continue  # binary files hold no sentences
        text = canonical(raw.decode("utf-8", errors="ignore"))
        for start in range(len(text) - ANCHOR_CHARS + 1):
            for key in by_anchor.get(text[start:start + ANCHOR_CHARS], ()):
                if text.startswith(key, start):
                    hits.append((path, key))
    return hits


def test_the_guard_finds_a_copied_statement(tmp_path):
    statement = "Reconcile the totals of every ledger drawer against the signed count sheet."
    leaked = tmp_path / "notes.md"
    leaked.write_text(f"an example:\n  * \"{statement.upper()}\"  (rephrase me)\n")
    clean = tmp_path / "clean.md"
    clean.write_text("Reconcile the totals of every ledger drawer against a different sheet.\n")
    found = copied_statements([statement], [leaked, clean])
    assert [(p.name, s) for p, s in found] == [("notes.md", canonical(statement))]


def test_no_onet_statement_appears_in_the_repository():
    if onet_tasks_path() is None:
        pytest.skip("O*NET task file not on this machine (set OUTSORT_ONET_TASKS): nothing to compare against")
    tasks = read_onet_tasks()
    statements = [t for t in tasks["task"] if len(t) >= MIN_SENTENCE_CHARS]
    found = copied_statements(statements, repository_files())
    assert not found, "\n".join(f"{path.relative_to(REPO)}: {statement[:80]}" for path, statement in found[:20])
