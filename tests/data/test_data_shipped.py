"""The data we ship: schema of every file, allowed values, counts, balance and coverage.

Checks that need the O*NET task file skip, with the reason, on a machine without it.
"""
from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from datasets.checks import HEAVY_GROUPS, MIN_LABEL_SHARE
from datasets.loaders import (
    CORPUS_DIR,
    JOBS_DIR,
    ONET_LABELS_DIR,
    load_corpus,
    load_jobs,
    load_onet_labels,
    onet_tasks_path,
    read_onet_tasks,
)
from datasets.schema import (
    CORPUS_COLUMNS,
    DOMAINS,
    JOB_COLUMNS,
    LABELS,
    ONET_LABEL_COLUMNS,
    read_csv_rows,
    validate_corpus_rows,
    validate_job_rows,
    validate_onet_label_rows,
)

MIN_CORPUS_ROWS = 3_000
MIN_ONET_LABELS = 5_000
# The styles the corpus must show, so evaluation can slice by each (see the issue).
REQUIRED_STYLES = ("terse", "bullet", "paragraph", "ticket", "typo", "abbrev", "non_native")
REPO = Path(__file__).resolve().parents[2]

SHIPPED = [(path, CORPUS_COLUMNS, validate_corpus_rows) for path in sorted(CORPUS_DIR.glob("*.csv"))]
SHIPPED += [(path, ONET_LABEL_COLUMNS, validate_onet_label_rows) for path in sorted(ONET_LABELS_DIR.glob("*.csv"))]
SHIPPED += [(path, JOB_COLUMNS, validate_job_rows) for path in sorted(JOBS_DIR.glob("*.csv"))]


def test_every_kind_of_file_is_shipped():
    kinds = Counter(path.parent.name for path, _, _ in SHIPPED)
    assert kinds["corpus"] >= 1 and kinds["onet_labels"] >= 1 and kinds["jobs"] >= 1, kinds


@pytest.mark.parametrize("path, columns, validate", SHIPPED, ids=[f"{p.parent.name}/{p.name}" for p, _, _ in SHIPPED])
def test_shipped_file_has_its_schema_and_only_allowed_values(path, columns, validate):
    header, rows = read_csv_rows(path)  # also refuses binary and non-UTF-8 content
    assert tuple(header) == columns
    assert rows, f"{path} has no rows"
    faults = validate(str(path), header, rows)
    assert not faults, "\n".join(map(str, faults[:20]))


@pytest.fixture(scope="module")
def corpus():
    return load_corpus()


@pytest.fixture(scope="module")
def onet_labels():
    return load_onet_labels()


@pytest.fixture(scope="module")
def onet_tasks():
    if onet_tasks_path() is None:
        pytest.skip("O*NET task file not on this machine (set OUTSORT_ONET_TASKS or run 'outsort data fetch')")
    return read_onet_tasks()


def test_corpus_has_enough_rows(corpus):
    assert len(corpus) >= MIN_CORPUS_ROWS


@pytest.mark.parametrize("label", LABELS)
def test_corpus_keeps_a_fair_share_of_each_label(corpus, label):
    share = (corpus["label"] == label).mean()
    assert share >= MIN_LABEL_SHARE, f"{label} is {share:.1%} of the corpus"


def test_corpus_levels_are_all_present(corpus):
    assert set(corpus["automation"]) == {0.0, 0.25, 0.5, 0.75, 1.0}


def test_corpus_covers_every_style_and_domain(corpus):
    assert set(REQUIRED_STYLES) <= set(corpus["style"])
    assert set(DOMAINS) - {"general"} <= set(corpus["domain"])


def test_job_ids_are_unique_and_every_label_is_expected_somewhere():
    jobs = load_jobs()
    assert jobs["job_id"].is_unique
    assert set(jobs["expected_category"]) == set(LABELS)
    assert set(jobs["domain"]) <= set(DOMAINS)


def test_onet_labels_are_enough_and_never_given_twice(onet_labels):
    every = [row["task_id"] for path in sorted(ONET_LABELS_DIR.glob("*.csv")) for row in read_csv_rows(path)[1]]
    repeated = [task_id for task_id, n in Counter(every).items() if n > 1]
    assert not repeated, f"task ids labeled more than once: {repeated[:10]}"
    assert len(onet_labels) >= MIN_ONET_LABELS
    assert set(onet_labels["label"]) == set(LABELS)


def test_onet_labels_refer_to_known_tasks(onet_labels, onet_tasks):
    unknown = set(onet_labels["task_id"]) - set(onet_tasks["task_id"])
    assert not unknown, sorted(unknown)[:10]


def test_onet_labels_cover_every_soc_major_group_and_weigh_the_office_groups_more(onet_labels, onet_tasks):
    group = onet_tasks["onet_soc_code"].str[:2]
    labeled = onet_tasks["task_id"].isin(set(onet_labels["task_id"]))
    coverage = labeled.groupby(group).mean()
    assert (coverage > 0).all(), coverage[coverage == 0].index.tolist()
    # "More weight": each office group is labeled completely, so no other group can be denser.
    rest = labeled[~group.isin(HEAVY_GROUPS)].mean()
    for heavy in HEAVY_GROUPS:
        assert coverage[heavy] == 1.0 and coverage[heavy] >= rest, \
            f"group {heavy}: {coverage[heavy]:.0%} labeled, the rest {rest:.0%}"


# ------------------------------------------------------------------ outsort data check on the shipped data
@pytest.fixture(scope="module")
def data_check():
    """One run of ``outsort data check`` on everything shipped (the near-duplicate scan takes ~20 s)."""
    return subprocess.run([sys.executable, "-m", "scripts.cli", "data", "check"], capture_output=True, text=True,
                          cwd=REPO, timeout=600)


def test_data_check_prints_the_counts(data_check, corpus, onet_labels):
    out = data_check.stdout
    assert f"corpus: {len(corpus)} rows" in out
    assert f"O*NET labels: {len(onet_labels)}" in out
    for heading in ("by label:", "by style:", "by domain:"):
        assert heading in out
    for label in LABELS:
        count = int((corpus["label"] == label).sum())
        assert re.search(rf"^\s+{label}\s+{count}\s+\d+\.\d%$", out, re.M), f"no count line for {label}"
    assert "Traceback" not in data_check.stderr


def test_shipped_data_passes_every_check(data_check):
    assert data_check.returncode == 0, data_check.stdout[data_check.stdout.find("FAILED"):]
    assert data_check.stdout.splitlines()[-1] == "OK"
