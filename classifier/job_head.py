"""The job head: a posting's label and shares from its weighted duties and its title, learned on
labeled postings."""
from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.linear_model import LogisticRegression

from datasets.schema import LABELS

_FLOOR = 0.01
TITLE_HALF_WEIGHTS = (0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 20.0, 1e9)


SHARPNESS = (1.0, 1.5, 2.0, 2.5, 3.0)
BLEND_SHARES = tuple(k / 10 for k in range(11))


def _final(blend, proba, sharpness: float, blend_share: float) -> np.ndarray:
    sharp = np.power(blend, sharpness)
    sharp /= np.maximum(sharp.sum(axis=1, keepdims=True), 1e-12)
    return blend_share * sharp + (1 - blend_share) * proba


def _features(duty_mix, title_mix, duty_weight, blend) -> np.ndarray:
    return np.hstack([np.log(blend + _FLOOR), np.log(duty_mix + _FLOOR), np.log(title_mix + _FLOOR),
                      np.log1p(duty_weight)[:, None]])


class JobHead(BaseEstimator):
    """Combines the duty mix and the title mix of postings.

    The shares start from a blend: the duties' mix weighs ``W / (W + title_half_weight_)`` where
    ``W`` is the summed duty probability of the posting, so a posting with few clear duties leans
    on its title. The label comes from a logistic regression over both mixes and the blend. The
    shares are then the blend raised to ``sharpness_`` (renormalised), mixed with the label's
    probabilities (``blend_share_`` of the blend). ``title_half_weight_``, ``sharpness_`` and
    ``blend_share_`` are chosen on the labeled postings to fit the readers' shares.

    Parameters
    ----------
    C : float
        Inverse regularisation of the label head.
    class_weight : "balanced" or None
        Class weights of the label head.
    random_state : int
        Seed of the solver.
    """

    def __init__(self, C=0.3, class_weight=None, random_state=0):
        self.C = C
        self.class_weight = class_weight
        self.random_state = random_state

    @staticmethod
    def _blend(duty_mix, title_mix, duty_weight, half_weight):
        lam = (duty_weight / (duty_weight + half_weight))[:, None]
        return lam * duty_mix + (1 - lam) * title_mix, lam[:, 0]

    def fit(self, duty_mix, title_mix, duty_weight, labels, shares):
        """Fit on labeled postings.

        Parameters
        ----------
        duty_mix, title_mix : array (n, 4)
            The weighted duties' and the title's mix over ``LABELS``.
        duty_weight : array (n,)
            Summed duty probability of each posting.
        labels : sequence of str
            The readers' job label.
        shares : array (n, 4)
            The readers' shares.

        Returns
        -------
        self
        """
        duty_mix, title_mix = np.asarray(duty_mix, float), np.asarray(title_mix, float)
        duty_weight, shares = np.asarray(duty_weight, float), np.asarray(shares, float)
        errors = [np.abs(self._blend(duty_mix, title_mix, duty_weight, k)[0] - shares).mean()
                  for k in TITLE_HALF_WEIGHTS]
        self.title_half_weight_ = float(TITLE_HALF_WEIGHTS[int(np.argmin(errors))])
        blend, _ = self._blend(duty_mix, title_mix, duty_weight, self.title_half_weight_)
        y = np.array([LABELS.index(label) for label in labels])
        self.head_ = LogisticRegression(C=self.C, max_iter=2000, class_weight=self.class_weight,
                                        random_state=self.random_state)
        self.head_.fit(_features(duty_mix, title_mix, duty_weight, blend), y)
        self.classes_ = np.array(LABELS)[self.head_.classes_]
        # Readers put most of a job's time on one or two labels; the blend spreads it. Sharpen it and
        # mix in the label head's probabilities, as far as that brings the shares nearer the readers'.
        self.sharpness_, self.blend_share_ = 1.0, 1.0
        proba = self.predict_proba(duty_mix, title_mix, duty_weight)
        best = np.inf
        for sharpness in SHARPNESS:
            for blend_share in BLEND_SHARES:
                error = np.abs(_final(blend, proba, sharpness, blend_share) - shares).mean()
                if error < best - 1e-9:
                    best, self.sharpness_, self.blend_share_ = error, sharpness, blend_share
        return self

    def predict_proba(self, duty_mix, title_mix, duty_weight) -> np.ndarray:
        """P(label) over ``LABELS`` for each posting (a label never seen in training gets 0)."""
        duty_mix, title_mix = np.atleast_2d(duty_mix), np.atleast_2d(title_mix)
        duty_weight = np.atleast_1d(np.asarray(duty_weight, float))
        blend, _ = self._blend(duty_mix, title_mix, duty_weight, self.title_half_weight_)
        proba = self.head_.predict_proba(_features(duty_mix, title_mix, duty_weight, blend))
        full = np.zeros((len(duty_weight), len(LABELS)))
        full[:, self.head_.classes_] = proba
        return full

    def shares(self, duty_mix, title_mix, duty_weight) -> tuple[np.ndarray, np.ndarray]:
        """The job's shares and the weight the duties got in the blend they start from."""
        duty_mix, title_mix = np.atleast_2d(duty_mix), np.atleast_2d(title_mix)
        duty_weight = np.atleast_1d(np.asarray(duty_weight, float))
        blend, lam = self._blend(duty_mix, title_mix, duty_weight, self.title_half_weight_)
        proba = self.predict_proba(duty_mix, title_mix, duty_weight)
        return _final(blend, proba, self.sharpness_, self.blend_share_), lam

    def combine(self, duty_mix, title_mix, duty_weight, has_title: bool = True):
        """One posting's shares, label and the weight its title got."""
        if not has_title:  # no title: the duties alone
            title_mix = duty_mix
        shares, lam = self.shares(duty_mix, title_mix, duty_weight)
        proba = self.predict_proba(duty_mix, title_mix, duty_weight)[0]
        title_weight = float(1 - lam[0]) if has_title else 0.0
        return shares[0], LABELS[int(np.argmax(proba))], title_weight
