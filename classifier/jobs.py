"""Whole job postings: cut into parts, weigh each part by how likely it is a duty, summarise the mix.

Each part's kind comes from the learned duty finder; every part weighs in the job's mix by its
probability of being a duty, so one misjudged blurb cannot swing a job. The job's label and shares
come from the job head, which combines the weighted duties with what the title says.
"""
from __future__ import annotations

import unicodedata
from dataclasses import asdict, dataclass

import numpy as np

from classifier.parts import cut_parts
from classifier.prediction import MixAnswer, Prediction, Term, automation_level
from datasets.schema import LABELS

DUTY_THRESHOLD = 0.5  # a part at or above it is listed among the tasks, the rest set aside
MIN_DUTY_WEIGHT = 0.05  # parts below it are not sent to the task model: they cannot move the mix


@dataclass
class Segment:
    """A part of a job description that is not taken as a duty, and what it was taken to be."""
    text: str
    kind: str
    duty_probability: float = 0.0


@dataclass
class JobTask:
    text: str
    prediction: Prediction
    duty_probability: float = 1.0

    def to_dict(self) -> dict:
        return {"text": self.text, "duty_probability": self.duty_probability, **self.prediction.to_dict()}


@dataclass
class JobPrediction(MixAnswer):
    """A whole job: its mix, its duties with their predictions, and the parts set aside."""
    n_tasks: int
    tasks: list[JobTask]
    left_out: list[Segment]
    title_weight: float = 0.0
    title_terms: list[Term] | None = None

    def to_dict(self) -> dict:
        data = {k: v for k, v in asdict(self).items() if k not in ("tasks", "left_out", "title_terms")}
        data["duty_weight"] = round(1.0 - self.title_weight, 4)
        data["tasks"] = [t.to_dict() for t in self.tasks]
        data["left_out"] = [asdict(s) for s in self.left_out]
        if self.title_terms is not None:
            data["title_terms"] = [asdict(t) for t in self.title_terms]
        return data


def label_mix_columns(cols: dict) -> np.ndarray:
    """:func:`label_mix` from ``TaskModel.predict_columns`` output."""
    out = np.asarray(cols["outsourceable"], float)
    return np.column_stack([out * cols["p_bpo_front_office"], out * cols["p_bpo_back_office"],
                            out * cols["p_kpo"], 1.0 - out])


def label_mix(predictions: list[Prediction]) -> np.ndarray:
    """Each prediction as a distribution over ``LABELS``: P(outsourceable) times the category's."""
    return np.array([[p.outsourceable * p.p_bpo_front_office, p.outsourceable * p.p_bpo_back_office,
                      p.outsourceable * p.p_kpo, 1.0 - p.outsourceable] for p in predictions]).reshape(-1, len(LABELS))


def _job_fields(job) -> tuple[str, str]:
    if isinstance(job, str):
        return "", job
    return str(job.get("title") or ""), str(job.get("description") or "")


@dataclass
class ReadPosting:
    """A posting cut into parts with each part's kind probabilities."""
    title: str
    texts: list[str]
    duty_p: np.ndarray
    kinds: list[str]


def read_postings(model, jobs) -> list[ReadPosting]:
    """Cut each job into parts and give every part its probability of being a duty."""
    fields = [_job_fields(job) for job in jobs]
    texts = [[unicodedata.normalize("NFKC", p.text) for p in cut_parts(description)]
             for _, description in fields]
    finder = getattr(model, "duty_finder_", None)
    if finder is None:  # a model without a duty finder treats every part as a duty
        probas = [np.ones(len(t)) for t in texts]
        kinds = [["duty"] * len(t) for t in texts]
    else:
        full = finder.predict_proba(texts)
        probas = [p[:, finder.duty_column_] for p in full]
        kinds = [[str(finder.classes_[k]) for k in p.argmax(axis=1)] if len(p) else [] for p in full]
    out = []
    for (title, description), parts, p, k in zip(fields, texts, probas, kinds):
        if not parts and description.strip():  # nothing to cut: the whole text is the one duty
            parts, p, k = [description.strip()], np.ones(1), ["duty"]
        out.append(ReadPosting(title, parts, np.asarray(p, dtype=float), k))
    return out


