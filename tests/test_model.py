"""Estimator rules and exactness of explanations, on the session's real model."""
import numpy as np
import pytest
from sklearn.base import clone

from classifier.model import TaskModel, _SurfaceIndex
from classifier.prediction import OUTPUT_COLUMNS
from datasets.loaders import load_corpus
from datasets.schema import CATEGORIES, LABELS


def test_init_only_stores_parameters():
    model = TaskModel(C=3.0, automation_C=0.5, random_state=7)
    assert model.get_params()["C"] == 3.0
    assert not [k for k in vars(model) if k.endswith("_")]
    assert clone(model).get_params() == model.get_params()


def test_fit_returns_self_and_classes_match_proba_columns():
    frame = load_corpus().sample(400, random_state=0)
    model = TaskModel(calibration_folds=0)
    assert model.fit(frame.text, frame.label, frame.automation) is model
    assert list(model.classes_) == list(LABELS)
    proba = model.predict_proba(["answer customer calls about their bill"])
    assert proba.shape == (1, len(LABELS))
    assert np.isclose(proba.sum(), 1.0)


def test_predictions_have_every_contract_field(model):
    predictions = model.predict(["reconcile vendor statements", "call customers about overdue bills"])
    for p in predictions:
        record = p.to_dict()
        assert set(OUTPUT_COLUMNS) <= set(record)
        assert p.category in CATEGORIES
        assert np.isclose(p.p_bpo_front_office + p.p_bpo_back_office + p.p_kpo, 1.0, atol=1e-3)
        assert p.confidence == max(p.p_bpo_front_office, p.p_bpo_back_office, p.p_kpo)
        assert 0 <= p.automation_score <= 1 and p.automation_level in range(5)
        assert p.out_of_scope == (p.outsourceable < model.out_of_scope_threshold_)


def test_batch_and_single_predictions_agree(model):
    texts = ["prepare invoices for the wholesale accounts", "repair hydraulic lifts in the workshop"]
    batch = model.predict(texts)
    assert [model.predict([t])[0] for t in texts] == batch


@pytest.mark.parametrize("text", [
    "call customers about overdue bills",
    "post overdue bills to the ledger",
    "build a discounted cash flow model for the acquisition",
])
def test_category_explanation_is_exact(model, text):
    """Term weights add up to the chosen label's centred logit without the intercept."""
    prediction = model.predict([text], explain=True, top_terms=10_000)[0]
    X = model.transform([text])
    label = LABELS.index(prediction.category)
    logits = X @ model.category_head_.coef_.T / model.temperature_
    order = [list(model.category_head_.classes_).index(i) for i in range(len(LABELS))]
    centred = logits[0, order] - logits[0, order].mean()
    total = sum(t.weight for t in prediction.explanation.category)
    assert total == pytest.approx(centred[label], abs=1e-2)


def test_explanation_names_words_the_user_wrote(model):
    prediction = model.predict(["Phone customers about their overdue invoices"], explain=True)[0]
    terms = {t.term for t in prediction.explanation.category}
    assert terms & {"phone", "customers", "phone customers"}


@pytest.mark.parametrize("text", ["key invoice data from scanned forms into the ledger",
                                  "review supplier contracts and advise on unusual liability terms"])
def test_automation_weights_are_gradient_times_input(model, text):
    """Each term's automation weight is how far the score moves per unit of that feature, times
    the feature's value: checked against a finite difference of the real score."""
    X = model.transform([text]).tocsr().astype(np.float64)  # float32 is too coarse to difference
    sensitivity = model._automation_sensitivity(X)
    score = model._automation_score(X, 1.0 - _not_out(model, X))[0][0]
    eps = 1e-5
    for feature in X.indices[:5]:
        bumped = X.copy().tolil()
        bumped[0, feature] += eps
        bumped = bumped.tocsr()
        moved = model._automation_score(bumped, 1.0 - _not_out(model, bumped))[0][0]
        assert (moved - score) / eps == pytest.approx(sensitivity[feature], rel=1e-2, abs=1e-5)


def _not_out(model, X):
    from scipy.special import softmax
    return softmax(model.logits(X), axis=1)[:, LABELS.index("not_outsourceable")]


def test_lead_terms_are_credited_to_the_opening_words_they_come_from():
    surface = _SurfaceIndex("Collect past-due bills, then collect the bills again")
    assert surface.credit("V:collect_bill", "lead") == [("collect", 0.5), ("bills", 0.5)]
    assert surface.credit("L:collect", "lead") == [("collect", 1.0)]


def test_cross_validation_reads_held_out_rows_with_and_without_their_title():
    """Every row is predicted once out of fold, both ways; a row without a title reads the same."""
    from classifier.evaluation import cross_validate
    frame = load_corpus().sample(600, random_state=0).reset_index(drop=True)
    frame["title"] = np.where(np.arange(len(frame)) % 3 == 0, "", frame["domain"])  # stand-in job titles
    plain, with_titles = cross_validate(lambda: TaskModel(calibration_folds=0), frame, folds=3,
                                        fit_titles=frame["title"])
    assert set(plain) == set(with_titles) and len(plain["category"]) == len(frame)
    untitled = frame["title"].eq("").to_numpy()
    np.testing.assert_array_equal(plain["confidence"][untitled], with_titles["confidence"][untitled])
    assert not np.allclose(plain["confidence"][~untitled], with_titles["confidence"][~untitled])
