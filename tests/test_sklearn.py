"""WordVectorizer follows scikit-learn's conventions and feeds its models."""
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import estimator_checks

import wordvec
from wordvec import KeyedVectors
from wordvec.sklearn import EmptyDocumentsWarning, WordVectorizer

HAND = KeyedVectors(["king", "queen", "apple", "pear"],
                    np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 0, 3]], np.float32), np.array([40, 30, 20, 10]))


def two_topics(documents=240, seed=0):
    """Documents about royalty or about fruit, with shared filler words; label 0 or 1."""
    rng = np.random.default_rng(seed)
    topics = [[f"royal{i}" for i in range(15)], [f"fruit{i}" for i in range(15)]]
    filler = [f"common{i}" for i in range(20)]
    texts, labels = [], []
    for n in range(documents):
        label = n % 2
        words = list(rng.choice(topics[label], 4)) + list(rng.choice(filler, 8))
        rng.shuffle(words)
        texts.append(" ".join(words))
        labels.append(label)
    return texts, np.array(labels)


def test_weighted_means_by_hand():
    documents = ["king king queen", ["apple", "unknownword"], "nothing known"]
    with pytest.warns(EmptyDocumentsWarning, match="1 of 3 documents have no word"):
        mean = WordVectorizer(HAND).fit(documents).transform(documents)
    np.testing.assert_allclose(mean, [[2 / 3, 1 / 3, 0], [0, 0, 1], [0, 0, 0]], rtol=1e-6)
    tfidf = WordVectorizer(HAND, weighting="tfidf").fit(documents)
    idf = np.log(4 / 2) + 1  # each of king, queen, apple is in 1 of 3 documents
    np.testing.assert_allclose(tfidf.weights_[:3], [idf, idf, idf])
    np.testing.assert_allclose(tfidf.transform(documents[:1]), [[2 / 3, 1 / 3, 0]], rtol=1e-6)
    sif = WordVectorizer(HAND, weighting="sif", sif_a=0.1).fit(documents[:2])
    p = np.array([40, 30, 20, 10]) / 100
    np.testing.assert_allclose(sif.weights_, 0.1 / (0.1 + p))
    w = sif.weights_
    raw = np.array([[2 * w[0], w[1], 0] / (2 * w[0] + w[1]), [0, 0, 1]])
    u = np.linalg.svd(raw)[2][0]
    np.testing.assert_allclose(sif.transform(documents[:2]), raw - np.outer(raw @ u, u), atol=1e-6)
    assert list(sif.get_feature_names_out()) == ["wordvectorizer0", "wordvectorizer1", "wordvectorizer2"]


@pytest.mark.parametrize("X, message", [("king queen", "not one string"), (None, "not None"), (7, "not int"),
                                        ([7], "a document must be a string or a list of tokens, not int")])
def test_what_is_not_a_list_of_documents_is_named(X, message):
    with pytest.raises(wordvec.WordvecError, match=message):
        WordVectorizer(HAND).fit(["king"]).transform(X)


def test_a_model_from_a_path_and_from_training(tmp_path):
    path = tmp_path / "hand.txt"
    HAND.save(path)
    assert np.allclose(WordVectorizer(str(path)).fit(["king"]).transform(["king"]), [[1, 0, 0]])
    texts, _ = two_topics(40)
    fitted = WordVectorizer(dim=8, min_count=1, epochs=2, seed=3).fit(texts)
    assert fitted.vectors_.dim == 8 and "royal1" in fitted.vectors_
    assert fitted.transform(texts).shape == (40, 8)


def test_pipeline_reaches_high_accuracy_on_two_topics():
    texts, labels = two_topics()
    # A tiny corpus: no subsampling (at sample=1e-3 every word here would be thinned to a fifth).
    pipeline = Pipeline([("vectors", WordVectorizer(dim=20, min_count=1, epochs=10, sample=0, seed=1)),
                         ("classify", LogisticRegression(max_iter=1000))])
    accuracy = cross_val_score(pipeline, texts, labels, cv=3).mean()
    assert accuracy >= 0.9, accuracy  # chance is 0.5; measured 0.98


def test_grid_search_with_two_jobs_and_a_column_transformer():
    texts, labels = two_topics(120)
    search = GridSearchCV(Pipeline([("vectors", WordVectorizer(dim=10, min_count=1, epochs=10, sample=0)),
                                    ("classify", LogisticRegression(max_iter=500))]),
                          {"vectors__weighting": ["mean", "tfidf", "sif"]}, cv=2, n_jobs=2)
    search.fit(texts, labels)
    assert search.best_score_ >= 0.8 and set(search.cv_results_["param_vectors__weighting"]) == {"mean", "tfidf", "sif"}
    table = np.empty((len(texts), 2), dtype=object)  # a text column and a number column
    table[:, 0], table[:, 1] = texts, [float(len(t)) for t in texts]
    columns = ColumnTransformer([("words", WordVectorizer(dim=10, min_count=1, epochs=3), 0),
                                 ("length", StandardScaler(), [1])])
    out = columns.fit_transform(table)
    assert out.shape == (120, 11)
    assert list(columns.get_feature_names_out())[0] == "words__wordvectorizer0"


def test_clone_and_parameters_follow_scikit_learns_conventions():
    vectorizer = WordVectorizer(HAND, weighting="tfidf", dim=7)
    copy = clone(vectorizer)
    mine, theirs = vectorizer.get_params(), copy.get_params()
    assert theirs.pop("model").words == mine.pop("model").words  # clone deep-copies a non-estimator parameter
    assert theirs == mine and not hasattr(copy, "vectors_")
    with pytest.raises(wordvec.WordvecError, match="weighting must be one of"):
        WordVectorizer(HAND, weighting="bm25").fit(["king"])


# scikit-learn's own checks that apply to an estimator of text.  The others feed
# numeric matrices, which a text vectorizer cannot take; scikit-learn skips them
# for estimators whose tags say they take strings, not 2-D arrays (its own
# CountVectorizer and TfidfVectorizer are treated the same way).
API_CHECKS = ["check_no_attributes_set_in_init", "check_parameters_default_constructible",
              "check_get_params_invariance", "check_set_params", "check_estimator_cloneable",
              "check_estimator_repr", "check_valid_tag_types", "check_estimator_tags_renamed", "check_mixin_order"]


@pytest.mark.parametrize("name", sorted(set(API_CHECKS)))
def test_scikit_learns_own_api_checks(name):
    check = getattr(estimator_checks, name)
    with warnings.catch_warnings():
        warnings.simplefilter("error", estimator_checks.SkipTestWarning)
        check("WordVectorizer", WordVectorizer())


def test_scikit_learn_knows_it_takes_text():
    tags = WordVectorizer().__sklearn_tags__()
    assert tags.input_tags.string and not tags.input_tags.two_d_array
    with pytest.warns(estimator_checks.SkipTestWarning, match="requires input"):
        list(estimator_checks._yield_all_checks(WordVectorizer(), legacy=True))
