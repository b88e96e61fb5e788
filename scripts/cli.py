"""The ``outsort`` command: parses arguments, calls the library, prints results."""
from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

EXIT_BAD_INPUT = 2


class CommandError(Exception):
    """A failure to report as one line on stderr."""


def _registry(args):
    from classifier.registry import Registry
    return Registry(args.registry)


def _load(args):
    from classifier import load_model
    return load_model(args.model, registry=_registry(args))


# ---------------------------------------------------------------- commands
def cmd_train(args) -> int:
    from classifier.training import stderr_progress, train
    extra = list(args.data or [])
    version, manifest = train(extra_files=extra, registry=_registry(args), cv=args.cv,
                              make_current=not args.no_current, progress=stderr_progress,
                              feedback=_feedback_database(args.with_feedback))
    print(version)
    _print_metrics(manifest["metrics"])
    return 0


def _feedback_database(given: str | None) -> str | None:
    """``--with-feedback``'s database: the one given, else the service's from the environment."""
    if given is None or given:
        return given
    from datasets.feedback_store import default_database
    database = default_database()
    if not database:
        raise CommandError("--with-feedback: give the feedback database (SQLite path or postgresql:// URL) "
                           "or set OUTSORT_DATABASE_URL or OUTSORT_DATABASE")
    return database


def cmd_predict(args) -> int:
    if args.engine == "dask" and args.titles:
        raise CommandError("--titles is scored in one process: leave out --engine dask")
    if args.title_column and (args.jobs or args.titles):
        raise CommandError("--title-column is for task rows: --jobs reads the title column itself, "
                           "--titles scores the titles alone")
    if args.engine == "dask":
        return _predict_dask(args)
    if args.scheduler:
        raise CommandError("--scheduler needs --engine dask")
    from classifier.batch import predict_file
    model = _load(args)
    started = time.perf_counter()
    progress = _progress_bar(args.input)
    if args.jobs and args.titles:
        raise CommandError("--jobs and --titles exclude each other")
    rows = predict_file(model, args.input, args.output, text_column=args.text_column, jobs=args.jobs,
                        titles=args.titles, title_column=args.title_column,
                        input_format=args.input_format, output_format=args.output_format,
                        chunk_rows=args.chunk_rows, on_chunk=progress.update if progress else None)
    if progress:
        progress.close()
    seconds = time.perf_counter() - started
    print(f"scored {rows} rows in {seconds:.1f} s ({rows / max(seconds, 1e-9):,.0f} rows/s)", file=sys.stderr)
    return 0


def _predict_dask(args) -> int:
    try:
        from classifier.distributed import predict_dask
    except ImportError:
        raise CommandError("--engine dask needs Dask: pip install 'outsort[scale]'") from None
    started = time.perf_counter()
    rows = predict_dask(args.model, args.input, args.output, text_column=args.text_column,
                        scheduler=args.scheduler, jobs=args.jobs, registry=_registry(args),
                        title_column=args.title_column)
    seconds = time.perf_counter() - started
    print(f"scored {rows} rows in {seconds:.1f} s ({rows / max(seconds, 1e-9):,.0f} rows/s) "
          f"into {args.output}/", file=sys.stderr)
    return 0


def _progress_bar(input_path: str):
    """A tqdm bar on a terminal; nothing when output is piped or logged."""
    if not sys.stderr.isatty():
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(unit="rows", desc=Path(input_path).name if input_path != "-" else "stdin", file=sys.stderr)


def cmd_evaluate(args) -> int:
    from classifier.training import evaluate, evaluate_jobs, stderr_progress
    if args.postings:
        report = evaluate_jobs(by=args.postings, progress=stderr_progress)
        _print_posting_metrics(report)
    else:
        report = evaluate(data=args.data, model=None if args.cv else _load(args), cv=args.cv,
                          progress=stderr_progress, include_shipped=not args.data_only)
        _print_metrics(report)
    text = json.dumps(report, indent=2, sort_keys=True)
    if args.output == "-":
        print(text)
    else:
        Path(args.output).write_text(text + "\n")
        print(f"wrote {args.output}", file=sys.stderr)
    return 0


