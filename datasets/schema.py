"""Column rules of the labeled files, and a validator that names the row and column of a fault."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

CATEGORIES = ("bpo_front_office", "bpo_back_office", "kpo")
LABELS = CATEGORIES + ("not_outsourceable",)
STYLES = ("terse", "bullet", "paragraph", "ticket", "typo", "abbrev", "non_native", "feedback", "formal", "other")
DOMAINS = (
    "banking", "insurance", "healthcare", "telecom", "retail_ecommerce", "travel", "logistics",
    "utilities", "legal", "pharma", "software", "public_sector", "hr", "real_estate", "general",
)
MAX_TEXT_CHARS = 10_000

CORPUS_COLUMNS = ("text", "label", "automation_level", "style", "domain", "group")
# Files that users add need only the first three; the rest get defaults.
CORPUS_REQUIRED = ("text", "label")
ONET_LABEL_COLUMNS = ("task_id", "label", "confidence")
JOB_COLUMNS = ("job_id", "title", "description", "domain", "expected_category")


class SchemaError(ValueError):
    """A labeled file breaks a rule; the message names the file, row and column."""


@dataclass(frozen=True)
class Fault:
    path: str
    row: int  # 1-based line number of the data row, header is line 1
    column: str
    problem: str

    def __str__(self) -> str:
        return f"{self.path}: row {self.row}, column '{self.column}': {self.problem}"


def read_csv_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """Read a UTF-8 CSV file into its header and rows, refusing binary or mis-encoded files.

    Raises
    ------
    SchemaError
        When the file is missing, not UTF-8, binary, or has no header.
    """
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise SchemaError(f"{path}: cannot read file ({exc.strerror or exc})") from None
    if b"\x00" in raw:
        raise SchemaError(f"{path}: not a text file (binary content)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise SchemaError(f"{path}: line {line}: not valid UTF-8") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        if not reader.fieldnames:
            raise SchemaError(f"{path}: empty file, expected a header row")
        header = [name.strip() for name in reader.fieldnames]
        reader.fieldnames = header
        rows = []
        for row in reader:
            if None in row:
                raise SchemaError(f"{path}: row {reader.line_num}: more fields than the header has")
            rows.append(row)
    except csv.Error as exc:  # e.g. a cell over the csv module's 128 KiB field limit
        raise SchemaError(f"{path}: line {reader.line_num + 1}: not readable as CSV ({exc})") from None
    return header, rows


def _check_text(text: str | None) -> str | None:
    if text is None or not text.strip():
        return "empty text"
    if len(text) > MAX_TEXT_CHARS:
        return f"text longer than {MAX_TEXT_CHARS} characters"
    return None


def _check_level(value: str | None) -> str | None:
    if value is None or value.strip() == "":
        return None
    if value.strip() not in {"0", "1", "2", "3", "4"}:
        return f"automation level must be 0-4, got {value!r}"
    return None


def validate_corpus_rows(path: str, header: list[str], rows: list[dict[str, str]],
                         strict: bool = True) -> list[Fault]:
    """Check labeled task rows; return every fault found (empty list when the file is clean).

    Parameters
    ----------
    strict : bool
        Shipped corpus files must carry every column; files users add need only text and label.
    """
    required = CORPUS_COLUMNS if strict else CORPUS_REQUIRED
    missing = [c for c in required if c not in header]
    if missing:
        return [Fault(path, 1, c, "missing column") for c in missing]
    faults: list[Fault] = []
    for number, row in enumerate(rows, start=2):
        problem = _check_text(row.get("text"))
        if problem:
            faults.append(Fault(path, number, "text", problem))
        label = (row.get("label") or "").strip()
        if label not in LABELS:
            faults.append(Fault(path, number, "label", f"unknown label {label!r}; allowed: {', '.join(LABELS)}"))
        if "automation_level" in row:
            problem = _check_level(row["automation_level"])
            if problem or (strict and not (row["automation_level"] or "").strip()):
                faults.append(Fault(path, number, "automation_level", problem or "missing automation level"))
        if strict:
            if row.get("style") not in STYLES:
                faults.append(Fault(path, number, "style", f"unknown style {row.get('style')!r}"))
            if row.get("domain") not in DOMAINS:
                faults.append(Fault(path, number, "domain", f"unknown domain {row.get('domain')!r}"))
            if not (row.get("group") or "").strip():
                faults.append(Fault(path, number, "group", "empty group id"))
    return faults


def validate_onet_label_rows(path: str, header: list[str], rows: list[dict[str, str]]) -> list[Fault]:
    """Check O*NET label rows (task_id, label, confidence)."""
    missing = [c for c in ONET_LABEL_COLUMNS if c not in header]
    if missing:
        return [Fault(path, 1, c, "missing column") for c in missing]
    faults = []
    for number, row in enumerate(rows, start=2):
        if not (row["task_id"] or "").strip().isdigit():
            faults.append(Fault(path, number, "task_id", f"not a task id: {row['task_id']!r}"))
        if row["label"] not in LABELS:
            faults.append(Fault(path, number, "label", f"unknown label {row['label']!r}"))
        if row["confidence"] not in ("high", "low"):
            faults.append(Fault(path, number, "confidence", "must be 'high' or 'low'"))
    return faults


def validate_job_rows(path: str, header: list[str], rows: list[dict[str, str]]) -> list[Fault]:
    """Check whole job descriptions used by job-level tests and evaluation."""
    missing = [c for c in JOB_COLUMNS if c not in header]
    if missing:
        return [Fault(path, 1, c, "missing column") for c in missing]
    faults = []
    for number, row in enumerate(rows, start=2):
        if not (row["description"] or "").strip():
            faults.append(Fault(path, number, "description", "empty description"))
        if row["expected_category"] not in LABELS:
            faults.append(Fault(path, number, "expected_category", f"unknown label {row['expected_category']!r}"))
    return faults
