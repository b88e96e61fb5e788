"""Fit a model on everything we ship, measure it honestly, and store it in the registry."""
from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from classifier.evaluation import cross_validate, evaluate_predictions, frozen_test_mask
from classifier.model import TaskModel
from classifier.model_card import write_model_card
from classifier.posting_training import attach_job_reading, load_posting_data
from classifier.registry import Registry
from datasets import feedback_store
from datasets.loaders import fingerprint, load_labeled_file, load_occupations, load_training_frame
from datasets.schema import LABELS, SchemaError
from datasets.titles import training_titles

DEFAULT_PARAMS = {"features": "word+char+lead", "lead_weight": 1.2, "C": 3.0,
                  "automation_C": 3.0, "automation_ridge_alpha": 1.5, "automation_ridge_share": 0.3,
                  "outsourceable_weight": 0.1, "calibration_folds": 3, "low_confidence_weight": 0.5,
                  "title_weight": 1.0, "title_C": 4.0, "title_dropout": 0.5, "title_folds": 3, "random_state": 0}


def build_model(**overrides) -> TaskModel:
    """An unfitted TaskModel with the default parameters, any of them overridden."""
    return TaskModel(**{**DEFAULT_PARAMS, **overrides})


def _say(progress: Callable[[str], None] | None, message: str) -> None:
    if progress:
        progress(message)


def row_counts(frame: pd.DataFrame) -> dict:
    labeled = frame["label"].isin(LABELS)
    return {"total": int(len(frame)), "labeled": int(labeled.sum()),
            "with_automation": int(frame["automation"].notna().sum()),
            "by_source": {k: int(v) for k, v in frame["source"].value_counts().items()},
            "by_label": {k: int(v) for k, v in frame.loc[labeled, "label"].value_counts().items()}}


def check_trainable(frame: pd.DataFrame) -> None:
    """Refuse data a useful model cannot come from, before any time is spent fitting."""
    present = set(frame.loc[frame["label"].isin(LABELS), "label"])
    missing = [label for label in LABELS if label not in present]
    if missing:
        raise SchemaError(f"training data has no rows labeled {', '.join(missing)}")


def fit_frame(frame: pd.DataFrame, params: dict | None = None) -> TaskModel:
    """A model fitted on ``frame``, each row read with its training title."""
    return build_model(**(params or {})).fit(frame["text"], frame["label"], frame["automation"],
                                             frame["group"], frame["confidence"], titles=training_titles(frame))


def cross_validate_titled(make_model, frame: pd.DataFrame, folds: int, progress=None) -> dict:
    """Grouped CV figures read without titles (``cv``) and with each row's title (``cv_with_title``)."""
    occupations = load_occupations()
    plain, titled = cross_validate(make_model, frame, folds=folds, fit_titles=training_titles(frame),
                                   progress=progress)
    return {"cv": evaluate_predictions(frame, plain, frame["exposure"], occupations),
            "cv_with_title": evaluate_predictions(frame, titled, frame["exposure"], occupations, slices=False)}


def measure(model: TaskModel, frame: pd.DataFrame, occupations=None, slices: bool = True,
            with_titles: bool = False) -> dict:
    """Evaluate a fitted model on the rows of ``frame``, each read with its ``title`` when
    ``with_titles``."""
    titles = frame["title"].tolist() if with_titles and "title" in frame else None
    cols = model.predict_columns(frame["text"].tolist(), titles)
    return evaluate_predictions(frame.reset_index(drop=True), cols, frame["exposure"].reset_index(drop=True),
                                occupations, slices=slices)


def measure_frozen(model: TaskModel, frame: pd.DataFrame, occupations=None, slices: bool = True) -> dict:
    """The frozen test split of ``frame`` read without titles and with each row's own title (an
    O*NET task with its occupation's, a posting's duty with the posting's)."""
    test = frame[frozen_test_mask(frame["group"])]
    return {"frozen_test": measure(model, test, occupations, slices=slices),
            "frozen_test_with_title": measure(model, test, occupations, slices=False, with_titles=True)}


