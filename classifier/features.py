"""Vectorisers: builder functions that return unfitted scikit-learn transformers."""
from __future__ import annotations

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion
from sklearn.utils.sparsefuncs_fast import inplace_csr_row_normalize_l2

from classifier.text import LEAD_PAIRS, lead_analyzer, lead_terms_of_stems, normalise, stemmed_words, words

FEATURE_KINDS = ("word", "word_nostem", "char", "word+char", "word+char+lead")
# How much the opening of a statement counts next to the whole text (grouped CV on O*NET: 1.0-1.5
# best, see docs/MODEL.md); TaskModel's ``lead_weight`` passes it on.
LEAD_WEIGHT = 1.2


def build_word_vectoriser(stemmed: bool = True, ngram_range=(1, 2), min_df: int = 2) -> TfidfVectorizer:
    """Word and word-pair TF-IDF over normalised, optionally stemmed tokens."""
    return TfidfVectorizer(
        preprocessor=normalise, tokenizer=stemmed_words if stemmed else words, token_pattern=None,
        lowercase=False, ngram_range=ngram_range, min_df=min_df, sublinear_tf=True, dtype=np.float32,
    )


def build_char_vectoriser(ngram_range=(2, 5), min_df: int = 3, max_features: int | None = 300_000) -> TfidfVectorizer:
    """Character n-grams inside word boundaries: robust to typos and unseen inflections."""
    return TfidfVectorizer(
        preprocessor=normalise, analyzer="char_wb", lowercase=False, ngram_range=ngram_range,
        min_df=min_df, max_features=max_features, sublinear_tf=True, dtype=np.float32,
    )


def build_lead_vectoriser(min_df: int = 2) -> TfidfVectorizer:
    """TF-IDF over the opening of each text (:func:`classifier.text.lead_terms`): the verb and its
    object, which say what kind of work it is more plainly than the lists that follow."""
    return TfidfVectorizer(analyzer=lead_analyzer, min_df=min_df, sublinear_tf=True, dtype=np.float32)


def build_features(kind: str = "word+char+lead", lead_weight: float = LEAD_WEIGHT):
    """The feature extractor named by ``kind`` (one of ``FEATURE_KINDS``).

    Parameters
    ----------
    kind : str
    lead_weight : float
        Scale of the lead block in ``word+char+lead`` (each block is L2-normalised on its own).
    """
    if kind == "word":
        return FeatureUnion([("word", build_word_vectoriser())])
    if kind == "word_nostem":
        return FeatureUnion([("word", build_word_vectoriser(stemmed=False))])
    if kind == "char":
        return FeatureUnion([("char", build_char_vectoriser())])
    if kind == "word+char":
        return FeatureUnion([("word", build_word_vectoriser()), ("char", build_char_vectoriser())])
    if kind == "word+char+lead":
        return FeatureUnion([("word", build_word_vectoriser()), ("char", build_char_vectoriser()),
                             ("lead", build_lead_vectoriser())], transformer_weights={"lead": lead_weight})
    raise ValueError(f"unknown feature kind {kind!r}; choose from {', '.join(FEATURE_KINDS)}")


class FastFeatures:
    """What a fitted union of our vectorisers computes, bit for bit, in a fraction of the time.

    ``union.transform`` normalises every text once per vectoriser and walks every character
    n-gram of every text through a Python dictionary. Here each text is normalised once for all
    vectorisers, and the analysis of each white-space-separated chunk is cached: both analysers
    work chunk by chunk (character n-grams stay inside word boundaries; word tokens never span
    white space), and chunks repeat across texts far more than texts do. The counts then go
    through each vectoriser's own fitted TF-IDF weighting, so the matrix is identical.

    Parameters
    ----------
    union : sklearn.pipeline.FeatureUnion
        A fitted union from :func:`build_features`. A transformer this class does not recognise
        (another analyser, preprocessor or weighting) is computed by its own ``transform``.
    cache_chunks : int
        Cached chunks per vectoriser; the cache is emptied when it fills, so memory stays bounded
        however many distinct words a stream of texts brings.
    """

    def __init__(self, union: FeatureUnion, cache_chunks: int = 100_000):
        self.union = union
        self.cache_chunks = cache_chunks
        self._caches = [_BoundedCache(cache_chunks) for _ in union.transformer_list]

    def transform(self, texts) -> sparse.csr_matrix:
        """The feature matrix of ``texts``, equal to ``union.transform(texts)``."""
        texts = list(texts)
        chunks = None
        parts = []
        weights = self.union.transformer_weights or {}
        for (name, vectoriser), cache in zip(self.union.transformer_list, self._caches):
            kind = _fast_kind(vectoriser)
            if kind is None:
                part = vectoriser.transform(texts)
            else:
                if chunks is None:
                    chunks = [normalise(t).split() for t in texts]
                part = _weigh(vectoriser, _COUNTERS[kind](vectoriser, cache, chunks))
            if name in weights:
                part = part * weights[name]  # as FeatureUnion does it, so the result is the same
            parts.append(part)
        return sparse.hstack(parts).tocsr()


class _BoundedCache(dict):
    """A dictionary that empties itself instead of growing past ``limit`` entries."""

    def __init__(self, limit: int):
        super().__init__()
        self.limit = limit

    def add(self, key, value):
        if len(self) >= self.limit:
            self.clear()
        self[key] = value
        return value


