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
    automation_alpha : float
        Regularisation of the ridge regression of the automation estimate.
    neighbours : int
        How many nearest O*NET titles to return as evidence; 0 keeps no index of titles (a model
        used only for its mix).
    random_state : int
        Seed of the solver.
    """

    def __init__(self, C=4.0, automation_alpha=1.0, neighbours=3, random_state=0):
        self.C = C
        self.automation_alpha = automation_alpha
        self.neighbours = neighbours
        self.random_state = random_state

    def fit(self, titles, mixes, automation=None, codes=None, occupations=None):
        """Fit on titles and the label mix of their occupation.

        Parameters
        ----------
        titles : sequence of str
        mixes : array (n, 4)
            Share of each label in ``LABELS`` order for each title's occupation.
        automation : array (n,), optional
            The mean automation score (0-1) of each title's occupation's tasks; without it the
            model gives no automation estimate.
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
        self.automation_head_ = (None if automation is None
                                 else Ridge(alpha=self.automation_alpha).fit(X, np.asarray(automation, dtype=float)))
        self.classes_ = np.array(LABELS)
        keep_index = self.neighbours > 0
        self.titles_ = np.asarray(titles if keep_index else [], dtype=object)
        self.codes_ = np.asarray((codes if codes is not None else [""] * len(titles)) if keep_index else [],
                                 dtype=object)
        self.occupations_ = dict(occupations or {})
        self.index_ = X if keep_index else None
        self.feature_names_ = self.vectoriser_.get_feature_names_out()
        return self

    def centred_logits(self, titles) -> np.ndarray:
        """Each title's logits over ``classes_`` minus their mean (softmax of a row is its mix)."""
        X = self.vectoriser_.transform([str(t) for t in titles])
        logits = np.asarray(X @ self.head_.coef_.T, dtype=float) + self.head_.intercept_
        return logits - logits.mean(axis=1, keepdims=True)

    def predict_proba(self, titles) -> np.ndarray:
        """The mix of each title over ``classes_`` (rows sum to 1)."""
        return softmax(self.centred_logits(titles), axis=1)

    def automation_score(self, titles) -> np.ndarray:
        """The automation estimate (0-1) of each title (a model fitted without automation targets
        has none to give)."""
        if self.automation_head_ is None:
            raise ValueError("this title model was fitted without automation targets")
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
        direction = np.eye(len(LABELS))[LABELS.index(label)]
        weights = {word: float(w[0]) for word, w in self.word_contributions(title, [direction]).items()}
        ranked = sorted(weights.items(), key=lambda kv: -abs(kv[1]))[:top_terms]
        return [Term(term, round(w, 4), from_title=True) for term, w in ranked]

    def word_contributions(self, title: str, directions) -> dict[str, np.ndarray]:
        """Each word of ``title`` and its exact part of ``direction @ centred_logits(title)`` for each
        direction (a weight per label), intercepts left out.

        Character n-grams count for the word they fall in; a word feature for the word it stems from.
        """
        directions = np.atleast_2d(np.asarray(directions, dtype=float))
        x = self.vectoriser_.transform([str(title)])
        coef = self.head_.coef_
        per_feature = directions @ (coef - coef.mean(axis=0))  # (directions, features)
        words = re.findall(r"[\w'&/+#-]+", normalise(title))
        weights: dict[str, np.ndarray] = {}
        for j, value in zip(x.indices, x.data):
            block, term = self.feature_names_[j].split("__", 1)
            if block == "word":
                shown = next((w for w in words if title_words(w) == [term]), term)
            else:
                shown = next((w for w in words if term.strip() in f" {w} "), term.strip())
            weights[shown] = weights.get(shown, 0.0) + value * per_feature[:, j]
        return weights
