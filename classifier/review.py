"""The review queue: unlabeled texts on which the model is least sure, for a person to label next.

The model makes two decisions about a text, and a label is worth most where either is close to
a coin toss:

- scope: is it outsourceable at all? For ``p = P(outsourceable)`` and the out-of-scope threshold
  ``t`` the doubt is ``p / t`` below the threshold and ``(1 - p) / (1 - t)`` above it: 1 on the
  threshold, falling linearly to 0 at whichever end (0 or 1) the model leans to. Each side is
  scaled on its own because the threshold is rarely 0.5, and a text at ``p = 1`` is settled
  whatever the threshold.
- category: which of the three categories? The doubt is ``(1 - c) / (1 - 1/3)`` for the category
  confidence ``c``: 1 when all three are equally likely, 0 when one has all the mass. It counts
  only when the text is in scope, because no category is answered for out-of-scope text.

A text's ``uncertainty`` is the larger of the two, and ``doubt`` names which one it was, so the
person labeling knows which question the model could not answer.
"""
from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from classifier.batch import InputError, detect_format, read_chunks
from datasets.checks import canonical
from datasets.loaders import load_training_frame
from datasets.schema import CATEGORIES, CORPUS_COLUMNS

MODEL_COLUMNS = ("model_label", "model_confidence", "model_outsourceable", "model_automation_level",
                 "uncertainty", "doubt")
REVIEW_COLUMNS = CORPUS_COLUMNS + MODEL_COLUMNS


def uncertainty(cols: dict, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-text uncertainty in [0, 1] and the decision it comes from (``scope`` or ``category``).

    Parameters
    ----------
    cols : dict
        Columns of ``TaskModel.predict_columns``.
    threshold : float
        The model's out-of-scope threshold on P(outsourceable).
    """
    outsourceable = np.asarray(cols["outsourceable"], dtype=float)
    scope = np.where(outsourceable >= threshold, (1.0 - outsourceable) / max(1.0 - threshold, 1e-12),
                     outsourceable / max(threshold, 1e-12))
    category = (1.0 - np.asarray(cols["confidence"], dtype=float)) / (1.0 - 1.0 / len(CATEGORIES))
    category = np.where(np.asarray(cols["out_of_scope"], dtype=bool), 0.0, category)
    score = np.clip(np.maximum(scope, category), 0.0, 1.0)
    return score, np.where(scope >= category, "scope", "category")


def _group_id(text: str) -> str:
    """A stable group id per distinct text, so each reviewed row is its own group in grouped CV."""
    return "review-" + hashlib.sha1(canonical(text).encode()).hexdigest()[:10]


def review_queue(model, texts: Iterable[str], limit: int = 50, exclude: Iterable[str] = ()) -> pd.DataFrame:
    """The ``limit`` texts the model is least sure about, least sure first, in the label schema.

    Parameters
    ----------
    model : TaskModel
    texts : iterable of str
        Unlabeled texts; repeats (same letters and digits, any case or punctuation) count once.
    limit : int
        Rows to return.
    exclude : iterable of str
        Texts that already have a label; they are left out.

    Returns
    -------
    DataFrame
        Columns :data:`REVIEW_COLUMNS`: ``label`` and ``automation_level`` empty for a person to
        fill, ``style`` and ``domain`` at their defaults, one ``group`` per text, then the model's
        answer, its confidence and the uncertainty that ranked the row.
    """
    if limit < 1:
        raise InputError(f"limit must be at least 1, got {limit}")
    known = {canonical(t) for t in exclude}
    unique = pd.Series(list(texts), dtype=object)
    keys = unique.map(canonical)
    unique = unique[~keys.duplicated() & ~keys.isin(known) & keys.ne("")].reset_index(drop=True)
    if unique.empty:
        return pd.DataFrame(columns=list(REVIEW_COLUMNS))
    cols = model.predict_columns(unique.tolist())
    score, doubt = uncertainty(cols, model.out_of_scope_threshold_)
    out_of_scope = np.asarray(cols["out_of_scope"], dtype=bool)
    queue = pd.DataFrame({
        "text": unique, "label": "", "automation_level": "", "style": "other", "domain": "general",
        "group": unique.map(_group_id),
        "model_label": np.where(out_of_scope, "not_outsourceable", cols["category"]),
        "model_confidence": np.round(cols["confidence"], 4),
        "model_outsourceable": np.round(cols["outsourceable"], 4),
        "model_automation_level": cols["automation_level"],
        "uncertainty": np.round(score, 4), "doubt": doubt,
    })
    order = np.argsort(-score, kind="stable")[:limit]
    return queue.iloc[order].reset_index(drop=True)[list(REVIEW_COLUMNS)]


def labeled_texts() -> pd.Series:
    """Texts the shipped data already labels: no use asking a person about them again."""
    frame = load_training_frame()
    return frame.loc[frame["label"].notna(), "text"]


def read_texts(path: str, text_column: str = "text", input_format: str | None = None) -> list[str]:
    """The texts of a CSV, JSON Lines, Parquet or plain-text file (one per line), or of stdin (``-``).

    Raises
    ------
    InputError
        When the column is missing or a row's text is empty (naming the row).
    """
    fmt = detect_format(path, input_format)
    column = "text" if fmt == "txt" else text_column
    texts: list[str] = []
    for chunk in read_chunks(path, fmt):
        if column not in chunk.columns:
            raise InputError(f"{path}: no column '{column}' (columns: {', '.join(map(str, chunk.columns))})")
        for offset, text in enumerate(chunk[column].astype(str).tolist()):
            if not text.strip():
                raise InputError(f"{path}: row {len(texts) + offset + 1}: column '{column}' is empty")
        texts += chunk[column].astype(str).tolist()
    if not texts:
        raise InputError(f"{path}: no texts to review")
    return texts


def write_queue(queue: pd.DataFrame, output: str) -> None:
    """Write the queue as CSV to a file (atomically) or to standard output (``-``)."""
    if output == "-":
        queue.to_csv(sys.stdout, index=False)
        return
    target = Path(output)
    fd, tmp = tempfile.mkstemp(dir=target.parent if str(target.parent) else ".", prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            queue.to_csv(handle, index=False)
        os.chmod(tmp, 0o644)  # mkstemp makes owner-only files; the queue is meant to be handed on
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


__all__ = ["review_queue", "uncertainty", "labeled_texts", "read_texts", "write_queue", "REVIEW_COLUMNS"]
