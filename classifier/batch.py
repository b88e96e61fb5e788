"""Score files in chunks: memory stays flat whatever the number of rows."""
from __future__ import annotations

import io
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

from classifier.prediction import OUTPUT_COLUMNS

FORMATS = ("csv", "jsonl", "txt", "parquet")
JOB_OUTPUT_COLUMNS = ("category", "share_bpo_front_office", "share_bpo_back_office", "share_kpo",
                      "share_not_outsourceable", "automation_score", "automation_level", "n_tasks", "tasks")
DEFAULT_CHUNK_ROWS = 10_000


class InputError(ValueError):
    """An input file cannot be scored; the message says which file, row or column."""


def detect_format(path: str, given: str | None = None) -> str:
    """The file format from ``given`` or the file name; standard streams default to text lines."""
    if given:
        return given
    suffix = Path(path).suffix.lower().lstrip(".")
    return {"csv": "csv", "tsv": "csv", "jsonl": "jsonl", "ndjson": "jsonl", "json": "jsonl",
            "parquet": "parquet", "pq": "parquet"}.get(suffix, "txt")


@contextmanager
def _text_stream(path: str):
    """The input as UTF-8 text: a file (closed afterwards) or standard input (left open)."""
    if path == "-":
        yield io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="strict")
        return
    with open(path, encoding="utf-8-sig", newline="") as handle:
        yield handle


def read_chunks(path: str, fmt: str, chunk_rows: int = DEFAULT_CHUNK_ROWS) -> Iterator[pd.DataFrame]:
    """Yield the input as DataFrames of at most ``chunk_rows`` rows, every column kept as text."""
    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq
            for batch in pq.ParquetFile(path).iter_batches(batch_size=chunk_rows):
                yield batch.to_pandas()
            return
        _refuse_binary(path)
        with _text_stream(path) as handle:
            if fmt == "csv":
                sep = "\t" if str(path).endswith(".tsv") else ","
                yield from pd.read_csv(handle, sep=sep, dtype=str, keep_default_na=False, chunksize=chunk_rows)
            elif fmt == "jsonl":
                yield from pd.read_json(handle, lines=True, dtype=False, chunksize=chunk_rows)
            else:
                yield from _text_line_chunks(handle, path, chunk_rows)
    except UnicodeDecodeError:
        raise InputError(f"{path}: {_first_non_utf8_line(path)}not valid UTF-8 text (save it as UTF-8)") from None
    except (pd.errors.ParserError, ValueError) as exc:
        if isinstance(exc, InputError):
            raise
        raise InputError(f"{path}: cannot parse as {fmt}: {str(exc).splitlines()[0]}") from None
    except ImportError:
        raise InputError("reading Parquet needs pyarrow (pip install pyarrow)") from None


def _first_non_utf8_line(path: str) -> str:
    """``"line N: "`` for the first line of ``path`` that is not UTF-8, so a user can find it."""
    if path == "-":
        return ""
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                return f"line {number}: "
    return ""


def _refuse_binary(path: str) -> None:
    """A NUL byte in the first block means a binary file renamed to look like text."""
    if path == "-":
        return
    with open(path, "rb") as handle:
        if b"\x00" in handle.read(8192):
            raise InputError(f"{path}: not a text file (binary content)")


def _text_line_chunks(handle, path: str, chunk_rows: int) -> Iterator[pd.DataFrame]:
    lines: list[str] = []
    for line in handle:
        if "\x00" in line:
            raise InputError(f"{path}: not a text file (binary content)")
        if line.strip():
            lines.append(line.rstrip("\r\n"))
        if len(lines) >= chunk_rows:
            yield pd.DataFrame({"text": lines})
            lines = []
    if lines:
        yield pd.DataFrame({"text": lines})


def _check_texts(chunk: pd.DataFrame, column: str, first_row: int) -> list[str]:
    if column not in chunk.columns:
        raise InputError(f"no column '{column}' in the input (columns: {', '.join(map(str, chunk.columns))})")
    texts = chunk[column].astype(str).tolist()
    for offset, text in enumerate(texts):
        if not text.strip():
            raise InputError(f"row {first_row + offset}: column '{column}' is empty")
    return texts


def _titles(chunk: pd.DataFrame, column: str | None) -> list[str] | None:
    """The job title of each row from ``column`` (empty cells read as no title), or None."""
    if column is None:
        return None
    if column not in chunk.columns:
        raise InputError(f"no column '{column}' in the input for --title-column "
                         f"(columns: {', '.join(map(str, chunk.columns))})")
    return chunk[column].fillna("").astype(str).tolist()


