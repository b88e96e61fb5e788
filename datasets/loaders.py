"""Load the labeled data we ship and join O*NET task text from the shared reference files."""
from __future__ import annotations

import hashlib
import os
import warnings
from pathlib import Path

import pandas as pd

from datasets.postings import load_part_labels, read_postings
from datasets.schema import (
    SchemaError,
    read_csv_rows,
    validate_corpus_rows,
    validate_job_rows,
    validate_onet_label_rows,
)

DATASETS_DIR = Path(__file__).resolve().parent
CORPUS_DIR = DATASETS_DIR / "corpus"
ONET_LABELS_DIR = DATASETS_DIR / "onet_labels"
JOBS_DIR = DATASETS_DIR / "jobs"
CACHE_DIR = Path(os.environ.get("OUTSORT_CACHE", Path.home() / ".cache" / "outsort"))

# Columns of the frame every loader returns, so sources concatenate without surprises.
# ``title`` is the job title the text belongs to ("" where none is known).
FRAME_COLUMNS = ["text", "label", "automation", "style", "domain", "group", "source", "occupation",
                 "task_id", "confidence", "exposure", "title"]
LEVEL_TO_SCORE = {0: 0.0, 1: 0.25, 2: 0.5, 3: 0.75, 4: 1.0}


class OnetMissingWarning(UserWarning):
    """The O*NET reference file was not found; training falls back to our own corpus."""


def _default_onet_candidates() -> list[Path]:
    return [
        DATASETS_DIR.parent.parent / "shared" / "data" / "onet_tasks.tsv",
        Path.cwd().parent / "shared" / "data" / "onet_tasks.tsv",
        CACHE_DIR / "onet_tasks.tsv",
    ]


def onet_tasks_path() -> Path | None:
    """Where the O*NET task file is: ``OUTSORT_ONET_TASKS``, else ../shared, else the fetch cache."""
    override = os.environ.get("OUTSORT_ONET_TASKS")
    if override:
        return Path(override)
    for candidate in _default_onet_candidates():
        if candidate.is_file():
            return candidate
    return None


def onet_occupations_path() -> Path | None:
    """The occupation-level exposure file that sits beside the task file."""
    tasks = onet_tasks_path()
    if tasks is None:
        return None
    for name in ("onet_occupation_exposure.csv",):
        candidate = tasks.parent / name
        if candidate.is_file():
            return candidate
    return None


def _raise_on_faults(faults) -> None:
    if faults:
        shown = "\n".join(str(f) for f in faults[:20])
        more = f"\n... and {len(faults) - 20} more" if len(faults) > 20 else ""
        raise SchemaError(shown + more)


def load_labeled_file(path: Path, strict: bool = False, source: str | None = None) -> pd.DataFrame:
    """Load one labeled CSV (our schema) after validating it.

    Parameters
    ----------
    path : Path
        CSV with at least ``text`` and ``label``; ``automation_level``, ``style``, ``domain`` and
        ``group`` are optional for files users add.
    strict : bool
        Require every column (the rule for shipped corpus files).
    source : str, optional
        Name recorded in the ``source`` column; defaults to the file name.

    Raises
    ------
    SchemaError
        With the file, row and column of every fault.
    """
    path = Path(path)
    header, rows = read_csv_rows(path)
    _raise_on_faults(validate_corpus_rows(str(path), header, rows, strict=strict))
    frame = pd.DataFrame(rows, columns=header)
    source = source or path.stem
    level = pd.to_numeric(frame.get("automation_level"), errors="coerce") if "automation_level" in frame else None
    out = pd.DataFrame({
        "text": frame["text"].str.strip(),
        "label": frame["label"].str.strip(),
        "automation": level.map(LEVEL_TO_SCORE) if level is not None else float("nan"),
        "style": frame["style"] if "style" in frame else "other",
        "domain": frame["domain"] if "domain" in frame else "general",
        "group": (source + ":" + frame["group"]) if "group" in frame
        else [f"{source}:{i}" for i in range(len(frame))],
        "source": source,
        "occupation": "",
        "task_id": "",
        "confidence": "high",
        "exposure": None,
        "title": frame["title"].fillna("").astype(str).str.strip() if "title" in frame else "",
    })
    return out[FRAME_COLUMNS]


def load_corpus(directory: Path = CORPUS_DIR) -> pd.DataFrame:
    """Every shipped corpus file, validated strictly, as one frame."""
    files = sorted(Path(directory).glob("*.csv"))
    frames = [load_labeled_file(f, strict=True, source=f"corpus/{f.stem}") for f in files]
    if not frames:
        return pd.DataFrame(columns=FRAME_COLUMNS)
    return pd.concat(frames, ignore_index=True)


def read_onet_tasks(path: Path | None = None) -> pd.DataFrame | None:
    """The shared O*NET task file, or None (with a warning) when it is not on this machine."""
    path = Path(path) if path else onet_tasks_path()
    if path is None or not path.is_file():
        warnings.warn(
            "O*NET task file not found (set OUTSORT_ONET_TASKS or run 'outsort data fetch'); "
            "using the shipped corpus only", OnetMissingWarning, stacklevel=2)
        return None
    frame = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    needed = {"onet_soc_code", "task_id", "task", "gpt4_automation"}
    if not needed <= set(frame.columns):
        raise SchemaError(f"{path}: missing columns {sorted(needed - set(frame.columns))}")
    return frame


