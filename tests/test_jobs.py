"""Job postings: cutting into parts, the learned duty finder and the job's answer."""
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from classifier.duty_finder import DutyFinder, part_features
from classifier.job_head import JobHead
from classifier.parts import cut_parts

POSTING = """Northwind Mutual is a leading provider of home and motor insurance across the region.

What you'll do:
* Answer inbound calls from policyholders about the status of their claims
- Key claim forms and supporting documents into the claims system
• Reconcile daily premium receipts against the bank statement
1. Analyse loss trends by region and recommend pricing changes to underwriting

Requirements:
- 3+ years of experience in an insurance contact centre
- Bachelor's degree preferred

We offer a competitive salary, health insurance and hybrid work.
Northwind Mutual is an equal opportunity employer; we consider applicants without regard to race or religion."""

DUTIES = [
    "Answer inbound calls from policyholders about the status of their claims",
    "Key claim forms and supporting documents into the claims system",
    "Reconcile daily premium receipts against the bank statement",
    "Analyse loss trends by region and recommend pricing changes to underwriting",
]


def texts(description):
    return [p.text for p in cut_parts(description)]


def test_parts_are_spans_of_the_description():
    parts = cut_parts(POSTING)
    assert all(POSTING[p.start:p.end] == p.text for p in parts)
    assert all(a.end <= b.start for a, b in zip(parts, parts[1:]))
    assert set(DUTIES) <= set(texts(POSTING))
    assert "What you'll do:" in texts(POSTING)


@pytest.mark.parametrize("description, expected", [
    ("Process invoices in the ledger.Reconcile vendor statements monthly.Handle escalations from customers by phone.",
     ["Process invoices in the ledger.", "Reconcile vendor statements monthly.", "Handle escalations from customers by phone."]),
    ("• Book travel for staff • Draft board minutes • File expense reports",
     ["Book travel for staff", "Draft board minutes", "File expense reports"]),
    ("1) Call customers about overdue bills\n2) Post payments to the ledger",
     ["Call customers about overdue bills", "Post payments to the ledger"]),
    ("Oversee global consolidations in Dynamics 365 and adjacent systemsCollaborate with business leaders",
     ["Oversee global consolidations in Dynamics 365 and adjacent systems", "Collaborate with business leaders"]),
    ("Keep the books in QuickBooks and prepare PowerPoint decks", ["Keep the books in QuickBooks and prepare PowerPoint decks"]),
])
def test_cutting_handles_messy_formatting(description, expected):
    assert texts(description) == expected


def test_an_overlong_sentence_is_cut_at_its_semicolons():
    sentence = "; ".join(f"reconcile the ledger of branch number {i} against the bank statement" for i in range(30))
    parts = cut_parts(sentence)
    assert len(parts) >= 10
    assert all(len(p.text) <= 600 for p in parts)


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(st.text(alphabet=st.sampled_from(list("aZ .;:-•*\n\t1)(A!?b'’")), max_size=400))
def test_parts_never_overlap_and_always_match_the_text(description):
    parts = cut_parts(description)
    assert all(description[p.start:p.end] == p.text and p.text.strip() for p in parts)
    assert all(a.end <= b.start for a, b in zip(parts, parts[1:]))


# Runs of one character, and of short patterns, are where a regular expression or a sentence
# splitter can go quadratic: the work per character must not grow with the length of the run.
_HOSTILE_UNITS = st.sampled_from(["a", " ", ".", "a.", "A a", "-", "•", "aB", "; ", ":", "\n", "1)", "x" * 7 + ";",
                                 "1. A ", "Ab.Cd", "word- Word "])


