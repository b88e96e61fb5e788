"""A task read in the light of its job title: without a title the answer is the text's alone, a
title moves a borderline task toward the work of its role, a clear task keeps its answer, and
the explanation adds up with the title's words marked."""
import numpy as np
import pytest

from classifier.text import normalise, words
from datasets.schema import LABELS

TEXTS = ["Provide information to employees on payroll matters",
         "Prepare reports summarizing findings",
         "Answer inbound customer calls about billing"]


@pytest.mark.parametrize("no_title", [None, "", "   ", ["", "", ""], [None, "", " "]])
def test_no_title_is_the_texts_answer_alone(model, no_title):
    np.testing.assert_array_equal(model.predict_proba(TEXTS, titles=no_title), model.predict_proba(TEXTS))


def test_one_title_for_all_is_that_title_on_every_text(model):
    np.testing.assert_array_equal(model.predict_proba(TEXTS, titles="Payroll Clerk"),
                                  model.predict_proba(TEXTS, titles=["Payroll Clerk"] * len(TEXTS)))


def test_each_text_is_read_with_its_own_title(model):
    mixed = model.predict_proba(TEXTS[:2], titles=["Payroll Clerk", ""])
    np.testing.assert_array_equal(mixed[0], model.predict_proba(TEXTS[:1], titles="Payroll Clerk")[0])
    np.testing.assert_array_equal(mixed[1], model.predict_proba(TEXTS[1:2])[0])


@pytest.mark.parametrize("text, role, other_role, label", [
    ("Provide information to employees on payroll matters", "Payroll Clerk",
     "Customer Service Representative", "bpo_back_office"),
    ("Provide information to employees on payroll matters", "Customer Service Representative",
     "Payroll Clerk", "bpo_front_office"),
    ("Prepare reports summarizing findings", "Financial Analyst", "Data Entry Keyer", "kpo"),
    ("Prepare reports summarizing findings", "Data Entry Keyer", "Financial Analyst", "bpo_back_office"),
    ("Select materials needed to complete work assignments", "Data Entry Keyer", "Desktop Publisher",
     "bpo_back_office"),
])
def test_a_title_moves_a_borderline_task_toward_its_roles_work(model, text, role, other_role, label):
    k = LABELS.index(label)
    with_role = model.predict_proba([text], titles=role)[0, k]
    with_other = model.predict_proba([text], titles=other_role)[0, k]
    alone = model.predict_proba([text])[0, k]
    assert with_role > alone > with_other or with_role > max(alone, with_other) + 0.2


@pytest.mark.parametrize("text, label", [
    ("Answer questions about products and services", "bpo_front_office"),
    ("Maintain records of transactions", "bpo_back_office"),
    ("Build a discounted cash flow model to value the acquisition target", "kpo"),
])
@pytest.mark.parametrize("title", ["Customer Service Representative", "Bookkeeping Clerk", "Financial Analyst"])
def test_an_office_title_leaves_a_clear_task_its_answer(model, text, label, title):
    assert model.predict([text], titles=title)[0].category == label


def test_titles_must_be_one_or_one_per_text(model):
    with pytest.raises(ValueError, match="titles: 2 given for 3 texts"):
        model.predict_proba(TEXTS, titles=["Payroll Clerk", "Analyst"])


@pytest.mark.parametrize("text, title", [
    ("Provide information to employees on payroll matters", "Payroll Clerk"),
    ("Prepare reports summarizing findings", "Senior Financial Analyst"),
])
def test_explanation_with_a_title_adds_up_and_marks_the_titles_words(model, text, title):
    """Text and title terms add up to the chosen label's centred logit without the constants: the
    heads' intercepts and, inside the title columns, the title reader's intercepts and the
    columns' centring offset."""
    prediction = model.predict([text], explain=True, top_terms=10_000, titles=title)[0]
    X = model.transform([text], title).toarray()
    reader_bias = model.title_reader_.head_.intercept_
    X[0, model.n_text_features_:] -= (reader_bias - reader_bias.mean()) * model.title_weight - model.title_offset_
    logits = X @ model.category_head_.coef_.T / model.temperature_
    order = [list(model.category_head_.classes_).index(i) for i in range(len(LABELS))]
    centred = logits[0, order] - logits[0, order].mean()
    terms = prediction.explanation.category
    assert sum(t.weight for t in terms) == pytest.approx(centred[LABELS.index(prediction.category)], abs=1e-2)
    title_terms = {t.term for t in terms if t.from_title}
    assert title_terms and all(set(term.split()) <= set(words(normalise(title))) for term in title_terms)
    assert any(t.from_title for t in prediction.explanation.automation)


def test_the_texts_own_terms_do_not_change_with_a_title_of_the_same_answer(model):
    text = "Maintain records of transactions"
    alone = model.predict([text], explain=True, top_terms=10_000)[0]
    titled = model.predict([text], explain=True, top_terms=10_000, titles="Bookkeeping Clerk")[0]
    assert titled.category == alone.category
    own = {t.term: t.weight for t in titled.explanation.category if not t.from_title}
    assert own == {t.term: t.weight for t in alone.explanation.category}
