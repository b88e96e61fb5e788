"""The retraining loop: report, model card, review queue, and champion/challenger through the CLI."""
import csv
import json
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from classifier.lifecycle import promote
from classifier.model_card import MODEL_CARD_FILE, write_model_card
from classifier.registry import Registry
from classifier.report import MISTAKES_SHOWN, write_report
from classifier.review import REVIEW_COLUMNS, review_queue, uncertainty
from classifier.training import train
from datasets.loaders import load_corpus, load_labeled_file
from datasets.titles import training_titles

FIGURES = ("per_class", "confusion_matrix", "reliability", "coverage", "automation_levels", "slices_style",
           "slices_domain")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def outsort(*args):
    return subprocess.run([sys.executable, "-m", "scripts.cli", *args], capture_output=True, text=True, timeout=300)


# ------------------------------------------------------------------ report
def test_report_writes_every_figure_as_png_linked_and_embedded(registry, tmp_path):
    path = write_report(registry, registry.current(), output_dir=tmp_path)
    page = path.read_text()
    assert path == tmp_path / "report.html"
    for name in FIGURES:
        png = tmp_path / f"report-{name}.png"
        assert png.read_bytes().startswith(PNG_MAGIC), name
        assert f"href='report-{name}.png'" in page
    assert page.count("src='data:image/png;base64,iVBORw0KGgo") == len(FIGURES)  # base64 of the PNG magic
    mistakes = page.split("most confident mistakes", 1)[1]
    assert len(re.findall(r"<tr>\s*<td>", mistakes)) == MISTAKES_SHOWN
    assert "Compared with" not in page  # the session model has no parent


def test_report_defaults_to_the_version_folder(registry):
    version = registry.current()
    assert write_report(registry, version) == registry.root / version / "report.html"


