"""The fast feature path computes exactly what the fitted scikit-learn vectorisers compute."""
import io

import joblib
import numpy as np
import pytest
from scipy.special import softmax

from classifier.features import FEATURE_KINDS, FastFeatures, build_features
from classifier.model import TaskModel, with_title_block
from datasets.loaders import load_corpus

# Texts that stress the places where the fast path splits work differently from scikit-learn:
# white space of every kind, shorthand that expands into several words, words shorter than an
# n-gram, glued sentences, digits, accents and look-alike characters.
EDGE_TEXTS = [
    "", "   ", "a", "x y", "AP/AR recon w/ vendor", "p&l and m&a for the CFO",
    "Ａｐ ｐｏ\tcheck\u00a0thru  the\u2003SLA\n\nnext", "filed.Prepared reports;Then checked",
    "123 4th 5g 2024-11-25", "naïve café résumé ﬁling", "---", "don't can't o'brien's", "&/ / &",
    "supercalifragilisticexpialidocious " * 3,
]


@pytest.fixture(scope="module")
def texts():
    corpus = load_corpus()["text"]
    return corpus.sample(1500, random_state=1).tolist() + EDGE_TEXTS


@pytest.fixture(scope="module")
def fitted_unions():
    train = load_corpus()["text"].sample(1200, random_state=0).tolist()
    return {kind: build_features(kind).fit(train) for kind in FEATURE_KINDS}


def assert_same_matrix(actual, expected):
    assert type(actual) is type(expected) and actual.dtype == expected.dtype
    assert actual.shape == expected.shape
    np.testing.assert_array_equal(actual.indptr, expected.indptr)
    np.testing.assert_array_equal(actual.indices, expected.indices)
    np.testing.assert_array_equal(actual.data, expected.data)  # bit for bit, not approximately


@pytest.mark.parametrize("kind", FEATURE_KINDS)
def test_fast_features_equal_the_vectorisers_bit_for_bit(fitted_unions, texts, kind):
    union = fitted_unions[kind]
    fast = FastFeatures(union)
    assert_same_matrix(fast.transform(texts), union.transform(texts))
    # Second pass: every chunk now comes from the cache.
    assert_same_matrix(fast.transform(texts[::-1]), union.transform(texts[::-1]))


@pytest.mark.parametrize("batch", [[EDGE_TEXTS[4]], EDGE_TEXTS[:3], []])
def test_small_batches_equal_the_vectorisers(fitted_unions, batch):
    union = fitted_unions["word+char+lead"]
    if not batch:
        assert FastFeatures(union).transform(batch).shape == (0, len(union.get_feature_names_out()))
    else:
        assert_same_matrix(FastFeatures(union).transform(batch), union.transform(batch))


def test_cache_stays_bounded_and_results_stay_exact(fitted_unions, texts):
    union = fitted_unions["word+char+lead"]
    fast = FastFeatures(union, cache_chunks=50)
    assert_same_matrix(fast.transform(texts), union.transform(texts))
    assert all(0 < len(cache) <= 50 for cache in fast._caches)


def test_unrecognised_vectoriser_falls_back_to_its_own_transform(fitted_unions, texts):
    union = fitted_unions["word+char+lead"]
    union.transformer_list[1][1].set_params(norm="l1")  # not a weighting the fast path reproduces
    try:
        assert_same_matrix(FastFeatures(union).transform(texts), union.transform(texts))
    finally:
        union.transformer_list[1][1].set_params(norm="l2")


def test_model_predictions_use_the_fast_path_and_match_the_bare_pipeline(model):
    texts = load_corpus()["text"].sample(500, random_state=2).tolist() + EDGE_TEXTS
    X = with_title_block(model.vectoriser_.transform(texts), None)  # no title: its columns stay empty
    assert_same_matrix(model.transform(texts), X)
    assert_same_matrix(model.predict_columns(texts)["_X"], X)
    np.testing.assert_array_equal(model.predict_proba(texts), softmax(model.logits(X), axis=1))


def test_saved_model_carries_no_cache():
    frame = load_corpus().sample(300, random_state=0)
    model = TaskModel(calibration_folds=0).fit(frame.text, frame.label, frame.automation)
    before = model.predict_columns(frame.text)
    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    buffer.seek(0)
    loaded = joblib.load(buffer)
    assert "_fast_features" in vars(model) and "_fast_features" not in vars(loaded)
    np.testing.assert_array_equal(loaded.predict_columns(frame.text)["confidence"], before["confidence"])
