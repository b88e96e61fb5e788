"""Text normalisation and tokenisation shared by training, prediction and explanations.

Everything here is a module-level function so fitted vectorisers pickle cleanly.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from nltk.stem.snowball import SnowballStemmer
from nltk.tokenize import RegexpTokenizer

# Shorthand that users write and formal task statements spell out. Expanding it lets one
# example teach both spellings.
ABBREVIATIONS = {
    "ap/ar": "accounts payable and receivable", "ar/ap": "accounts payable and receivable",
    "ap": "accounts payable", "ar": "accounts receivable", "a/p": "accounts payable",
    "a/r": "accounts receivable", "kyc": "know your customer checks", "aml": "anti money laundering",
    "l1": "tier 1 support", "l2": "tier 2 support", "l3": "tier 3 support",
    "csat": "customer satisfaction", "nps": "net promoter score", "crm": "customer relationship system",
    "erp": "enterprise resource planning system", "po": "purchase order", "pos": "purchase orders",
    "grn": "goods received note", "sla": "service level agreement", "slas": "service level agreements",
    "fnol": "first notice of loss claim", "eob": "explanation of benefits", "ehr": "electronic health record",
    "emr": "electronic medical record", "mis": "management information reports", "p&l": "profit and loss",
    "hr": "human resources", "hris": "human resources information system", "ats": "applicant tracking system",
    "qa": "quality assurance", "kpi": "key performance indicator", "kpis": "key performance indicators",
    "cx": "customer experience", "faq": "frequently asked questions", "faqs": "frequently asked questions",
    "sop": "standard operating procedure", "sops": "standard operating procedures",
    "ocr": "optical character recognition", "rpa": "robotic process automation", "ml": "machine learning",
    "bi": "business intelligence", "etl": "extract transform load", "gl": "general ledger",
    "je": "journal entries", "jes": "journal entries", "m&a": "mergers and acquisitions",
    "dcf": "discounted cash flow", "roi": "return on investment", "cpa": "certified public accountant",
    "rfp": "request for proposal", "rfq": "request for quotation", "sku": "stock keeping unit",
    "skus": "stock keeping units", "wfh": "work from home", "asap": "as soon as possible",
    "ivr": "interactive voice response", "aht": "average handling time", "tat": "turnaround time",
    "cs": "customer service", "csr": "customer service representative", "csrs": "customer service representatives",
    "msa": "master service agreement", "nda": "non disclosure agreement", "ndas": "non disclosure agreements",
    "ui": "user interface", "ux": "user experience", "api": "application programming interface",
    "apis": "application programming interfaces", "db": "database", "dbs": "databases",
    "cv": "curriculum vitae", "cvs": "curriculum vitae", "jd": "job description", "jds": "job descriptions",
    "o2c": "order to cash", "p2p": "procure to pay", "r2r": "record to report", "vat": "value added tax",
    "gst": "goods and services tax", "ifrs": "international financial reporting standards",
    "gaap": "generally accepted accounting principles", "sox": "sarbanes oxley controls",
    "hipaa": "health privacy rules", "gdpr": "data protection rules", "ptp": "promise to pay",
    "dunning": "payment reminders", "cust": "customer", "custs": "customers", "acct": "account",
    "accts": "accounts", "mgmt": "management", "mgr": "manager", "govt": "government", "dept": "department",
    "info": "information", "approx": "approximately", "pls": "please", "plz": "please", "w/": "with",
    "b/w": "between", "thru": "through", "msg": "message", "msgs": "messages", "pt": "patient",
    "pts": "patients", "rx": "prescription", "dr": "doctor", "inv": "invoice", "invs": "invoices",
    "recon": "reconciliation", "recons": "reconciliations", "ops": "operations", "admin": "administration",
    "docs": "documents", "doc": "document", "reqs": "requests", "req": "request", "txn": "transaction",
    "txns": "transactions", "qty": "quantity", "amt": "amount", "yr": "year", "yrs": "years",
}

_TOKENIZER = RegexpTokenizer(r"[a-z][a-z0-9]*(?:[&/'][a-z0-9]+)*|\d+[a-z]*")
_ABBREVIATION_PATTERN = re.compile(
    r"(?<![\w&/])(" + "|".join(re.escape(k) for k in sorted(ABBREVIATIONS, key=len, reverse=True)) + r")(?![\w&/])"
)
_STEMMER = SnowballStemmer("english")
# "filed.Prepared" in pasted postings: a full stop glued to the next capitalised word.
_GLUED_SENTENCE = re.compile(r"([a-z0-9\)])([.;:!?])([A-Z])")
_WHITESPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    """Lower-case, fold Unicode look-alikes, spell out shorthand and collapse white space."""
    text = unicodedata.normalize("NFKC", str(text))
    text = _GLUED_SENTENCE.sub(r"\1\2 \3", text)
    text = text.lower().replace("’", "'")
    text = _ABBREVIATION_PATTERN.sub(lambda m: ABBREVIATIONS[m.group(1)], text)
    return _WHITESPACE.sub(" ", text).strip()


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """Snowball stem of one lower-case word (cached: vocabularies repeat)."""
    return _STEMMER.stem(word)


def words(text: str) -> list[str]:
    """Tokens of an already normalised text."""
    return _TOKENIZER.tokenize(text)


def stemmed_words(text: str) -> list[str]:
    """Stemmed tokens of an already normalised text; the word vectoriser's tokenizer."""
    return [stem(w) for w in _TOKENIZER.tokenize(text)]


# A duty statement opens with what is done to what ("collect past-due bills", "analyse past-due
# bills"); the lists that follow ("such as ...") matter less. These counts reach the object of
# most openings without running into the list.
LEAD_WORDS = 5
LEAD_PAIRS = 8
_LEAD_SKIP = frozenset("a an the and or of to for in on with by as such from at into their its other".split())


def lead_terms(normalised: str) -> list[str]:
    """Terms for the opening of an already normalised text: ``L:stem`` for each of its first
    content words and ``V:first_stem`` for the first word paired with each of the next few."""
    return lead_terms_of_stems(stemmed_words(normalised))


def lead_terms_of_stems(tokens: list[str]) -> list[str]:
    """:func:`lead_terms` from the stemmed tokens (only the first ``LEAD_PAIRS`` are read)."""
    terms = ["L:" + t for t in tokens[:LEAD_WORDS] if t not in _LEAD_SKIP]
    if tokens:
        terms += ["V:" + tokens[0] + "_" + t for t in tokens[1:LEAD_PAIRS] if t not in _LEAD_SKIP]
    return terms


def lead_analyzer(text: str) -> list[str]:
    """The lead vectoriser's analyser: :func:`lead_terms` of the normalised text."""
    return lead_terms(normalise(text))


def lead_term_stems(term: str) -> list[str]:
    """The word stems a lead term is made of (``V:collect_bill`` -> ``["collect", "bill"]``)."""
    return term[2:].split("_")
