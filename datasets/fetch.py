"""Download the public O*NET task statements and the "GPTs are GPTs" ratings, and join them.

``outsort data fetch`` calls :func:`fetch`, which writes into the local cache the same two files
the shared reference folder holds, so a machine without it trains on the same data:

- ``onet_tasks.tsv``: one row per rated task (columns :data:`TASK_COLUMNS`);
- ``onet_occupation_exposure.csv``: the published occupation-level exposure shares.

Downloading and parsing are separate: the ``parse_*`` and :func:`join_tasks` functions read local
bytes, so tests exercise them without a network.
"""
from __future__ import annotations

import csv
import io
import os
import tempfile
from pathlib import Path
from urllib.error import URLError
from urllib.request import Request, urlopen

import pandas as pd

from datasets import loaders
from datasets.schema import SchemaError

# O*NET 27.2 is the release the "GPTs are GPTs" ratings were made on, so task ids and texts agree.
# O*NET database, CC BY 4.0, U.S. Department of Labor, Employment and Training Administration.
ONET_TASKS_URL = "https://www.onetcenter.org/dl_files/database/db_27_2_text/Task%20Statements.txt"
# Eloundou, Manning, Mishkin and Rock (2023), "GPTs are GPTs", data under the MIT licence.
GPTS_REPO_URL = "https://raw.githubusercontent.com/openai/GPTs-are-GPTs/main/data"
RATINGS_URL = f"{GPTS_REPO_URL}/full_labelset.tsv"
OCCUPATIONS_URL = f"{GPTS_REPO_URL}/occ_level.csv"

TASK_COLUMNS = ["onet_soc_code", "task_id", "task", "task_type", "occupation", "human_exposure",
                "gpt4_exposure", "gpt4_automation", "automation_score"]
OCCUPATION_COLUMNS = ["O*NET-SOC Code", "Title", "dv_rating_alpha", "dv_rating_beta", "dv_rating_gamma",
                      "human_rating_alpha", "human_rating_beta", "human_rating_gamma"]
# Source column -> our column. Sources name things their own way; only these are kept.
ONET_RENAME = {"O*NET-SOC Code": "onet_soc_code", "Task ID": "task_id", "Task": "task", "Task Type": "task_type"}
RATINGS_RENAME = {"O*NET-SOC Code": "onet_soc_code", "Task ID": "task_id", "Title": "occupation",
                  "human_exposure_agg": "human_exposure", "gpt4_exposure": "gpt4_exposure",
                  "gpt4_automation": "gpt4_automation"}
EXPOSURE_LEVELS = ("E0", "E1", "E2")
AUTOMATION_LEVELS = ("T0", "T1", "T2", "T3", "T4")
# A joined file far smaller than the ~19,000 rated tasks means a truncated or changed download.
MIN_JOINED_TASKS = 10_000
TIMEOUT_SECONDS = 60
USER_AGENT = "outsort-data-fetch/0.1"


class FetchError(OSError):
    """A source could not be downloaded; names the address and the reason."""

    def __init__(self, url: str, reason: str):
        super().__init__(None, f"cannot download ({reason}); check the connection or retry later", url)


def _read_table(data: bytes, name: str, sep: str, required: list[str], quoting: int = csv.QUOTE_MINIMAL
                ) -> pd.DataFrame:
    """Decode a downloaded table and check that the columns we use are there."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")  # older O*NET releases are not UTF-8 everywhere
    frame = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, quoting=quoting)
    frame.columns = [c.strip() for c in frame.columns]
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise SchemaError(f"{name}: missing columns {missing}; found {list(frame.columns)}")
    return frame


def _task_ids(frame: pd.DataFrame, name: str) -> pd.Series:
    """Task ids as digit strings; the ratings file writes them as floats ('8823.0')."""
    ids = frame["task_id"].str.strip().str.replace(r"\.0+$", "", regex=True)
    bad = ~ids.str.fullmatch(r"\d+")
    if bad.any():
        row = int(bad.idxmax()) + 2  # header is line 1
        raise SchemaError(f"{name}: row {row}, column 'Task ID': not a task id: {frame['task_id'][bad].iloc[0]!r}")
    return ids


def _check_values(frame: pd.DataFrame, column: str, allowed: tuple[str, ...], name: str) -> None:
    bad = ~frame[column].isin(allowed)
    if bad.any():
        row = int(bad.idxmax()) + 2
        raise SchemaError(f"{name}: row {row}, column '{column}': {frame[column][bad].iloc[0]!r} "
                          f"is not one of {', '.join(allowed)}")


def parse_onet_tasks(data: bytes, name: str = "Task Statements.txt") -> pd.DataFrame:
    """Parse O*NET's tab-separated task statements into onet_soc_code, task_id, task, task_type."""
    # O*NET's text files never quote: a statement may begin with a quotation mark.
    frame = _read_table(data, name, "\t", ["O*NET-SOC Code", "Task ID", "Task"], quoting=csv.QUOTE_NONE)
    frame = frame.rename(columns=ONET_RENAME)
    if "task_type" not in frame:
        frame["task_type"] = ""
    frame["task_id"] = _task_ids(frame, name)
    # O*NET writes 'n/a' where a task has no Core/Supplemental rating; the shared file leaves it empty.
    frame["task_type"] = frame["task_type"].str.strip().replace("n/a", "")
    frame["task"] = frame["task"].str.strip()
    return frame[["onet_soc_code", "task_id", "task", "task_type"]]