@pytest.mark.parametrize("args", [
    ["2020-01-01T00-00-00Z-abcdef"],
    ["{current}", "--compare", "2020-01-01T00-00-00Z-abcdef"],
])
def test_report_of_an_unknown_version_is_one_clear_line_and_writes_nothing(registry, tmp_path, args):
    args = [a.replace("{current}", registry.current()) for a in args]
    result = outsort("--registry", str(registry.root), "report", *args, "--output", str(tmp_path / "out"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "no model version at '2020-01-01T00-00-00Z-abcdef'" in result.stderr
    assert not (tmp_path / "out").exists()


# -------------------------------------------------------------- model card
def test_model_card_is_written_by_training_and_states_the_manifest(registry):
    manifest = registry.manifest()
    card = (registry.root / registry.current() / MODEL_CARD_FILE).read_text()
    for heading in ("## Intended use", "## Training data", "## Metrics", "## Thresholds", "## Known limits"):
        assert heading in card
    test = manifest["metrics"]["frozen_test"]["all"]["category"]
    assert f"| frozen_test / all | {test['n']} | {test['category_macro_f1']:.3f} |" in card
    assert manifest["data"]["fingerprint"] in card and manifest["sha256"] in card
    assert f"P(outsourceable) < {manifest['thresholds']['out_of_scope']:.3f}" in card


def test_model_card_of_a_bare_manifest_says_what_is_missing(tmp_path):
    reg = Registry(tmp_path / "models")
    version = reg.save("not a model", {})
    card = write_model_card(reg, version).read_text()
    assert "No evaluation was recorded" in card and "parent version: none" in card


# ------------------------------------------------------------ review queue
@pytest.mark.parametrize("outsourceable, confidence, out_of_scope, threshold, expected, doubt", [
    (0.5, 1.0, False, 0.5, 1.0, "scope"),         # on the threshold: a coin toss on scope
    (1.0, 1 / 3, False, 0.5, 1.0, "category"),    # three categories equally likely
    (1.0, 1.0, False, 0.5, 0.0, "scope"),         # sure on both counts
    (0.0, 1 / 3, True, 0.5, 0.0, "scope"),        # out of scope: the category is never answered
    (0.75, 0.5, False, 0.5, 0.75, "category"),    # scope half settled, category doubt larger
    (0.6, 0.9, False, 0.5, 0.8, "scope"),         # near the threshold, category clear
    (1.0, 1.0, False, 0.62, 0.0, "scope"),        # each side of a skewed threshold is scaled alone
    (0.81, 1.0, False, 0.62, 0.5, "scope"),
    (0.31, 0.5, True, 0.62, 0.5, "scope"),
])
def test_uncertainty_scores_each_decision(outsourceable, confidence, out_of_scope, threshold, expected, doubt):
    cols = {"outsourceable": [outsourceable], "confidence": [confidence], "out_of_scope": [out_of_scope]}
    score, which = uncertainty(cols, threshold=threshold)
    assert score[0] == pytest.approx(expected)
    assert which[0] == doubt


REVIEW_TEXTS = ["answer customer calls about billing", "Answer customer calls about billing!",
                "fix the printer", "manage stuff", "do the thing for the client",
                "post invoices to the ledger and reconcile vendor statements",
                "operate a forklift in the warehouse", "draft a market entry strategy", "help"]


def test_review_queue_puts_least_sure_first_in_the_label_schema(model):
    queue = review_queue(model, REVIEW_TEXTS, limit=6, exclude=["help"])
    assert tuple(queue.columns) == REVIEW_COLUMNS
    assert len(queue) == 6
    assert list(queue["uncertainty"]) == sorted(queue["uncertainty"], reverse=True)
    everything = review_queue(model, REVIEW_TEXTS, limit=100)
    assert len(everything) == len(REVIEW_TEXTS) - 1  # the two billing texts are one
    assert queue["uncertainty"].min() >= everything["uncertainty"].iloc[6:].max()
    assert "help" not in set(queue["text"]) and "help" in set(everything["text"])
    assert (queue[["label", "automation_level"]] == "").all().all()
    assert queue["group"].is_unique
    assert set(queue["model_label"]) <= {"bpo_front_office", "bpo_back_office", "kpo", "not_outsourceable"}


def test_review_cli_output_becomes_a_valid_label_file_once_filled(registry, tmp_path):
    source = tmp_path / "seen.csv"
    pd.DataFrame({"id": range(len(REVIEW_TEXTS)), "body": REVIEW_TEXTS}).to_csv(source, index=False)
    out = tmp_path / "queue.csv"
    result = outsort("--registry", str(registry.root), "review", "--input", str(source), "--text-column", "body",
                     "--limit", "4", "--output", str(out))
    assert result.returncode == 0, result.stderr
    with open(out, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 4 and tuple(rows[0]) == REVIEW_COLUMNS
    for row in rows:
        row["label"], row["automation_level"] = "kpo", "2"
    filled = tmp_path / "filled.csv"
    pd.DataFrame(rows).to_csv(filled, index=False)
    assert len(load_labeled_file(filled)) == 4


@pytest.mark.parametrize("content, args, message", [
    ("id,body\n1,hello\n", [], "no column 'text'"),
    ("text\nfine\n\"  \"\n", [], "row 2: column 'text' is empty"),
    ("text\nfine\n", ["--limit", "0"], "limit must be at least 1"),
])
def test_review_bad_input_gets_one_clear_line(registry, tmp_path, content, args, message):
    source = tmp_path / "in.csv"
    source.write_text(content)
    result = outsort("--registry", str(registry.root), "review", "--input", str(source), *args)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and message in result.stderr.strip().splitlines()[-1]


# ------------------------------------------------------ champion/challenger
@pytest.fixture(scope="module")
def small_frame():
    """A third of the corpus (whole templates kept together by the frozen split's hashing)."""
    return load_corpus().sample(1200, random_state=0).reset_index(drop=True)


@pytest.fixture(scope="module")
def champion_and_challenger(small_frame, tmp_path_factory):
    reg = Registry(tmp_path_factory.mktemp("lifecycle") / "models")
    fast = {"calibration_folds": 0}  # the comparison needs two fitted models, not calibrated ones
    champion, _ = train(frame=small_frame, registry=reg, params=fast)
    rng = np.random.default_rng(0)
    shuffled = small_frame.assign(label=rng.permutation(small_frame["label"].to_numpy()),
                                  automation=rng.permutation(small_frame["automation"].to_numpy()))
    challenger, _ = train(frame=shuffled, registry=reg, params=fast, make_current=False)
    return reg, champion, challenger


def test_promote_refuses_a_challenger_trained_on_shuffled_labels(champion_and_challenger, small_frame):
    reg, champion, challenger = champion_and_challenger
    decision = promote(reg, challenger, frame=small_frame)
    assert not decision.promoted and decision.message.startswith("refused")
    assert decision.challenger["category_macro_f1"] < decision.champion["category_macro_f1"] - 0.1
    assert reg.current() == champion


def test_report_diffs_against_a_given_version(champion_and_challenger, small_frame, tmp_path):
    reg, champion, challenger = champion_and_challenger
    page = write_report(reg, challenger, output_dir=tmp_path, compare=champion, frame=small_frame).read_text()
    diff = page.split(f"Compared with {champion}", 1)[1].split("<h2>", 1)[0]
    assert "measured now on the same rows" in diff
    assert re.search(r"category_macro_f1</td>.*?worse</td>", diff, re.S)


def test_cli_promote_refuses_then_force_then_rollback(champion_and_challenger):
    reg, champion, challenger = champion_and_challenger
    root = str(reg.root)
    refused = outsort("--registry", root, "promote", challenger)
    assert refused.returncode == 1 and refused.stdout.startswith("refused") and reg.current() == champion
    forced = outsort("--registry", root, "promote", challenger, "--force")
    assert forced.returncode == 0 and "forced despite" in forced.stdout and reg.current() == challenger
    last = reg.history()[-1]
    assert (last["version"], last["action"], last["forced"]) == (challenger, "promote", True)
    listed = outsort("--registry", root, "models")
    assert f"* {challenger}" in listed.stdout and f"  {champion}" in listed.stdout
    rolled = outsort("--registry", root, "rollback")
    assert rolled.returncode == 0 and rolled.stdout.strip() == f"current version is now {champion}"
    assert reg.current() == champion
    assert [json.loads(line)["action"] for line in (reg.root / "history.jsonl").read_text().splitlines()] == \
        ["train", "promote", "rollback"]


def test_a_label_file_may_give_each_text_its_job_title(tmp_path):
    path = tmp_path / "titled_labels.csv"
    path.write_text("text,label,title\nprepare reports summarizing findings,kpo, Financial Analyst \n"
                    "file the forms,bpo_back_office,\n")
    frame = load_labeled_file(path)
    assert frame["title"].tolist() == ["Financial Analyst", ""]
    assert training_titles(frame).tolist() == ["Financial Analyst", ""]
