"""O*NET job titles and each occupation's mix of labels: what a job title alone tells."""
from __future__ import annotations

import numpy as np
import pandas as pd

from datasets.loaders import load_onet_labels, onet_tasks_path, read_onet_tasks
from datasets.schema import LABELS, SchemaError

TITLE_FILES = {"onet_alternate_titles.tsv": "Alternate Title", "onet_reported_titles.tsv": "Reported Job Title"}
CODE_COLUMN = "O*NET-SOC Code"


def load_onet_titles() -> pd.DataFrame | None:
    """Every O*NET title (occupation titles, alternate and reported titles) with its occupation code.

    Returns None when the shared O*NET files are not on this machine.
    """
    tasks_path = onet_tasks_path()
    tasks = read_onet_tasks() if tasks_path else None
    if tasks is None:
        return None
    frames = [tasks[["onet_soc_code", "occupation"]].drop_duplicates()
              .rename(columns={"onet_soc_code": "code", "occupation": "title"})]
    for name, column in TITLE_FILES.items():
        path = tasks_path.parent / name
        if not path.is_file():
            continue
        table = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
        if CODE_COLUMN not in table or column not in table:
            raise SchemaError(f"{path}: needs columns '{CODE_COLUMN}' and '{column}'")
        frames.append(table[[CODE_COLUMN, column]].rename(columns={CODE_COLUMN: "code", column: "title"}))
    titles = pd.concat(frames, ignore_index=True)
    titles["title"] = titles["title"].str.strip()
    titles = titles[titles["title"].ne("")]
    return titles.drop_duplicates(["code", "title"]).reset_index(drop=True)


def occupation_mixes() -> pd.DataFrame | None:
    """Per occupation code: the share of its labeled tasks in each label, the mean automation score
    of its tasks, and the occupation title."""
    tasks = read_onet_tasks()
    if tasks is None:
        return None
    labeled = tasks.merge(load_onet_labels(), on="task_id", how="inner")
    counts = pd.crosstab(labeled["onet_soc_code"], labeled["label"]).reindex(columns=list(LABELS), fill_value=0)
    mixes = counts.div(counts.sum(axis=1), axis=0)
    mixes.columns = [f"share_{label}" for label in LABELS]
    names = tasks.drop_duplicates("onet_soc_code").set_index("onet_soc_code")["occupation"]
    mixes["occupation"] = names.reindex(mixes.index)
    automation = pd.to_numeric(tasks["automation_score"], errors="coerce").groupby(tasks["onet_soc_code"]).mean()
    mixes["automation"] = automation.reindex(mixes.index)
    return mixes.rename_axis("code").reset_index()


def training_titles(frame: pd.DataFrame, alternate_share: float = 0.5, random_state: int = 0) -> pd.Series:
    """The title each training row is read with: O*NET tasks get one of their occupation's
    alternate or reported titles for ``alternate_share`` of rows (the titles users send are rarely
    O*NET's own), the occupation title otherwise; other rows keep their ``title``.

    The draw is seeded, so the same frame always gets the same titles.
    """
    titles = frame["title"].fillna("").astype(str).copy()
    table = load_onet_titles()
    onet = frame["source"].eq("onet").to_numpy()
    if table is None or not onet.any():
        return titles
    by_code = table.groupby("code")["title"].apply(list).to_dict()
    rng = np.random.default_rng(random_state)
    draw, pick = rng.random(len(frame)), rng.random(len(frame))
    for i in np.flatnonzero(onet & (draw < alternate_share)):
        choices = by_code.get(frame["occupation"].iat[i])
        if choices:
            titles.iat[i] = choices[int(pick[i] * len(choices))]
    return titles
