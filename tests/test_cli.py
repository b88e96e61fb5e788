"""The outsort command end to end: train, predict, evaluate, and one clear line for each bad input."""
import csv
import json
import os
import subprocess
import sys

import pytest

from classifier.prediction import OUTPUT_COLUMNS
from scripts.cli import main


def outsort(*args, stdin: str | None = None, env: dict | None = None):
    return subprocess.run([sys.executable, "-m", "scripts.cli", *args], input=stdin, capture_output=True,
                          text=True, timeout=300, env={**os.environ, **(env or {})})


@pytest.fixture
def tasks_csv(tmp_path):
    path = tmp_path / "tasks.csv"
    path.write_text("id,text\n7,call customers about overdue bills\n3,post overdue bills to the ledger\n"
                    "9,\"build a discounted cash flow model, then present it\"\n")
    return path


def read_csv(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.slow
def test_train_predict_evaluate_end_to_end(tmp_path, tasks_csv):
    registry = tmp_path / "models"
    extra = tmp_path / "new_labels.csv"
    extra.write_text("text,label,automation_level\nchase unpaid invoices by phone,bpo_front_office,2\n")
    # Without the shared postings file, as a user who has only O*NET: the whole path stays the same
    # and training takes half as long (the registry fixture trains on the postings too).
    trained = outsort("--registry", str(registry), "train", "--data", str(extra),
                      env={"OUTSORT_POSTINGS": str(tmp_path / "absent.tsv")})
    assert trained.returncode == 0, trained.stderr
    version = trained.stdout.split()[0]
    assert (registry / "current").read_text().strip() == version
    manifest = json.loads((registry / version / "manifest.json").read_text())
    assert manifest["data"]["rows"]["by_source"]["new_labels"] == 1
    assert manifest["metrics"]["frozen_test"]["all"]["category"]["category_macro_f1"] > 0.7

    out = tmp_path / "out.csv"
    predicted = outsort("--registry", str(registry), "predict", "--input", str(tasks_csv), "--output", str(out))
    assert predicted.returncode == 0, predicted.stderr
    rows = read_csv(out)
    assert [r["id"] for r in rows] == ["7", "3", "9"]
    assert list(rows[0])[:2] == ["id", "text"] and set(OUTPUT_COLUMNS) <= set(rows[0])
    assert [r["category"] for r in rows] == ["bpo_front_office", "bpo_back_office", "kpo"]

    report = tmp_path / "eval.json"
    evaluated = outsort("--registry", str(registry), "evaluate", "--output", str(report))
    assert evaluated.returncode == 0, evaluated.stderr
    assert "macro_f1" in evaluated.stderr
    assert json.loads(report.read_text())["frozen_test"]["all"]["category"]["n"] > 100


def test_predict_plain_text_from_stdin_to_stdout(registry):
    result = outsort("--registry", str(registry.root), "predict", "--input", "-", "--output", "-",
                     stdin="answer customer calls about billing\n\nkey invoices into the ledger\n")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0].split(",")[:2] == ["text", "category"]
    assert len(lines) == 3


