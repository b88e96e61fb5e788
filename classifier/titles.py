"""What a job title alone says: its label mix, learned from O*NET titles and their occupations.

A title's mix is a linear model's (so the words that drove it are exact), and its nearest O*NET
titles are shown as evidence of where the mix comes from.
"""
from __future__ import annotations

import numpy as np
from scipy.special import softmax
from sklearn.base import BaseEstimator
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion

from classifier.prediction import Term
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

    def __init__(self, C=4.0, neighbours=3, random_state=0):
        self.C = C
        self.neighbours = neighbours
        self.random_state = random_state

    def fit(self, titles, mixes, codes=None, occupations=None):
        """Fit on titles and the label mix of their occupation.

        Parameters
        ----------
        titles : sequence of str
        mixes : array (n, 4)
            Share of each label in ``LABELS`` order for each title's occupation.
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
        self.classes_ = np.array(LABELS)
        self.titles_ = np.asarray(titles, dtype=object)
        self.codes_ = np.asarray(codes if codes is not None else [""] * len(titles), dtype=object)
        self.occupations_ = dict(occupations or {})
        self.index_ = X
        return self

    def predict_proba(self, titles) -> np.ndarray:
        """The mix of each title over ``classes_`` (rows sum to 1)."""
        X = self.vectoriser_.transform([str(t) for t in titles])
        return softmax(np.asarray(X @ self.head_.coef_.T) + self.head_.intercept_, axis=1)

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
        words = normalise(title).split()
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
