"""One prediction record, built in one place; the CLI, the API and the page only format it."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from datasets.schema import CATEGORIES, LABELS

OUTPUT_COLUMNS = (
    "category", "confidence", "p_bpo_front_office", "p_bpo_back_office", "p_kpo",
    "outsourceable", "out_of_scope", "automation_score", "automation_level",
)


@dataclass
class Term:
    """A word or phrase of the text (or of its job title, ``from_title``) and its signed
    contribution to a score."""
    term: str
    weight: float
    from_title: bool = False


@dataclass
class Explanation:
    """Terms that pushed the chosen category and the automation score, strongest first."""
    category: list[Term] = field(default_factory=list)
    automation: list[Term] = field(default_factory=list)


@dataclass
class Prediction:
    category: str
    confidence: float
    p_bpo_front_office: float
    p_bpo_back_office: float
    p_kpo: float
    outsourceable: float
    out_of_scope: bool
    automation_score: float
    automation_level: int
    explanation: Explanation | None = None

    def to_dict(self) -> dict:
        data = asdict(self)
        if self.explanation is None:
            data.pop("explanation")
        return data


@dataclass
class MixAnswer:
    """What a whole job or a job title comes to: the share of its work in each label, the label
    it is given, and an automation estimate. Jobs and titles extend it."""
    title: str
    category: str
    share_bpo_front_office: float
    share_bpo_back_office: float
    share_kpo: float
    share_not_outsourceable: float
    automation_score: float
    automation_level: int


def automation_level(score: float) -> int:
    """The 0-4 level whose centre (0, .25, .5, .75, 1) is nearest to a 0-1 score."""
    return int(min(4, max(0, round(float(score) * 4))))


__all__ = ["CATEGORIES", "LABELS", "OUTPUT_COLUMNS", "MixAnswer", "Prediction", "Explanation", "Term", "automation_level"]
