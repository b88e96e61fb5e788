"""The duty finder: which parts of a posting are work the role does, learned from labeled parts.

A part is read with its surroundings: the heading above it, where it stands in the posting, the
words of its neighbours and its form ("you will", "you are", an opening verb). Hand-written
patterns of legal notices, benefits and requirements are features here, never verdicts.
"""
from __future__ import annotations

import re

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator
from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold
from sklearn.preprocessing import normalize

from classifier.text import normalise, stemmed_words

DUTY = "duty"

SECTION_HEADINGS = {
    "duty": r"responsibilit|duties|what you(?:'|’)?ll do|what you will do|you will|the role|your role|key tasks|"
            r"about the (?:role|job|position)|main tasks|day to day|day-to-day|job description|in this role|"
            r"position summary|tasks|essential functions|your impact|summary",
    "requirement": r"requirement|qualification|what you(?:'|’)?ll need|what you need|who you are|"
                   r"skills|experience|profile|must have|nice to have|education|you have|about you|preferred",
    "benefit": r"benefit|what we offer|perks|we offer|compensation|why join|why work|salary|pay\b",
    "company": r"about us|about the company|who we are|our company|company (?:overview|description)|about [a-z]",
    "legal": r"equal opportunity|eeo|disclaimer|legal|accommodation",
    "application": r"how to apply|to apply|application|contact",
}
_HEADING = {kind: re.compile(rf"^\W*(?:{pattern})", re.IGNORECASE) for kind, pattern in SECTION_HEADINGS.items()}

# Sentences that often give themselves away: features for the model, not rules.
_CUES = {
    "legal": r"equal opportunity|\beeo\b|without regard to|regardless of (?:race|gender|age)|sexual orientation|"
             r"protected (?:veteran|characteristic|status)|reasonable accommodation|e-verify|background check|"
             r"drug[- ]free|at-will|affirmative action|disabilit",
    "benefit": r"salary|\bpay\b|compensation|health (?:insurance|care|benefits)|dental|401\(?k|paid time off|\bpto\b|"
               r"vacation|pension|stock options|perks|wellness|remote|hybrid|flexible|we offer|bonus|per (?:hour|annum|year)|"
               r"full[- ]time|part[- ]time|\$|£|\*\*\*\*",
    "requirement": r"\d+\s*\+?\s*(?:-\s*\d+\s*)?(?:years?|yrs)\b|bachelor|master'?s?\b|\bdegree\b|diploma|\bmba\b|"
                   r"\bphd\b|certifi|required|preferred|must have|proficien|experience (?:in|with|of)\b|knowledge of|"
                   r"familiarity with|ability to|able to|excellent|strong|fluent|high school|willing|candidates?|"
                   r"skills?\b|attention to detail|team player|self-starter|must be|licen[cs]e",
    "company": r"^(?:we are|we're|our |founded|headquartered|join )|leading|fortune 500|award|mission|clients|"
               r"established|since \d{4}",
    "application": r"apply|application|resume|\bcv\b|e-?mail|contact|click|send|submit|interview|closing date|"
                   r"recruit|agency",
}
# The patterns are lower case and run on the lower-cased part: three times faster than IGNORECASE.
_CUE = {kind: re.compile(pattern) for kind, pattern in _CUES.items()}
_DIGIT = re.compile(r"\d")
_YOU = re.compile(r"\byou(?:'|’)?(?:ll| will| would| are|'re| have| must| should| need)\b")
_WE = re.compile(r"\b(?:we|our|us)\b")
HEADING_WORDS = 6


def looks_like_heading(text: str) -> bool:
    """A short line that opens a section rather than says something: 'Requirements:', 'THE ROLE'."""
    stripped = text.strip()
    return (len(stripped.split()) <= HEADING_WORDS and stripped[-1:] not in ".!?") or stripped.endswith(":")


