"""Metrics and grouped cross-validation: the figures that decide whether a model may serve."""
from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from sklearn.metrics import cohen_kappa_score, f1_score, roc_auc_score
from sklearn.model_selection import GroupKFold

from datasets.schema import CATEGORIES, LABELS

FROZEN_TEST_SHARE = 10  # one group in ten, chosen by a hash of the group id, never trains


def frozen_test_mask(groups: pd.Series) -> np.ndarray:
    """Rows whose group is in the frozen test split: stable as data grows, whole groups only."""
    def held_out(group: str) -> bool:
        return int(hashlib.sha1(str(group).encode()).hexdigest(), 16) % FROZEN_TEST_SHARE == 0
    return groups.map(held_out).to_numpy(dtype=bool)


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, bins: int = 10) -> float:
    """Mean gap between confidence and accuracy over equal-width confidence bins, weighted by size."""
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        in_bin = which == b
        if in_bin.any():
            total += in_bin.mean() * abs(confidence[in_bin].mean() - correct[in_bin].mean())
    return float(total)


def coverage_curve(confidence: np.ndarray, correct: np.ndarray,
                   coverages=(1.0, 0.9, 0.8, 0.7, 0.5)) -> dict[str, float]:
    """Accuracy on the most confident share of answers, the rest withheld."""
    order = np.argsort(-confidence)
    out = {}
    for cov in coverages:
        keep = order[: max(1, int(round(cov * len(order))))]
        out[f"{int(cov * 100)}%"] = float(correct[keep].mean()) if len(keep) else float("nan")
    return out


def _safe_auc(y_true, score) -> float | None:
    y_true = np.asarray(y_true)
    if len(np.unique(y_true)) < 2:
        return None
    return float(roc_auc_score(y_true, score))


def _round(value):
    if isinstance(value, dict):
        return {k: _round(v) for k, v in value.items()}
    if isinstance(value, (float, np.floating)):
        return None if np.isnan(value) else round(float(value), 4)
    return value


def category_metrics(frame: pd.DataFrame, cols: dict) -> dict:
    """Category, out-of-scope and calibration figures on the labeled rows of ``frame``."""
    labeled = frame["label"].isin(LABELS).to_numpy()
    if not labeled.any():
        return {}
    label = frame["label"].to_numpy()[labeled]
    in_scope = label != "not_outsourceable"
    category = np.asarray(cols["category"])[labeled]
    confidence = np.asarray(cols["confidence"])[labeled]
    final = np.where(np.asarray(cols["out_of_scope"])[labeled], "not_outsourceable", category)
    correct = category[in_scope] == label[in_scope]
    out = {
        "n": int(labeled.sum()),
        "category_macro_f1": f1_score(label[in_scope], category[in_scope], labels=list(CATEGORIES), average="macro")
        if in_scope.any() else float("nan"),
        "category_accuracy": correct.mean() if in_scope.any() else float("nan"),
        "per_class_f1": dict(zip(CATEGORIES, f1_score(label[in_scope], category[in_scope],
                                                      labels=list(CATEGORIES), average=None)))
        if in_scope.any() else {},
        "four_label_macro_f1": f1_score(label, final, labels=list(LABELS), average="macro"),
        "outsourceable_auroc": _safe_auc(in_scope, np.asarray(cols["outsourceable"])[labeled]),
        "ece": expected_calibration_error(confidence[in_scope], correct) if in_scope.any() else float("nan"),
        "accuracy_at_coverage": coverage_curve(confidence[in_scope], correct) if in_scope.any() else {},
    }
    return out


def automation_metrics(frame: pd.DataFrame, cols: dict, exposure: pd.Series | None = None) -> dict:
    """Rank agreement of the automation score with the reference levels."""
    has = frame["automation"].notna().to_numpy()
    if has.sum() < 3:
        return {}
    truth = frame["automation"].to_numpy()[has]
    score = np.asarray(cols["automation_score"])[has]
    out = {"n": int(has.sum()), "spearman": spearmanr(truth, score).statistic,
           "qwk": cohen_kappa_score(np.rint(truth * 4).astype(int), np.rint(score * 4).astype(int),
                                    weights="quadratic"),
           "mae_levels": float(np.abs(truth * 4 - score * 4).mean())}
    if exposure is not None:
        exposed = exposure.to_numpy()[has]
        known = pd.notna(exposed)
        if known.any():
            out["human_exposure_auroc"] = _safe_auc(exposed[known] != "E0", score[known])
    return out


def occupation_spearman(frame: pd.DataFrame, cols: dict, occupations: pd.DataFrame) -> float | None:
    """Spearman between an occupation's mean automation score and the human raters' beta."""
    onet = frame["source"].eq("onet").to_numpy()
    if not onet.any() or occupations is None:
        return None
    scores = pd.DataFrame({"occupation": frame["occupation"].to_numpy()[onet],
                           "score": np.asarray(cols["automation_score"])[onet]})
    mean = scores.groupby("occupation")["score"].mean()
    joined = occupations.set_index("O*NET-SOC Code")["human_rating_beta"].reindex(mean.index).dropna()
    if len(joined) < 3:
        return None
    return float(spearmanr(mean.loc[joined.index], joined).statistic)


