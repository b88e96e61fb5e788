"""The evaluation report of one model version: a single HTML file with its figures.

Every figure comes from the version's predictions on the frozen test split, the rows no model
ever trains on, so two reports of two versions are measured on the same ground. Figures are
written as PNG files beside the HTML and also embedded in it, so the page can be mailed alone.
"""
from __future__ import annotations

import base64
import html
import io
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

from classifier.evaluation import evaluate_predictions, frozen_test_mask
from classifier.registry import ModelLoadError, Registry
from datasets.loaders import load_occupations, load_training_frame
from datasets.schema import CATEGORIES, LABELS, SchemaError

REPORT_FILE = "report.html"
MISTAKES_SHOWN = 20
RELIABILITY_BINS = 10
# The figures a diff shows: (section of evaluate_predictions()["all"], key, higher is better).
HEADLINE = (("category", "category_macro_f1", True), ("category", "category_accuracy", True),
            ("category", "four_label_macro_f1", True), ("category", "outsourceable_auroc", True),
            ("category", "ece", False), ("automation", "spearman", True), ("automation", "qwk", True),
            ("automation", "mae_levels", False))


# ------------------------------------------------------------------ data
def frozen_test_frame(frame: pd.DataFrame | None = None) -> pd.DataFrame:
    """The frozen test rows of ``frame`` (default: everything training loads), index reset."""
    frame = load_training_frame() if frame is None else frame
    return frame[frozen_test_mask(frame["group"])].reset_index(drop=True)


def answer_columns(model, test: pd.DataFrame) -> dict[str, np.ndarray]:
    """The model's columns on ``test`` plus the four-label answer and the probability it gave it.

    The answer is ``not_outsourceable`` when the out-of-scope flag is raised, else the category.
    Its probability is ``1 - outsourceable`` for the former and ``outsourceable * confidence`` for
    a category, so mistakes of both kinds rank on one scale.
    """
    cols = {k: np.asarray(v) for k, v in model.predict_columns(test["text"].tolist()).items() if k != "_X"}
    out = cols["out_of_scope"].astype(bool)
    cols["answer"] = np.where(out, "not_outsourceable", cols["category"]).astype(object)
    cols["answer_probability"] = np.where(out, 1.0 - cols["outsourceable"],
                                          cols["outsourceable"] * cols["confidence"])
    return cols


def headline_metrics(evaluation: dict) -> dict[str, float | None]:
    """The figures of :data:`HEADLINE` from an ``evaluate_predictions`` result."""
    overall = evaluation.get("all", {})
    return {key: overall.get(section, {}).get(key) for section, key, _ in HEADLINE}


# ---------------------------------------------------------------- figures
def _figure(width: float = 6.4, height: float = 4.2) -> tuple[Figure, object]:
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)  # Agg renders without a display and without pyplot's global state
    return fig, fig.add_subplot()