def heading_kind(text: str) -> str | None:
    """The section a heading names, from its words."""
    for kind, pattern in _HEADING.items():
        if pattern.search(text.strip("*#_ ")):
            return kind
    return None


def _bucket(value: float, edges: tuple) -> int:
    return int(np.searchsorted(edges, value, side="right"))


def _own_features(text: str, stems: list[str]) -> dict[str, float]:
    stripped = text.strip()
    lowered = stripped.lower()
    feats = {f"w={s}": 1.0 for s in stems}
    if stems:
        feats[f"first={stems[0]}"] = 1.0
        if len(stems) > 1:
            feats[f"first2={stems[0]}_{stems[1]}"] = 1.0
    feats[f"len={_bucket(len(stems), (2, 4, 7, 12, 20, 35))}"] = 1.0
    feats["ends_colon"] = float(stripped.endswith(":"))
    feats["ends_stop"] = float(stripped[-1:] in ".!?")
    feats["upper"] = float(stripped.isupper())
    feats["starts_upper"] = float(stripped[:1].isupper())
    feats["you_form"] = float(bool(_YOU.search(lowered)))
    feats["we_form"] = float(bool(_WE.search(lowered)))
    feats["digits"] = float(bool(_DIGIT.search(stripped)))
    feats["looks_heading"] = float(looks_like_heading(stripped))
    kind = heading_kind(stripped) if looks_like_heading(stripped) else None
    if kind:
        feats[f"names_section={kind}"] = 1.0
    for cue, pattern in _CUE.items():
        if pattern.search(lowered):
            feats[f"cue={cue}"] = 1.0
    return feats


def part_features(texts: list[str], neighbour_weight: float = 0.4) -> list[dict[str, float]]:
    """Features of every part of one posting, in order, each read with its context.

    Parameters
    ----------
    texts : list of str
        The posting's parts in reading order.
    neighbour_weight : float
        Weight of the previous and next parts' words next to the part's own.
    """
    stems = [stemmed_words(normalise(t)) for t in texts]
    own = [_own_features(t, s) for t, s in zip(texts, stems)]
    n = len(texts)
    out, heading, heading_stems = [], None, []
    for i, text in enumerate(texts):
        feats = dict(own[i])
        feats[f"pos={_bucket(i / max(n, 1), (0.1, 0.25, 0.5, 0.75, 0.9))}"] = 1.0
        feats[f"index={min(i, 5)}"] = 1.0
        if heading is not None:
            feats[f"section={heading}"] = 1.0
        feats.update({f"h={s}": 1.0 for s in heading_stems})
        for prefix, j in (("prev", i - 1), ("next", i + 1)):
            if 0 <= j < n:
                feats.update({f"{prefix}={s}": neighbour_weight for s in stems[j][:12]})
                if own[j]["looks_heading"]:
                    feats[f"{prefix}_heading"] = 1.0
                for cue in _CUES:
                    if f"cue={cue}" in own[j]:
                        feats[f"{prefix}_cue={cue}"] = neighbour_weight
        out.append(feats)
        if own[i]["looks_heading"]:
            heading, heading_stems = heading_kind(text) or "unnamed", stems[i][:HEADING_WORDS]
    return out


