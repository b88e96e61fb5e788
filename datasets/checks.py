"""Checks that keep the labeled data honest: schema, duplicates, balance and coverage."""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer

from datasets.loaders import (
    CORPUS_DIR,
    JOBS_DIR,
    ONET_LABELS_DIR,
    load_corpus,
    load_jobs,
    load_labeled_file,
    load_onet_labels,
    read_onet_tasks,
)
from datasets.schema import LABELS, SchemaError

NEAR_DUPLICATE_COSINE = 0.9
MIN_LABEL_SHARE = 0.15
HEAVY_GROUPS = ("13", "15", "23", "41", "43")


def canonical(text: str) -> str:
    """Lower-case letters and digits only: what 'the same text' means for the duplicate check."""
    return re.sub(r"[^a-z0-9]+", " ", str(text).lower()).strip()


def exact_duplicates(texts: pd.Series) -> list[tuple[int, int]]:
    seen: dict[str, int] = {}
    pairs = []
    for i, text in enumerate(texts):
        key = canonical(text)
        if key in seen:
            pairs.append((seen[key], i))
        else:
            seen[key] = i
    return pairs


def near_duplicates(left: pd.Series, right: pd.Series | None = None,
                    threshold: float = NEAR_DUPLICATE_COSINE) -> list[tuple[int, int, float]]:
    """Pairs whose word and word-pair TF-IDF cosine is at least ``threshold``.

    With ``right`` the pairs run across the two collections; without it, within ``left``.
    """
    vectoriser = TfidfVectorizer(preprocessor=canonical, ngram_range=(1, 2), sublinear_tf=True)
    corpus = pd.concat([left, right]) if right is not None else left
    matrix = vectoriser.fit_transform(corpus)
    a = matrix[: len(left)]
    b = matrix[len(left):] if right is not None else a
    pairs = []
    block = 2000
    for start in range(0, a.shape[0], block):
        sims = (a[start:start + block] @ b.T).tocoo()
        for i, j, v in zip(sims.row, sims.col, sims.data):
            i += start
            if v >= threshold and (right is not None or i < j):
                pairs.append((int(i), int(j), float(v)))
    return pairs


def _table(counter: Counter, total: int) -> str:
    width = max((len(str(k)) for k in counter), default=5)
    return "\n".join(f"  {k!s:<{width}}  {v:>6}  {v / max(total, 1):6.1%}" for k, v in sorted(counter.items()))


def check_corpus(corpus: pd.DataFrame, problems: list[str], lines: list[str]) -> None:
    for i, j in exact_duplicates(corpus["text"]):
        problems.append(f"duplicate text in corpus: {corpus['group'][i]} and {corpus['group'][j]}: {corpus['text'][j][:60]!r}")
    for i, j, sim in near_duplicates(corpus["text"]):
        if corpus["group"][i] != corpus["group"][j]:
            problems.append(f"near-duplicates in different groups ({sim:.2f}): {corpus['group'][i]} "
                            f"{corpus['text'][i][:50]!r} ~ {corpus['group'][j]} {corpus['text'][j][:50]!r}")
    counts = Counter(corpus["label"])
    for label in LABELS:
        share = counts.get(label, 0) / max(len(corpus), 1)
        if share < MIN_LABEL_SHARE:
            problems.append(f"label {label} is {share:.1%} of the corpus, below {MIN_LABEL_SHARE:.0%}")
    lines += [f"corpus: {len(corpus)} rows in {corpus['group'].nunique()} groups", "by label:",
              _table(counts, len(corpus)), "by style:", _table(Counter(corpus["style"]), len(corpus)),
              "by domain:", _table(Counter(corpus["domain"]), len(corpus))]


def check_onet(corpus: pd.DataFrame, labels: pd.DataFrame, tasks: pd.DataFrame | None,
               problems: list[str], lines: list[str]) -> None:
    lines += [f"O*NET labels: {len(labels)}", _table(Counter(labels["label"]), len(labels)),
              "  confidence: " + ", ".join(f"{k} {v}" for k, v in Counter(labels["confidence"]).items())]
    if tasks is None:
        lines.append("O*NET task file not found: id, coverage and overlap checks skipped")
        return
    known = set(tasks["task_id"])
    unknown = sorted(set(labels["task_id"]) - known)
    if unknown:
        problems.append(f"{len(unknown)} labeled task ids are not in the O*NET file, e.g. {unknown[:5]}")
    joined = tasks[tasks["task_id"].isin(set(labels["task_id"]))]
    groups = Counter(joined["onet_soc_code"].str[:2])
    missing = sorted(set(tasks["onet_soc_code"].str[:2]) - set(groups))
    if missing:
        problems.append(f"SOC major groups without labels: {', '.join(missing)}")
    lines += ["O*NET labels by SOC major group:", _table(groups, len(joined))]
    overlap = {canonical(t) for t in tasks["task"]} & {canonical(t) for t in corpus["text"]}
    if overlap:
        problems.append(f"{len(overlap)} corpus texts repeat an O*NET task statement")
    for i, j, sim in near_duplicates(corpus["text"], tasks["task"]):
        problems.append(f"corpus row {corpus['group'][i]} is a near-copy ({sim:.2f}) of O*NET task {tasks['task_id'].iloc[j]}")


def run_checks(extra_files=()) -> tuple[bool, str]:
    """Validate the shipped data (and any extra label files); return (ok, printable report)."""
    problems: list[str] = []
    lines: list[str] = []
    try:
        corpus = load_corpus(CORPUS_DIR)
        labels = load_onet_labels(ONET_LABELS_DIR)
        jobs = load_jobs(JOBS_DIR)
        extra = [load_labeled_file(Path(f)) for f in extra_files]
    except SchemaError as exc:
        return False, f"FAILED schema check:\n{exc}"
    check_corpus(corpus, problems, lines)
    check_onet(corpus, labels, read_onet_tasks(), problems, lines)
    lines.append(f"job descriptions: {len(jobs)}")
    for frame in extra:
        lines.append(f"extra file {frame['source'].iloc[0] if len(frame) else '?'}: {len(frame)} rows, "
                     + ", ".join(f"{k} {v}" for k, v in Counter(frame["label"]).items()))
    status = "OK" if not problems else f"FAILED: {len(problems)} problem(s)"
    report = "\n".join(lines + [status] + [f"- {p}" for p in problems[:50]])
    return not problems, report


__all__ = ["run_checks", "near_duplicates", "exact_duplicates", "canonical"]
