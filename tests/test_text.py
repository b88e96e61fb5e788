import pytest

from classifier.text import lead_terms, normalise, stemmed_words, words


@pytest.mark.parametrize("raw, expected", [
    ("Reconcile AP/AR accounts", "reconcile accounts payable and receivable accounts"),
    ("Run KYC checks", "run know your customer checks checks"),
    ("L1 support for CSAT", "tier 1 support support for customer satisfaction"),
    ("Filed invoices.Prepared reports", "filed invoices. prepared reports"),
    ("  many   spaces\tand\nlines ", "many spaces and lines"),
    ("ﬁle the ＰＯ", "file the purchase order"),  # ligature and full-width letters fold
])
def test_normalise(raw, expected):
    assert normalise(raw) == expected


def test_abbreviations_only_match_whole_words():
    assert "accounts payable" not in normalise("approve the apartment lease")
    assert normalise("map the process") == "map the process"


def test_stemmed_words_conflate_inflections():
    assert stemmed_words("invoices invoicing") == stemmed_words("invoice invoiced")[:1] * 2


def test_words_keep_digits_and_joined_terms():
    assert words("p&l review for q3 2025") == ["p&l", "review", "for", "q3", "2025"]


def test_lead_terms_name_the_opening_verb_and_its_object():
    terms = lead_terms(normalise("Collect past-due bills from customers, such as utility and phone bills"))
    assert terms[:2] == ["L:collect", "L:past"]
    assert "V:collect_bill" in terms and "V:collect_custom" in terms
    assert not any(t.endswith("_phone") for t in terms)  # the list after "such as" is past the opening
    assert lead_terms("") == []