class DutyFinder(BaseEstimator):
    """The kind of each part of a posting (duty, requirement, company, ...), from labeled parts.

    Parameters
    ----------
    C : float
        Inverse regularisation of the logistic regression over part kinds.
    neighbour_weight : float
        Weight of neighbouring parts' words among a part's features.
    context_folds : int
        Folds (grouped by posting) of the first pass whose held-out probabilities the second pass
        learns from; below 2 it learns from the first pass's own fit.
    random_state : int
        Seed of the solver.
    """

    def __init__(self, C=4.0, neighbour_weight=0.4, context_folds=2, random_state=0):
        self.C = C
        self.neighbour_weight = neighbour_weight
        self.context_folds = context_folds
        self.random_state = random_state

    def _head(self) -> LogisticRegression:
        # A loose tolerance: the kinds are settled long before lbfgs's default would stop.
        return LogisticRegression(C=self.C, max_iter=300, tol=1e-3, random_state=self.random_state)

    def _context(self, proba: np.ndarray, lengths: list[int]) -> sparse.csr_matrix:
        """Second-pass features: the first pass's kind probabilities of the two parts before and
        after each part, and the mean of the parts since the posting began (its running section)."""
        k = proba.shape[1]
        out, start = [], 0
        for n in lengths:
            p = proba[start:start + n]
            padded = np.vstack([np.zeros((2, k)), p, np.zeros((2, k))])
            running = np.cumsum(np.vstack([np.zeros((1, k)), p]), axis=0)[:-1] / np.maximum(np.arange(n), 1)[:, None]
            out.append(np.hstack([padded[0:n], padded[1:n + 1], padded[3:n + 3], padded[4:n + 4], running]))
            start += n
        return sparse.csr_matrix(np.vstack(out) if out else np.zeros((0, 5 * k)))

    def fit(self, postings, kinds, sample_weight=None):
        """Fit on whole postings.

        Parameters
        ----------
        postings : sequence of sequence of str
            Each posting as its parts in reading order.
        kinds : sequence of sequence of str
            The labeled kind of every part, aligned with ``postings``.
        sample_weight : sequence of float, optional
            One weight per part, flattened in posting order.

        Returns
        -------
        self
        """
        postings = [list(p) for p in postings]
        lengths = [len(p) for p in postings]
        rows = [f for parts in postings for f in part_features(parts, self.neighbour_weight)]
        y = np.array([k for ks in kinds for k in ks], dtype=object)
        if len(rows) != len(y):
            raise ValueError("every part needs one kind")
        self.vectoriser_ = DictVectorizer().fit(rows)
        X = normalize(self.vectoriser_.transform(rows))
        self.first_head_ = self._head().fit(X, y, sample_weight=sample_weight)
        self.classes_ = self.first_head_.classes_
        # The second pass learns from first-pass probabilities of postings it did not fit on, so
        # it learns how far to trust them on new postings.
        first = np.zeros((len(y), len(self.classes_)))
        posting_of_part = np.repeat(np.arange(len(postings)), lengths)
        folds = min(self.context_folds, len(postings))
        if folds >= 2:
            for train, test in GroupKFold(n_splits=folds).split(X, y, posting_of_part):
                head = self._head().fit(X[train], y[train])
                first[np.ix_(test, np.searchsorted(self.classes_, head.classes_))] = head.predict_proba(X[test])
        else:
            first = self.first_head_.predict_proba(X)
        self.head_ = self._head().fit(sparse.hstack([X, self._context(first, lengths)]).tocsr(), y,
                                      sample_weight=sample_weight)
        self.duty_column_ = int(np.flatnonzero(self.classes_ == DUTY)[0])
        return self

    def predict_proba(self, postings) -> list[np.ndarray]:
        """Per posting, an array (parts x ``classes_``) of kind probabilities."""
        postings = [list(p) for p in postings]
        lengths = [len(p) for p in postings]
        rows = [f for parts in postings for f in part_features(parts, self.neighbour_weight)]
        if not rows:
            return [np.zeros((0, len(self.classes_))) for _ in postings]
        X = normalize(self.vectoriser_.transform(rows))
        first = self.first_head_.predict_proba(X)
        proba = self.head_.predict_proba(sparse.hstack([X, self._context(first, lengths)]).tocsr())
        out, start = [], 0
        for parts in postings:
            out.append(proba[start:start + len(parts)])
            start += len(parts)
        return out

    def duty_probability(self, postings) -> list[np.ndarray]:
        """Per posting, P(duty) of each part."""
        return [p[:, self.duty_column_] for p in self.predict_proba(postings)]
