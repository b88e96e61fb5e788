"""Job descriptions: split into duty statements, set aside what is not a duty, summarise the mix."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass, field

from nltk.tokenize.punkt import PunktParameters, PunktSentenceTokenizer

from classifier.prediction import Prediction, automation_level
from datasets.schema import CATEGORIES, LABELS

# Punkt with our own abbreviation list: no downloaded model is needed.
_PUNKT_PARAMS = PunktParameters()
_PUNKT_PARAMS.abbrev_types = {
    "e.g", "i.e", "etc", "approx", "incl", "dept", "vs", "mr", "mrs", "ms", "dr", "inc", "ltd", "co",
    "no", "jr", "sr", "st", "corp", "min", "max", "est", "avg", "nos", "ref", "u.s", "u.k",
}
_SENTENCES = PunktSentenceTokenizer(_PUNKT_PARAMS)

_BULLET = re.compile(r"^\s*(?:[-*•·▪◦●■►–—+]|\(?\d{1,2}[.)]|\(?[a-zA-Z][.)](?=\s))\s*")
_INLINE_BULLET = re.compile(r"\s*[•·▪◦●■►]\s*|\s+[*–—]\s+|\s+\d{1,2}[.)]\s+(?=[A-Z])|(?<=\w)-\s+(?=[A-Z])")
_GLUED = re.compile(r"([A-Za-z0-9)%])([.;!?])([A-Z][a-z])|([a-z]{2})([.;!?])(\d)")

SECTION_HEADINGS = {
    "duty": r"responsibilit|duties|what you(?:'|’)?ll do|what you will do|you will|the role|your role|key tasks|"
            r"about the (?:role|job|position)|main tasks|"
            r"day to day|day-to-day|job description|in this role|position summary|tasks",
    "requirement": r"requirement|qualification|what you(?:'|’)?ll need|what you need|who you are|"
                   r"skills|experience|profile|must have|nice to have|education|you have|about you",
    "benefit": r"benefit|what we offer|perks|we offer|compensation|why join|why work",
    "company": r"about us|about the company|who we are|our company|company overview|about [A-Z]",
    "legal": r"equal opportunity|eeo|disclaimer|legal|accommodation",
}
_HEADING = {kind: re.compile(rf"^\W*(?:{pattern})", re.IGNORECASE) for kind, pattern in SECTION_HEADINGS.items()}

# Sentences that give themselves away wherever they stand.
_KIND_PATTERNS = [
    ("legal", re.compile(
        r"equal opportunity|\beeo\b|without regard to|regardless of (?:race|gender|age)|sexual orientation|"
        r"protected (?:veteran|characteristic|status)|reasonable accommodation|e-verify|background check|"
        r"drug[- ]free|at-will|affirmative action|applicants? with disabilit", re.I)),
    ("benefit", re.compile(
        # Phrases, not single words: "calculate bonuses" or "benchmark salaries" are duties.
        r"^(?:salary|pay|compensation)\b|salary (?:range|band|of|from|up to)|health (?:insurance|care plan|benefits)|"
        r"dental|vision (?:cover|insurance|plan)|401\(?k|paid time off|\bpto\b|paid vacation|"
        r"pension (?:scheme|plan)|stock options|perks|wellness (?:program|allowance)|remote[- ]friendly|"
        r"hybrid work|flexible (?:hours|working|schedule)|we offer|you(?:'|’)ll get|private medical|"
        r"competitive (?:pay|compensation|package|salary)|parental leave|tuition (?:reimbursement|assistance)|"
        r"gym membership|employee discount|staff discount", re.I)),
    ("requirement", re.compile(
        r"\d+\s*\+?\s*(?:-\s*\d+\s*)?(?:years?|yrs)\b|\bbachelor|\bmaster'?s?\b|\bdegree\b|\bdiploma\b|\bmba\b|"
        r"\bphd\b|certifi(?:ed|cation) (?:required|preferred)|\brequired\b|\bpreferred\b|must have|"
        r"proficien(?:t|cy) (?:in|with)|experience (?:in|with|of)\b|knowledge of|familiarity with|"
        r"ability to|able to|excellent (?:communication|written|verbal)|strong (?:communication|analytical|"
        r"attention)|fluent|fluency|high school|ged\b|willing(?:ness)? to|candidates? (?:should|must)|"
        r"you (?:have|are|bring)\b|skills? in\b|attention to detail|team player|self-starter|must be", re.I)),
    ("company", re.compile(
        r"^(?:we are|we're|our (?:company|mission|team|client)|founded|headquartered|join (?:us|our)|"
        r"at [A-Z][\w&]+,? we|[A-Z][\w&]+ is (?:a|an|the) (?:leading|global|fast|growing|award))|"
        r"leading provider|fortune 500|serving (?:clients|customers) (?:in|across)|award-winning", re.I)),
]

MIN_DUTY_WORDS = 3
_HARD_REQUIREMENT = re.compile(r"\d+\s*\+?\s*(?:-\s*\d+\s*)?(?:years?|yrs)\b|\bdegree\b|\bbachelor|\bmaster'?s\b", re.I)
_INLINE_HEADING = re.compile(r"^\s*([A-Za-z][A-Za-z'’ &/-]{1,40}):\s*(.*)$", re.S)
# "Responsibilities:-Clear ...", "statements.-Request ...", "You will:•Answer": bullets glued to the text before.
_GLUED_BULLET = re.compile(r"([.:;!?])[ \t]*[-•*▪][ \t]*(?=[A-Z])")


@dataclass
class Segment:
    """A piece of a job description and what it was taken to be."""
    text: str
    kind: str  # duty, requirement, benefit, company, legal, heading, fragment


@dataclass
class JobSplit:
    duties: list[str] = field(default_factory=list)
    left_out: list[Segment] = field(default_factory=list)


@dataclass
class JobTask:
    text: str
    prediction: Prediction

    def to_dict(self) -> dict:
        return {"text": self.text, **self.prediction.to_dict()}


@dataclass
class JobPrediction:
    title: str
    category: str
    share_bpo_front_office: float
    share_bpo_back_office: float
    share_kpo: float
    share_not_outsourceable: float
    automation_score: float
    automation_level: int
    n_tasks: int
    tasks: list[JobTask]
    left_out: list[Segment]

    def to_dict(self) -> dict:
        data = {k: v for k, v in asdict(self).items() if k not in ("tasks", "left_out")}
        data["tasks"] = [t.to_dict() for t in self.tasks]
        data["left_out"] = [asdict(s) for s in self.left_out]
        return data


def _unglue(match: re.Match) -> str:
    groups = [g for g in match.groups() if g is not None]
    return f"{groups[0]}{groups[1]} {groups[2]}"


def _heading_kind(line: str) -> str | None:
    """The section a line opens, when it is a short heading such as 'Requirements:'."""
    stripped = line.strip().strip("*#_ ").strip()
    if not stripped or len(stripped.split()) > 7:
        return None
    if not (stripped.endswith(":") or stripped.isupper() or len(stripped.split()) <= 4 and stripped[-1:] not in ".;"):
        return None
    for kind, pattern in _HEADING.items():
        if pattern.search(stripped):
            return kind
    return None


def _items(line: str) -> list[str]:
    """Bullet items of one line: a line may hold one bullet or several run together."""
    line = _BULLET.sub("", line)
    return [part.strip() for part in _INLINE_BULLET.split(line) if part and part.strip()]


def _kind_of(sentence: str, section: str) -> str:
    if len(re.findall(r"[A-Za-z]{2,}", sentence)) < MIN_DUTY_WORDS:
        return "fragment"
    for kind, pattern in _KIND_PATTERNS:
        if pattern.search(sentence):
            # Under a duties heading only a legal notice or a plain requirement (years, a degree)
            # is taken out: "explain benefits to members" is still a duty.
            if section == "duty" and not (kind == "legal" or kind == "requirement" and _HARD_REQUIREMENT.search(sentence)):
                return "duty"
            return kind
    return "duty" if section in ("duty", "unknown") else section


def split_job(description: str) -> JobSplit:
    """Split a job description into duty statements and the parts left out of the mix.

    Handles bullets written as ``*``, ``-``, ``•`` or numbers, sentences glued together without
    a space after the full stop, and headings that open requirements, benefits, company and legal
    sections.
    """
    text = unicodedata.normalize("NFKC", str(description)).replace("\r\n", "\n").replace("\r", "\n")
    text = _GLUED_BULLET.sub("\\1\n", text)
    text = _GLUED.sub(_unglue, text)
    split, section, section_has_text = JobSplit(), "unknown", False
    for line in text.split("\n"):
        if not line.strip():
            # A company blurb or legal notice is a paragraph: what follows a blank line is new.
            if section in ("company", "legal") and section_has_text:
                section = "unknown"
            continue
        heading = _heading_kind(line)
        if heading:
            section, section_has_text = heading, False
            split.left_out.append(Segment(line.strip(), "heading"))
            continue
        for item in _items(line):
            glued_heading = _heading_kind(item)
            if glued_heading:  # "Responsibilities- Research ...": a heading glued to its first bullet
                section, section_has_text = glued_heading, False
                split.left_out.append(Segment(item, "heading"))
                continue
            for sentence in _SENTENCES.tokenize(item):
                sentence, section = _take_inline_heading(sentence, section, split)
                for clause in _clauses(sentence, section):
                    kind = _kind_of(clause, section)
                    section_has_text = True
                    if kind == "duty":
                        split.duties.append(clause)
                    else:
                        split.left_out.append(Segment(clause, kind))
    return split


def _take_inline_heading(sentence: str, section: str, split: JobSplit) -> tuple[str, str]:
    """'About us: we are ...' or 'Duties include: answering ...': a heading and its first words in
    one sentence. The heading opens its section and is set aside; the rest is returned."""
    inline = _INLINE_HEADING.match(sentence)
    kind = inline and _heading_kind(inline.group(1) + ":")
    if not kind:
        return sentence, section
    split.left_out.append(Segment(inline.group(1).strip() + ":", "heading"))
    return inline.group(2), kind


def _clauses(sentence: str, section: str) -> list[str]:
    """Duties listed in one sentence with semicolons become one duty each."""
    sentence = sentence.strip(" ;,")
    if ";" not in sentence or section not in ("duty", "unknown"):
        return [sentence] if sentence else []
    parts = [p.strip(" ;,") for p in sentence.split(";")]
    if all(len(p.split()) >= MIN_DUTY_WORDS for p in parts if p):
        return [p for p in parts if p]
    return [sentence]


def _job_fields(job) -> tuple[str, str]:
    if isinstance(job, str):
        return "", job
    return str(job.get("title") or ""), str(job.get("description") or "")


def summarise(title: str, tasks: list[JobTask], left_out: list[Segment]) -> JobPrediction:
    """The job's mix: the share of duties in each label, and its duty-weighted automation score."""
    counts = dict.fromkeys(LABELS, 0.0)
    for task in tasks:
        p = task.prediction
        counts["not_outsourceable" if p.out_of_scope else p.category] += 1
    n = max(len(tasks), 1)
    shares = {label: round(count / n, 4) for label, count in counts.items()}
    # Ties go to the label with more probability mass, so the answer does not depend on order.
    mass = {label: 0.0 for label in LABELS}
    for task in tasks:
        p = task.prediction
        mass["not_outsourceable"] += 1 - p.outsourceable
        for c in CATEGORIES:
            mass[c] += p.outsourceable * getattr(p, f"p_{c}")
    category = max(LABELS, key=lambda label: (shares[label], mass[label]))
    score = sum(t.prediction.automation_score for t in tasks) / n
    return JobPrediction(
        title=title, category=category,
        share_bpo_front_office=shares["bpo_front_office"], share_bpo_back_office=shares["bpo_back_office"],
        share_kpo=shares["kpo"], share_not_outsourceable=shares["not_outsourceable"],
        automation_score=round(score, 4), automation_level=automation_level(score),
        n_tasks=len(tasks), tasks=tasks, left_out=left_out,
    )


def predict_jobs(model, jobs, explain: bool = False) -> list[JobPrediction]:
    """Classify every duty of every job in one flat batch, then summarise each job."""
    jobs = list(jobs)
    splits, titles = [], []
    for job in jobs:
        title, description = _job_fields(job)
        split = split_job(description)
        if not split.duties and description.strip():
            # Nothing looked like a duty: judge the text as a whole rather than give no answer.
            split.duties = [description.strip()]
        splits.append(split)
        titles.append(title)
    flat = [duty for split in splits for duty in split.duties]
    predictions = model.predict(flat, explain=explain) if flat else []
    results, start = [], 0
    for title, split in zip(titles, splits):
        end = start + len(split.duties)
        tasks = [JobTask(text, pred) for text, pred in zip(split.duties, predictions[start:end])]
        results.append(summarise(title, tasks, split.left_out))
        start = end
    return results