def cmd_serve(args) -> int:
    from service.server import run
    registry, model = args.registry, args.model
    if model and Path(model).is_dir():  # a version folder: serve it from the registry it sits in
        registry, model = str(Path(model).resolve().parent), Path(model).resolve().name
    return run(host=args.host, port=args.port, workers=args.workers, registry=registry, model=model)


def cmd_data_check(args) -> int:
    from datasets.checks import run_checks
    ok, report = run_checks(extra_files=args.data or [])
    print(report)
    return 0 if ok else 1


def cmd_data_fetch(args) -> int:
    from datasets.fetch import fetch
    for path in fetch(args.cache):
        print(path)
    return 0


def cmd_models(args) -> int:
    registry = _registry(args)
    current = registry.current()
    print(f"{'':2}{'version':29} {'macro_f1':>8} {'auto_rho':>8} {'out_auc':>8}  note")
    for version in registry.versions():
        manifest = registry.manifest(version)
        test = manifest.get("metrics", {}).get("frozen_test", {}).get("all", {})
        cat, auto = test.get("category", {}), test.get("automation", {})
        mark = "* " if version == current else "  "
        print(f"{mark}{version:29} {_fmt(cat.get('category_macro_f1')):>8} {_fmt(auto.get('spearman')):>8} "
              f"{_fmt(cat.get('outsourceable_auroc')):>8}  {manifest.get('note', '')}")
    return 0


def cmd_promote(args) -> int:
    from classifier.lifecycle import promote
    decision = promote(_registry(args), args.version, force=args.force)
    print(decision.message)
    return 0 if decision.promoted else 1


def cmd_rollback(args) -> int:
    from classifier.lifecycle import rollback
    print(f"current version is now {rollback(_registry(args))}")
    return 0


def cmd_report(args) -> int:
    from classifier.report import write_report
    print(write_report(_registry(args), args.version, output_dir=args.output, compare=args.compare))
    return 0


def cmd_review(args) -> int:
    from classifier.review import labeled_texts, read_texts, review_queue, write_queue
    texts = read_texts(args.input, text_column=args.text_column)
    queue = review_queue(_load(args), texts, limit=args.limit, exclude=labeled_texts())
    write_queue(queue, args.output)
    print(f"{len(queue)} of {len(texts)} texts queued for review, least sure first", file=sys.stderr)
    return 0


def _fmt(value) -> str:
    return "-" if value is None else f"{value:.3f}"


# O*NET tasks in grouped CV, without and with their occupation's title: macro-F1, outsourceable
# AUROC, occupation-level automation Spearman against the human raters.
TASK_TARGETS = {"cv": (0.83, 0.95, 0.90), "cv_with_title": (0.88, 0.97, 0.90)}


def _print_metrics(metrics: dict) -> None:
    """The figures of each evaluation in ``metrics`` as tables on stderr: headline figures per
    source, then the slices by style, domain and label confidence."""
    rows, slice_rows = [], []
    for split, by_source in metrics.items():
        if not isinstance(by_source, dict):
            continue
        for source, entry in by_source.items():
            if source == "slices":
                slice_rows += [(split, f"{key}={value}", f.get("n"), f.get("accuracy"), f.get("macro_f1"),
                                f.get("outsourceable_auroc"))
                               for key, table in entry.items() for value, f in table.items()]
                continue
            if not isinstance(entry, dict):
                continue
            cat, auto = entry.get("category", {}), entry.get("automation", {})
            per_class = cat.get("per_class_f1", {})
            rows.append((split, source, cat.get("n"), cat.get("category_macro_f1"), per_class.get("bpo_front_office"),
                         per_class.get("bpo_back_office"), per_class.get("kpo"), cat.get("outsourceable_auroc"),
                         cat.get("ece"), cat.get("accuracy_at_coverage", {}).get("80%"), auto.get("spearman"),
                         auto.get("qwk"), auto.get("human_exposure_auroc"), auto.get("occupation_spearman_human_beta")))
    for split, (f1, auroc, occ) in TASK_TARGETS.items():
        if split in metrics:
            rows.append((f"target {split}", "onet", None, f1, None, None, None, auroc, None, None, None, None, None, occ))
    _print_table(("split", "source", "n", "macro_f1", "f1_front", "f1_back", "f1_kpo", "out_auroc", "ece",
                  "acc@80%cov", "auto_rho", "auto_qwk", "expo_auroc", "occ_rho"), rows)
    if slice_rows:
        print(file=sys.stderr)
        _print_table(("split", "slice", "n", "accuracy", "macro_f1", "out_auroc"), slice_rows, first_width=24)


