"""``outsort data fetch``: parsing and joining small local source files, and where the loaders look.

The sources are served from bytes written here; nothing touches the network. The statements are
invented for the tests, in the shape of the real files.
"""
from __future__ import annotations

import io
import warnings
from urllib.error import URLError

import pandas as pd
import pytest

from datasets import fetch as fetch_module
from datasets import loaders
from datasets.fetch import (
    FetchError,
    TASK_COLUMNS,
    fetch,
    join_tasks,
    parse_occupations,
    parse_onet_tasks,
    parse_ratings,
    verify_tasks,
)
from datasets.schema import SchemaError

ONET_HEADER = "O*NET-SOC Code\tTask ID\tTask\tTask Type\tIncumbents Responding\tDate\tDomain Source\n"
ONET_TEXT = ONET_HEADER + (
    "43-3031.00\t101\tKey supplier invoice totals into the ledger each morning.\tCore\t40\t08/2022\tIncumbent\n"
    "43-3031.00\t102\t\"Tidy\" the petty-cash tin before the weekly count.\tn/a\t40\t08/2022\tIncumbent\n"
    "47-2021.00\t201\tLay paving slabs along a marked garden path.\tSupplemental\t12\t08/2022\tAnalyst\n"
    "47-2021.00\t202\tA statement nobody rated.\tCore\t12\t08/2022\tAnalyst\n"
)
RATINGS_HEADER = ("\tO*NET-SOC Code\tTask ID\tTask\tTask Type\tTitle\thuman_exposure_agg\tgpt4_exposure\t"
                  "gpt4_exposure_alt_rubric\tgpt_3_relevant\tgpt4_automation\talpha\tbeta\tgamma\tautomation\t"
                  "human_labels\n")
RATINGS_TEXT = RATINGS_HEADER + (
    "0\t43-3031.00\t101.0\tKey invoices.\tCore\tBookkeeping Clerks\tE1\tE1\tE1\tTrue\tT4\t1.0\t1.0\t1.0\t1.0\tE1\n"
    "1\t43-3031.00\t102.0\tTidy.\t\tBookkeeping Clerks\tE0\tE0\tE0\tFalse\tT0\t0.0\t0.0\t0.0\t0.0\tE0\n"
    "2\t47-2021.00\t201.0\tLay slabs.\tSupplemental\tPavers\tE0\tE2\tE0\tFalse\tT1\t0.0\t0.5\t1.0\t0.25\tE0\n"
    "3\t47-2021.00\t999.0\tRated but gone from O*NET.\tCore\tPavers\tE0\tE0\tE0\tFalse\tT0\t0.0\t0.0\t0.0\t0.0\tE0\n"
)
OCCUPATIONS_TEXT = (
    "O*NET-SOC Code,Title,dv_rating_alpha,dv_rating_beta,dv_rating_gamma,human_rating_alpha,"
    "human_rating_beta,human_rating_gamma\n"
    "43-3031.00,Bookkeeping Clerks,0.5,0.5,0.5,0.5,0.5,0.5\n"
    "47-2021.00,Pavers,0.0,0.25,0.5,0.0,0.0,0.0\n"
)


@pytest.fixture
def joined() -> pd.DataFrame:
    return join_tasks(parse_onet_tasks(ONET_TEXT.encode()), parse_ratings(RATINGS_TEXT.encode()))


def test_join_keeps_rated_tasks_with_onet_text_and_published_ratings(joined):
    assert list(joined.columns) == TASK_COLUMNS
    assert list(joined["task_id"]) == ["101", "102", "201"]  # unrated 202 and text-less 999 dropped
    first = joined.iloc[0]
    assert first["task"] == "Key supplier invoice totals into the ledger each morning."  # O*NET text, not the copy
    assert (first["occupation"], first["human_exposure"], first["gpt4_exposure"]) == ("Bookkeeping Clerks", "E1", "E1")
    assert list(joined["automation_score"]) == ["1.0", "0.0", "0.25"]