@settings(max_examples=12, deadline=None, derandomize=True, database=None)
@given(unit=_HOSTILE_UNITS, glue=st.sampled_from(["", " ", "A", "."]))
def test_cutting_takes_time_linear_in_the_length(unit, glue):
    def seconds(n):
        text = (unit * (n // len(unit)))[:n] + glue
        best = float("inf")
        for _ in range(2):
            start = time.perf_counter()
            cut_parts(text)
            best = min(best, time.perf_counter() - start)
        return best
    small, large = seconds(5_000), seconds(40_000)
    # Eight times the text may take at most ~eight times as long (with room for timer noise);
    # a quadratic step would take sixty-four times as long.
    assert large <= 16 * small + 0.05


def _toy_postings():
    duties = ["Answer customer calls about their bills", "Post payments to the ledger",
              "Reconcile the bank statements every month", "Call members about overdue accounts"]
    others = [("We are a leading bank in the region", "company"), ("3+ years of experience in billing", "requirement"),
              ("Competitive salary and health insurance", "benefit"),
              ("We are an equal opportunity employer", "legal"), ("Requirements:", "heading")]
    postings, kinds = [], []
    for i in range(12):
        parts = [others[0][0], "Responsibilities:", duties[i % 4], duties[(i + 1) % 4], "Requirements:",
                 others[1][0], others[2][0], others[3][0]]
        postings.append(parts)
        kinds.append(["company", "heading", "duty", "duty", "heading", "requirement", "benefit", "legal"])
    return postings, kinds


def test_duty_finder_follows_sklearn_rules_and_learns_kinds():
    postings, kinds = _toy_postings()
    finder = DutyFinder(C=10.0)
    assert finder.get_params() == {"C": 10.0, "neighbour_weight": 0.4, "context_folds": 2, "random_state": 0}
    assert finder.fit(postings, kinds) is finder
    new = ["We are a growing insurer", "Responsibilities:", "Answer customer calls about claims",
           "Requirements:", "5+ years of experience in claims"]
    proba = finder.predict_proba([new])[0]
    assert proba.shape == (5, len(finder.classes_))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    duty = finder.duty_probability([new])[0]
    assert duty[2] > 0.5 > max(duty[0], duty[1], duty[4])


def test_context_features_see_the_heading_above_and_the_neighbours():
    feats = part_features(["Requirements:", "Customer service"])
    assert feats[1]["section=requirement"] == 1.0
    assert feats[1]["prev_heading"] == 1.0
    assert "section=requirement" not in feats[0]


def test_job_head_blends_duties_and_title_by_the_weight_of_duties():
    rng = np.random.default_rng(0)
    n = 80
    duty = rng.dirichlet(np.ones(4), n)
    title = rng.dirichlet(np.ones(4), n)
    weight = rng.uniform(0.5, 10, n)
    truth = 0.8 * duty + 0.2 * title
    labels = np.array(["bpo_front_office", "bpo_back_office", "kpo", "not_outsourceable"])[truth.argmax(axis=1)]
    head = JobHead().fit(duty, title, weight, labels, truth)
    shares, lam = head.shares(duty, title, weight)
    np.testing.assert_allclose(shares.sum(axis=1), 1.0)
    assert np.all(np.diff(lam[np.argsort(weight)]) >= -1e-12)  # more duty evidence, more weight on duties
    assert (head.predict_proba(duty, title, weight).argmax(axis=1) == truth.argmax(axis=1)).mean() > 0.7


def test_predict_jobs_weighs_parts_and_keeps_what_it_sets_aside(model):
    job = model.predict_jobs([{"title": "Claims Contact Centre Advisor", "description": POSTING}])[0]
    tasks = [t.text for t in job.tasks]
    assert set(tasks) >= set(DUTIES[:3])
    kinds = {s.kind for s in job.left_out}
    assert {"company", "requirement", "heading"} <= kinds
    assert all(s.duty_probability < 0.5 for s in job.left_out)
    assert job.n_tasks == len(job.tasks)
    shares = [job.share_bpo_front_office, job.share_bpo_back_office, job.share_kpo, job.share_not_outsourceable]
    assert abs(sum(shares) - 1) < 1e-3
    assert 0.0 <= job.title_weight < 1.0


def test_a_blurb_cannot_swing_the_job(model):
    base = ("Accounts Payable Clerk\n\nResponsibilities:\n- Enter supplier invoices into the ledger\n"
            "- Match invoices to purchase orders\n- Post payments and file remittances\n")
    blurb = ("Our hospital has cared for patients in the region since 1901, with nurses and surgeons "
             "on every ward and a new operating theatre.\n\n")
    plain, with_blurb = model.predict_jobs([
        {"title": "Accounts Payable Clerk", "description": base},
        {"title": "Accounts Payable Clerk", "description": blurb + base}])
    assert plain.category == with_blurb.category == "bpo_back_office"
    assert abs(plain.share_not_outsourceable - with_blurb.share_not_outsourceable) < 0.1


def test_every_shipped_job_description_yields_its_duties(model):
    from datasets.loaders import load_jobs
    jobs = load_jobs()
    results = model.predict_jobs(jobs[["title", "description"]].to_dict("records"))
    counts = {job_id: r.n_tasks for job_id, r in zip(jobs["job_id"], results)}
    assert len(counts) >= 75
    assert {job: n for job, n in counts.items() if n < 3} == {}
    right = sum(r.category == expected for r, expected in zip(results, jobs["expected_category"]))
    assert right / len(jobs) >= 0.85