def load_onet_labels(directory: Path = ONET_LABELS_DIR) -> pd.DataFrame:
    """Our O*NET labels (task_id, label, confidence), validated."""
    frames = []
    for path in sorted(Path(directory).glob("*.csv")):
        header, rows = read_csv_rows(path)
        _raise_on_faults(validate_onet_label_rows(str(path), header, rows))
        frames.append(pd.DataFrame(rows, columns=list(header))[["task_id", "label", "confidence"]])
    if not frames:
        return pd.DataFrame(columns=["task_id", "label", "confidence"])
    labels = pd.concat(frames, ignore_index=True)
    return labels.drop_duplicates("task_id", keep="last")


def onet_frame(tasks: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    """Every O*NET task with its published automation level and, where we labeled it, our label."""
    merged = tasks.merge(labels, on="task_id", how="left")
    level = merged["gpt4_automation"].str.extract(r"T(\d)")[0].astype(float)
    out = pd.DataFrame({
        "text": merged["task"].str.strip(),
        "label": merged["label"],
        "automation": level / 4.0,
        "style": "onet",
        "domain": "onet-" + merged["onet_soc_code"].str[:2],
        "group": "onet:" + merged["onet_soc_code"],
        "source": "onet",
        "occupation": merged["onet_soc_code"],
        "task_id": merged["task_id"],
        "confidence": merged["confidence"].fillna(""),
        "exposure": merged["human_exposure"] if "human_exposure" in merged else None,
        "title": merged["occupation"].str.strip() if "occupation" in merged else "",
    })
    return out[FRAME_COLUMNS]


def load_training_frame(extra_files: list[Path] | tuple = (), onet_path: Path | None = None,
                        include_onet: bool = True, include_postings: bool = True) -> pd.DataFrame:
    """Everything training uses: our corpus, O*NET tasks and the labeled duties of real postings
    (when the shared files are present) and extra label files.

    Rows without a ``label`` (unlabeled O*NET tasks) still teach the automation head.
    """
    frames = [load_corpus()]
    if include_onet:
        tasks = read_onet_tasks(onet_path)
        if tasks is not None:
            frames.append(onet_frame(tasks, load_onet_labels()))
    duties = load_posting_duties() if include_postings else None
    if duties is not None and len(duties):  # an empty frame would turn the numeric columns to objects
        frames.append(duties)
    frames += [load_labeled_file(Path(f)) for f in extra_files]
    frame = pd.concat(frames, ignore_index=True)
    frame["label"] = frame["label"].where(frame["label"].notna(), None)
    return frame


def load_posting_duties(postings: pd.DataFrame | None = None) -> pd.DataFrame:
    """The labeled duties of real postings as task rows (``source`` ``postings/<source>``, grouped
    by posting), their text taken from the shared postings; empty when that file is absent."""
    postings = read_postings() if postings is None else postings
    parts = load_part_labels()
    duties = parts[parts["kind"].eq("duty") & parts["reader"].eq("a")]
    if postings is None or duties.empty:
        return pd.DataFrame(columns=FRAME_COLUMNS)
    duties = duties.merge(postings[["posting_id", "source", "title", "description"]], on="posting_id", how="inner")
    text = [d[s:e].strip() for d, s, e in zip(duties["description"], duties["start"], duties["end"])]
    return pd.DataFrame({
        "text": text, "label": duties["label"].to_numpy(),
        "automation": duties["automation_level"].map(LEVEL_TO_SCORE).to_numpy(), "style": "posting",
        "domain": "general", "group": ("posting:" + duties["posting_id"]).to_numpy(),
        "source": ("postings/" + duties["source"]).to_numpy(), "occupation": "", "task_id": "",
        # One reader per part: like an O*NET label only one reader gave, it counts half.
        "confidence": "low", "exposure": None, "title": duties["title"].fillna("").str.strip().to_numpy(),
    })[FRAME_COLUMNS]


def load_occupations(path: Path | None = None) -> pd.DataFrame | None:
    """Occupation-level exposure ratings, or None when the file is not on this machine."""
    path = Path(path) if path else onet_occupations_path()
    if path is None or not path.is_file():
        return None
    return pd.read_csv(path)


def load_jobs(directory: Path = JOBS_DIR) -> pd.DataFrame:
    """Whole job descriptions we wrote, with the category most of their duties belong to."""
    frames = []
    for path in sorted(Path(directory).glob("*.csv")):
        header, rows = read_csv_rows(path)
        _raise_on_faults(validate_job_rows(str(path), header, rows))
        frames.append(pd.DataFrame(rows, columns=list(header)))
    if not frames:
        return pd.DataFrame(columns=["job_id", "title", "description", "domain", "expected_category"])
    return pd.concat(frames, ignore_index=True)


def fingerprint(frame: pd.DataFrame) -> str:
    """A sha256 over the rows training sees, in order, so two models can be traced to their data."""
    digest = hashlib.sha256()
    for text, label, automation in zip(frame["text"], frame["label"], frame["automation"]):
        digest.update(f"{text}\x1f{label}\x1f{automation}\x1e".encode())
    return digest.hexdigest()
