"""TaskModel: one fitted vocabulary, a calibrated category head, an automation head, explanations."""
from __future__ import annotations

from collections import defaultdict

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax
from sklearn.base import BaseEstimator
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import GroupKFold

from classifier.features import FastFeatures, build_features
from classifier.prediction import Explanation, Prediction, Term, automation_level
from classifier.text import LEAD_PAIRS, lead_term_stems, normalise, stem, words
from classifier.titles import TitleModel
from datasets.schema import CATEGORIES, LABELS

NOT_OUTSOURCEABLE = LABELS.index("not_outsourceable")
TITLE_BLOCK = "title"  # feature block of the title reader's logits, one column per label


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """The softmax temperature that minimises log-loss of held-out logits (one scalar keeps the
    model linear, so explanations stay exact)."""
    def nll(log_t: float) -> float:
        logp = log_softmax(logits / np.exp(log_t), axis=1)
        return -logp[np.arange(len(y)), y].mean()
    result = minimize_scalar(nll, bounds=(-3.0, 3.0), method="bounded")
    return float(np.exp(result.x))


def choose_out_of_scope_threshold(outsourceable: np.ndarray, is_out: np.ndarray) -> float:
    """The threshold on P(outsourceable) that maximises F1 of the out-of-scope flag."""
    best_t, best_f1 = 0.5, -1.0
    for t in np.linspace(0.05, 0.95, 91):
        flagged = outsourceable < t
        tp = np.sum(flagged & is_out)
        precision = tp / max(flagged.sum(), 1)
        recall = tp / max(is_out.sum(), 1)
        f1 = 2 * precision * recall / max(precision + recall, 1e-12)
        if f1 > best_f1:
            best_t, best_f1 = float(t), f1
    return best_t


