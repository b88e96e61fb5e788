"""Corrections sent to the real service, read back for training: dedup, overrides, ``--with-feedback``."""
from __future__ import annotations

import json
import sqlite3

import pytest

from classifier.posting_training import PostingData, load_posting_data
from classifier.registry import Registry
from datasets import feedback_store
from datasets.loaders import FRAME_COLUMNS, load_corpus
from scripts.cli import main
from service import create_app

API_KEY = "feedback-training-key"


@pytest.fixture
def database(tmp_path):
    return tmp_path / "feedback.sqlite3"


@pytest.fixture
def send(tmp_path, database, monkeypatch):
    """Post corrections to the service's ``/v1/feedback`` with an API key, into ``database``."""
    for name in ("OUTSORT_DATABASE", "OUTSORT_DATABASE_URL", "OUTSORT_API_KEYS", "OUTSORT_API_KEYS_FILE",
                 "OUTSORT_REGISTRY", "OUTSORT_REQUIRE_API_KEY_EVERYWHERE"):
        monkeypatch.delenv(name, raising=False)
    app = create_app({"TESTING": True, "REGISTRY": str(tmp_path / "registry"), "DATABASE": str(database),
                      "API_KEYS": (API_KEY,), "SECRET_KEY": "s" * 64, "RELOAD_INTERVAL": -1.0})
    client = app.test_client()

    def post(*corrections) -> None:
        for text, category, level in corrections:
            body = {"text": text, "category": category, **({"automation_level": level} if level is not None else {})}
            response = client.post("/v1/feedback", json=body, headers={"X-API-Key": API_KEY})
            assert response.status_code == 201, response.json
    return post


@pytest.mark.parametrize("corrections, expected", [
    # the latest correction of a text wins, whatever its case, punctuation or spacing
    ([("Answer customer calls", "kpo", None), ("answer customer calls!", "bpo_front_office", 1)],
     {"answer customer calls!": ("bpo_front_office", 0.25)}),
    # a later correction without a level keeps the latest level given for that text
    ([("Reconcile ledgers", "kpo", 3), ("  RECONCILE   ledgers ", "bpo_back_office", None)],
     {"RECONCILE   ledgers": ("bpo_back_office", 0.75)}),
    # different texts stay apart, accents and scripts included
    ([("Café billing", "kpo", None), ("cafe billing", "bpo_back_office", 2), ("顧客の電話に対応する", "bpo_front_office", 2)],
     {"Café billing": ("kpo", None), "cafe billing": ("bpo_back_office", 0.5),
      "顧客の電話に対応する": ("bpo_front_office", 0.5)}),
    ([("Perform surgery", "not_outsourceable", 0)] * 3, {"Perform surgery": ("not_outsourceable", 0.0)}),
])
def test_corrections_become_one_training_row_per_text(send, database, corrections, expected):
    send(*corrections)
    frame = feedback_store.load_feedback(database)
    assert list(frame.columns) == FRAME_COLUMNS
    got = {row.text: (row.label, None if row.automation != row.automation else row.automation)
           for row in frame.itertuples()}
    assert got == expected
    assert set(frame["source"]) == set(frame["style"]) == {"feedback"}
    assert frame["group"].str.startswith("feedback:").all() and frame["group"].is_unique


@pytest.mark.parametrize("level, expected_automation", [(None, "shipped"), (4, 1.0)])
def test_a_correction_overrides_every_shipped_row_of_its_text(send, database, level, expected_automation):
    corpus = load_corpus()
    shipped = corpus.iloc[0]
    other = next(label for label in ("kpo", "bpo_back_office") if label != shipped["label"])
    send((shipped["text"].upper() + " .", other, level), ("A text nobody shipped", "kpo", None))
    merged = feedback_store.merge_feedback(corpus, feedback_store.load_feedback(database))

    key = feedback_store.text_key(shipped["text"])
    same = merged[merged["text"].map(feedback_store.text_key) == key]
    assert same[["label", "source"]].values.tolist() == [[other, "feedback"]]
    automation = shipped["automation"] if expected_automation == "shipped" else expected_automation
    assert same["automation"].iloc[0] == automation
    kept = corpus[corpus["text"].map(feedback_store.text_key) != key]
    assert len(merged) == len(kept) + 2
    assert merged.iloc[:len(kept)].reset_index(drop=True).equals(kept.reset_index(drop=True))


