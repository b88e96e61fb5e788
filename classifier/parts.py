"""Cut a job posting into parts (sentences, bullet items, lines), each with its character offsets.

Offsets index the posting's description as the loader returns it, so labels of parts can be kept
as ``(posting_id, start, end)`` without keeping the text. Every step is a single left-to-right
scan: time grows linearly with the length of the posting, whatever its characters.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from nltk.tokenize.punkt import PunktParameters, PunktSentenceTokenizer

# Punkt with our own abbreviation list: no downloaded model is needed.
_PUNKT_PARAMS = PunktParameters()
_PUNKT_PARAMS.abbrev_types = {
    "e.g", "i.e", "etc", "approx", "incl", "dept", "vs", "mr", "mrs", "ms", "dr", "inc", "ltd", "co",
    "no", "jr", "sr", "st", "corp", "min", "max", "est", "avg", "nos", "ref", "u.s", "u.k", "a.m", "p.m",
}
_SENTENCES = PunktSentenceTokenizer(_PUNKT_PARAMS)

# Where one part ends and the next begins, whatever the sentences: line breaks, bullet characters,
# a dash or star between spaces before a capital, runs of spaces, and a full stop glued to the next
# capitalised word ("place.We"). Each alternative is a fixed-width or single-class run: linear.
_BREAK = re.compile(
    r"\n+|[ \t]*[•·▪◦●■►✓✔➢➤❖][ \t]*|[ \t]+[*–—-][ \t]+(?=[A-Z])|[ \t]{3,}"
    r"|(?<=[A-Za-z0-9)%][.!?;:])[ \t]*[-*][ \t]*(?=[A-Z])"  # "place.-Request", "systems.* Answer"
    r"|(?<=[a-z0-9])-[ \t]+(?=[A-Z][a-z])"  # "census data- Evaluate": a dash bullet glued to the word before
    r"|(?<=[A-Za-z0-9)%][.!?:])(?=[A-Z][a-z])"  # "SAP.Reconcile", "SUMMARY:Under" (not "example.com")
    r"|(?<=[A-Za-z0-9)%];)(?=[A-Za-z])"  # "receipts;reconciling"
)
# A lower-case word run straight into a capitalised one where a bullet was lost ("systemsCollaborate").
_CAMEL_GLUE = re.compile(r"(?<=[a-z]{3})(?=[A-Z][a-z]{2,}[ ,])")
# Product names that are written that way on purpose.
_CAMEL_WORDS = frozenset(
    "powerpoint quickbooks javascript typescript linkedin youtube sharepoint wordpress github gitlab "
    "paypal hubspot salesforce devops netsuite workday servicenow tableau onedrive dropbox openai "
    "mailchimp woocommerce coffeescript".split()
)
_LEADING_MARK = re.compile(r"[\s\-*•·▪◦●■►✓✔➢➤❖–—+>#_]+|\(?(?:\d{1,2}|[a-zA-Z])[.)](?=\s)\s*")
MAX_PART_CHARS = 600  # a longer piece is cut at white space before this length
MIN_PIECE_WORDS = 3


@dataclass(frozen=True)
class Part:
    """One part of a posting: its text and where it stands in the description."""
    start: int
    end: int
    text: str


def _chunks(text: str):
    """Spans between hard breaks."""
    start = 0
    for match in _BREAK.finditer(text):
        if match.start() > start:
            yield start, match.start()
        start = max(start, match.end())
    if start < len(text):
        yield start, len(text)


def _unglue_camel(text: str, start: int, end: int):
    """Split a chunk where a lost bullet left 'systemsCollaborate', but not inside 'QuickBooks'."""
    cut = start
    for match in _CAMEL_GLUE.finditer(text, start, end):
        word_start = max(text.rfind(" ", start, match.start()), text.rfind("\n", start, match.start())) + 1
        word_end = match.start() + 1
        while word_end < end and text[word_end].isalpha():
            word_end += 1
        if text[word_start:word_end].lower().strip("(\"'") in _CAMEL_WORDS:
            continue
        yield cut, match.start()
        cut = match.start()
    yield cut, end


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    """Drop bullet marks and white space at the ends of a span."""
    mark = _LEADING_MARK.match(text, start, end)
    while mark and mark.end() > start:
        start = mark.end()
        mark = _LEADING_MARK.match(text, start, end)
    while end > start and text[end - 1] in " \t\r\n;,":
        end -= 1
    return start, end


def _sentences(text: str, start: int, end: int):
    for s, e in _SENTENCES.span_tokenize(text[start:end]):
        yield start + s, start + e


def _semicolon_pieces(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """A list of duties run together with semicolons, one piece each, when every piece says
    something (three words or more); otherwise the sentence whole."""
    pieces, cut = [], start
    for at in [start + m.start() for m in re.finditer(";", text[start:end])] + [end]:
        pieces.append((cut, at))
        cut = at + 1
    if len(pieces) > 1 and all(len(text[s:e].split()) >= MIN_PIECE_WORDS for s, e in pieces):
        return pieces
    return [(start, end)]


def _bounded(text: str, start: int, end: int):
    """Cut a sentence at its semicolons (see above), then at white space before the length limit."""
    for piece_start, piece_end in _semicolon_pieces(text, start, end):
        yield from _limited(text, piece_start, piece_end)


def _limited(text: str, start: int, end: int):
    cut = start
    while end - cut > MAX_PART_CHARS:
        space = text.rfind(" ", cut + MAX_PART_CHARS // 2, cut + MAX_PART_CHARS)
        at = space if space > cut else cut + MAX_PART_CHARS
        yield cut, at
        cut = at
    yield cut, end


def cut_parts(description: str) -> list[Part]:
    """The parts of a posting in reading order, each at least one word long.

    Parameters
    ----------
    description : str
        The posting's text, line breaks as real newlines.

    Returns
    -------
    list of Part
        Non-overlapping spans; ``description[p.start:p.end] == p.text``.
    """
    text = str(description)
    parts = []
    for chunk_start, chunk_end in _chunks(text):
        for glue_start, glue_end in _unglue_camel(text, chunk_start, chunk_end):
            for sent_start, sent_end in _sentences(text, glue_start, glue_end):
                for s, e in _bounded(text, sent_start, sent_end):
                    s, e = _trim(text, s, e)
                    if e > s and any(ch.isalpha() for ch in text[s:e]):
                        parts.append(Part(s, e, text[s:e]))
    return parts