def test_predict_jsonl_keeps_columns_and_order(registry, tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text('{"ref": "a", "task": "answer customer calls"}\n{"ref": "b", "task": "design a pricing model"}\n')
    out = tmp_path / "out.jsonl"
    assert main(["--registry", str(registry.root), "predict", "--input", str(src), "--output", str(out),
                 "--text-column", "task"]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["ref"] for r in rows] == ["a", "b"]
    assert rows[0]["category"] == "bpo_front_office" and isinstance(rows[0]["out_of_scope"], bool)


def test_predict_jobs(registry, tmp_path):
    src = tmp_path / "jobs.csv"
    with open(src, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["job_id", "title", "description"])
        writer.writerow(["j1", "Collections agent", "* Call customers about overdue accounts\n"
                         "* Agree payment plans with customers by phone\n* Answer billing questions by chat\n"
                         "Requirements: 2+ years of experience in collections"])
        writer.writerow(["j2", "Forklift driver", "Drive forklifts in the warehouse.Load trucks at the dock."
                         "Repair pallet racking on site."])
    out = tmp_path / "jobs_out.csv"
    assert main(["--registry", str(registry.root), "predict", "--jobs", "--input", str(src), "--output", str(out)]) == 0
    rows = read_csv(out)
    assert [r["job_id"] for r in rows] == ["j1", "j2"]
    assert rows[0]["category"] == "bpo_front_office" and rows[0]["n_tasks"] == "3"
    assert rows[1]["category"] == "not_outsourceable"
    tasks = json.loads(rows[0]["tasks"])
    assert len(tasks) == 3 and {"text", "category", "automation_score"} <= set(tasks[0])
    shares = [float(rows[0][k]) for k in ("share_bpo_front_office", "share_bpo_back_office", "share_kpo",
                                          "share_not_outsourceable")]
    assert sum(shares) == pytest.approx(1.0)


def test_predict_reads_each_task_with_its_title_column(registry, model, tmp_path):
    src = tmp_path / "titled.csv"
    task = "Prepare reports summarizing findings"
    src.write_text(f"id,task,role\n1,{task},Financial Analyst\n2,{task},Data Entry Keyer\n3,{task},\n")
    out = tmp_path / "titled_out.csv"
    assert main(["--registry", str(registry.root), "predict", "--input", str(src), "--output", str(out),
                 "--text-column", "task", "--title-column", "role"]) == 0
    rows = read_csv(out)
    assert [r["role"] for r in rows] == ["Financial Analyst", "Data Entry Keyer", ""]
    assert [r["category"] for r in rows[:2]] == ["kpo", "bpo_back_office"]
    assert float(rows[2]["confidence"]) == pytest.approx(model.predict([task])[0].confidence, abs=1e-4)


@pytest.mark.parametrize("setup, args, message", [
    (lambda p: (p / "t.csv").write_text("text\nfile the forms\n"),
     ["predict", "--input", "{dir}/t.csv", "--output", "{dir}/o.csv", "--title-column", "role"],
     "no column 'role' in the input for --title-column"),
    (lambda p: (p / "t.csv").write_text("title,description\nClerk,file the forms\n"),
     ["predict", "--jobs", "--input", "{dir}/t.csv", "--output", "{dir}/o.csv", "--title-column", "title"],
     "--title-column is for task rows"),
    (lambda p: None, ["predict", "--input", "{dir}/absent.csv", "--output", "{dir}/o.csv"], "file not found"),
    (lambda p: (p / "bin.csv").write_bytes(b"\x00\x01\x02PK\x03\x04"), ["predict", "--input", "{dir}/bin.csv",
                                                                       "--output", "{dir}/o.csv"], "not"),
    (lambda p: (p / "cols.csv").write_text("id,body\n1,hello\n"),
     ["predict", "--input", "{dir}/cols.csv", "--output", "{dir}/o.csv"], "no column 'text'"),
    (lambda p: (p / "empty.csv").write_text("text\nfine text\n\"  \"\n"),
     ["predict", "--input", "{dir}/empty.csv", "--output", "{dir}/o.csv"], "row 2: column 'text' is empty"),
    (lambda p: None, ["predict", "--model", "2020-01-01T00-00-00Z-abcdef", "--input", "-", "--output", "-"],
     "no model version"),
    (lambda p: (p / "labels.csv").write_text("text,label\nfile the forms,back_office\n"),
     ["train", "--data", "{dir}/labels.csv"], "row 2, column 'label': unknown label 'back_office'"),
    (lambda p: (p / "labels.csv").write_text("text,label\n ,kpo\n"),
     ["train", "--data", "{dir}/labels.csv"], "row 2, column 'text': empty text"),
])
def test_bad_input_gets_one_clear_line_and_nonzero_exit(registry, tmp_path, setup, args, message):
    setup(tmp_path)
    before = registry.current()
    argv = ["--registry", str(registry.root)] + [a.replace("{dir}", str(tmp_path)) for a in args]
    result = outsort(*argv)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines[-1].startswith("outsort: error:") and message in lines[-1]
    assert "Traceback" not in result.stderr
    assert registry.current() == before
    assert not (tmp_path / "o.csv").exists() and not (tmp_path / "o.csv.partial").exists()


def test_corrupt_model_file_is_refused_and_current_kept(registry, tmp_path):
    import shutil
    copy = tmp_path / "copy"
    shutil.copytree(registry.root, copy)
    current = (copy / "current").read_text().strip()
    model_file = copy / current / "model.joblib"
    model_file.write_bytes(model_file.read_bytes()[:1000])
    result = outsort("--registry", str(copy), "predict", "--input", "-", "--output", "-", stdin="file forms\n")
    assert result.returncode == 2 and "checksum" in result.stderr
    assert (copy / "current").read_text().strip() == current
