"""Real job postings: the shared text, and our labels of whole postings and of their parts.

The postings' text stays in the shared reference file; what we ship are labels keyed by
``posting_id`` and, for parts, by character offsets into the description as :func:`read_postings`
returns it (the file's two-character ``\\n`` turned into a real line break).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from datasets.schema import LABELS, SchemaError, read_csv_rows

POSTINGS_DIR = Path(__file__).resolve().parent / "postings"
JOB_LABELS_FILE = POSTINGS_DIR / "jobs.csv"
READINGS_FILE = POSTINGS_DIR / "readings.csv"
PART_LABELS_FILE = POSTINGS_DIR / "parts.csv"

PART_KINDS = ("duty", "requirement", "company", "benefit", "legal", "application", "heading", "other")
SHARE_COLUMNS = tuple(f"share_{label}" for label in LABELS)
JOB_LABEL_COLUMNS = ("posting_id", "label", *SHARE_COLUMNS, "confidence")
READING_COLUMNS = ("posting_id", "reader", "label", *SHARE_COLUMNS, "confidence")
PART_LABEL_COLUMNS = ("posting_id", "start", "end", "kind", "label", "automation_level", "reader")
POSTING_COLUMNS = ("posting_id", "source", "title", "description", "company", "location")


def postings_path() -> Path | None:
    """Where the shared postings are: ``OUTSORT_POSTINGS``, else beside the O*NET files (the shared
    folder next to the checkout or the working directory, or the fetch cache)."""
    from datasets import loaders  # the one place that says where shared files live

    override = os.environ.get("OUTSORT_POSTINGS")
    if override:
        return Path(override)
    for tasks in loaders._default_onet_candidates():
        candidate = tasks.parent / "job_postings.tsv"
        if candidate.is_file():
            return candidate
    return None


def read_postings(path: Path | None = None) -> pd.DataFrame | None:
    """The shared postings with their descriptions' line breaks restored, or None when absent."""
    path = Path(path) if path else postings_path()
    if path is None or not path.is_file():
        return None
    frame = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    missing = [c for c in POSTING_COLUMNS if c not in frame.columns]
    if missing:
        raise SchemaError(f"{path}: missing columns {missing}")
    frame["description"] = frame["description"].str.replace("\\n", "\n", regex=False)
    return frame[list(POSTING_COLUMNS)]


def _read(path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    if not path.is_file():
        return pd.DataFrame(columns=list(columns))
    header, rows = read_csv_rows(path)
    missing = [c for c in columns if c not in header]
    if missing:
        raise SchemaError(f"{path}: row 1, column '{missing[0]}': missing column")
    return pd.DataFrame(rows, columns=header)[list(columns)]


def _shares(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    for column in SHARE_COLUMNS:
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    bad = frame[list(SHARE_COLUMNS)].isna().any(axis=1) | (frame[list(SHARE_COLUMNS)].sum(axis=1) - 1).abs().gt(1e-6)
    if bad.any():
        row = int(bad.to_numpy().nonzero()[0][0]) + 2
        raise SchemaError(f"{path}: row {row}, column 'share_*': shares must be numbers summing to 1")
    wrong = ~frame["label"].isin(LABELS)
    if wrong.any():
        row = int(wrong.to_numpy().nonzero()[0][0]) + 2
        raise SchemaError(f"{path}: row {row}, column 'label': unknown label {frame['label'].iloc[row - 2]!r}")
    return frame


def load_job_labels(path: Path = JOB_LABELS_FILE) -> pd.DataFrame:
    """The settled label of every labeled posting: job label, four shares (0-1), confidence."""
    return _shares(_read(path, JOB_LABEL_COLUMNS), path)


def load_readings(path: Path = READINGS_FILE) -> pd.DataFrame:
    """Each reader's own reading of each posting, before disagreements were settled."""
    return _shares(_read(path, READING_COLUMNS), path)


def load_part_labels(path: Path = PART_LABELS_FILE) -> pd.DataFrame:
    """Labeled parts: offsets, kind, and for duties their label and automation level."""
    frame = _read(path, PART_LABEL_COLUMNS)
    for column in ("start", "end"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    frame["automation_level"] = pd.to_numeric(frame["automation_level"], errors="coerce")
    faults = [
        (frame["start"].isna() | frame["end"].isna() | (frame["end"] <= frame["start"]), "start",
         "offsets must be whole numbers with start < end"),
        (~frame["kind"].isin(PART_KINDS), "kind", f"kind must be one of {', '.join(PART_KINDS)}"),
        (frame["kind"].eq("duty") & ~frame["label"].isin(LABELS), "label", "a duty needs a label"),
        (frame["kind"].eq("duty") & ~frame["automation_level"].between(0, 4), "automation_level",
         "a duty needs an automation level 0-4"),
    ]
    for mask, column, problem in faults:
        if mask.any():
            row = int(mask.to_numpy().nonzero()[0][0]) + 2
            raise SchemaError(f"{path}: row {row}, column '{column}': {problem}")
    frame[["start", "end"]] = frame[["start", "end"]].astype(int)
    return frame


def label_by_overlap(spans, labeled: pd.DataFrame) -> list[int | None]:
    """For each ``(start, end)`` span, the row position in ``labeled`` (one posting, one reader) of
    the labeled part it overlaps most, or None where it overlaps none.

    Labels keep the spans their reader saw; when the cutter later cuts a part in two, each piece
    takes the label of the part it came from, so relabeling is never needed for a finer cut.
    """
    starts = labeled["start"].to_numpy()
    ends = labeled["end"].to_numpy()
    order = np.argsort(starts)
    starts, ends = starts[order], ends[order]
    out = []
    for start, end in spans:
        first = max(int(np.searchsorted(ends, start, side="right")), 0)
        best, best_overlap = None, 0
        for k in range(first, len(starts)):
            if starts[k] >= end:
                break
            overlap = min(end, ends[k]) - max(start, starts[k])
            if overlap > best_overlap:
                best, best_overlap = int(order[k]), overlap
        out.append(best)
    return out


def labeled_postings(postings: pd.DataFrame | None = None) -> pd.DataFrame:
    """Postings joined with their settled labels; empty when the shared file is absent."""
    postings = read_postings() if postings is None else postings
    labels = load_job_labels()
    if postings is None or labels.empty:
        return pd.DataFrame(columns=list(POSTING_COLUMNS) + list(JOB_LABEL_COLUMNS[1:]))
    return postings.merge(labels, on="posting_id", how="inner")


__all__ = ["PART_KINDS", "SHARE_COLUMNS", "read_postings", "load_job_labels", "load_readings",
           "load_part_labels", "labeled_postings", "postings_path", "label_by_overlap"]