def test_unquoted_onet_text_and_missing_task_type_are_read_as_written(joined):
    second = joined.iloc[1]
    assert second["task"] == "\"Tidy\" the petty-cash tin before the weekly count."
    assert second["task_type"] == ""


@pytest.mark.parametrize("parse, text, message", [
    (parse_onet_tasks, ONET_HEADER.replace("Task ID", "TaskNo") + "43-3031.00\t1\tx\tCore\t1\t1\tx\n",
     "missing columns ['Task ID']"),
    (parse_onet_tasks, ONET_HEADER + "43-3031.00\tT7\tx\tCore\t1\t1\tx\n", "row 2, column 'Task ID': not a task id"),
    (parse_ratings, RATINGS_TEXT.replace("\tT0\t", "\tT9\t", 1), "row 3, column 'gpt4_automation': 'T9'"),
    (parse_ratings, RATINGS_TEXT.replace("\tE1\tE1\tE1\t", "\tE5\tE1\tE1\t", 1),
     "row 2, column 'human_exposure': 'E5'"),
    (parse_ratings, RATINGS_TEXT.replace("gpt4_automation", "automation_gpt4"), "missing columns ['gpt4_automation']"),
    (parse_occupations, OCCUPATIONS_TEXT.replace("0.25", "1.25"), "row 3, column 'dv_rating_beta': '1.25'"),
    (parse_occupations, OCCUPATIONS_TEXT.replace(",Title", ",Name"), "missing columns ['Title']"),
], ids=["onet-missing-column", "onet-bad-id", "ratings-bad-automation", "ratings-bad-exposure",
        "ratings-missing-column", "occupations-out-of-range", "occupations-missing-column"])
def test_a_source_in_an_unexpected_shape_is_refused_by_name(parse, text, message):
    with pytest.raises(SchemaError, match="row|missing") as caught:
        parse(text.encode())
    assert message in str(caught.value)


@pytest.mark.parametrize("change, message", [
    (lambda f: f.iloc[:2], "only 2 rows"),
    (lambda f: pd.concat([f, f.iloc[:1]]), "repeated task ids"),
    (lambda f: f[f["onet_soc_code"].str[:2] != "47"], "no tasks in SOC major groups"),
], ids=["too-few", "repeated-ids", "missing-group"])
def test_an_incomplete_join_is_refused(change, message):
    groups = [f"{g}-1011.00" for g in range(11, 54, 2)]
    frame = pd.DataFrame({"onet_soc_code": groups, "task_id": [str(i) for i in range(len(groups))]})
    verify_tasks(frame, minimum=3)
    with pytest.raises(SchemaError, match=message):
        verify_tasks(change(frame), minimum=3)


@pytest.fixture
def served(monkeypatch):
    """Serve the three sources from local bytes through the module's opener; record what was asked."""
    sources = {fetch_module.ONET_TASKS_URL: ONET_TEXT.encode(), fetch_module.RATINGS_URL: RATINGS_TEXT.encode(),
               fetch_module.OCCUPATIONS_URL: OCCUPATIONS_TEXT.encode()}
    asked = []

    def opener(request, timeout):
        asked.append(request.full_url)
        if request.full_url not in sources:
            raise URLError("Name or service not known")
        return io.BytesIO(sources[request.full_url])

    monkeypatch.setattr(fetch_module, "urlopen", opener)
    monkeypatch.setattr(fetch_module, "verify_tasks", lambda frame: None)  # three tasks cannot cover 22 groups
    return sources, asked


