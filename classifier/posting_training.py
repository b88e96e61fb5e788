"""Learning from labeled real postings: duty parts for the task model, the duty finder, the title
model and the job head; and the leave-one-source-out measurement of the whole job answer."""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score, roc_auc_score
from sklearn.model_selection import GroupKFold

from classifier.duty_finder import DutyFinder
from classifier.job_head import JobHead
from classifier.jobs import DUTY_THRESHOLD, candidate_parts, label_mix_columns, read_postings, weighted_mix
from classifier.parts import cut_parts
from classifier.titles import TitleModel
from datasets.loaders import load_jobs
from datasets.postings import SHARE_COLUMNS, label_by_overlap, labeled_postings, load_part_labels
from datasets.postings import read_postings as read_shared
from datasets.schema import CATEGORIES, LABELS
from datasets.titles import load_onet_titles, occupation_mixes


@dataclass
class PostingData:
    """Labeled postings and their labeled parts, joined with the shared text."""
    postings: pd.DataFrame  # posting_id, source, title, description, company, label, share_*, confidence
    parts: pd.DataFrame  # posting_id, start, end, kind, label, automation_level, text, source
    descriptions: dict[str, str]  # posting or written job id -> its text, for cutting into parts


def load_posting_data() -> PostingData:
    """Postings (shared text + our labels) and our written job descriptions' labeled parts."""
    shared = read_shared()
    postings = labeled_postings(shared)
    written = load_jobs().rename(columns={"job_id": "posting_id"})
    written["source"], written["company"] = "written", "outsort"
    texts = pd.concat([shared[["posting_id", "description", "source"]] if shared is not None else None,
                       written[["posting_id", "description", "source"]]], ignore_index=True)
    parts = load_part_labels()
    parts = parts[parts["reader"].eq("a")].merge(texts, on="posting_id", how="inner")
    parts["text"] = [d[s:e] for d, s, e in zip(parts["description"], parts["start"], parts["end"])]
    return PostingData(postings.reset_index(drop=True), parts.drop(columns="description").reset_index(drop=True),
                       dict(zip(texts["posting_id"], texts["description"])))


def _finder_examples(parts: pd.DataFrame, descriptions: dict[str, str]):
    """Per posting with labeled parts: its parts as the cutter cuts them now, and their kinds (each
    part takes the kind of the labeled part it overlaps most; a posting with a part no label
    covers is left out rather than half-used)."""
    postings, kinds = [], []
    for posting_id, labels in parts.groupby("posting_id", sort=True):
        cut = cut_parts(descriptions[posting_id])
        match = label_by_overlap([(p.start, p.end) for p in cut], labels)
        if not cut or any(m is None for m in match):
            continue
        postings.append([p.text for p in cut])
        kinds.append([labels["kind"].iloc[m] for m in match])
    return postings, kinds


def fit_duty_finder(parts: pd.DataFrame, descriptions: dict[str, str], **params) -> DutyFinder:
    postings, kinds = _finder_examples(parts, descriptions)
    return DutyFinder(**params).fit(postings, kinds)


_TITLE_MODELS: dict[str, TitleModel] = {}


def fit_title_model(**params) -> TitleModel | None:
    """The title model from O*NET titles and our labels of their occupations' tasks.

    Fitted once per process for the same titles, labels and parameters: retraining the task
    model (cross-validation, promotion checks) does not change what titles say.
    """
    titles, mixes = load_onet_titles(), occupation_mixes()
    if titles is None or mixes is None or mixes.empty:
        return None
    key = hashlib.sha256(pd.util.hash_pandas_object(titles).to_numpy().tobytes()
                         + pd.util.hash_pandas_object(mixes).to_numpy().tobytes()
                         + repr(sorted(params.items())).encode()).hexdigest()
    if key not in _TITLE_MODELS:
        _TITLE_MODELS[key] = _fit_title_model(titles, mixes, **params)
    return _TITLE_MODELS[key]


def _fit_title_model(titles: pd.DataFrame, mixes: pd.DataFrame, **params) -> TitleModel:
    mixes = mixes.set_index("code")
    titles = titles[titles["code"].isin(mixes.index)]
    rows = mixes.loc[titles["code"]]
    share = rows[[f"share_{label}" for label in LABELS]].to_numpy()
    automation = rows["automation"].fillna(rows["automation"].mean()).to_numpy()
    return TitleModel(**params).fit(titles["title"], share, automation, titles["code"], mixes["occupation"].to_dict())


def job_evidence(model, postings: pd.DataFrame):
    """Duty mix, title mix and duty weight of each posting under ``model``."""
    jobs = [{"title": t, "description": d} for t, d in zip(postings["title"], postings["description"])]
    read = read_postings(model, jobs)
    chosen = [candidate_parts(p.duty_p) for p in read]
    flat = [p.texts[i] for p, idx in zip(read, chosen) for i in idx]
    flat_titles = [p.title for p, idx in zip(read, chosen) for _ in idx]
    mixes = label_mix_columns(model.predict_columns(flat, flat_titles)) if flat else np.zeros((0, len(LABELS)))
    rows, start = [], 0
    for posting, idx in zip(read, chosen):
        rows.append(weighted_mix(posting.duty_p[idx], mixes[start:start + len(idx)]))
        start += len(idx)
    title_mix = model.title_model_.predict_proba(list(postings["title"]))
    return np.array([m for m, _ in rows]).reshape(-1, len(LABELS)), title_mix, np.array([w for _, w in rows])