def per_class_figure(test: pd.DataFrame, cols: dict) -> tuple[Figure, pd.DataFrame]:
    """Precision, recall and F1 of the four-label answer, one group of bars per label."""
    labeled = test["label"].isin(LABELS).to_numpy()
    p, r, f, n = precision_recall_fscore_support(test["label"][labeled], cols["answer"][labeled],
                                                 labels=list(LABELS), zero_division=0)
    table = pd.DataFrame({"precision": p, "recall": r, "f1": f, "support": n}, index=list(LABELS))
    fig, ax = _figure()
    x = np.arange(len(LABELS))
    for k, name in enumerate(("precision", "recall", "f1")):
        ax.bar(x + (k - 1) * 0.27, table[name], width=0.27, label=name)
    ax.set_xticks(x, [f"{lab}\n(n={s})" for lab, s in zip(LABELS, n)], fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.set_title("Per-class precision, recall and F1 (four-label answer)")
    ax.legend(loc="lower right", fontsize=8)
    return fig, table


def confusion_figure(test: pd.DataFrame, cols: dict) -> Figure:
    """Counts of true label (rows) against the four-label answer (columns)."""
    labeled = test["label"].isin(LABELS).to_numpy()
    matrix = confusion_matrix(test["label"][labeled], cols["answer"][labeled], labels=list(LABELS))
    fig, ax = _figure(6.4, 5.2)
    ax.imshow(matrix, cmap="Blues")
    for (i, j), count in np.ndenumerate(matrix):
        ax.text(j, i, str(count), ha="center", va="center",
                color="white" if count > matrix.max() / 2 else "black")
    short = [lab.replace("_", "\n") for lab in LABELS]
    ax.set_xticks(range(len(LABELS)), short, fontsize=8)
    ax.set_yticks(range(len(LABELS)), short, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true label")
    ax.set_title("Confusion matrix")
    return fig


def _in_scope(test: pd.DataFrame, cols: dict) -> tuple[np.ndarray, np.ndarray]:
    """Category confidence and correctness on rows whose true label is a category."""
    mask = test["label"].isin(CATEGORIES).to_numpy()
    return cols["confidence"][mask], cols["category"][mask] == test["label"].to_numpy()[mask]


def reliability_figure(test: pd.DataFrame, cols: dict) -> Figure:
    """Accuracy against stated confidence in equal-width bins; the diagonal is perfect calibration."""
    confidence, correct = _in_scope(test, cols)
    edges = np.linspace(0, 1, RELIABILITY_BINS + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, RELIABILITY_BINS - 1)
    centres, accuracy, counts = [], [], []
    for b in range(RELIABILITY_BINS):
        in_bin = which == b
        if in_bin.any():
            centres.append(confidence[in_bin].mean())
            accuracy.append(correct[in_bin].mean())
            counts.append(int(in_bin.sum()))
    fig, ax = _figure()
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfect calibration")
    ax.plot(centres, accuracy, marker="o", label="model")
    for x, y, c in zip(centres, accuracy, counts):
        ax.annotate(str(c), (x, y), textcoords="offset points", xytext=(0, 6), ha="center", fontsize=7)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("category confidence (bin mean; labels: rows per bin)")
    ax.set_ylabel("accuracy")
    ax.set_title("Reliability diagram, category confidence")
    ax.legend(loc="upper left", fontsize=8)
    return fig


def coverage_figure(test: pd.DataFrame, cols: dict) -> Figure:
    """Category accuracy when only the most confident share of answers is given."""
    confidence, correct = _in_scope(test, cols)
    ordered = correct[np.argsort(-confidence, kind="stable")]
    kept = np.arange(1, len(ordered) + 1)
    fig, ax = _figure()
    ax.plot(kept / max(len(ordered), 1), np.cumsum(ordered) / kept)
    ax.set_xlim(0, 1)
    ax.set_xlabel("coverage (share of answers given, most confident first)")
    ax.set_ylabel("category accuracy")
    ax.set_title("Accuracy against coverage")
    ax.grid(alpha=0.3)
    return fig


def automation_figure(test: pd.DataFrame, cols: dict) -> Figure:
    """Distribution of the automation score for each reference level 0-4."""
    known = test["automation"].notna().to_numpy()
    levels = np.rint(test["automation"].to_numpy()[known] * 4).astype(int)
    scores = cols["automation_score"][known]
    present = [lev for lev in range(5) if (levels == lev).any()]
    fig, ax = _figure()
    ax.boxplot([scores[levels == lev] for lev in present], positions=present, widths=0.6)
    ax.plot(range(5), np.linspace(0, 1, 5), linestyle="--", color="grey", label="level centre")
    ax.set_xticks(present, [f"{lev}\n(n={(levels == lev).sum()})" for lev in present])
    ax.set_xlabel("reference automation level")
    ax.set_ylabel("predicted automation score")
    ax.set_ylim(-0.05, 1.05)
    ax.set_title("Automation score against reference levels")
    ax.legend(loc="upper left", fontsize=8)
    return fig


def slice_figure(slices: dict, key: str) -> Figure:
    """Category macro-F1 and accuracy of every slice with enough labeled rows."""
    table = pd.DataFrame(slices.get(key, {})).T.sort_values("macro_f1") if slices.get(key) else pd.DataFrame()
    fig, ax = _figure(6.4, max(2.5, 0.32 * len(table) + 1.2))
    if table.empty:
        ax.text(0.5, 0.5, "no slice has 5 labeled rows", ha="center", va="center")
        ax.set_axis_off()
        return fig
    y = np.arange(len(table))
    ax.barh(y - 0.2, table["macro_f1"], height=0.4, label="macro-F1")
    ax.barh(y + 0.2, table["accuracy"], height=0.4, label="accuracy")
    ax.set_yticks(y, [f"{name} (n={int(n)})" for name, n in zip(table.index, table["n"])], fontsize=8)
    ax.set_xlim(0, 1)
    ax.set_title(f"Category figures by {key}")
    ax.legend(loc="lower right", fontsize=8)
    return fig


def confident_mistakes(test: pd.DataFrame, cols: dict, limit: int = MISTAKES_SHOWN) -> pd.DataFrame:
    """The labeled rows the model got wrong while most sure of its answer."""
    wrong = test["label"].isin(LABELS).to_numpy() & (cols["answer"] != test["label"].to_numpy())
    table = pd.DataFrame({"text": test["text"], "source": test["source"], "label": test["label"],
                          "answer": cols["answer"], "probability": cols["answer_probability"],
                          "category_confidence": cols["confidence"],
                          "outsourceable": cols["outsourceable"]})[wrong]
    return table.sort_values("probability", ascending=False, kind="stable").head(limit).reset_index(drop=True)


# ------------------------------------------------------------------ diff
def compare_headlines(registry: Registry, version: str, test: pd.DataFrame, evaluation: dict) -> pd.DataFrame:
    """Headline figures of ``version`` and this report's model, side by side.

    The other model is measured now on the same frozen rows; if it cannot be loaded, the figures
    stored in its manifest stand in (they may come from other data, which the table says).
    """
    try:
        other_model, _ = registry.load(version)
        other = headline_metrics(evaluate_predictions(test, answer_columns(other_model, test), slices=False))
        basis = "measured now on the same rows"
    except ModelLoadError as exc:
        other = headline_metrics(registry.manifest(version).get("metrics", {}).get("frozen_test", {}))
        basis = f"from its manifest ({exc})"
    this = headline_metrics(evaluation)
    rows = []
    for _, key, higher_better in HEADLINE:
        a, b = other.get(key), this.get(key)
        delta = None if a is None or b is None else b - a
        # below the third decimal the table shows, a change is noise, not a verdict
        better = None if delta is None or abs(delta) < 5e-4 else (delta > 0) == higher_better
        rows.append({"metric": key, version: a, "this version": b, "change": delta,
                     "verdict": {None: "same", True: "better", False: "worse"}[better]})
    table = pd.DataFrame(rows)
    table.attrs["basis"] = basis
    return table


# ------------------------------------------------------------------ HTML
def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def _atomic_write(path: Path, data: bytes) -> None:
    """Write beside the target and rename over it, so a reader never sees half a file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o644)  # mkstemp makes owner-only files; a report is meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _table_html(table: pd.DataFrame, index: bool = False) -> str:
    return table.to_html(index=index, float_format=lambda v: f"{v:.3f}", na_rep="-", border=0,
                         classes="figures", escape=True)


_STYLE = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ddd}
table.figures{border-collapse:collapse;font-size:.85em;margin:.5em 0}
table.figures td,table.figures th{padding:.25em .6em;border-bottom:1px solid #eee;text-align:right}
table.figures td:first-child,table.mistakes td{text-align:left}
figure{display:inline-block;margin:.5em}img{max-width:100%}.muted{color:#777;font-size:.85em}"""


def _render(version: str, manifest: dict, test: pd.DataFrame, sections: list[tuple[str, str]]) -> str:
    intro = (f"<p>Version <b>{html.escape(version)}</b>, created {html.escape(str(manifest.get('created', '?')))}"
             f", parent {html.escape(str(manifest.get('parent') or 'none'))}. Measured on the frozen test split: "
             f"{len(test)} rows ({int(test['label'].isin(LABELS).sum())} labeled, "
             f"{int(test['automation'].notna().sum())} with an automation level), none of them seen in training."
             "</p>")
    body = "".join(f"<h2>{html.escape(title)}</h2>{content}" for title, content in sections)
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>outsort report {html.escape(version)}"
            f"</title><style>{_STYLE}</style></head><body><h1>outsort model report</h1>{intro}{body}</body></html>\n")


def _figure_html(name: str, png: bytes, caption: str) -> str:
    """The figure embedded as base64, linked to its PNG file beside the report."""
    data = base64.b64encode(png).decode("ascii")
    return (f"<figure><a href='{name}'><img src='data:image/png;base64,{data}' alt='{html.escape(caption)}'></a>"
            f"<figcaption class='muted'>{html.escape(caption)} ({name})</figcaption></figure>")


def write_report(registry: Registry, version: str, output_dir: Path | str | None = None,
                 compare: str | None = None, frame: pd.DataFrame | None = None) -> Path:
    """Write the HTML report of ``version`` and its PNG figures; return the report's path.

    Parameters
    ----------
    registry : Registry
    version : str
        Version name (or version folder) to report on.
    output_dir : Path or str, optional
        Where ``report.html`` and the figures go; defaults to the version's folder.
    compare : str, optional
        Version to diff against; defaults to the version's parent, if it has one.
    frame : DataFrame, optional
        Rows to take the frozen test split from; defaults to everything training loads.

    Returns
    -------
    Path
        The written ``report.html``.
    """
    model, manifest = registry.load(version)
    version = manifest.get("version", str(version))
    if compare:
        registry.resolve(compare)  # a mistyped version fails before any file is written
    output = Path(output_dir) if output_dir else registry.resolve(version)
    output.mkdir(parents=True, exist_ok=True)
    test = frozen_test_frame(frame)
    if not len(test):
        raise SchemaError("the data has no rows in the frozen test split: nothing to report on")
    cols = answer_columns(model, test)
    with warnings.catch_warnings():
        # a slice lacking some category gets F1 0 for it; the figure shows that, no need to warn too
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        evaluation = evaluate_predictions(test, cols, test["exposure"], load_occupations(), slices=True)
    per_class, per_class_table = per_class_figure(test, cols)
    figures = {
        "per_class": (per_class, "Per-class precision, recall and F1"),
        "confusion_matrix": (confusion_figure(test, cols), "Confusion matrix"),
        "reliability": (reliability_figure(test, cols), "Reliability diagram of the category confidence"),
        "coverage": (coverage_figure(test, cols), "Accuracy against coverage"),
        "automation_levels": (automation_figure(test, cols), "Automation score by reference level"),
        "slices_style": (slice_figure(evaluation.get("slices", {}), "style"), "Figures by style"),
        "slices_domain": (slice_figure(evaluation.get("slices", {}), "domain"), "Figures by domain"),
    }
    shown = {}
    for key, (fig, caption) in figures.items():
        name = f"report-{key}.png"
        png = _png(fig)
        _atomic_write(output / name, png)
        shown[key] = _figure_html(name, png, caption)
    sections = _sections(registry, version, manifest, test, evaluation, per_class_table, shown, cols, compare)
    path = output / REPORT_FILE
    _atomic_write(path, _render(version, manifest, test, sections).encode("utf-8"))
    return path


def _sections(registry, version, manifest, test, evaluation, per_class_table, shown, cols, compare):
    headline = pd.DataFrame([headline_metrics(evaluation)]).T.rename(columns={0: "value"})
    sections = [("Headline figures", _table_html(headline, index=True))]
    other = compare or manifest.get("parent")
    if other and other != version:
        diff = compare_headlines(registry, other, test, evaluation)
        sections.append((f"Compared with {other}",
                         f"<p class='muted'>{other}: {html.escape(diff.attrs['basis'])}.</p>" + _table_html(diff)))
    sections += [
        ("Per-class precision, recall and F1", shown["per_class"] + _table_html(per_class_table, index=True)),
        ("Confusion matrix", shown["confusion_matrix"]),
        ("Calibration", shown["reliability"] + f"<p>Expected calibration error: "
         f"{evaluation['all']['category'].get('ece', float('nan')):.3f}</p>"),
        ("Accuracy against coverage", shown["coverage"] + _table_html(pd.DataFrame(
            [evaluation["all"]["category"].get("accuracy_at_coverage", {})], index=["accuracy"]), index=True)),
        ("Automation score against reference levels", shown["automation_levels"]),
        ("Figures by style and domain", shown["slices_style"] + shown["slices_domain"]),
        (f"The {MISTAKES_SHOWN} most confident mistakes",
         "<p class='muted'>probability: what the model gave its own four-label answer.</p>"
         + confident_mistakes(test, cols).to_html(index=False, float_format=lambda v: f"{v:.3f}", border=0,
                                                  classes="figures mistakes")),
    ]
    return sections


__all__ = ["write_report", "frozen_test_frame", "answer_columns", "confident_mistakes", "compare_headlines",
           "headline_metrics", "REPORT_FILE"]