class TaskModel(BaseEstimator):
    """Sorts work descriptions into outsourcing categories and scores their automation potential.

    Parameters
    ----------
    features : str
        Feature kind for :func:`classifier.features.build_features`.
    lead_weight : float
        Scale of the block of lead terms (the opening verb and object) next to the word and
        character blocks.
    C : float
        Inverse regularisation of the category head (logistic regression over the four labels).
    automation_C : float
        Inverse regularisation of the automation head's logistic regression over the five levels,
        whose expected level is the main part of the score (it ranks tasks better than a
        least-squares fit alone).
    automation_ridge_alpha : float
        Regularisation of the ridge regression on the same target that is blended in.
    automation_ridge_share : float
        Share of the ridge regression in the automation head (the two err differently, so the
        blend ranks tasks better than either).
    outsourceable_weight : float
        Share of the automation score given to P(outsourceable): work that needs a site or hands
        is rarely automatable by software, and our category labels know that better than the
        published ratings of a single task.
    calibration_folds : int
        Grouped folds used inside ``fit`` to learn the temperature and the out-of-scope threshold
        from held-out predictions; 0 or 1 skips calibration (temperature 1, threshold 0.5).
    low_confidence_weight : float
        Sample weight of rows whose labeler marked them as a borderline call.
    title_weight : float
        Scale of the title block: the centred logits of a title reader (a :class:`TitleModel`
        learned from the training rows' titles and the label mix of their group), four columns
        beside the text's. 0 ignores titles.
    title_C : float
        Inverse regularisation of the title reader.
    title_dropout : float
        Share of the titled training rows read without their title, so the heads learn to answer
        both ways.
    title_folds : int
        Grouped folds for the title block of the training rows: each row's block comes from a
        reader that never saw its group, as it is for a new text.
    random_state : int
        Seed for fold shuffling and title dropout.
    """

    def __init__(self, features="word+char+lead", lead_weight=1.2, C=3.0, automation_C=3.0,
                 automation_ridge_alpha=1.5, automation_ridge_share=0.3, outsourceable_weight=0.1,
                 calibration_folds=3, low_confidence_weight=0.5, title_weight=1.0, title_C=4.0,
                 title_dropout=0.5, title_folds=3, random_state=0):
        self.features = features
        self.lead_weight = lead_weight
        self.C = C
        self.automation_C = automation_C
        self.automation_ridge_alpha = automation_ridge_alpha
        self.automation_ridge_share = automation_ridge_share
        self.outsourceable_weight = outsourceable_weight
        self.calibration_folds = calibration_folds
        self.low_confidence_weight = low_confidence_weight
        self.title_weight = title_weight
        self.title_C = title_C
        self.title_dropout = title_dropout
        self.title_folds = title_folds
        self.random_state = random_state

    # ----------------------------------------------------------------- fitting
    def _category_head(self) -> LogisticRegression:
        # newton-cg converges in a handful of steps on these wide sparse matrices, where lbfgs
        # needs a hundred: the same optimum, ten times sooner.
        return LogisticRegression(C=self.C, solver="newton-cg", max_iter=200, class_weight="balanced")

    def fit(self, texts, labels, automation=None, groups=None, confidence=None, titles=None):
        """Fit both heads.

        Parameters
        ----------
        texts : sequence of str
        labels : sequence of str or None
            One of ``LABELS``, or None for rows that only teach the automation head.
        automation : sequence of float, optional
            Automation targets on a 0-1 scale; NaN where unknown.
        groups : sequence of str, optional
            Group ids (occupation, source template) so calibration folds never split a group.
        confidence : sequence of str, optional
            ``"low"`` marks borderline labels, which get ``low_confidence_weight``.
        titles : sequence of str, optional
            The job title each text belongs to, ``""`` where there is none.

        Returns
        -------
        self
        """
        texts = np.asarray(list(texts), dtype=object)
        labels = np.asarray([lab if isinstance(lab, str) else "" for lab in labels], dtype=object)
        automation = (np.full(len(texts), np.nan) if automation is None
                      else np.asarray(automation, dtype=float))
        groups = np.arange(len(texts)).astype(str) if groups is None else np.asarray(groups)
        weights = np.ones(len(texts))
        if confidence is not None:
            weights[np.asarray(confidence) == "low"] = self.low_confidence_weight

        self.vectoriser_ = build_features(self.features, self.lead_weight).fit(texts)
        X = self.vectoriser_.transform(texts)
        self.n_text_features_ = X.shape[1]
        X = with_title_block(X, self._fit_title_block(_as_titles(titles, len(texts)), labels, groups, weights))
        labeled = np.isin(labels, LABELS)
        y = np.array([LABELS.index(lab) for lab in labels[labeled]])
        self.category_head_ = self._category_head().fit(X[labeled], y, sample_weight=weights[labeled])
        self._calibrate(X[labeled], y, groups[labeled], weights[labeled])

        scored = ~np.isnan(automation)
        X_scored, target = X[scored], automation[scored]
        self.automation_head_ = LogisticRegression(C=self.automation_C, solver="newton-cg", max_iter=200)
        self.automation_head_.fit(X_scored, np.rint(target * 4).astype(int))
        self.automation_ridge_ = Ridge(alpha=self.automation_ridge_alpha).fit(X_scored, target)
        self.automation_levels_ = self.automation_head_.classes_.astype(float)
        self.classes_ = np.array(LABELS)
        self._index_features()
        return self

    def _fit_title_block(self, titles, labels, groups, weights) -> np.ndarray | None:
        """The title reader, and the training rows' title block (out of fold, some rows dropped)."""
        self.title_reader_ = None
        titled = titles != ""
        if self.title_weight <= 0 or not titled.any():
            return None
        self.title_reader_ = self._title_reader(titles, labels, groups, weights)
        if self.title_reader_ is None:
            return None
        block = np.zeros((len(titles), len(LABELS)))
        n_groups = len(np.unique(groups[titled]))
        if self.title_folds >= 2 and n_groups >= self.title_folds:
            folds = GroupKFold(n_splits=self.title_folds, shuffle=True, random_state=self.random_state)
            for train, test in folds.split(titles, groups=groups):
                reader = self._title_reader(titles[train], labels[train], groups[train], weights[train])
                test = test[titled[test]]
                if reader is not None and len(test):
                    block[test] = reader.centred_logits(titles[test])
        else:
            block[titled] = self.title_reader_.centred_logits(titles[titled])
        kept = titled & (np.random.default_rng(self.random_state).random(len(titles)) >= self.title_dropout)
        block *= self.title_weight
        # Columns centred over the titled rows: a text without a title reads as one with the
        # average title, and the heads converge in a third of the iterations they need when the
        # intercepts must carry the columns' means.
        self.title_offset_ = block[kept].mean(axis=0) if kept.any() else np.zeros(len(LABELS))
        block[kept] -= self.title_offset_
        block[~kept] = 0.0
        return block

    def _title_reader(self, titles, labels, groups, weights) -> TitleModel | None:
        """A title model fitted on each distinct (title, group) of the rows, whose target is the
        weighted label mix of the group's rows: what a title says about the work under it."""
        labeled = np.isin(labels, LABELS)
        if not labeled.any():
            return None
        rows = pd.DataFrame({"group": groups[labeled], "label": labels[labeled], "weight": weights[labeled]})
        mix = rows.pivot_table(index="group", columns="label", values="weight", aggfunc="sum", fill_value=0.0)
        mix = mix.reindex(columns=list(LABELS), fill_value=0.0)
        mix = mix.div(mix.sum(axis=1), axis=0)
        pairs = pd.DataFrame({"title": titles, "group": groups}).drop_duplicates()
        pairs = pairs[pairs["title"].ne("") & pairs["group"].isin(mix.index)]
        if pairs.empty or pairs["title"].nunique() < 2:
            return None
        reader = TitleModel(C=self.title_C, neighbours=0, random_state=self.random_state)
        return reader.fit(pairs["title"].to_numpy(), mix.loc[pairs["group"]].to_numpy())

    def _title_block(self, titles, n: int) -> np.ndarray | None:
        """The title block of ``n`` texts to predict (None when there is nothing to add)."""
        reader = getattr(self, "title_reader_", None)
        if titles is None or reader is None:
            return None
        titles = _as_titles(titles, n)
        titled = titles != ""
        if not titled.any():
            return None
        block = np.zeros((n, len(LABELS)))
        block[titled] = reader.centred_logits(titles[titled]) * self.title_weight - self.title_offset_
        return block

    def _calibrate(self, X, y, groups, weights) -> None:
        self.temperature_, self.out_of_scope_threshold_ = 1.0, 0.5
        n_groups = len(np.unique(groups))
        if self.calibration_folds < 2 or n_groups < self.calibration_folds:
            return
        logits = np.zeros((len(y), len(LABELS)))
        folds = GroupKFold(n_splits=self.calibration_folds, shuffle=True, random_state=self.random_state)
        for train, test in folds.split(X, y, groups):
            head = self._category_head().fit(X[train], y[train], sample_weight=weights[train])
            logits[test] = _full_logits(head, X[test])
        self.temperature_ = fit_temperature(logits, y)
        proba = softmax(logits / self.temperature_, axis=1)
        self.out_of_scope_threshold_ = choose_out_of_scope_threshold(
            1.0 - proba[:, NOT_OUTSOURCEABLE], y == NOT_OUTSOURCEABLE)

    def _index_features(self) -> None:
        names = list(self.vectoriser_.get_feature_names_out()) + [f"{TITLE_BLOCK}__{label}" for label in LABELS]
        self.feature_blocks_ = np.array([n.split("__", 1)[0] for n in names], dtype=object)
        self.feature_terms_ = np.array([n.split("__", 1)[1] for n in names], dtype=object)

    # --------------------------------------------------------------- predicting
    def logits(self, X) -> np.ndarray:
        """Temperature-scaled logits over ``LABELS`` for a feature matrix."""
        return _full_logits(self.category_head_, X) / self.temperature_

    def predict_proba(self, texts, titles=None) -> np.ndarray:
        """Calibrated probabilities over ``classes_`` (the four labels)."""
        return softmax(self.logits(self.transform(texts, titles)), axis=1)

    def transform(self, texts, titles=None):
        """The feature matrix of ``texts``: ``vectoriser_.transform`` (computed faster) and the
        title block of ``titles`` (one title for all texts, one per text, or None)."""
        fast = getattr(self, "_fast_features", None)
        if fast is None or fast.union is not self.vectoriser_:
            fast = self._fast_features = FastFeatures(self.vectoriser_)
        texts = list(texts)
        return with_title_block(fast.transform(texts), self._title_block(titles, len(texts)))

    def __getstate__(self):
        # The chunk cache is rebuilt on first use: it must not bloat or outlive a saved model.
        state = dict(super().__getstate__())  # a copy: the base class may hand back the live __dict__
        state.pop("_fast_features", None)
        return state

    def predict_columns(self, texts, titles=None) -> dict[str, np.ndarray]:
        """Every output field as a column array: one vectorised pass over the batch.

        ``titles`` is one job title for all texts, one per text (``""`` for none), or None.
        """
        X = self.transform(texts, titles)
        proba = softmax(self.logits(X), axis=1)
        outsourceable = 1.0 - proba[:, NOT_OUTSOURCEABLE]
        category_p = proba[:, :len(CATEGORIES)] / np.maximum(outsourceable, 1e-12)[:, None]
        score = self._automation_score(X, outsourceable)[0]
        return {
            "category": np.asarray(CATEGORIES, dtype=object)[category_p.argmax(axis=1)],
            "confidence": category_p.max(axis=1),
            "p_bpo_front_office": category_p[:, 0],
            "p_bpo_back_office": category_p[:, 1],
            "p_kpo": category_p[:, 2],
            "outsourceable": outsourceable,
            "out_of_scope": outsourceable < self.out_of_scope_threshold_,
            "automation_score": score,
            "automation_level": np.clip(np.rint(score * 4), 0, 4).astype(int),
            "_X": X,
        }

    def _automation_score(self, X, outsourceable: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The 0-1 automation score and the level head's probabilities over its levels."""
        head = self.automation_head_
        level_p = softmax(np.asarray(X @ head.coef_.T) + head.intercept_, axis=1)
        expected = level_p @ self.automation_levels_ / 4.0
        r, w = self.automation_ridge_share, self.outsourceable_weight
        blended = (1 - r) * expected + r * np.clip(self._ridge(X), 0.0, 1.0)
        return np.clip((1 - w) * blended + w * outsourceable, 0.0, 1.0), level_p

    def predict(self, texts, explain: bool = False, top_terms: int = 8, titles=None) -> list[Prediction]:
        """Predictions for a batch of texts, optionally with the terms that drove them.

        ``titles`` is one job title for all texts, one per text (``""`` for none), or None; the
        title's words in an explanation are marked ``from_title``.
        """
        texts = list(texts)
        titles = _as_titles(titles, len(texts))
        cols = self.predict_columns(texts, titles)
        predictions = []
        for i in range(len(texts)):
            explanation = (self._explain(texts[i], cols["_X"][i], cols["category"][i], top_terms, titles[i])
                           if explain else None)
            predictions.append(Prediction(
                category=str(cols["category"][i]),
                confidence=round(float(cols["confidence"][i]), 4),
                p_bpo_front_office=round(float(cols["p_bpo_front_office"][i]), 4),
                p_bpo_back_office=round(float(cols["p_bpo_back_office"][i]), 4),
                p_kpo=round(float(cols["p_kpo"][i]), 4),
                outsourceable=round(float(cols["outsourceable"][i]), 4),
                out_of_scope=bool(cols["out_of_scope"][i]),
                automation_score=round(float(cols["automation_score"][i]), 4),
                automation_level=automation_level(cols["automation_score"][i]),
                explanation=explanation,
            ))
        return predictions

    def predict_jobs(self, jobs, explain: bool = False):
        """Split each job description into duties and classify all duties as one flat batch.

        Parameters
        ----------
        jobs : iterable of dict or str
            Each with ``description`` (and optionally ``title``), or the description itself.
        """
        from classifier.jobs import predict_jobs
        return predict_jobs(self, jobs, explain=explain)

    def predict_titles(self, titles, explain: bool = True):
        """What each job title alone says (see :class:`classifier.titles.TitlePrediction`).

        Raises
        ------
        ValueError
            When the model was trained without O*NET titles.
        """
        title_model = getattr(self, "title_model_", None)
        if title_model is None:
            raise ValueError("this model was trained without O*NET job titles, so it cannot read titles alone")
        return title_model.predict(list(titles), explain=explain)

    # ------------------------------------------------------------- explaining
    def _explain(self, text: str, x_row, category: str, top_terms: int, title: str = "") -> Explanation:
        """Per-term contributions of the linear heads for one text.

        Category weights are exact: centred over the four labels (softmax is blind to a shared
        shift) and divided by the temperature, they add up to the chosen label's logit minus the
        intercept. Automation weights are each term's exact contributions to the heads' logits,
        combined by how much the score moves per unit of each logit at this prediction (gradient
        times input). Character n-grams are credited to the words that contain them. The title
        block's weights go to the title's words through the title reader's own linear logits
        (its intercepts and the block's centring offset, constants like the heads' intercepts,
        are left out).
        """
        x_row = x_row.tocsr()
        idx, values = x_row.indices, x_row.data
        coef = _full_coef(self.category_head_)
        label = LABELS.index(category)
        centred = coef[label] - coef.mean(axis=0)
        sensitivity = self._automation_sensitivity(x_row)
        in_text = idx < self.n_text_features_
        cat_w = centred[idx] * values / self.temperature_
        auto_w = sensitivity[idx] * values
        surface = _SurfaceIndex(text)
        cat_terms, auto_terms = defaultdict(float), defaultdict(float)
        for j in np.flatnonzero(in_text):
            feature = idx[j]
            for term, share in surface.credit(self.feature_terms_[feature], self.feature_blocks_[feature]):
                cat_terms[term] += cat_w[j] * share
                auto_terms[term] += auto_w[j] * share
        title_cat, title_auto = {}, {}
        if title and not in_text.all() and self.title_reader_ is not None:
            block = slice(self.n_text_features_, self.n_text_features_ + len(LABELS))
            directions = np.vstack([centred[block] / self.temperature_, sensitivity[block]]) * self.title_weight
            for word, (c, a) in self.title_reader_.word_contributions(title, directions).items():
                title_cat[word], title_auto[word] = c, a
        return Explanation(category=_top(cat_terms, top_terms, title_cat),
                           automation=_top(auto_terms, top_terms, title_auto))

    def _ridge(self, X) -> np.ndarray:
        """The ridge regression's raw prediction (clipped to the 0-1 scale where it is blended)."""
        return np.asarray(X @ self.automation_ridge_.coef_).ravel() + self.automation_ridge_.intercept_

    def _automation_sensitivity(self, x_row) -> np.ndarray:
        """d(score)/d(feature value) for one row: the level head and P(outsourceable) through
        their linear logits, the ridge regression directly."""
        proba = softmax(self.logits(x_row), axis=1)[0]
        _, level_p = self._automation_score(x_row, np.array([1.0 - proba[NOT_OUTSOURCEABLE]]))
        level_p = level_p[0]
        expected = level_p @ self.automation_levels_
        d_level_logits = level_p * (self.automation_levels_ - expected) / 4.0
        not_out = proba[NOT_OUTSOURCEABLE]
        d_out_logits = -not_out * ((np.arange(len(LABELS)) == NOT_OUTSOURCEABLE) - proba) / self.temperature_
        r, w = self.automation_ridge_share, self.outsourceable_weight
        ridge_moves = float(0.0 < self._ridge(x_row)[0] < 1.0)  # a clipped prediction does not move
        return ((1 - w) * ((1 - r) * d_level_logits @ self.automation_head_.coef_
                           + r * ridge_moves * self.automation_ridge_.coef_)
                + w * d_out_logits @ _full_coef(self.category_head_))


class _SurfaceIndex:
    """Maps stemmed word n-grams and character n-grams back to the words a user wrote."""

    def __init__(self, text: str):
        norm = normalise(text)
        self.tokens = words(norm)
        self.stems = [stem(t) for t in self.tokens]
        self.chunks = [" " + c + " " for c in norm.split()]
        self.chunk_words = [" ".join(words(c)) or c.strip() for c in self.chunks]

    def credit(self, term: str, block: str) -> list[tuple[str, float]]:
        """The user's words a feature belongs to, each with its share of the feature's weight."""
        if block == "lead":  # the opening words a lead term is made of, each stem an equal part
            stems = lead_term_stems(term)
            credited = []
            for part in stems:
                opening = zip(self.tokens[:LEAD_PAIRS], self.stems[:LEAD_PAIRS])
                owners = list(dict.fromkeys(t for t, s in opening if s == part)) or [part]
                credited += [(owner, 1.0 / len(stems) / len(owners)) for owner in owners]
            return credited
        if block == "char":
            owners = [w for c, w in zip(self.chunks, self.chunk_words) if term in c]
            owners = list(dict.fromkeys(owners))
        else:
            parts = term.split(" ")
            n = len(parts)
            owners = [" ".join(self.tokens[i:i + n]) for i in range(len(self.stems) - n + 1)
                      if self.stems[i:i + n] == parts]
            owners = list(dict.fromkeys(owners)) or [term]
        return [(owner, 1.0 / len(owners)) for owner in owners] if owners else []


def _top(weights: dict[str, float], k: int, title_weights: dict[str, float] | None = None) -> list[Term]:
    """The ``k`` strongest terms of the text and of the title together, title words marked."""
    scored = [(t, w, False) for t, w in weights.items()] + [(t, w, True) for t, w in (title_weights or {}).items()]
    ranked = sorted(scored, key=lambda item: -abs(item[1]))[:k]
    return [Term(term=t, weight=round(float(w), 4), from_title=from_title)
            for t, w, from_title in ranked if abs(w) > 1e-6]


def _as_titles(titles, n: int) -> np.ndarray:
    """Per-text titles as an array of stripped strings (``""`` for none) from one title, one per
    text, or None."""
    if titles is None:
        return np.full(n, "", dtype=object)
    if isinstance(titles, str):
        return np.full(n, titles.strip(), dtype=object)
    titles = [t.strip() if isinstance(t, str) else "" for t in titles]
    if len(titles) != n:
        raise ValueError(f"titles: {len(titles)} given for {n} texts; give one title, or one per text")
    return np.asarray(titles, dtype=object)


def with_title_block(X, block: np.ndarray | None):
    """``X`` with the title block's columns after its own (left empty when ``block`` is None)."""
    X = sparse.csr_matrix(X)
    if block is None:
        X.resize((X.shape[0], X.shape[1] + len(LABELS)))  # CSR grows columns without copying
        return X
    return sparse.hstack([X, sparse.csr_matrix(block.astype(X.dtype))], format="csr")


def _order(head: LogisticRegression) -> np.ndarray:
    """Column of each of ``LABELS`` in the head's own class order (absent labels get -1)."""
    position = {int(c): i for i, c in enumerate(head.classes_)}
    return np.array([position.get(k, -1) for k in range(len(LABELS))])


def _per_class(head: LogisticRegression) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients and intercepts with one row per class, also for a two-class head."""
    if head.coef_.shape[0] == 1:
        return (np.vstack([np.zeros_like(head.coef_), head.coef_]),
                np.concatenate([[0.0], head.intercept_]))
    return head.coef_, head.intercept_


def _full_coef(head: LogisticRegression) -> np.ndarray:
    order = _order(head)
    coef, _ = _per_class(head)
    full = np.zeros((len(LABELS), coef.shape[1]))
    full[order >= 0] = coef[order[order >= 0]]
    return full


def _full_logits(head: LogisticRegression, X) -> np.ndarray:
    """Logits over all four labels, a large negative number for a label the head never saw."""
    order = _order(head)
    coef, intercept = _per_class(head)
    raw = np.asarray(X @ coef.T) + intercept
    out = np.full((X.shape[0], len(LABELS)), -1e9)
    out[:, order >= 0] = raw[:, order[order >= 0]]
    return out
