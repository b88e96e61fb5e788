"""Our labels of real postings: schema, the two-readers rule, offsets that still fit the cutter,
and no posting text in the repository."""
from __future__ import annotations

import csv

import numpy as np
import pytest

from classifier.parts import cut_parts
from datasets.loaders import load_jobs
from datasets.postings import (
    PART_KINDS,
    PART_LABELS_FILE,
    label_by_overlap,
    SHARE_COLUMNS,
    load_job_labels,
    load_part_labels,
    load_readings,
    read_postings,
)
from datasets.schema import LABELS, SchemaError

MIN_LABELED_POSTINGS = 1_000
MIN_POSTINGS_WITH_PARTS = 300


@pytest.fixture(scope="module")
def shared_postings():
    postings = read_postings()
    if postings is None:
        pytest.skip("the shared postings file is not on this machine")
    return postings


def test_job_labels_follow_the_schema():
    labels = load_job_labels()
    assert len(labels) >= MIN_LABELED_POSTINGS
    assert labels["posting_id"].is_unique
    assert set(labels["label"]) <= set(LABELS)
    shares = labels[list(SHARE_COLUMNS)].to_numpy(float)
    np.testing.assert_allclose(shares.sum(axis=1), 1.0, atol=1e-6)
    assert np.allclose(shares * 20, np.rint(shares * 20), atol=1e-6)  # steps of 5%
    largest = shares.max(axis=1)
    own = shares[np.arange(len(labels)), [LABELS.index(label) for label in labels["label"]]]
    assert np.all(own >= largest - 1e-9)  # the job label is the largest share
    assert set(labels["confidence"]) <= {"high", "low"}


def test_every_settled_label_was_read_twice_and_disagreements_by_a_third():
    readings = load_readings()
    labels = load_job_labels().set_index("posting_id")
    by_reader = {r: set(readings.loc[readings["reader"].eq(r), "posting_id"]) for r in "abc"}
    assert set(labels.index) <= by_reader["a"] & by_reader["b"]
    a = readings[readings["reader"].eq("a")].set_index("posting_id")["label"]
    b = readings[readings["reader"].eq("b")].set_index("posting_id")["label"]
    disagree = {pid for pid in labels.index if a[pid] != b[pid]}
    assert disagree <= by_reader["c"]
    assert all(labels.loc[pid, "confidence"] == "low" for pid in disagree)


def test_part_labels_follow_the_schema():
    parts = load_part_labels()
    assert set(parts["kind"]) <= set(PART_KINDS)
    duties = parts[parts["kind"].eq("duty")]
    assert set(duties["label"]) <= set(LABELS)
    assert duties["automation_level"].between(0, 4).all()
    assert parts["posting_id"].nunique() >= MIN_POSTINGS_WITH_PARTS


def test_bad_part_label_is_refused_with_row_and_column(tmp_path):
    path = tmp_path / "parts.csv"
    path.write_text("posting_id,start,end,kind,label,automation_level,reader\nx-1,0,10,duty,,2,a\n")
    with pytest.raises(SchemaError, match=r"row 2, column 'label'"):
        load_part_labels(path)


def test_every_part_the_cutter_makes_has_a_label(shared_postings):
    texts = dict(zip(shared_postings["posting_id"], shared_postings["description"]))
    jobs = load_jobs()
    texts.update(zip(jobs["job_id"], jobs["description"]))
    uncovered = []
    for (posting_id, reader), labels in load_part_labels().groupby(["posting_id", "reader"]):
        text = texts[posting_id]
        assert labels["end"].max() <= len(text)
        spans = sorted(zip(labels["start"], labels["end"]))
        assert all(a_end <= b_start for (_, a_end), (b_start, _) in zip(spans, spans[1:]))  # no overlaps
        cut = [(p.start, p.end) for p in cut_parts(text)]
        if any(m is None for m in label_by_overlap(cut, labels)):
            uncovered.append(posting_id)
    assert uncovered == []


def test_a_finer_cut_inherits_the_label_of_the_part_it_came_from():
    import pandas as pd
    labeled = pd.DataFrame({"start": [0, 30], "end": [25, 60], "kind": ["company", "duty"]})
    assert label_by_overlap([(0, 25), (30, 44), (46, 60), (61, 70)], labeled) == [0, 1, 1, None]
    assert label_by_overlap([(20, 50)], labeled) == [1]  # the larger overlap wins


def test_labels_name_only_postings_that_exist(shared_postings):
    known = set(shared_postings["posting_id"]) | set(load_jobs()["job_id"])
    assert set(load_job_labels()["posting_id"]) <= known
    assert set(load_part_labels()["posting_id"]) <= known


def test_no_posting_text_is_shipped():
    with open(PART_LABELS_FILE, newline="") as handle:
        header = next(csv.reader(handle))
    assert "text" not in header and "description" not in header