POSTING_TARGETS = {"job_macro_f1": 0.80, "onsite_auroc": 0.90, "share_mae": 0.12, "duty_f1": 0.90}


def _print_posting_metrics(report: dict) -> None:
    """Held-out figures of the job answer on real postings, per held-out group and per source."""
    agreement = report.get("agreement", {})
    if agreement:
        print("readers: " + ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}"
                                      for k, v in agreement.items()), file=sys.stderr)
    header = ("split", "group", "n", "job_f1", "4label_f1", "accuracy", "onsite_auc", "share_mae",
              "duty_prec", "duty_rec", "duty_f1")
    keys = ("n", "job_macro_f1", "four_label_macro_f1", "accuracy", "onsite_auroc", "share_mae",
            "duty_precision", "duty_recall", "duty_f1")
    rows = []
    for by, result in report.items():
        if by == "agreement":
            continue
        for group in ("overall", *result["folds"], *(f"source={s}" for s in result["by_source"])):
            entry = (result["overall"] if group == "overall" else result["by_source"][group[7:]]
                     if group.startswith("source=") else result["folds"][group])
            rows.append((by, group, *(entry.get(k) for k in keys)))
    for by, result in report.items():
        for name, entry in (result.get("title_only", {}) if isinstance(result, dict) else {}).items():
            rows.append((f"title only ({by})", name, *(entry.get(k) for k in keys)))
    rows.append(("target", "", None, POSTING_TARGETS["job_macro_f1"], None, None, POSTING_TARGETS["onsite_auroc"],
                 POSTING_TARGETS["share_mae"], None, None, POSTING_TARGETS["duty_f1"]))
    _print_table(header, rows, first_width=20)


def _print_table(header: tuple, rows: list, first_width: int = 11) -> None:
    split_width = max([11, *(len(str(row[0])) for row in rows)])
    widths = [split_width, first_width] + [11] * (len(header) - 2)
    print("  ".join(f"{h:>{w}}" for h, w in zip(header, widths)), file=sys.stderr)
    for row in rows:
        print("  ".join(_cell(v, w) for v, w in zip(row, widths)), file=sys.stderr)


def _cell(value, width: int = 11) -> str:
    if value is None:
        return f"{'-':>{width}}"
    if isinstance(value, float):
        return f"{value:>{width}.3f}"
    return f"{value!s:>{width}}"


