"""Vectorisers: builder functions that return unfitted scikit-learn transformers."""
from __future__ import annotations

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion

from classifier.text import normalise, stemmed_words, words

FEATURE_KINDS = ("word", "word_nostem", "char", "word+char")


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


def build_features(kind: str = "word+char"):
    """The feature extractor named by ``kind`` (one of ``FEATURE_KINDS``)."""
    if kind == "word":
        return FeatureUnion([("word", build_word_vectoriser())])
    if kind == "word_nostem":
        return FeatureUnion([("word", build_word_vectoriser(stemmed=False))])
    if kind == "char":
        return FeatureUnion([("char", build_char_vectoriser())])
    if kind == "word+char":
        return FeatureUnion([("word", build_word_vectoriser()), ("char", build_char_vectoriser())])
    raise ValueError(f"unknown feature kind {kind!r}; choose from {', '.join(FEATURE_KINDS)}")