def fit_job_head(model, postings: pd.DataFrame, **params) -> JobHead:
    duty_mix, title_mix, weight = job_evidence(model, postings)
    return JobHead(**params).fit(duty_mix, title_mix, weight, postings["label"],
                                 postings[list(SHARE_COLUMNS)].to_numpy(float))


def attach_job_reading(model, data: PostingData, title_model: TitleModel | None = None):
    """Fit the duty finder, title model and job head onto a fitted task model; return it.

    The job head learns on postings whose parts were not labeled: the task model and the duty
    finder never saw their text, so the evidence it learns from looks like a new posting's.
    """
    model.duty_finder_ = fit_duty_finder(data.parts, data.descriptions)
    model.title_model_ = title_model if title_model is not None else fit_title_model()
    unseen = data.postings[~data.postings["posting_id"].isin(data.parts["posting_id"])]
    if model.title_model_ is not None and len(unseen) >= 20 and unseen["label"].nunique() >= 2:
        model.job_head_ = fit_job_head(model, unseen)
    return model


# ------------------------------------------------------------------ measuring
def job_metrics(truth: pd.DataFrame, predicted_label, predicted_shares) -> dict:
    """Job macro-F1 over the three categories, accuracy, on-site AUROC and share MAE."""
    y = truth["label"].to_numpy()
    pred = np.asarray(predicted_label)
    shares = np.asarray(predicted_shares, float)
    onsite = y == "not_outsourceable"
    out = {"n": int(len(y)),
           "job_macro_f1": float(f1_score(y, pred, labels=list(CATEGORIES), average="macro", zero_division=0)),
           "four_label_macro_f1": float(f1_score(y, pred, labels=list(LABELS), average="macro", zero_division=0)),
           "accuracy": float(accuracy_score(y, pred)),
           "onsite_auroc": float(roc_auc_score(onsite, shares[:, LABELS.index("not_outsourceable")]))
           if 0 < onsite.sum() < len(y) else None,
           "share_mae": float(np.abs(shares - truth[list(SHARE_COLUMNS)].to_numpy(float)).mean())}
    return out


def duty_metrics(finder: DutyFinder, parts: pd.DataFrame, descriptions: dict[str, str]) -> dict:
    postings, kinds = _finder_examples(parts, descriptions)
    if not postings:
        return {}
    p = np.concatenate(finder.duty_probability(postings))
    y = np.array([k == "duty" for ks in kinds for k in ks])
    guess = p >= DUTY_THRESHOLD
    return {"parts": int(len(y)), "duty_precision": float(precision_score(y, guess, zero_division=0)),
            "duty_recall": float(recall_score(y, guess, zero_division=0)),
            "duty_f1": float(f1_score(y, guess, zero_division=0))}


def _predict_held_out(model, postings: pd.DataFrame):
    duty_mix, title_mix, weight = job_evidence(model, postings)
    head = getattr(model, "job_head_", None)
    if head is None:
        return np.array(LABELS, dtype=object)[duty_mix.argmax(axis=1)], duty_mix
    shares, _ = head.shares(duty_mix, title_mix, weight)
    labels = np.array(LABELS, dtype=object)[head.predict_proba(duty_mix, title_mix, weight).argmax(axis=1)]
    return labels, shares


