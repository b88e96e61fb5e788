"""One broken file for each rule of datasets/schema.py and datasets/checks.py, and the error it gets.

Each case starts from a small clean data set (which passes), breaks one file, runs the same
checks ``outsort data check`` runs, and expects a message naming the file, row and column (for
file rules) or the groups and task ids involved (for rules across rows).
"""
from __future__ import annotations

import csv
import io

import pytest

from datasets import checks
from datasets.schema import MAX_TEXT_CHARS
from scripts.cli import main

CORPUS_HEADER = ["text", "label", "automation_level", "style", "domain", "group"]
CORPUS_ROWS = [
    ["phone hotel guests to confirm late arrival times", "bpo_front_office", "2", "terse", "travel", "T-1"],
    ["answer roaming charge questions over live chat", "bpo_front_office", "3", "terse", "telecom", "T-2"],
    ["key scanned delivery notes into the warehouse system", "bpo_back_office", "4", "terse", "logistics", "T-3"],
    ["match supplier statements against open purchase orders", "bpo_back_office", "3", "terse", "retail_ecommerce",
     "T-4"],
    ["model churn risk for postpaid subscribers and explain drivers", "kpo", "1", "terse", "telecom", "T-5"],
    ["draft a memo on tenancy deposit law for the litigation team", "kpo", "1", "terse", "legal", "T-6"],
    ["replace faulty smart meters at customer homes", "not_outsourceable", "0", "terse", "utilities", "T-7"],
    ["stock shelves and rotate chilled food at the store", "not_outsourceable", "0", "terse", "retail_ecommerce",
     "T-8"],
]
TASKS_HEADER = ["onet_soc_code", "task_id", "task", "task_type", "occupation", "human_exposure", "gpt4_exposure",
                "gpt4_automation", "automation_score"]
# Invented statements in the shape of the O*NET file (two SOC major groups).
TASKS_ROWS = [
    ["43-9021.00", "11", "Transfer figures from paper tally sheets into the stock database.", "Core", "Keyers",
     "E1", "E1", "T4", "1.0"],
    ["43-9021.00", "12", "Verify batch totals against the control slip before closing a run.", "Core", "Keyers",
     "E1", "E1", "T3", "0.75"],
    ["47-2181.00", "21", "Fasten shingles to sloped roof decks using nail guns.", "Core", "Roof Fitters",
     "E0", "E0", "T0", "0.0"],
]
LABELS_HEADER = ["task_id", "label", "confidence"]
LABELS_ROWS = [["11", "bpo_back_office", "high"], ["12", "bpo_back_office", "low"], ["21", "not_outsourceable", "high"]]
JOBS_HEADER = ["job_id", "title", "description", "domain", "expected_category"]
JOBS_ROWS = [["J-1", "Billing Clerk", "Post payments.\nChase missing remittance slips.", "utilities",
              "bpo_back_office"]]


def to_csv(header, rows, delimiter=",") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


def replace(rows, index, column, value, header=CORPUS_HEADER):
    rows = [list(r) for r in rows]
    rows[index][header.index(column)] = value
    return rows


def without(header, rows, column):
    keep = [i for i, c in enumerate(header) if c != column]
    return to_csv([header[i] for i in keep], [[r[i] for i in keep] for r in rows])


CLEAN = {
    "corpus/a.csv": to_csv(CORPUS_HEADER, CORPUS_ROWS),
    "onet_labels/part_1.csv": to_csv(LABELS_HEADER, LABELS_ROWS),
    "jobs/a.csv": to_csv(JOBS_HEADER, JOBS_ROWS),
    "onet_tasks.tsv": to_csv(TASKS_HEADER, TASKS_ROWS, delimiter="\t"),
}
CORPUS, LABELS, JOBS, TASKS = CLEAN


@pytest.fixture
def data_set(tmp_path, monkeypatch):
    """Write a data set (the clean one with some files replaced) and point the checks at it."""
    def write(replaced: dict[str, bytes] | None = None):
        files = {**CLEAN, **(replaced or {})}
        for name, body in files.items():
            (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / name).write_bytes(body)
        monkeypatch.setattr(checks, "CORPUS_DIR", tmp_path / "corpus")
        monkeypatch.setattr(checks, "ONET_LABELS_DIR", tmp_path / "onet_labels")
        monkeypatch.setattr(checks, "JOBS_DIR", tmp_path / "jobs")
        monkeypatch.setenv("OUTSORT_ONET_TASKS", str(tmp_path / "onet_tasks.tsv"))
        return tmp_path
    return write


def test_the_clean_data_set_passes(data_set):
    data_set()
    ok, report = checks.run_checks()
    assert ok, report
    assert report.splitlines()[-1] == "OK"