def _insert_raw(database, category="kpo", level=None):
    """A row the service would refuse, written past it (another tool, an older label set)."""
    with sqlite3.connect(database) as db:
        db.execute("INSERT INTO feedback (created, text, category, automation_level, client) VALUES (?, ?, ?, ?, ?)",
                   ("2026-01-01T00:00:00+00:00", "Answer calls", category, level, "k"))
    return database


def _not_a_feedback_database(path):
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE other (x)")
    return path


@pytest.mark.parametrize("prepare, message", [
    (lambda tmp, db: tmp / "missing.sqlite3", "feedback database {db} not found"),
    (lambda tmp, db: _not_a_feedback_database(tmp / "other.sqlite3"), "{db} has no feedback table: not a feedback database"),
    (lambda tmp, db: _insert_raw(db, category="offshore"),
     "{db}: feedback row id 1, column 'category': unknown label 'offshore'; allowed: "
     "bpo_front_office, bpo_back_office, kpo, not_outsourceable"),
    (lambda tmp, db: _insert_raw(db, level=9), "{db}: feedback row id 1, column 'automation_level': must be 0-4, got 9"),
])
def test_unusable_feedback_is_one_clear_line_before_any_training(send, database, tmp_path, capsys, prepare, message):
    target = prepare(tmp_path, database)  # ``send`` made ``database`` as the service does
    code = main(["--registry", str(tmp_path / "models"), "train", "--with-feedback", str(target)])
    assert code == 2
    assert capsys.readouterr().err.strip() == "outsort: error: " + message.format(db=target)
    assert not (tmp_path / "models").exists() or Registry(tmp_path / "models").versions() == []


def test_with_feedback_and_no_database_configured_says_how_to_name_one(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("OUTSORT_DATABASE", raising=False)
    monkeypatch.delenv("OUTSORT_DATABASE_URL", raising=False)
    assert main(["--registry", str(tmp_path), "train", "--with-feedback"]) == 2
    assert "set OUTSORT_DATABASE_URL or OUTSORT_DATABASE" in capsys.readouterr().err


@pytest.fixture
def small_training_frame(monkeypatch):
    """The shipped corpus, 60 rows a label: ``outsort train`` then fits in seconds."""
    frame = load_corpus().groupby("label").sample(60, random_state=0).reset_index(drop=True)
    monkeypatch.setattr("classifier.training.load_training_frame", lambda extra_files=(): frame.copy())
    data = load_posting_data()  # the job reading from our written job descriptions alone
    written = PostingData(data.postings.iloc[:0], data.parts[data.parts["source"].eq("written")], data.descriptions)
    monkeypatch.setattr("classifier.training.load_posting_data", lambda: written)
    return frame


@pytest.mark.parametrize("how", ["argument", "OUTSORT_DATABASE_URL"])
def test_train_with_feedback_merges_the_services_corrections(send, database, small_training_frame, tmp_path,
                                                             monkeypatch, capsys, how):
    shipped = small_training_frame.iloc[0]
    send((shipped["text"], "kpo" if shipped["label"] != "kpo" else "bpo_front_office", None),
         ("Draft the quarterly board memo on pricing strategy", "kpo", 1))
    args = ["--registry", str(tmp_path / "models"), "train", "--with-feedback"]
    if how == "argument":
        args.append(str(database))
    else:
        monkeypatch.setenv("OUTSORT_DATABASE_URL", f"sqlite:///{database}")

    assert main(args) == 0
    version = capsys.readouterr().out.strip()
    manifest = json.loads((tmp_path / "models" / version / "manifest.json").read_text())
    assert manifest["data"]["feedback"] == {"database": str(database), "texts": 2, "replaced_rows": 1}
    assert manifest["data"]["rows"]["total"] == len(small_training_frame) + 1
    assert manifest["data"]["rows"]["by_source"]["feedback"] == 2
