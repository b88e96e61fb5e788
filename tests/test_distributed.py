"""The Dask engine against the single-process path, row by row, on a real local cluster."""
import numpy as np
import pandas as pd
import pytest

pytest.importorskip("distributed")

from classifier.batch import InputError, predict_file  # noqa: E402
from classifier.distributed import predict_dask  # noqa: E402
from classifier.model import TaskModel  # noqa: E402
from classifier.registry import Registry  # noqa: E402
from datasets.loaders import load_corpus  # noqa: E402
from scripts.cli import main  # noqa: E402

ROWS = 2000
PROBABILITIES = ["confidence", "p_bpo_front_office", "p_bpo_back_office", "p_kpo", "outsourceable",
                 "automation_score"]


@pytest.fixture(scope="module")
def small_registry(tmp_path_factory):
    """A small model (no calibration folds) saved in its own registry: fast to fit and to load.
    Each text is read with its domain as a stand-in job title, so the title columns take part."""
    frame = load_corpus().sample(1500, random_state=0)
    model = TaskModel(calibration_folds=0).fit(frame.text, frame.label, frame.automation, frame.group,
                                               titles=frame.domain)
    registry = Registry(tmp_path_factory.mktemp("registry"))
    registry.save(model, {"note": "dask test model"})
    return registry


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """Rows made from our corpus: two task statements joined, in shuffled order, with ids."""
    corpus = load_corpus()
    rng = np.random.default_rng(0)
    first = corpus["text"].sample(ROWS, replace=True, random_state=1)
    second = corpus["text"].sample(ROWS, replace=True, random_state=2)
    texts = [f"{a} and {b[0].lower()}{b[1:]}" if rng.random() < 0.5 else a for a, b in zip(first, second)]
    roles = rng.choice([*sorted(corpus["domain"].unique()), ""], size=ROWS)
    frame = pd.DataFrame({"id": rng.permutation(ROWS) + 10_000, "text": texts, "team": "ops", "role": roles})
    folder = tmp_path_factory.mktemp("input")
    frame.to_csv(folder / "rows.csv", index=False)
    frame.astype({"id": str}).to_parquet(folder / "rows.parquet", index=False)
    return folder


@pytest.fixture(scope="module")
def cluster():
    from distributed import LocalCluster
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as local:
        yield local


def assert_same_rows(dask_dir, single_path):
    dask_rows, single = pd.read_parquet(dask_dir), pd.read_parquet(single_path)
    assert len(dask_rows) == len(single) == ROWS
    assert list(dask_rows.columns) == list(single.columns)
    assert dask_rows["id"].astype(int).tolist() == single["id"].astype(int).tolist()
    for name in ("text", "category", "out_of_scope", "automation_level"):
        assert dask_rows[name].tolist() == single[name].tolist(), name
    for name in PROBABILITIES:
        np.testing.assert_allclose(dask_rows[name], single[name], rtol=0, atol=1e-6, err_msg=name)


def test_local_cluster_matches_single_process_row_by_row(small_registry, generated, tmp_path):
    """No scheduler given: the function starts its own local cluster and closes it."""
    model, _ = small_registry.load()
    predict_file(model, str(generated / "rows.csv"), str(tmp_path / "single.parquet"))
    rows = predict_dask(None, str(generated / "rows.csv"), str(tmp_path / "dask"), registry=small_registry)
    assert rows == ROWS
    assert len(list((tmp_path / "dask").glob("part.*.parquet"))) > 1  # the input really was split
    assert not list(tmp_path.glob(".dask.partial-*"))
    assert_same_rows(tmp_path / "dask", tmp_path / "single.parquet")


def test_parquet_input_on_a_given_scheduler_matches(small_registry, generated, cluster, tmp_path):
    model, _ = small_registry.load()
    predict_file(model, str(generated / "rows.parquet"), str(tmp_path / "single.parquet"))
    version = small_registry.current()
    rows = predict_dask(version, str(generated / "rows.parquet"), str(tmp_path / "dask"),
                        scheduler=cluster.scheduler_address, registry=small_registry)
    assert rows == ROWS
    assert_same_rows(tmp_path / "dask", tmp_path / "single.parquet")


def test_title_column_is_read_as_in_the_single_process(small_registry, generated, cluster, tmp_path):
    model, _ = small_registry.load()
    predict_file(model, str(generated / "rows.csv"), str(tmp_path / "single.parquet"), title_column="role")
    rows = predict_dask(None, str(generated / "rows.csv"), str(tmp_path / "dask"), scheduler=cluster.scheduler_address,
                        registry=small_registry, title_column="role")
    assert rows == ROWS
    assert_same_rows(tmp_path / "dask", tmp_path / "single.parquet")
    predict_file(model, str(generated / "rows.csv"), str(tmp_path / "untitled.parquet"))
    titled, untitled = pd.read_parquet(tmp_path / "single.parquet"), pd.read_parquet(tmp_path / "untitled.parquet")
    has_role = titled["role"].fillna("").ne("").to_numpy()
    moved = ~np.isclose(titled["confidence"], untitled["confidence"], rtol=0, atol=1e-9)
    assert moved[has_role].mean() > 0.9 and not moved[~has_role].any()


def test_empty_text_in_a_partition_names_partition_and_row(small_registry, cluster, tmp_path):
    path = tmp_path / "bad.csv"
    pd.DataFrame({"text": ["reconcile vendor statements", "", "answer calls"]}).to_csv(path, index=False)
    with pytest.raises(InputError, match=r"partition 0: row 2: column 'text' is empty"):
        predict_dask(None, str(path), str(tmp_path / "out"), scheduler=cluster.scheduler_address,
                     registry=small_registry)
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".out.partial-*"))


@pytest.mark.parametrize("content, name, kwargs, message", [
    ("id,body\n1,post invoices\n", "in.csv", {}, r"no column 'text' \(columns: id, body\)"),
    ("id,text\n1,post invoices\n", "in.jsonl", {}, "reads CSV or Parquet files, not jsonl"),
    (None, "missing.csv", {}, "no such file"),
    ("id,text\n1,post invoices\n", "in.csv", {"jobs": True}, "no column 'description'"),
    ("id,text\n1,post invoices\n", "in.csv", {"title_column": "role"}, "no column 'role'"),
])
def test_bad_input_fails_before_any_cluster_starts(small_registry, tmp_path, content, name, kwargs, message):
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    with pytest.raises(InputError, match=message):
        predict_dask(None, str(path), str(tmp_path / "out"), registry=small_registry, **kwargs)


def test_existing_output_folder_is_refused(small_registry, generated, tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("earlier results")
    with pytest.raises(InputError, match="already exists and is not an empty folder"):
        predict_dask(None, str(generated / "rows.csv"), str(tmp_path / "out"), registry=small_registry)
    assert (tmp_path / "out" / "keep.txt").read_text() == "earlier results"


@pytest.mark.parametrize("args, message", [
    (["--engine", "dask", "--text-column", "body"], "no column 'body'"),
    (["--scheduler", "tcp://127.0.0.1:1"], "--scheduler needs --engine dask"),
])
def test_cli_reports_one_line_errors(small_registry, generated, tmp_path, capsys, args, message):
    code = main(["--registry", str(small_registry.root), "predict", "--input", str(generated / "rows.csv"),
                 "--output", str(tmp_path / "out"), *args])
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
