import pytest

from classifier.jobs import split_job

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


def test_split_keeps_duties_and_sets_aside_the_rest():
    split = split_job(POSTING)
    assert split.duties == [
        "Answer inbound calls from policyholders about the status of their claims",
        "Key claim forms and supporting documents into the claims system",
        "Reconcile daily premium receipts against the bank statement",
        "Analyse loss trends by region and recommend pricing changes to underwriting",
    ]
    kinds = {segment.kind for segment in split.left_out}
    assert {"company", "requirement", "benefit", "legal", "heading"} <= kinds


@pytest.mark.parametrize("description, duties", [
    ("Process invoices in SAP.Reconcile vendor statements monthly.Handle escalations from customers by phone.",
     ["Process invoices in SAP.", "Reconcile vendor statements monthly.", "Handle escalations from customers by phone."]),
    ("• Book travel for staff • Draft board minutes • File expense reports",
     ["Book travel for staff", "Draft board minutes", "File expense reports"]),
    ("1) Call customers about overdue bills\n2) Post payments to the ledger",
     ["Call customers about overdue bills", "Post payments to the ledger"]),
    ("Call customers about late payments.5 years experience required.", ["Call customers about late payments."]),
])
def test_split_handles_messy_formatting(description, duties):
    assert split_job(description).duties == duties


@pytest.mark.parametrize("sentence, kind", [
    ("Minimum 2 years of experience in accounts payable", "requirement"),
    ("Strong communication skills and attention to detail", "requirement"),
    ("Paid time off, dental and vision cover", "benefit"),
    ("We are an equal opportunity employer and value diversity", "legal"),
    ("ok", "fragment"),
])
def test_non_duties_are_recognised_anywhere(sentence, kind):
    split = split_job(sentence)
    assert split.duties == []
    assert [s.kind for s in split.left_out] == [kind]


def test_job_without_line_breaks_or_headings_still_yields_duties():
    text = ("Our team supports retail banking clients.Respond to customer emails about card disputes."
            "Update dispute records in the core system.Prepare a weekly summary of open cases.")
    assert len(split_job(text).duties) == 3


@pytest.mark.parametrize("line, duties, kind", [
    ("About us: we are a growing utility.", [], "company"),
    ("Duties: answer customer calls about their bills", ["answer customer calls about their bills"], None),
    ("Requirements: 2+ years of experience in billing", [], "requirement"),
])
def test_heading_and_text_on_one_line(line, duties, kind):
    split = split_job(line)
    assert split.duties == duties
    assert split.left_out[0].kind == "heading"
    if kind:
        assert split.left_out[1].kind == kind


@pytest.mark.parametrize("description, duties", [
    ("Responsibilities:-Clear new submissions in the system.-Request missing documents from brokers.",
     ["Clear new submissions in the system.", "Request missing documents from brokers."]),
    ("You will:• Benchmark jobs against salary surveys• Design salary structures",
     ["Benchmark jobs against salary surveys", "Design salary structures"]),
    ("Responsibilities- Research housing trends using census data- Draft policy briefs for bills",
     ["Research housing trends using census data", "Draft policy briefs for bills"]),
    ("Duties include: processing supplier invoices; reconciling store cash deposits; answering supplier queries",
     ["processing supplier invoices", "reconciling store cash deposits", "answering supplier queries"]),
    ("Company overview: we sell cloud voice to businesses.\n\n• Answer customer calls about outages\n"
     "• Update customers on installation dates", ["Answer customer calls about outages",
                                                  "Update customers on installation dates"]),
    ("Responsibilities:\n- Calculate bonuses and pension contributions\n- Explain health insurance options to members",
     ["Calculate bonuses and pension contributions", "Explain health insurance options to members"]),
])
def test_glued_bullets_semicolon_lists_and_benefit_words_in_duties(description, duties):
    assert split_job(description).duties == duties


def test_every_shipped_job_description_splits_into_its_duties():
    from datasets.loaders import load_jobs
    jobs = load_jobs()
    counts = {row.job_id: len(split_job(row.description).duties) for row in jobs.itertuples()}
    assert len(counts) >= 75
    assert {job: n for job, n in counts.items() if n < 5} == {}