def train(extra_files=(), registry: Registry | None = None, cv: int = 0, params: dict | None = None,
          frame: pd.DataFrame | None = None, make_current: bool = True,
          progress: Callable[[str], None] | None = None, note: dict | None = None,
          feedback: str | None = None) -> tuple[str, dict]:
    """Train on the shipped data plus ``extra_files``; evaluate; save a new registry version.

    The model never sees the frozen test split, so its figures there are honest. With ``cv`` >= 2 the
    manifest also holds grouped cross-validation figures. A failure anywhere leaves the registry's
    current version untouched: the new version is written only at the very end.

    ``feedback`` names the service's feedback database (SQLite path or ``postgresql://`` URL):
    its corrections, one per text with the latest winning, replace every row of the same text
    (see :func:`datasets.feedback_store.merge_feedback`).

    Returns
    -------
    (version, manifest)
    """
    registry = registry or Registry()
    started = time.perf_counter()
    feedback_note = {}
    if feedback:  # read first: a bad database fails before any time is spent
        _say(progress, f"reading corrections from {feedback_store.display(feedback)}")
        corrections = feedback_store.load_feedback(feedback)
    postings = None
    if frame is None:
        _say(progress, "loading data")
        postings = load_posting_data()
        frame = load_training_frame(extra_files)
    if feedback:
        frame, feedback_note = _with_feedback(frame, corrections, feedback)
    check_trainable(frame)
    params = {**DEFAULT_PARAMS, **(params or {})}
    frozen = frozen_test_mask(frame["group"])
    train_part, test_part = frame[~frozen], frame[frozen]
    occupations = load_occupations()
    metrics = {}
    if cv and cv >= 2:
        _say(progress, f"grouped {cv}-fold cross-validation")
        metrics.update(cross_validate_titled(lambda: build_model(**params), train_part.reset_index(drop=True), cv,
                                             progress=lambda k, n: _say(progress, f"  fold {k}/{n} done")))
    _say(progress, f"fitting on {len(train_part)} rows ({int(train_part['label'].isin(LABELS).sum())} labeled)")
    model = fit_frame(train_part, params)
    if postings is not None:
        _say(progress, f"fitting the duty finder, title model and job head ({len(postings.postings)} labeled postings)")
        attach_job_reading(model, postings)
    _say(progress, f"measuring on the frozen test split ({len(test_part)} rows)")
    metrics.update(measure_frozen(model, frame, occupations, slices=False))
    manifest = {
        "labels": list(LABELS), "params": params,
        "data": {"fingerprint": fingerprint(frame), "rows": row_counts(frame),
                 "train_rows": int(len(train_part)), "frozen_test_rows": int(len(test_part)),
                 "extra_files": [str(f) for f in extra_files], **feedback_note},
        "thresholds": {"out_of_scope": model.out_of_scope_threshold_, "temperature": model.temperature_},
        "metrics": metrics, "training_seconds": round(time.perf_counter() - started, 1),
        **(note or {}),
    }
    version = registry.save(model, manifest, make_current=make_current)
    write_model_card(registry, version)
    _say(progress, f"saved version {version}" + (" (current)" if make_current else ""))
    return version, registry.manifest(version)


def _with_feedback(frame: pd.DataFrame, corrections: pd.DataFrame, database: str) -> tuple[pd.DataFrame, dict]:
    """``frame`` with the corrections merged in, and what the manifest records about them."""
    merged = feedback_store.merge_feedback(frame, corrections)
    replaced = len(frame) + len(corrections) - len(merged)
    return merged, {"feedback": {"database": feedback_store.display(database), "texts": int(len(corrections)),
                                 "replaced_rows": int(replaced)}}


def evaluate(data=None, model=None, cv: int = 0, progress=None, include_shipped: bool = True) -> dict:
    """Figures for ``outsort evaluate``.

    With ``cv`` >= 2: grouped cross-validation of a fresh default model on the shipped data plus
    ``data`` files. Otherwise: the fitted ``model`` measured on the ``data`` files, or, without
    them, on the frozen test split of the shipped data.
    """
    data = [Path(p) for p in (data or [])]
    occupations = load_occupations()
    if cv and cv >= 2:
        frame = (load_training_frame(data) if include_shipped
                 else pd.concat([load_labeled_file(p) for p in data], ignore_index=True))
        check_trainable(frame)
        return cross_validate_titled(build_model, frame, cv, progress=lambda k, n: _say(progress, f"fold {k}/{n} done"))
    if model is None:
        raise ValueError("evaluate needs a fitted model or cv >= 2")
    if data:
        frame = pd.concat([load_labeled_file(p) for p in data], ignore_index=True)
        return {"data": measure(model, frame, occupations)}
    return measure_frozen(model, load_training_frame(), occupations)


def evaluate_jobs(by: str = "both", progress=None) -> dict:
    """Figures for ``outsort evaluate --postings``: the whole job answer on held-out real postings
    (leave one source out and/or grouped by company), with the readers' agreement."""
    from classifier.posting_training import evaluate_postings, reader_agreement
    frame = load_training_frame()
    report = {"agreement": reader_agreement()}
    for split in (("source", "company") if by == "both" else (by,)):
        _say(progress, f"postings held out by {split}")
        report[split] = evaluate_postings(fit_frame, frame, by=split, progress=lambda m: _say(progress, m))
    return report


def stderr_progress(message: str) -> None:
    """Progress lines for a terminal; quiet when stderr is not one."""
    if sys.stderr.isatty():
        print(f"[outsort] {message}", file=sys.stderr, flush=True)


__all__ = ["DEFAULT_PARAMS", "build_model", "train", "evaluate", "measure", "fit_frame", "row_counts"]