BROKEN = [
    # ---- reading any labeled file (schema.read_csv_rows)
    ("binary", CORPUS, b"text,label\nabc\x00def,kpo\n", "corpus/a.csv: not a text file (binary content)"),
    ("not-utf8", CORPUS,
     to_csv(CORPUS_HEADER, CORPUS_ROWS[:3]) + "caf\u00e9 till,kpo,1,terse,hr,T-9\n".encode("latin-1"),
     "corpus/a.csv: line 5: not valid UTF-8"),
    ("empty-file", CORPUS, b"", "corpus/a.csv: empty file, expected a header row"),
    ("extra-field", CORPUS, to_csv(CORPUS_HEADER, CORPUS_ROWS) + b"x,kpo,1,terse,hr,T-9,surplus\n",
     "corpus/a.csv: row 10: more fields than the header has"),
    # ---- corpus rows (schema.validate_corpus_rows, strict for shipped files)
    ("corpus-missing-column", CORPUS, without(CORPUS_HEADER, CORPUS_ROWS, "style"),
     "corpus/a.csv: row 1, column 'style': missing column"),
    ("empty-text", CORPUS, to_csv(CORPUS_HEADER, replace(CORPUS_ROWS, 1, "text", "   ")),
     "corpus/a.csv: row 3, column 'text': empty text"),
    ("over-long-text", CORPUS, to_csv(CORPUS_HEADER, replace(CORPUS_ROWS, 2, "text", "a" * (MAX_TEXT_CHARS + 1))),
     f"corpus/a.csv: row 4, column 'text': text longer than {MAX_TEXT_CHARS} characters"),
    ("unknown-label", CORPUS, to_csv(CORPUS_HEADER, replace(CORPUS_ROWS, 0, "label", "front_office")),
     "corpus/a.csv: row 2, column 'label': unknown label 'front_office'"),
    ("level-out-of-range", CORPUS, to_csv(CORPUS_HEADER, replace(CORPUS_ROWS, 3, "automation_level", "5")),
     "corpus/a.csv: row 5, column 'automation_level': automation level must be 0-4, got '5'"),
    ("level-missing", CORPUS, to_csv(CORPUS_HEADER, replace(CORPUS_ROWS, 4, "automation_level", "")),
     "corpus/a.csv: row 6, column 'automation_level': missing automation level"),
    ("unknown-style", CORPUS, to_csv(CORPUS_HEADER, replace(CORPUS_ROWS, 5, "style", "haiku")),
     "corpus/a.csv: row 7, column 'style': unknown style 'haiku'"),
    ("unknown-domain", CORPUS, to_csv(CORPUS_HEADER, replace(CORPUS_ROWS, 6, "domain", "mining")),
     "corpus/a.csv: row 8, column 'domain': unknown domain 'mining'"),
    ("empty-group", CORPUS, to_csv(CORPUS_HEADER, replace(CORPUS_ROWS, 7, "group", "")),
     "corpus/a.csv: row 9, column 'group': empty group id"),
    # ---- O*NET label rows (schema.validate_onet_label_rows)
    ("labels-missing-column", LABELS, without(LABELS_HEADER, LABELS_ROWS, "confidence"),
     "onet_labels/part_1.csv: row 1, column 'confidence': missing column"),
    ("labels-bad-task-id", LABELS, to_csv(LABELS_HEADER, replace(LABELS_ROWS, 1, "task_id", "T12", LABELS_HEADER)),
     "onet_labels/part_1.csv: row 3, column 'task_id': not a task id: 'T12'"),
    ("labels-unknown-label", LABELS, to_csv(LABELS_HEADER, replace(LABELS_ROWS, 0, "label", "bpo", LABELS_HEADER)),
     "onet_labels/part_1.csv: row 2, column 'label': unknown label 'bpo'"),
    ("labels-bad-confidence", LABELS, to_csv(LABELS_HEADER, replace(LABELS_ROWS, 2, "confidence", "medium",
                                                                    LABELS_HEADER)),
     "onet_labels/part_1.csv: row 4, column 'confidence': must be 'high' or 'low'"),
    # ---- job descriptions (schema.validate_job_rows)
    ("jobs-missing-column", JOBS, without(JOBS_HEADER, JOBS_ROWS, "expected_category"),
     "jobs/a.csv: row 1, column 'expected_category': missing column"),
    ("jobs-empty-description", JOBS, to_csv(JOBS_HEADER, replace(JOBS_ROWS, 0, "description", "", JOBS_HEADER)),
     "jobs/a.csv: row 2, column 'description': empty description"),
    ("jobs-unknown-category", JOBS, to_csv(JOBS_HEADER, replace(JOBS_ROWS, 0, "expected_category", "ops",
                                                                 JOBS_HEADER)),
     "jobs/a.csv: row 2, column 'expected_category': unknown label 'ops'"),
    # ---- rules across rows (checks.py)
    ("exact-duplicate", CORPUS, to_csv(CORPUS_HEADER, replace(CORPUS_ROWS, 1, "text", "Phone hotel guests, to confirm "
                                                                                     "LATE arrival times!")),
     "duplicate text in corpus: corpus/a:T-1 and corpus/a:T-2"),
    ("near-duplicate-across-groups", CORPUS,
     to_csv(CORPUS_HEADER, replace(CORPUS_ROWS, 1, "text", "please phone hotel guests to confirm late arrival times")),
     "near-duplicates in different groups"),
    ("label-below-share", CORPUS, to_csv(CORPUS_HEADER, replace(replace(CORPUS_ROWS, 4, "label", "bpo_back_office"),
                                                                5, "label", "bpo_back_office")),
     "label kpo is 0.0% of the corpus, below 15%"),
    ("unknown-task-id", LABELS, to_csv(LABELS_HEADER, LABELS_ROWS + [["77", "kpo", "high"]]),
     "1 labeled task ids are not in the O*NET file, e.g. ['77']"),
    ("soc-group-without-labels", LABELS, to_csv(LABELS_HEADER, LABELS_ROWS[:2]),
     "SOC major groups without labels: 47"),
    ("corpus-repeats-onet", CORPUS, to_csv(CORPUS_HEADER, replace(CORPUS_ROWS, 2, "text", TASKS_ROWS[0][2])),
     "1 corpus texts repeat an O*NET task statement"),
    ("corpus-near-copy-of-onet", CORPUS,
     to_csv(CORPUS_HEADER, replace(CORPUS_ROWS, 2, "text", "Verify batch totals against the control slip before "
                                                            "closing a run today")),
     "corpus row corpus/a:T-3 is a near-copy"),
]