# ----------------------------------------------------------------- parsing
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="outsort", description=__doc__.splitlines()[0])
    parser.add_argument("--registry", default=None, help="model registry folder (default: OUTSORT_REGISTRY or models/)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="train a model and store it as a new registry version")
    p.add_argument("--data", action="append", help="extra labeled CSV (text,label[,automation_level,...]); repeatable")
    p.add_argument("--cv", type=int, default=0, help="also run grouped N-fold cross-validation (0: frozen split only)")
    p.add_argument("--no-current", action="store_true", help="store the version without making it current")
    p.add_argument("--with-feedback", nargs="?", const="", default=None, metavar="DB_OR_URL",
                   help="merge the service's feedback corrections (latest per text wins); default database: "
                        "OUTSORT_DATABASE_URL or OUTSORT_DATABASE")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("predict", help="score a CSV, JSON Lines, Parquet or text file")
    p.add_argument("--input", required=True, help="input file, or - for stdin")
    p.add_argument("--output", required=True, help="output file, or - for stdout")
    p.add_argument("--text-column", default="text")
    p.add_argument("--title-column", default=None,
                   help="column of job titles: each text is read in the light of its role (empty cells: no title)")
    p.add_argument("--model", default=None, help="version name or version folder (default: current)")
    p.add_argument("--jobs", action="store_true", help="rows are whole job descriptions (title, description)")
    p.add_argument("--titles", action="store_true",
                   help="rows are job titles alone (a title column): label mix, on-site share, automation, "
                        "the words behind it and the nearest O*NET occupations")
    p.add_argument("--input-format", choices=("csv", "jsonl", "txt", "parquet"))
    p.add_argument("--output-format", choices=("csv", "jsonl", "parquet"))
    p.add_argument("--chunk-rows", type=int, default=10_000)
    p.add_argument("--engine", choices=("local", "dask"), default="local",
                   help="dask: score a CSV or Parquet input with Dask, --output is a folder of Parquet partitions")
    p.add_argument("--scheduler", help="with --engine dask: address of a Dask scheduler (default: a local cluster)")
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("evaluate", help="measure a model, or run grouped cross-validation")
    p.add_argument("--data", action="append", help="labeled CSV to evaluate on (with --cv: added to the shipped data)")
    p.add_argument("--data-only", action="store_true", help="with --cv: use only the --data files")
    p.add_argument("--model", default=None)
    p.add_argument("--cv", type=int, default=0, help="grouped N-fold cross-validation of a fresh model")
    p.add_argument("--postings", choices=("source", "company", "both"),
                   help="measure the job answer on the labeled real postings: leave one source out, "
                        "grouped by company, or both")
    p.add_argument("--output", default="evaluation.json", help="where to write the JSON (- for stdout)")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("serve", help="serve the HTTP API and page with gunicorn")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--model", default=None,
                   help="serve this version (name or folder) only; default: follow the registry's current version")
    p.set_defaults(func=cmd_serve)

    data = sub.add_parser("data", help="check or fetch training data").add_subparsers(dest="data_command", required=True)
    p = data.add_parser("check", help="validate the shipped data (and --data files) and print counts")
    p.add_argument("--data", action="append")
    p.set_defaults(func=cmd_data_check)
    p = data.add_parser("fetch", help="download the public O*NET task ratings into the local cache")
    p.add_argument("--cache", default=None)
    p.set_defaults(func=cmd_data_fetch)

    sub.add_parser("models", help="list registry versions").set_defaults(func=cmd_models)
    p = sub.add_parser("promote", help="make VERSION current if it is not worse than the current model")
    p.add_argument("version")
    p.add_argument("--force", action="store_true")
    p.set_defaults(func=cmd_promote)
    sub.add_parser("rollback", help="go back to the previous current version").set_defaults(func=cmd_rollback)

    p = sub.add_parser("report", help="write the HTML evaluation report (and PNG figures) of a version")
    p.add_argument("version")
    p.add_argument("--output", default=None, help="folder for report.html and figures (default: the version folder)")
    p.add_argument("--compare", default=None, help="version to diff against (default: the version's parent)")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("review", help="texts the model is least sure about, as CSV in the label schema")
    p.add_argument("--input", required=True, help="CSV, JSON Lines, Parquet or text file of unlabeled texts, - for stdin")
    p.add_argument("--text-column", default="text")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--output", default="-", help="CSV file, or - for stdout")
    p.add_argument("--model", default=None, help="version name or version folder (default: current)")
    p.set_defaults(func=cmd_review)
    return parser


def main(argv=None) -> int:
    """Entry point of the ``outsort`` console script."""
    from classifier.batch import InputError
    from classifier.registry import ModelLoadError
    from datasets.feedback_store import FeedbackStoreError
    from datasets.schema import SchemaError

    args = build_parser().parse_args(argv)
    warnings.simplefilter("default")
    try:
        return args.func(args)
    except (InputError, SchemaError, ModelLoadError, CommandError, FeedbackStoreError) as exc:
        print(f"outsort: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except FileNotFoundError as exc:
        print(f"outsort: error: file not found: {exc.filename}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as exc:
        print(f"outsort: error: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
