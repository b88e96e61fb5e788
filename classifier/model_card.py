"""A model card per version: what the model is for, what it learned from, how well it does, where
it fails. Everything it states is read from the version's manifest, so the card cannot drift from
the model it describes."""
from __future__ import annotations

from classifier.registry import Registry

MODEL_CARD_FILE = "MODEL_CARD.md"

INTENDED_USE = """\
Sorts short English descriptions of work (a task, a duty line of a job ad, a support ticket) into
`bpo_front_office` (customer-facing service), `bpo_back_office` (processing and administration),
`kpo` (expert knowledge work) or `not_outsourceable` (work bound to a place, a body or a licence),
and scores how much of it software could automate (0-1, shown as levels 0-4).

Use it to triage and to rank: which parts of a role could move to a service provider, which tasks
to look at first for automation. Do not use it to decide about a person (hiring, pay, dismissal):
it reads descriptions of work, never of the people who do it."""

KNOWN_LIMITS = """\
- English only; other languages get low confidence at best and confident nonsense at worst.
- The automation targets of O*NET rows are GPT-4's ratings of each task (T0-T4), so the automation
  score learns that judgement, not a measured outcome; its agreement with human raters is under
  Metrics.
- The corpus rows are short descriptions in a handful of styles (terse, bullet, ticket, paragraph,
  typos, abbreviations); text far from them (legal clauses, long narratives, lists of tools) is
  outside what was measured.
- The category confidence is calibrated on held-out folds of the training data; on other text it
  is a ranking, not a promise. Abstain below a confidence you chose from the coverage figures.
- A whole job description is split into duties by rules; a duty the splitter misses is not scored."""


def _fmt(value) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def _data_section(manifest: dict) -> str:
    data = manifest.get("data", {})
    rows = data.get("rows", {})
    lines = [f"- rows: {_fmt(rows.get('total'))} ({_fmt(rows.get('labeled'))} with a category label, "
             f"{_fmt(rows.get('with_automation'))} with an automation level)",
             f"- trained on {_fmt(data.get('train_rows'))} rows; {_fmt(data.get('frozen_test_rows'))} rows "
             "(whole groups: occupations, source templates) form the frozen test split and were never seen",
             f"- data fingerprint (sha256): `{data.get('fingerprint', '-')}`"]
    if data.get("extra_files"):
        lines.append("- added label files: " + ", ".join(f"`{f}`" for f in data["extra_files"]))
    for title, counts in (("by source", rows.get("by_source")), ("by label", rows.get("by_label"))):
        if counts:
            lines.append(f"- {title}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    return "\n".join(lines)


def _metrics_section(manifest: dict) -> str:
    metrics = manifest.get("metrics", {})
    header = ("| split | labeled rows | category macro-F1 | four-label macro-F1 | outsourceable AUROC | ECE | "
              "automation Spearman | automation QWK |\n|---|---|---|---|---|---|---|---|")
    rows = []
    for split, by_source in metrics.items():
        for source, entry in by_source.items():
            if source == "slices" or not isinstance(entry, dict):
                continue
            cat, auto = entry.get("category", {}), entry.get("automation", {})
            rows.append(f"| {split} / {source} | {_fmt(cat.get('n'))} | {_fmt(cat.get('category_macro_f1'))} | "
                        f"{_fmt(cat.get('four_label_macro_f1'))} | {_fmt(cat.get('outsourceable_auroc'))} | "
                        f"{_fmt(cat.get('ece'))} | {_fmt(auto.get('spearman'))} | {_fmt(auto.get('qwk'))} |")
    if not rows:
        return "No evaluation was recorded for this version."
    return header + "\n" + "\n".join(rows) + "\n\n" + _weakest(metrics)


def _weakest(metrics: dict) -> str:
    """The lowest per-class F1 on the frozen split: the first place to add labels."""
    per_class = metrics.get("frozen_test", {}).get("all", {}).get("category", {}).get("per_class_f1", {})
    if not per_class:
        return ""
    label, f1 = min(per_class.items(), key=lambda kv: kv[1] if kv[1] is not None else 1.0)
    test = metrics["frozen_test"]
    coverage = test["all"]["category"].get("accuracy_at_coverage", {})
    shown = ", ".join(f"{k} {_fmt(v)}" for k, v in sorted(coverage.items(), key=lambda kv: -int(kv[0][:-1])))
    onet = test.get("onet", {}).get("automation", {})
    return (f"Weakest category on the frozen split: `{label}` (F1 {_fmt(f1)}). "
            f"Category accuracy when only the most confident share is answered: {shown or '-'}. "
            f"Agreement of the automation score with human raters: AUROC for tasks they judged exposed "
            f"{_fmt(onet.get('human_exposure_auroc'))}, Spearman of occupation means with their exposure "
            f"share {_fmt(onet.get('occupation_spearman_human_beta'))}.")


def _thresholds_section(manifest: dict) -> str:
    thresholds = manifest.get("thresholds", {})
    return (f"- out of scope when P(outsourceable) < {_fmt(thresholds.get('out_of_scope'))} (chosen to "
            "maximise F1 of the flag on held-out folds)\n"
            f"- softmax temperature {_fmt(thresholds.get('temperature'))} (fitted on held-out folds)\n"
            "- automation level = the nearest of 0, 0.25, 0.5, 0.75, 1 to the score")


def render_model_card(manifest: dict) -> str:
    """The Markdown text of a model card for one manifest."""
    libraries = ", ".join(f"{k} {v}" for k, v in sorted(manifest.get("libraries", {}).items()))
    params = ", ".join(f"{k}={v}" for k, v in sorted(manifest.get("params", {}).items()))
    return (f"# Model card: outsort {manifest.get('version', '?')}\n\n"
            f"- created: {manifest.get('created', '-')}\n- parent version: {manifest.get('parent') or 'none'}\n"
            f"- model file sha256: `{manifest.get('sha256', '-')}`\n- parameters: {params or '-'}\n"
            f"- libraries: {libraries or '-'}\n"
            + (f"- note: {manifest['note']}\n" if manifest.get("note") else "")
            + f"\n## Intended use\n\n{INTENDED_USE}\n\n## Training data\n\n{_data_section(manifest)}\n\n"
            f"## Metrics\n\n{_metrics_section(manifest)}\n\n## Thresholds\n\n{_thresholds_section(manifest)}\n\n"
            f"## Known limits\n\n{KNOWN_LIMITS}\n")


def write_model_card(registry: Registry, version: str):
    """Write ``MODEL_CARD.md`` into the folder of ``version``.

    Parameters
    ----------
    registry : Registry
    version : str
        Version name or version folder.

    Returns
    -------
    Path
        The written card.
    """
    return registry.write_file(version, MODEL_CARD_FILE, render_model_card(registry.manifest(version)))


__all__ = ["write_model_card", "render_model_card", "MODEL_CARD_FILE"]
