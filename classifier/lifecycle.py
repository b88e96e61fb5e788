"""Champion and challenger: promote a version only when it is not worse; roll back one step."""
from __future__ import annotations

from dataclasses import dataclass

from classifier.evaluation import frozen_test_mask
from classifier.registry import ModelLoadError, Registry
from classifier.training import measure
from datasets.loaders import load_training_frame

TOLERANCE = {"category_macro_f1": 0.01, "spearman": 0.01}


@dataclass
class Decision:
    promoted: bool
    message: str
    challenger: dict
    champion: dict | None


def headline(model, frame) -> dict:
    """Macro-F1 and automation rank correlation of a model on the given rows."""
    figures = measure(model, frame, slices=False)["all"]
    return {"category_macro_f1": figures["category"].get("category_macro_f1"),
            "spearman": figures["automation"].get("spearman")}


def promote(registry: Registry, version: str, force: bool = False, tolerance: dict | None = None,
            frame=None) -> Decision:
    """Make ``version`` current unless it is worse than the current model on the frozen test split.

    Both models are measured now, on the same frozen rows of today's data, so the comparison is
    fair even when the data grew since the champion was trained.
    """
    tolerance = {**TOLERANCE, **(tolerance or {})}
    challenger_model, _ = registry.load(version)
    champion_version = registry.current()
    if champion_version == version:
        return Decision(False, f"{version} is already current", {}, None)
    if frame is None:
        frame = load_training_frame()
    test = frame[frozen_test_mask(frame["group"])]
    challenger = headline(challenger_model, test)
    champion = None
    if champion_version:
        try:
            champion = headline(registry.load(champion_version)[0], test)
        except ModelLoadError:
            champion = None  # a broken champion never blocks its replacement
    worse = [f"{k} {challenger[k]:.3f} < {champion[k]:.3f} - {tolerance[k]}"
             for k in tolerance if champion and challenger[k] is not None and champion[k] is not None
             and challenger[k] < champion[k] - tolerance[k]]
    if worse and not force:
        return Decision(False, f"refused: {version} is worse than {champion_version}: " + "; ".join(worse),
                        challenger, champion)
    registry.set_current(version, action="promote", forced=bool(worse and force))
    note = " (forced despite: " + "; ".join(worse) + ")" if worse else ""
    return Decision(True, f"promoted {version}{note}", challenger, champion)


def _current_stack(registry: Registry) -> list[str]:
    """The chain of versions that were made current, with rolled-back ones removed."""
    stack: list[str] = []
    for entry in registry.history():
        if entry["action"] == "rollback":
            while stack and stack[-1] != entry["version"]:
                stack.pop()
            if not stack:
                stack.append(entry["version"])
        else:
            stack.append(entry["version"])
    return stack


def rollback(registry: Registry) -> str:
    """Switch back to the version that was current before the present one."""
    current = registry.current()
    available = set(registry.versions())
    stack = _current_stack(registry)
    while stack and stack[-1] == current:
        stack.pop()
    for version in reversed(stack):
        if version in available and version != current:
            registry.set_current(version, action="rollback")
            return version
    raise ModelLoadError("no earlier version to roll back to")