def candidate_parts(duty_p: np.ndarray) -> list[int]:
    """The parts worth classifying: those that may be duties, or the likeliest one when none may."""
    chosen = [i for i, w in enumerate(duty_p) if w >= MIN_DUTY_WEIGHT]
    return chosen or ([int(np.argmax(duty_p))] if len(duty_p) else [])


def weighted_mix(weights: np.ndarray, mixes: np.ndarray) -> tuple[np.ndarray, float]:
    """The parts' label mixes averaged by their duty probabilities, and the summed probability
    (an even mix when no weight is left)."""
    total = float(np.sum(weights))
    if total <= 0:
        return np.full(len(LABELS), 1.0 / len(LABELS)), 0.0
    return weights @ mixes / total, total


def predict_jobs(model, jobs, explain: bool = False) -> list[JobPrediction]:
    """Read every job, classify the likely duties of all jobs in one flat batch (each read with its
    job's title), then summarise."""
    postings = read_postings(model, list(jobs))
    chosen = [candidate_parts(p.duty_p) for p in postings]
    flat = [p.texts[i] for p, idx in zip(postings, chosen) for i in idx]
    flat_titles = [p.title for p, idx in zip(postings, chosen) for _ in idx]
    flat_predictions = model.predict(flat, explain=explain, titles=flat_titles) if flat else []
    predictions, start = [], 0
    for idx in chosen:
        predictions.append(flat_predictions[start:start + len(idx)])
        start += len(idx)
    head = getattr(model, "job_head_", None)
    titles = [p.title for p in postings]
    title_mix = model.title_model_.predict_proba(titles) if getattr(model, "title_model_", None) else None
    results = []
    for k, (posting, idx, preds) in enumerate(zip(postings, chosen, predictions)):
        duty_mix, duty_weight = weighted_mix(posting.duty_p[idx], label_mix(preds))
        if head is not None and title_mix is not None:
            shares, category, title_weight = head.combine(duty_mix, title_mix[k], duty_weight, bool(posting.title))
        else:
            shares, title_weight = duty_mix, 0.0
            category = LABELS[int(np.argmax(shares))]
        results.append(_summary(model, posting, idx, preds, shares, category, title_weight, explain))
    return results


def _rounded_shares(shares, places: int = 4) -> list[float]:
    """Shares rounded to ``places`` decimals that still add up to exactly 1 (largest remainder)."""
    scale = 10 ** places
    raw = np.asarray(shares, float) / max(float(np.sum(shares)), 1e-12) * scale
    units = np.floor(raw).astype(int)
    for k in np.argsort(-(raw - units))[: scale - int(units.sum())]:
        units[k] += 1
    return [round(int(u) / scale, places) for u in units]


def _summary(model, posting: ReadPosting, idx, preds, shares, category, title_weight, explain) -> JobPrediction:
    tasks, left_out = [], []
    by_index = dict(zip(idx, preds))
    listed = {i for i in by_index if posting.duty_p[i] >= DUTY_THRESHOLD}
    if not listed and by_index:  # no clear duty: list the likeliest rather than none
        listed = {max(by_index, key=lambda i: posting.duty_p[i])}
    weighted_score, total = 0.0, 0.0
    for i, text in enumerate(posting.texts):
        p = float(posting.duty_p[i])
        if i in by_index:
            weighted_score += p * by_index[i].automation_score
            total += p
        if i in listed:
            tasks.append(JobTask(text, by_index[i], round(p, 4)))
        else:
            kind = posting.kinds[i] if posting.kinds[i] != "duty" else "unlikely duty"
            left_out.append(Segment(text, kind, round(p, 4)))
    score = weighted_score / total if total > 0 else 0.0
    title_terms = None
    if explain and posting.title and getattr(model, "title_model_", None) is not None:
        title_terms = model.title_model_.explain(posting.title, category)
    rounded = dict(zip(LABELS, _rounded_shares(shares)))
    return JobPrediction(
        title=posting.title, category=category,
        share_bpo_front_office=rounded["bpo_front_office"], share_bpo_back_office=rounded["bpo_back_office"],
        share_kpo=rounded["kpo"], share_not_outsourceable=rounded["not_outsourceable"],
        automation_score=round(score, 4), automation_level=automation_level(score),
        n_tasks=len(tasks), tasks=tasks, left_out=left_out, title_weight=round(float(title_weight), 4),
        title_terms=title_terms,
    )


__all__ = ["JobPrediction", "JobTask", "Segment", "predict_jobs", "read_postings", "label_mix", "weighted_mix"]