def test_fetch_writes_the_files_training_reads(served, tmp_path):
    _, asked = served
    written = fetch(tmp_path / "cache")
    assert sorted(asked) == sorted(served[0])
    names = [p.relative_to(tmp_path / "cache").as_posix() for p in written]
    assert names == ["raw/Task Statements.txt", "raw/full_labelset.tsv", "raw/occ_level.csv",
                     "onet_tasks.tsv", "onet_occupation_exposure.csv"]
    tasks = loaders.read_onet_tasks(tmp_path / "cache" / "onet_tasks.tsv")
    assert list(tasks.columns) == TASK_COLUMNS and list(tasks["task_id"]) == ["101", "102", "201"]
    assert tasks["task"][1].startswith("\"Tidy\"")  # quoted on write, read back whole
    occupations = loaders.load_occupations(tmp_path / "cache" / "onet_occupation_exposure.csv")
    assert occupations["dv_rating_beta"].tolist() == [0.5, 0.25]
    assert not [p for p in (tmp_path / "cache").rglob(".*")]  # no temporary files left behind


def test_fetch_defaults_to_the_loaders_cache(served, tmp_path, monkeypatch):
    monkeypatch.setattr(loaders, "CACHE_DIR", tmp_path / "default-cache")
    assert all(p.is_relative_to(tmp_path / "default-cache") for p in fetch())


def test_a_failed_download_names_the_address_and_leaves_the_cache_as_it_was(served, tmp_path):
    sources, _ = served
    cache = tmp_path / "cache"
    fetch(cache)
    before = (cache / "onet_tasks.tsv").read_bytes()
    del sources[fetch_module.OCCUPATIONS_URL]
    with pytest.raises(FetchError) as caught:
        fetch(cache)
    assert caught.value.filename == fetch_module.OCCUPATIONS_URL
    assert "cannot download (Name or service not known)" in caught.value.strerror
    assert (cache / "onet_tasks.tsv").read_bytes() == before


def test_a_malformed_source_writes_nothing(served, tmp_path):
    sources, _ = served
    sources[fetch_module.RATINGS_URL] = b"not\ta\tlabel\tset\n1\t2\t3\t4\n"
    with pytest.raises(SchemaError, match="full_labelset.tsv: missing columns"):
        fetch(tmp_path / "cache")
    assert not (tmp_path / "cache").exists()


def test_fetch_errors_reach_the_cli_as_one_line(served, tmp_path, capsys):
    from scripts.cli import main
    sources, _ = served
    del sources[fetch_module.ONET_TASKS_URL]
    assert main(["data", "fetch", "--cache", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("outsort: error: https://www.onetcenter.org/")


# ----------------------------------------------------------- where the loaders look for the files
@pytest.fixture
def places(tmp_path, monkeypatch):
    """A layout of repository, working directory and cache with no O*NET file in any of them."""
    monkeypatch.delenv("OUTSORT_ONET_TASKS", raising=False)
    repo = tmp_path / "work" / "main"
    (repo / "datasets").mkdir(parents=True)
    monkeypatch.setattr(loaders, "DATASETS_DIR", repo / "datasets")
    monkeypatch.setattr(loaders, "CACHE_DIR", tmp_path / "cache")
    monkeypatch.chdir(repo)
    return {"shared": tmp_path / "work" / "shared" / "data" / "onet_tasks.tsv",
            "cache": tmp_path / "cache" / "onet_tasks.tsv"}


def _place(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\t".join(TASK_COLUMNS) + "\n")
    return path


def test_the_shared_file_comes_before_the_cache(places):
    _place(places["cache"])
    assert loaders.onet_tasks_path() == places["cache"]
    _place(places["shared"])
    assert loaders.onet_tasks_path() == places["shared"]


def test_the_environment_variable_comes_first(places, monkeypatch, tmp_path):
    _place(places["shared"])
    own = _place(tmp_path / "mine.tsv")
    monkeypatch.setenv("OUTSORT_ONET_TASKS", str(own))
    assert loaders.onet_tasks_path() == own


def test_without_any_file_training_falls_back_to_the_corpus_with_one_warning(places):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame = loaders.load_training_frame()
    assert [type(w.message) for w in caught] == [loaders.OnetMissingWarning]
    assert "outsort data fetch" in str(caught[0].message)
    assert set(frame["source"].str.split("/").str[0]) == {"corpus"}
    assert len(frame) == len(loaders.load_corpus())