def evaluate_predictions(frame: pd.DataFrame, cols: dict, exposure: pd.Series | None = None,
                         occupations: pd.DataFrame | None = None, slices: bool = True) -> dict:
    """Every figure for one set of predictions, overall, by source, and sliced by style and domain."""
    result = {}
    for name, mask in _sources(frame).items():
        sub = frame[mask]
        sub_cols = {k: np.asarray(v)[mask] for k, v in cols.items() if k != "_X"}
        entry = {"category": category_metrics(sub, sub_cols),
                 "automation": automation_metrics(sub, sub_cols, exposure[mask] if exposure is not None else None)}
        if name == "onet":
            entry["automation"]["occupation_spearman_human_beta"] = occupation_spearman(sub, sub_cols, occupations)
        result[name] = entry
    if slices:
        result["slices"] = {key: _slice_table(frame, cols, key) for key in ("style", "domain", "confidence")}
    return _round(result)


def _sources(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    source = frame["source"].astype(str)
    masks = {"all": np.ones(len(frame), dtype=bool),
             "onet": source.eq("onet").to_numpy(),
             "corpus": source.str.startswith("corpus/").to_numpy(),
             "postings": source.str.startswith("postings/").to_numpy()}
    other = ~(masks["onet"] | masks["corpus"] | masks["postings"])
    if other.any():
        masks["added"] = other
    return {k: v for k, v in masks.items() if v.any()}


def _slice_table(frame: pd.DataFrame, cols: dict, key: str) -> dict:
    """Category accuracy and macro-F1, and outsourceable AUROC, for each value of ``key``."""
    table = {}
    for value, index in frame.groupby(key).indices.items():
        labels = frame["label"].iloc[index].to_numpy()
        labeled = np.isin(labels, CATEGORIES)
        if labeled.sum() < 5 or value == "":  # too few to say anything, or no value at all
            continue
        truth = labels[labeled]
        guess = np.asarray(cols["category"])[index][labeled]
        in_four = np.isin(labels, LABELS)
        table[str(value)] = {
            "n": int(labeled.sum()), "accuracy": float((truth == guess).mean()),
            "macro_f1": float(f1_score(truth, guess, labels=list(CATEGORIES), average="macro")),
            "outsourceable_auroc": _safe_auc(labels[in_four] != "not_outsourceable",
                                             np.asarray(cols["outsourceable"])[index][in_four]),
        }
    return table


def cross_validate(make_model, frame: pd.DataFrame, folds: int = 5, random_state: int = 0,
                   progress=None, fit_titles=None) -> tuple[dict, dict]:
    """Out-of-fold predictions of grouped k-fold CV: no group (occupation, template) in two folds.

    A held-out group's titles leave the training fold with its texts, so the title reader can
    not remember the group's mix.

    Parameters
    ----------
    make_model : callable
        Returns a new unfitted TaskModel.
    progress : callable, optional
        Called with (fold, folds) after each fold.
    fit_titles : sequence of str, optional
        The title each row is trained with (see :func:`datasets.titles.training_titles`).

    Returns
    -------
    (plain, with_titles) : two dicts of column arrays like ``TaskModel.predict_columns``, in
    ``frame`` order: the held-out rows read without titles, and read with their ``title``.
    """
    n = len(frame)
    fit_titles = None if fit_titles is None else np.asarray(fit_titles, dtype=object)
    plain: dict[str, np.ndarray] = {}
    with_titles: dict[str, np.ndarray] = {}
    splitter = GroupKFold(n_splits=folds, shuffle=True, random_state=random_state)
    for k, (train, test) in enumerate(splitter.split(np.zeros(n), groups=frame["group"].to_numpy()), start=1):
        part = frame.iloc[train]
        model = make_model().fit(part["text"], part["label"], part["automation"], part["group"], part["confidence"],
                                 titles=None if fit_titles is None else fit_titles[train])
        texts = frame["text"].iloc[test].tolist()
        _fill(plain, model.predict_columns(texts), test, n)
        titles = frame["title"].iloc[test].tolist() if "title" in frame else None
        _fill(with_titles, model.predict_columns(texts, titles), test, n)
        if progress:
            progress(k, folds)
    return plain, with_titles


def _fill(oof: dict[str, np.ndarray], cols: dict, rows: np.ndarray, n: int) -> None:
    for key, values in cols.items():
        if key == "_X":
            continue
        if key not in oof:
            oof[key] = np.empty(n, dtype=np.asarray(values).dtype)
        oof[key][rows] = values