def parse_ratings(data: bytes, name: str = "full_labelset.tsv") -> pd.DataFrame:
    """Parse the "GPTs are GPTs" full label set into per-task exposure and automation ratings."""
    frame = _read_table(data, name, "\t", list(RATINGS_RENAME))
    frame = frame.rename(columns=RATINGS_RENAME)[list(RATINGS_RENAME.values())]
    frame["task_id"] = _task_ids(frame, name)
    for column, allowed in (("human_exposure", EXPOSURE_LEVELS), ("gpt4_exposure", EXPOSURE_LEVELS),
                            ("gpt4_automation", AUTOMATION_LEVELS)):
        frame[column] = frame[column].str.strip()
        _check_values(frame, column, allowed, name)
    return frame


def parse_occupations(data: bytes, name: str = "occ_level.csv") -> pd.DataFrame:
    """Parse the published occupation-level exposure shares, checking they are numbers in 0..1."""
    frame = _read_table(data, name, ",", OCCUPATION_COLUMNS)[OCCUPATION_COLUMNS]
    for column in OCCUPATION_COLUMNS[2:]:
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = values.isna() | (values < 0) | (values > 1)
        if bad.any():
            row = int(bad.idxmax()) + 2
            raise SchemaError(f"{name}: row {row}, column '{column}': {frame[column][bad].iloc[0]!r} "
                              "is not a share between 0 and 1")
    return frame


def join_tasks(tasks: pd.DataFrame, ratings: pd.DataFrame) -> pd.DataFrame:
    """Rated O*NET tasks with the columns of the shared ``onet_tasks.tsv``.

    Text and task type come from O*NET; occupation title and ratings from the label set. Only
    tasks present in both, under the same occupation code, are kept: a task without ratings
    cannot teach the automation head, and ratings without the O*NET text have nothing to read.
    """
    # The ratings come first so the rows keep the published order.
    joined = ratings.drop_duplicates("task_id").merge(tasks.drop_duplicates("task_id"),
                                                       on=["task_id", "onet_soc_code"], how="inner")
    level = joined["gpt4_automation"].str[1].astype(int)
    joined["automation_score"] = (level / 4).map(str)
    return joined[TASK_COLUMNS]


def verify_tasks(frame: pd.DataFrame, minimum: int = MIN_JOINED_TASKS) -> None:
    """Refuse a joined file that is too small, has repeated ids, or misses a SOC major group.

    Raises
    ------
    SchemaError
        Naming what is wrong, so a partial download never becomes training data.
    """
    if len(frame) < minimum:
        raise SchemaError(f"joined O*NET tasks: only {len(frame)} rows, expected at least {minimum} "
                          "(a download was cut short, or a source changed its format)")
    if frame["task_id"].duplicated().any():
        raise SchemaError("joined O*NET tasks: repeated task ids")
    groups = set(frame["onet_soc_code"].str[:2])
    missing = sorted({str(g) for g in range(11, 54, 2)} - groups)
    if missing:
        raise SchemaError(f"joined O*NET tasks: no tasks in SOC major groups {', '.join(missing)}")


def write_atomic(path: Path, write) -> Path:
    """Call ``write(handle)`` on a temporary file beside ``path``, then move it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile("wb", dir=path.parent, prefix=f".{path.name}.", delete=False)
    try:
        with handle:
            write(handle)
        os.replace(handle.name, path)
    except BaseException:
        os.unlink(handle.name)
        raise
    return path


def download(url: str) -> bytes:
    """The bytes at ``url``.

    Raises
    ------
    FetchError
        When the address cannot be reached or answers with an error.
    """
    try:
        with urlopen(Request(url, headers={"User-Agent": USER_AGENT}), timeout=TIMEOUT_SECONDS) as response:
            return response.read()
    except URLError as exc:
        raise FetchError(url, str(getattr(exc, "reason", exc))) from None
    except (OSError, ValueError) as exc:
        raise FetchError(url, str(exc)) from None


def fetch(cache_dir: Path | str | None = None) -> list[Path]:
    """Download the public sources into the cache and write the joined files training reads.

    Parameters
    ----------
    cache_dir : path, optional
        Where to write; defaults to ``datasets.loaders.CACHE_DIR`` (``OUTSORT_CACHE`` or
        ``~/.cache/outsort``), the last place :func:`datasets.loaders.onet_tasks_path` looks.

    Returns
    -------
    list of Path
        The raw downloads (under ``raw/``) and the two joined files, in the order written.

    Raises
    ------
    FetchError
        A source could not be downloaded.
    SchemaError
        A source does not have the columns or values expected, or the join is incomplete.
    """
    cache = Path(cache_dir) if cache_dir else loaders.CACHE_DIR
    raw = {name: download(url) for name, url in (("Task Statements.txt", ONET_TASKS_URL),
                                                 ("full_labelset.tsv", RATINGS_URL),
                                                 ("occ_level.csv", OCCUPATIONS_URL))}
    # Parse everything before writing anything, so a bad source leaves the cache as it was.
    tasks = join_tasks(parse_onet_tasks(raw["Task Statements.txt"]), parse_ratings(raw["full_labelset.tsv"]))
    verify_tasks(tasks)
    occupations = parse_occupations(raw["occ_level.csv"])
    written = [write_atomic(cache / "raw" / name, lambda h, data=data: h.write(data)) for name, data in raw.items()]
    written.append(write_atomic(cache / "onet_tasks.tsv",
                                lambda h: tasks.to_csv(h, sep="\t", index=False, lineterminator="\n")))
    written.append(write_atomic(cache / "onet_occupation_exposure.csv",
                                lambda h: occupations.to_csv(h, index=False, lineterminator="\n")))
    loaders.read_onet_tasks(written[-2])  # the loader training uses must accept what we wrote
    return written


__all__ = ["fetch", "parse_onet_tasks", "parse_ratings", "parse_occupations", "join_tasks", "verify_tasks",
           "FetchError", "ONET_TASKS_URL", "RATINGS_URL", "OCCUPATIONS_URL"]
