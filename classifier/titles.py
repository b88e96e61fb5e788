"""What a job title alone says: its label mix, learned from O*NET titles and their occupations.

A title's mix is a linear model's (so the words that drove it are exact), and its nearest O*NET
titles are shown as evidence of where the mix comes from.
"""
from __future__ import annotations

import re

import numpy as np
from scipy.special import softmax
from sklearn.base import BaseEstimator
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import FeatureUnion

from dataclasses import asdict, dataclass, field

from classifier.prediction import MixAnswer, Term, automation_level
from classifier.text import normalise, stemmed_words
from datasets.schema import LABELS


def title_words(title: str) -> list[str]:
    """Stemmed words of a title (module level, so the fitted vectoriser pickles)."""
    return stemmed_words(normalise(title))


def _vectoriser() -> FeatureUnion:
    return FeatureUnion([
        ("word", TfidfVectorizer(analyzer=title_words, sublinear_tf=True, dtype=np.float32)),
        ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), min_df=2, sublinear_tf=True,
                                 preprocessor=normalise, dtype=np.float32)),
    ])


@dataclass
class TitlePrediction(MixAnswer):
    """What a job title alone says: its label mix, the on-site share, an automation estimate, the
    title's words that drove the label, and the nearest O*NET titles as evidence."""
    terms: list[Term] = field(default_factory=list)
    nearest_occupations: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


class TitleModel(BaseEstimator):
    """The label mix of a job title.

    Parameters
    ----------
    C : float
        Inverse regularisation of the logistic regression over the four labels.
    neighbours : int
        How many nearest O*NET titles to return as evidence.
    random_state : int
        Seed of the solver.
    """

    def __init__(self, C=4.0, automation_alpha=1.0, neighbours=3, random_state=0):
        self.C = C
        self.automation_alpha = automation_alpha
        self.neighbours = neighbours
        self.random_state = random_state

    def fit(self, titles, mixes, automation, codes=None, occupations=None):
        """Fit on titles and the label mix of their occupation.

        Parameters
        ----------
        titles : sequence of str
        mixes : array (n, 4)
            Share of each label in ``LABELS`` order for each title's occupation.
        automation : array (n,)
            The mean automation score (0-1) of each title's occupation's tasks.
        codes : sequence of str, optional
            The occupation code of each title (kept for the nearest-title evidence).
        occupations : dict, optional
            Occupation code -> occupation title.

        Returns
        -------
        self
        """
        titles = [str(t) for t in titles]
        mixes = np.asarray(mixes, dtype=float)
        self.vectoriser_ = _vectoriser().fit(titles)
        X = self.vectoriser_.transform(titles)
        # Soft targets: each title once per label, weighted by that label's share of its occupation.
        rows = np.repeat(np.arange(len(titles)), len(LABELS))
        y = np.tile(np.arange(len(LABELS)), len(titles))
        weight = mixes.reshape(-1)
        keep = weight > 0
        self.head_ = LogisticRegression(C=self.C, max_iter=1000, random_state=self.random_state)
        self.head_.fit(X[rows[keep]], y[keep], sample_weight=weight[keep])
        self.automation_head_ = Ridge(alpha=self.automation_alpha).fit(X, np.asarray(automation, dtype=float))
        self.classes_ = np.array(LABELS)
        self.titles_ = np.asarray(titles, dtype=object)
        self.codes_ = np.asarray(codes if codes is not None else [""] * len(titles), dtype=object)
        self.occupations_ = dict(occupations or {})
        self.index_ = X
        return self

    def predict_proba(self, titles) -> np.ndarray:
        """The mix of each title over ``classes_`` (rows sum to 1)."""
        X = self.vectoriser_.transform([str(t) for t in titles])
        return softmax(np.asarray(X @ self.head_.coef_.T, dtype=float) + self.head_.intercept_, axis=1)

    def automation_score(self, titles) -> np.ndarray:
        """The automation estimate (0-1) of each title."""
        X = self.vectoriser_.transform([str(t) for t in titles])
        return np.clip(self.automation_head_.predict(X), 0.0, 1.0)

    def predict(self, titles, explain: bool = True) -> list[TitlePrediction]:
        """One :class:`TitlePrediction` per title."""
        titles = [str(t) for t in titles]
        mixes, scores = self.predict_proba(titles), self.automation_score(titles)
        out = []
        for title, mix, score in zip(titles, mixes, scores):
            category = LABELS[int(np.argmax(mix))]
            shares = {f"share_{label}": round(float(v), 4) for label, v in zip(LABELS, mix)}
            out.append(TitlePrediction(
                title=title, category=category, **shares, automation_score=round(float(score), 4),
                automation_level=automation_level(score),
                terms=self.explain(title, category) if explain else [],
                nearest_occupations=self.nearest(title) if explain else []))
        return out

    def nearest(self, title: str) -> list[dict]:
        """The O*NET titles most like ``title``, with their occupation and similarity."""
        x = self.vectoriser_.transform([str(title)])
        similarity = np.asarray((self.index_ @ x.T).todense()).ravel() / 2.0  # two unit-norm blocks
        best, seen = [], set()
        for i in np.argsort(-similarity):
            if len(best) == self.neighbours or similarity[i] <= 0:
                break
            if self.codes_[i] in seen:
                continue
            seen.add(self.codes_[i])
            best.append({"title": str(self.titles_[i]), "onet_soc_code": str(self.codes_[i]),
                         "occupation": self.occupations_.get(self.codes_[i], ""),
                         "similarity": round(float(similarity[i]), 4)})
        return best

    def explain(self, title: str, label: str, top_terms: int = 6) -> list[Term]:
        """The title's words that pushed ``label``, with their exact logit contributions (centred)."""
        x = self.vectoriser_.transform([str(title)])
        coef = self.head_.coef_
        centred = coef[LABELS.index(label)] - coef.mean(axis=0)
        names = self.vectoriser_.get_feature_names_out()
        weights: dict[str, float] = {}
        words = re.findall(r"[\w'&/+#-]+", normalise(title))
        for j, value in zip(x.indices, x.data):
            block, term = names[j].split("__", 1)
            contribution = float(value * centred[j])
            if block == "word":
                shown = next((w for w in words if title_words(w) == [term]), term)
            else:  # a character n-gram counts for every word it falls in
                shown = next((w for w in words if term.strip() in f" {w} "), term.strip())
            weights[shown] = weights.get(shown, 0.0) + contribution
        ranked = sorted(weights.items(), key=lambda kv: -abs(kv[1]))[:top_terms]
        return [Term(term, round(w, 4)) for term, w in ranked]