def score_chunk(model, chunk: pd.DataFrame, text_column: str, first_row: int,
                title_column: str | None = None) -> pd.DataFrame:
    """Add the prediction columns to one chunk (one vectorised pass), each text read with the job
    title of ``title_column`` when one is named."""
    cols = model.predict_columns(_check_texts(chunk, text_column, first_row), _titles(chunk, title_column))
    out = chunk.copy()
    for name in OUTPUT_COLUMNS:
        values = cols[name]
        out[name] = np.round(values, 4) if values.dtype.kind == "f" else values
    return out


def score_job_chunk(model, chunk: pd.DataFrame, first_row: int) -> pd.DataFrame:
    """Add the job summary columns to one chunk of whole job descriptions."""
    descriptions = _check_texts(chunk, "description", first_row)
    titles = chunk["title"].astype(str).tolist() if "title" in chunk else [""] * len(chunk)
    results = model.predict_jobs([{"title": t, "description": d} for t, d in zip(titles, descriptions)])
    out = chunk.copy()
    for name in JOB_OUTPUT_COLUMNS:
        if name == "tasks":
            out[name] = [json.dumps([t.to_dict() for t in r.tasks], ensure_ascii=False) for r in results]
        else:
            out[name] = [getattr(r, name) for r in results]
    return out


TITLE_OUTPUT_COLUMNS = ("category", "share_bpo_front_office", "share_bpo_back_office", "share_kpo",
                        "share_not_outsourceable", "automation_score", "automation_level", "terms",
                        "nearest_occupations")


def score_title_chunk(model, chunk: pd.DataFrame, first_row: int) -> pd.DataFrame:
    """Add what the ``title`` column alone says to one chunk of job titles."""
    try:
        results = model.predict_titles(_check_texts(chunk, "title", first_row))
    except ValueError as exc:
        raise InputError(str(exc)) from None
    out = chunk.copy()
    for name in TITLE_OUTPUT_COLUMNS:
        values = [r.to_dict()[name] for r in results]
        out[name] = [json.dumps(v, ensure_ascii=False) for v in values] if name in ("terms", "nearest_occupations") else values
    return out


class _Writer:
    """Appends scored chunks to CSV, JSON Lines or Parquet, writing the header once."""

    def __init__(self, path: str, fmt: str):
        self.final, self.fmt = path, fmt
        # A file output is written beside its target and renamed at the end: a failed run
        # never leaves a half-written result under the name a user asked for.
        self.path = path if path == "-" else f"{path}.partial"
        self.handle = None
        self.parquet = None

    def write(self, frame: pd.DataFrame) -> None:
        if self.fmt == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq
            table = pa.Table.from_pandas(frame, preserve_index=False)
            if self.parquet is None:
                self.parquet = pq.ParquetWriter(self.path, table.schema)
            self.parquet.write_table(table)
            return
        if self.handle is None:
            self.handle = sys.stdout if self.path == "-" else open(self.path, "w", encoding="utf-8", newline="")
            first = True
        else:
            first = False
        if self.fmt == "jsonl":
            text = frame.to_json(orient="records", lines=True, force_ascii=False)
            self.handle.write(text if text.endswith("\n") or not text else text + "\n")
        else:
            frame.to_csv(self.handle, index=False, header=first)

    def close(self, ok: bool) -> None:
        if self.parquet is not None:
            self.parquet.close()
        if self.handle is not None and self.handle is not sys.stdout:
            self.handle.close()
        elif self.handle is sys.stdout:
            sys.stdout.flush()
        if self.path != self.final and Path(self.path).exists():
            if ok:
                os.replace(self.path, self.final)
            else:
                Path(self.path).unlink()


def predict_file(model, input_path: str, output_path: str, text_column: str = "text", jobs: bool = False,
                 titles: bool = False, input_format: str | None = None, output_format: str | None = None,
                 chunk_rows: int = DEFAULT_CHUNK_ROWS, on_chunk=None, title_column: str | None = None) -> int:
    """Score a file chunk by chunk, keeping every input column and the input order.

    ``title_column`` names a column of job titles to read each text with (task rows only).

    Returns
    -------
    int
        The number of rows written.
    """
    in_fmt = detect_format(input_path, input_format)
    out_fmt = detect_format(output_path, output_format)
    if out_fmt == "txt":
        out_fmt = "csv"
    if in_fmt == "txt" and text_column != "text":
        text_column = "text"
    writer = _Writer(output_path, out_fmt)
    rows, ok = 0, False
    try:
        for chunk in read_chunks(input_path, in_fmt, chunk_rows):
            if titles:
                scored = score_title_chunk(model, chunk, rows + 1)
            elif jobs:
                scored = score_job_chunk(model, chunk, rows + 1)
            else:
                scored = score_chunk(model, chunk, text_column, rows + 1, title_column)
            writer.write(scored)
            rows += len(chunk)
            if on_chunk:
                on_chunk(len(chunk))
        if rows == 0:
            raise InputError(f"{input_path}: no rows to score")
        ok = True
    finally:
        writer.close(ok)
    return rows