def _fast_kind(vectoriser) -> str | None:
    """``"char_wb"``, ``"word"`` or ``"lead"`` when ``vectoriser`` is one :class:`FastFeatures`
    reproduces."""
    if isinstance(vectoriser, TfidfVectorizer) and vectoriser.analyzer is lead_analyzer \
            and not vectoriser.binary and vectoriser.input == "content" and vectoriser.norm in ("l2", None):
        return "lead"
    if not isinstance(vectoriser, TfidfVectorizer) or vectoriser.preprocessor is not normalise:
        return None
    if vectoriser.lowercase or vectoriser.strip_accents or vectoriser.binary or vectoriser.input != "content" \
            or vectoriser.norm not in ("l2", None):
        return None
    if vectoriser.analyzer == "char_wb":
        return "char_wb"
    if vectoriser.analyzer == "word" and vectoriser.tokenizer in (stemmed_words, words) \
            and vectoriser.stop_words is None and vectoriser.ngram_range[1] <= 2:
        return "word"
    return None


def _weigh(vectoriser: TfidfVectorizer, counts: sparse.csr_matrix) -> sparse.csr_matrix:
    """The TF-IDF step of ``vectoriser.transform``, in place and in the same order of operations,
    without its input validation (which costs more than the arithmetic for a single text)."""
    if vectoriser.sublinear_tf:
        np.log(counts.data, counts.data)
        counts.data += 1.0
    if vectoriser.use_idf:
        counts.data *= vectoriser.idf_[counts.indices]
    if vectoriser.norm == "l2":
        inplace_csr_row_normalize_l2(counts)
    return counts


def _count_matrix(vectoriser, ids: list[np.ndarray], lengths: list[int]) -> sparse.csr_matrix:
    """Rows of feature ids as a count matrix with duplicates summed and indices sorted, which is
    what the vectoriser's own counting produces."""
    cols = np.concatenate(ids) if ids else np.zeros(0, dtype=np.int32)
    indptr = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    shape = (len(lengths), len(vectoriser.vocabulary_))
    counts = sparse.csr_matrix((np.ones(len(cols), dtype=vectoriser.dtype), cols, indptr), shape=shape)
    counts.sum_duplicates()
    return counts


def _char_counts(vectoriser, cache: _BoundedCache, chunks: list[list[str]]) -> sparse.csr_matrix:
    ids, lengths = [], []
    for text_chunks in chunks:
        n = 0
        for chunk in text_chunks:
            chunk_ids = cache.get(chunk)
            if chunk_ids is None:
                chunk_ids = cache.add(chunk, _chunk_char_ids(vectoriser, chunk))
            ids.append(chunk_ids)
            n += len(chunk_ids)
        lengths.append(n)
    return _count_matrix(vectoriser, ids, lengths)


def _chunk_char_ids(vectoriser, chunk: str) -> np.ndarray:
    """Vocabulary ids of the character n-grams of one padded word, as scikit-learn's char_wb makes them."""
    vocabulary = vectoriser.vocabulary_
    padded = " " + chunk + " "
    found = []
    for n in range(vectoriser.ngram_range[0], vectoriser.ngram_range[1] + 1):
        grams = [padded[i:i + n] for i in range(max(len(padded) - n, 0) + 1)]
        found += [vocabulary[g] for g in grams if g in vocabulary]
        if len(padded) <= n:  # a word shorter than n is counted once, at the smallest such n
            break
    return np.array(found, dtype=np.int32)


def _word_counts(vectoriser, cache: _BoundedCache, chunks: list[list[str]]) -> sparse.csr_matrix:
    """Word and word-pair counts: pairs inside a chunk come from the cache, pairs that join the last
    token of one chunk to the first of the next are looked up per text."""
    vocabulary = vectoriser.vocabulary_
    pairs = vectoriser.ngram_range[1] == 2
    found, lengths = [], []
    for text_chunks in chunks:
        start, previous = len(found), None
        for chunk in text_chunks:
            entry = cache.get(chunk)
            if entry is None:
                entry = cache.add(chunk, _chunk_word_ids(vectoriser, chunk))
            ids, first, last = entry
            found += ids
            if pairs and previous is not None and first is not None:
                pair = vocabulary.get(previous + " " + first)
                if pair is not None:
                    found.append(pair)
            if last is not None:
                previous = last
        lengths.append(len(found) - start)
    return _count_matrix(vectoriser, [np.array(found, dtype=np.int32)], lengths)


def _chunk_word_ids(vectoriser, chunk: str) -> tuple[list[int], str | None, str | None]:
    """Vocabulary ids of the n-grams inside one chunk, and its first and last tokens."""
    tokens = vectoriser.tokenizer(chunk)
    min_n, max_n = vectoriser.ngram_range
    grams = list(tokens) if min_n == 1 else []
    if max_n == 2:
        grams += [a + " " + b for a, b in zip(tokens, tokens[1:])]
    ids = [vectoriser.vocabulary_[g] for g in grams if g in vectoriser.vocabulary_]
    return ids, (tokens[0] if tokens else None), (tokens[-1] if tokens else None)


def _lead_counts(vectoriser, cache: _BoundedCache, chunks: list[list[str]]) -> sparse.csr_matrix:
    """Lead-term counts from the stemmed tokens of the first chunks (tokens never span white
    space, so these are the text's first tokens; the cache keeps each chunk's stems)."""
    vocabulary = vectoriser.vocabulary_
    ids, lengths = [], []
    for text_chunks in chunks:
        tokens = []
        for chunk in text_chunks:
            if len(tokens) >= LEAD_PAIRS:
                break
            stems = cache.get(chunk)
            if stems is None:
                stems = cache.add(chunk, stemmed_words(chunk))
            tokens += stems
        found = [vocabulary[t] for t in lead_terms_of_stems(tokens) if t in vocabulary]
        ids.append(np.array(found, dtype=np.int32))
        lengths.append(len(found))
    return _count_matrix(vectoriser, ids, lengths)


_COUNTERS = {"char_wb": _char_counts, "word": _word_counts, "lead": _lead_counts}