def evaluate_postings(fit_task_model: Callable, task_frame: pd.DataFrame, by: str = "source", folds: int = 5,
                      progress: Callable[[str], None] | None = None) -> dict:
    """Held-out figures of the whole job answer.

    Parameters
    ----------
    fit_task_model : callable
        ``fit_task_model(frame) -> TaskModel``: fits a task model on a training frame.
    task_frame : DataFrame
        Every task row (O*NET, corpus, the postings' labeled duties); the duties of held-out
        postings are dropped from it in each fold.
    by : {"source", "company"}
        ``source``: train on all sources but one and test on it, for each source. ``company``:
        grouped k-fold with no company on both sides.

    Returns
    -------
    dict with ``overall`` and per-group figures (job and duty finding).
    """
    data = load_posting_data()
    descriptions = data.descriptions
    title_model = fit_title_model()
    postings = data.postings
    if by == "source":
        splits = [(s, postings["source"].ne(s).to_numpy()) for s in sorted(postings["source"].unique())]
    else:
        groups = postings["company"].where(postings["company"].str.strip().ne(""), postings["posting_id"])
        kfold = GroupKFold(n_splits=folds, shuffle=True, random_state=0)
        splits = []
        for k, (train, _) in enumerate(kfold.split(postings, groups=groups), start=1):
            mask = np.zeros(len(postings), dtype=bool)
            mask[train] = True
            splits.append((f"fold {k}", mask))
    labels = np.empty(len(postings), dtype=object)
    shares = np.zeros((len(postings), len(LABELS)))
    result, duty_parts = {}, []
    for name, train_mask in splits:
        train_ids = set(postings.loc[train_mask, "posting_id"])
        train_parts = data.parts[data.parts["posting_id"].isin(train_ids) | data.parts["source"].eq("written")]
        test_parts = data.parts[data.parts["posting_id"].isin(set(postings.loc[~train_mask, "posting_id"]))]
        held_out = "posting:" + postings.loc[~train_mask, "posting_id"]
        model = fit_task_model(task_frame[~task_frame["group"].isin(set(held_out))].reset_index(drop=True))
        fold = PostingData(postings[train_mask].reset_index(drop=True), train_parts, descriptions)
        attach_job_reading(model, fold, title_model)
        test = postings[~train_mask]
        fold_labels, fold_shares = _predict_held_out(model, test)
        labels[~train_mask], shares[~train_mask] = fold_labels, fold_shares
        entry = job_metrics(test, fold_labels, fold_shares)
        entry.update(duty_metrics(model.duty_finder_, test_parts, descriptions))
        result[name] = entry
        duty_parts.append((model.duty_finder_, test_parts))
        if progress:
            progress(f"{by} {name}: job macro-F1 {entry['job_macro_f1']:.3f}")
    overall = job_metrics(postings, labels, shares)
    pooled = [duty_metrics(f, p, descriptions) for f, p in duty_parts]
    n = sum(d.get("parts", 0) for d in pooled)
    if n:
        overall.update({key: sum(d[key] * d["parts"] for d in pooled if d) / n
                        for key in ("duty_precision", "duty_recall", "duty_f1")})
        overall["parts"] = n
    by_source = {}
    for source, index in postings.groupby("source").indices.items():
        by_source[source] = job_metrics(postings.iloc[index], labels[index], shares[index])
    return {"by": by, "overall": overall, "folds": result, "by_source": by_source,
            "title_only": title_only_metrics(title_model, postings)}


def title_only_metrics(title_model: TitleModel, postings: pd.DataFrame) -> dict:
    """The postings' job label from the title alone, against a baseline: the majority label of the
    tasks of the O*NET occupation whose title is nearest (an exact title where there is one)."""
    mixes = occupation_mixes().set_index("code")[[f"share_{label}" for label in LABELS]]
    titles = list(postings["title"])
    proba = title_model.predict_proba(titles)
    model_labels = np.array(LABELS, dtype=object)[proba.argmax(axis=1)]
    baseline = []
    for title in titles:
        nearest = title_model.nearest(title)
        code = nearest[0]["onet_soc_code"] if nearest else None
        baseline.append(LABELS[int(np.argmax(mixes.loc[code].to_numpy()))] if code in mixes.index else "kpo")
    return {"model": job_metrics(postings, model_labels, proba),
            "nearest_onet_title_majority": job_metrics(postings, np.array(baseline, dtype=object),
                                                       np.eye(len(LABELS))[[LABELS.index(b) for b in baseline]])}


def reader_agreement() -> dict:
    """How far two independent readers agreed: kappa and raw agreement on the job label, mean
    absolute difference of the shares, and kappa on the kind of parts both read."""
    from sklearn.metrics import cohen_kappa_score

    from datasets.postings import load_readings
    readings = load_readings()
    a = readings[readings["reader"].eq("a")].set_index("posting_id")
    b = readings[readings["reader"].eq("b")].set_index("posting_id")
    both = a.index.intersection(b.index)
    out = {"postings_read_twice": int(len(both))}
    if len(both):
        out["label_kappa"] = float(cohen_kappa_score(a.loc[both, "label"], b.loc[both, "label"]))
        out["label_agreement"] = float((a.loc[both, "label"] == b.loc[both, "label"]).mean())
        out["share_mean_abs_difference"] = float(
            (a.loc[both, list(SHARE_COLUMNS)] - b.loc[both, list(SHARE_COLUMNS)]).abs().to_numpy().mean())
        out["settled_by_third_reader"] = int(readings["reader"].eq("c").sum())
    parts = load_part_labels()
    pa = parts[parts["reader"].eq("a")].set_index(["posting_id", "start", "end"])
    pb = parts[parts["reader"].eq("b")].set_index(["posting_id", "start", "end"])
    common = pa.index.intersection(pb.index)
    if len(common):
        ka, kb = pa.loc[common, "kind"], pb.loc[common, "kind"]
        out["parts_read_twice"] = int(len(common))
        out["part_kind_kappa"] = float(cohen_kappa_score(ka, kb))
        duty = (ka == "duty") & (kb == "duty")
        out["duty_agreement_f1"] = float(f1_score(ka == "duty", kb == "duty"))
        if duty.any():
            out["duty_label_kappa"] = float(cohen_kappa_score(pa.loc[common, "label"][duty], pb.loc[common, "label"][duty]))
    return out
