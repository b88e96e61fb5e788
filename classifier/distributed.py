"""Score large CSV or Parquet datasets with Dask: on this machine, or unchanged on a cluster.

Each partition is scored by :func:`classifier.batch.score_chunk`, the function the single-process
path uses, so both give the same rows. Workers load the model from the registry folder themselves,
once per process, and verify its checksum; with a remote scheduler that folder and the input must
be readable by every worker (a shared file system).
"""
from __future__ import annotations

import logging
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

from classifier.batch import InputError, detect_format, score_chunk, score_job_chunk
from classifier.registry import Registry

LOCAL_WORKERS = 2
# Partitions per worker thread for inputs that would otherwise be one block: enough to keep
# every worker busy, few enough that per-partition overhead stays small.
PARTITIONS_PER_THREAD = 4
MIN_BLOCK_BYTES = 64 << 10
MAX_BLOCK_BYTES = 64 << 20

_MODELS: dict[tuple[str, str], object] = {}


def predict_dask(model_path_or_version: str | None, input: str, output_dir: str, text_column: str = "text",
                 scheduler: str | None = None, jobs: bool = False, registry=None,
                 title_column: str | None = None) -> int:
    """Score ``input`` partition by partition and write the results as Parquet partitions.

    Parameters
    ----------
    model_path_or_version : str or None
        A registry version, a version folder, or None for the registry's current version.
    input : str
        A CSV or Parquet file (or a folder of Parquet files).
    output_dir : str
        Folder to create; it receives ``part.N.parquet`` files, in input order, holding every
        input column followed by the prediction columns. Written beside its final name and renamed
        into place, so a failed run leaves nothing under that name.
    text_column : str
        The column holding the text (``description``, with ``title`` optional, when ``jobs``).
    scheduler : str, optional
        Address of a running Dask scheduler; without it a local cluster of ``LOCAL_WORKERS``
        processes is started for this call and closed afterwards.
    jobs : bool
        Rows are whole job descriptions: write the job summary columns instead.
    registry : Registry or path, optional
        Where the model is; defaults to the project registry.
    title_column : str, optional
        A column of job titles each text is read with (task rows only).

    Returns
    -------
    int
        The number of rows written.
    """
    registry = registry if isinstance(registry, Registry) else Registry(registry)
    folder = registry.resolve(model_path_or_version).resolve()
    model_ref = (str(folder), registry.manifest(str(folder))["sha256"])
    target = Path(output_dir)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise InputError(f"{output_dir}: already exists and is not an empty folder; choose a new output folder")
    fmt = _check_input(input, "description" if jobs else text_column)
    if title_column and not jobs:
        _check_input(input, title_column)
    with _client(scheduler) as client:
        frame = _read(input, fmt, client)
        # The output's column types come from scoring one placeholder row on a worker: the client
        # never needs the model, and the types are exactly what partitions will return.
        meta = client.submit(_score_partition, frame._meta_nonempty.head(1), model_ref, text_column, jobs,
                             None, title_column).result().iloc[:0]
        scored = frame.map_partitions(_score_partition, model_ref, text_column, jobs, meta, title_column, meta=meta)
        return _write_atomically(scored, target)


def _check_input(path: str, column: str) -> str:
    """The input's format, after checking it is there and has ``column`` (before any cluster starts)."""
    fmt = detect_format(path)
    if fmt not in ("csv", "parquet"):
        raise InputError(f"{path}: the dask engine reads CSV or Parquet files, not {fmt}")
    if not Path(path).exists():
        raise InputError(f"{path}: no such file")
    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq
            columns = pq.read_schema(next(iter(sorted(Path(path).glob("*.parquet"))), path)).names
        else:
            columns = pd.read_csv(path, nrows=0, dtype=str).columns
    except (ValueError, OSError) as exc:
        raise InputError(f"{path}: cannot read as {fmt}: {str(exc).splitlines()[0]}") from None
    if column not in columns:
        raise InputError(f"{path}: no column '{column}' (columns: {', '.join(map(str, columns))})")
    return fmt


@contextmanager
def _client(scheduler: str | None):
    """A Dask client for ``scheduler``, or for a local cluster that lives as long as the block."""
    from distributed import Client, LocalCluster
    if scheduler:
        with Client(scheduler) as client:
            yield client
        return
    # One single-threaded process per worker: the model's Python code holds the GIL.
    with LocalCluster(n_workers=LOCAL_WORKERS, threads_per_worker=1, processes=True,
                      dashboard_address=None, silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
        yield client


def _read(path: str, fmt: str, client):
    """The input as a Dask frame of text columns, split so that every worker thread gets work."""
    import dask.dataframe as dd
    threads = max(sum(client.nthreads().values()), 1)
    if fmt == "parquet":
        frame = dd.read_parquet(path)
        if frame.npartitions < threads:
            frame = frame.repartition(npartitions=threads * PARTITIONS_PER_THREAD)
        return frame
    size = os.path.getsize(path)
    block = int(np.clip(size // (threads * PARTITIONS_PER_THREAD), MIN_BLOCK_BYTES, MAX_BLOCK_BYTES))
    return dd.read_csv(path, dtype=str, keep_default_na=False, blocksize=block)


def _score_partition(chunk: pd.DataFrame, model_ref: tuple[str, str], text_column: str, jobs: bool,
                     meta: pd.DataFrame | None, title_column: str | None = None,
                     partition_info=None) -> pd.DataFrame:
    """Score one partition on a worker (``partition_info`` is filled in by Dask)."""
    if chunk.empty and meta is not None:
        return meta
    model = _worker_model(*model_ref)
    try:
        return score_job_chunk(model, chunk, 1) if jobs else score_chunk(model, chunk, text_column, 1, title_column)
    except InputError as exc:
        number = partition_info["number"] if partition_info else "?"
        raise InputError(f"partition {number}: {exc}") from None


def _worker_model(folder: str, sha256: str):
    """The model of ``folder``, loaded once per worker process and checked against ``sha256``."""
    key = (folder, sha256)
    if key not in _MODELS:
        model, manifest = Registry(Path(folder).parent).load(folder)
        if manifest.get("sha256") != sha256:
            raise InputError(f"model at {folder} changed while scoring (checksum differs); run again")
        _MODELS[key] = model
    return _MODELS[key]


def _write_atomically(scored, target: Path) -> int:
    """Write the partitions into a hidden sibling folder, then rename it to ``target``."""
    import pyarrow.parquet as pq
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.partial-"))
    try:
        scored.to_parquet(str(staging), write_index=False, write_metadata_file=False)
        rows = sum(pq.ParquetFile(part).metadata.num_rows for part in staging.glob("*.parquet"))
        if target.exists():
            target.rmdir()  # empty, checked before scoring
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return rows


__all__ = ["predict_dask"]
