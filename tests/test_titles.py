"""Job titles alone: the title model's rules, its exact explanations, and what users get."""
import csv
import json

import numpy as np
import pytest

from classifier.titles import TitleModel, title_words
from datasets.schema import LABELS
from scripts.cli import main

TOY_TITLES = ["Accounts Payable Clerk", "Payroll Clerk", "Billing Clerk", "Registered Nurse", "Staff Nurse",
              "Data Scientist", "Research Scientist", "Call Centre Agent", "Customer Service Agent"]
TOY_MIXES = np.array([[0, 1, 0, 0], [0, 1, 0, 0], [0.1, 0.9, 0, 0], [0, 0, 0.1, 0.9], [0, 0, 0, 1],
                      [0, 0, 1, 0], [0, 0, 0.9, 0.1], [1, 0, 0, 0], [0.9, 0.1, 0, 0]], dtype=float)
TOY_AUTOMATION = np.array([0.8, 0.8, 0.8, 0.1, 0.1, 0.4, 0.3, 0.6, 0.6])


@pytest.fixture(scope="module")
def toy():
    codes = [f"00-000{i}.00" for i in range(len(TOY_TITLES))]
    return TitleModel(C=10.0).fit(TOY_TITLES, TOY_MIXES, TOY_AUTOMATION, codes, dict(zip(codes, TOY_TITLES)))


def test_title_model_follows_sklearn_rules(toy):
    assert TitleModel().get_params() == {"C": 4.0, "automation_alpha": 1.0, "neighbours": 3, "random_state": 0}
    assert list(toy.classes_) == list(LABELS)
    proba = toy.predict_proba(["Payroll Clerk", "Nurse"])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert proba[0].argmax() == LABELS.index("bpo_back_office")
    assert proba[1].argmax() == LABELS.index("not_outsourceable")


def test_title_explanation_adds_up_to_the_centred_logit(toy):
    title = "Senior Payroll Clerk"
    label = "bpo_back_office"
    x = toy.vectoriser_.transform([title])
    coef = toy.head_.coef_
    k = LABELS.index(label)
    centred_logit = float((x @ (coef[k] - coef.mean(axis=0))).item())
    terms = toy.explain(title, label, top_terms=50)
    assert sum(t.weight for t in terms) == pytest.approx(centred_logit, abs=1e-3)
    assert {t.term for t in terms} <= {"senior", "payroll", "clerk"}


def test_nearest_titles_are_evidence_in_the_users_words(toy):
    nearest = toy.nearest("payroll clerk")
    assert nearest[0]["title"] == "Payroll Clerk" and nearest[0]["similarity"] == pytest.approx(1.0, abs=1e-3)
    assert len({n["onet_soc_code"] for n in nearest}) == len(nearest) <= 3
    assert title_words("Payroll Clerks") == title_words("payroll clerk")


def test_title_prediction_record(toy):
    answer = toy.predict(["Billing Clerk"])[0]
    assert answer.category == "bpo_back_office"
    shares = [answer.share_bpo_front_office, answer.share_bpo_back_office, answer.share_kpo,
              answer.share_not_outsourceable]
    assert sum(shares) == pytest.approx(1.0, abs=1e-3)
    assert 0.0 <= answer.automation_score <= 1.0 and answer.terms and answer.nearest_occupations
    assert toy.predict(["Billing Clerk"], explain=False)[0].terms == []


@pytest.mark.parametrize("title, label", [
    ("Accounts Payable Clerk", "bpo_back_office"),
    ("Registered Nurse", "not_outsourceable"),
    ("Data Scientist", "kpo"),
    ("Reservation Agent", "bpo_front_office"),
])
def test_real_titles_get_their_label(model, title, label):
    assert model.predict_titles([title])[0].category == label


def test_automation_estimate_goes_the_expected_way(model):
    keyer, surgeon = model.predict_titles(["Data Entry Keyer", "Surgeon"])
    assert keyer.automation_score > surgeon.automation_score


def test_predict_titles_from_the_command_line(registry, tmp_path):
    src = tmp_path / "titles.csv"
    src.write_text("id,title\n7,Payroll Clerk\n8,Registered Nurse\n")
    out = tmp_path / "titles_out.csv"
    assert main(["--registry", str(registry.root), "predict", "--titles", "--input", str(src), "--output", str(out)]) == 0
    with open(out, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["id"] for r in rows] == ["7", "8"]
    assert [r["category"] for r in rows] == ["bpo_back_office", "not_outsourceable"]
    assert json.loads(rows[0]["nearest_occupations"])[0]["onet_soc_code"]
    assert {t["term"] for t in json.loads(rows[0]["terms"])} <= {"payroll", "clerk"}


def test_predict_titles_needs_a_title_column(registry, tmp_path, capsys):
    src = tmp_path / "titles.csv"
    src.write_text("name\nPayroll Clerk\n")
    assert main(["--registry", str(registry.root), "predict", "--titles", "--input", str(src),
                 "--output", str(tmp_path / "o.csv")]) == 2
    assert "no column 'title'" in capsys.readouterr().err