@pytest.mark.parametrize("name, body, message", [case[1:] for case in BROKEN], ids=[case[0] for case in BROKEN])
def test_a_broken_file_fails_the_check_with_a_clear_error(data_set, name, body, message):
    root = data_set({name: body})
    ok, report = checks.run_checks()
    assert not ok
    assert message in report.replace(str(root) + "/", ""), report
    assert "Traceback" not in report


def test_a_task_file_without_its_columns_is_refused_by_name(data_set):
    data_set({TASKS: to_csv(["task_id", "task"], [["11", "x"]], delimiter="\t")})
    with pytest.raises(checks.SchemaError, match=r"onet_tasks.tsv: missing columns \['gpt4_automation', "
                                                 r"'onet_soc_code'\]"):
        checks.run_checks()


# Files a data scientist adds with --data need only text and label; the same faults are named.
USER_FILES = [
    ("missing-label-column", b"text,automation_level\nkey invoices,4\n", "row 1, column 'label': missing column"),
    ("unknown-label", b"text,label\nkey invoices,back_office\n", "row 2, column 'label': unknown label 'back_office'"),
    ("bad-level", b"text,label,automation_level\nkey invoices,bpo_back_office,high\n",
     "row 2, column 'automation_level': automation level must be 0-4, got 'high'"),
    ("empty-text", b"text,label\n\"\",kpo\n", "row 2, column 'text': empty text"),
    ("not-utf8", "text,label\nr\u00e9sum\u00e9 screening,kpo\n".encode("latin-1"), "line 2: not valid UTF-8"),
]


@pytest.mark.parametrize("body, message", [case[1:] for case in USER_FILES], ids=[case[0] for case in USER_FILES])
def test_data_check_names_the_fault_in_an_added_file(data_set, tmp_path, capsys, body, message):
    data_set()
    added = tmp_path / "new_labels.csv"
    added.write_bytes(body)
    assert main(["data", "check", "--data", str(added)]) == 1
    out = capsys.readouterr().out
    assert out.startswith("FAILED schema check:")
    assert f"{added}: {message}" in out


def test_data_check_counts_a_clean_added_file(data_set, tmp_path, capsys):
    data_set()
    added = tmp_path / "new_labels.csv"
    added.write_text("text,label,automation_level\nchase unpaid invoices by phone,bpo_front_office,2\n"
                     "reconcile the suspense account,bpo_back_office,3\n")
    assert main(["data", "check", "--data", str(added)]) == 0
    out = capsys.readouterr().out
    assert "extra file new_labels: 2 rows, bpo_front_office 1, bpo_back_office 1" in out
    assert out.splitlines()[-1] == "OK"
