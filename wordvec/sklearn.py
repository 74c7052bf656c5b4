"""scikit-learn transformers over wordvec's Python API.

:class:`WordVectorizer` turns documents into one vector each, the weighted mean
of their words' vectors, so that word vectors can feed any scikit-learn model:

* ``weighting="mean"``: every known token weighs 1;
* ``weighting="tfidf"``: a token of word ``w`` weighs ``idf(w) = ln((1 + n) / (1 + df(w))) + 1``
  over the ``n`` documents seen in ``fit`` (scikit-learn's smoothed idf), so a
  document is ``Σ_w tf(w)·idf(w)·v_w / Σ_w tf(w)·idf(w)``;
* ``weighting="sif"`` (Arora, Liang & Ma 2017, "A simple but tough-to-beat
  baseline for sentence embeddings"): a token weighs ``a / (a + p(w))`` with
  ``p(w)`` the word's frequency (the model's corpus counts when it has them,
  else the fitted documents'), and the first principal component ``u`` of the
  fitted documents' vectors is removed: ``x ← x − (x·u) u``.

Unknown words are skipped; a document with no known word becomes zeros, and
:meth:`WordVectorizer.transform` warns how many did.  Importing this module
imports scikit-learn; ``import wordvec`` does not import this module.
"""
from __future__ import annotations

import os
import warnings

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from .errors import WordvecError
from .keyedvectors import KeyedVectors
from .tokenize import Tokenizer, normalise

WEIGHTINGS = ("mean", "tfidf", "sif")


class EmptyDocumentsWarning(UserWarning):
    """Some documents had no word the vectors know; their vectors are zeros."""


class WordVectorizer(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Documents (strings, or lists of tokens) to the weighted mean of their word vectors.

    ``model`` is a trained model or vector file (a path, a :class:`~wordvec.Model`
    or :class:`~wordvec.KeyedVectors`); with ``model=None``, :meth:`fit` trains
    one on the documents it is given, with the remaining parameters as the
    :class:`~wordvec.Trainer` settings.  Strings are tokenised as wordvec's
    trainer tokenises text.

    Learned attributes: ``vectors_`` (the :class:`~wordvec.KeyedVectors` used),
    ``weights_`` (one weight per vocabulary word), ``component_`` (SIF's removed
    direction, or ``None``), ``n_empty_documents_`` (documents of ``fit`` with no
    known word) and ``n_features_out_`` (the vector dimension).
    """

    def __init__(self, model=None, weighting: str = "mean", sif_a: float = 1e-3, *, dim: int = 100,
                 window: int = 5, negative: int = 5, loss: str = "ns", arch: str = "cbow", sample: float = 1e-3,
                 min_count: int = 5, max_vocab: int | None = None, epochs: int = 5, alpha: float | None = None,
                 min_alpha: float = 1e-4, threads: int | None = 1, seed: int = 1, cbow_mean: bool = True,
                 lowercase: bool = True):
        self.model = model
        self.weighting = weighting
        self.sif_a = sif_a
        self.dim = dim
        self.window = window
        self.negative = negative
        self.loss = loss
        self.arch = arch
        self.sample = sample
        self.min_count = min_count
        self.max_vocab = max_vocab
        self.epochs = epochs
        self.alpha = alpha
        self.min_alpha = min_alpha
        self.threads = threads
        self.seed = seed
        self.cbow_mean = cbow_mean
        self.lowercase = lowercase

    _TRAINER_SETTINGS = ("dim", "window", "negative", "loss", "arch", "sample", "min_count", "max_vocab", "epochs",
                         "alpha", "min_alpha", "threads", "seed", "cbow_mean", "lowercase")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.requires_fit = True
        return tags

    # -- fit ----------------------------------------------------------------------
    def fit(self, X, y=None):
        """Load (or train) the vectors and learn the weights from the documents ``X``."""
        if self.weighting not in WEIGHTINGS:
            raise WordvecError(f"weighting must be one of {', '.join(WEIGHTINGS)}, not {self.weighting!r}")
        if not self.sif_a > 0:
            raise WordvecError(f"sif_a must be above 0, not {self.sif_a!r}")
        vectors = self._vectors(X)
        self.vectors_ = vectors
        self._index = None
        counts = self._counts(self._ids(X))
        self.weights_ = self._weights(counts, vectors)
        self.n_features_out_ = vectors.dim
        self.component_ = None
        embedded = self._embed(counts)
        self.n_empty_documents_ = int(np.count_nonzero(counts.sum(axis=1) == 0))
        if self.weighting == "sif":
            self.component_ = _first_component(embedded)
        return self

    def _vectors(self, X) -> KeyedVectors:
        if self.model is None:
            from .trainer import Trainer

            settings = {name: getattr(self, name) for name in self._TRAINER_SETTINGS}
            return Trainer(**settings).fit(self._token_lists(X, self.lowercase)).model_.wv
        if isinstance(self.model, (str, os.PathLike)):
            from .keyedvectors import load_vectors

            return load_vectors(self.model)
        if isinstance(self.model, KeyedVectors):
            return self.model
        if hasattr(self.model, "wv"):
            return self.model.wv
        raise WordvecError(f"model must be a path, a wordvec Model or KeyedVectors, or None, not {self.model!r}")

    def _weights(self, counts: sparse.csr_matrix, vectors: KeyedVectors) -> np.ndarray:
        n_words = len(vectors)
        if self.weighting == "mean":
            return np.ones(n_words, dtype=np.float64)
        if self.weighting == "tfidf":
            document_frequency = np.bincount(counts.indices, minlength=n_words)
            return np.log((1 + counts.shape[0]) / (1 + document_frequency)) + 1.0
        frequency = (np.asarray(vectors.counts, dtype=np.float64) if vectors.counts is not None
                     and np.sum(vectors.counts) > 0 else np.asarray(counts.sum(axis=0)).ravel())
        probability = frequency / max(frequency.sum(), 1.0)
        return self.sif_a / (self.sif_a + probability)

    # -- transform ----------------------------------------------------------------
    def transform(self, X) -> np.ndarray:
        """One row per document: the weighted mean of its known words' vectors."""
        check_is_fitted(self, "vectors_")
        counts = self._counts(self._ids(X))
        embedded = self._embed(counts)
        if self.component_ is not None:
            embedded -= np.outer(embedded @ self.component_, self.component_)
        empty = int(np.count_nonzero(counts.sum(axis=1) == 0))
        if empty:
            warnings.warn(EmptyDocumentsWarning(f"{empty} of {counts.shape[0]} documents have no word these "
                                                "vectors know: their vectors are zeros"), stacklevel=2)
        return embedded.astype(np.float32)

    def _embed(self, counts: sparse.csr_matrix) -> np.ndarray:
        """``Σ_w count·weight·v_w / Σ_w count·weight`` per row (zeros for empty rows), in float64."""
        weighted = counts @ sparse.diags(self.weights_)
        totals = np.asarray(weighted.sum(axis=1)).ravel()
        embedded = np.asarray(weighted @ np.asarray(self.vectors_.vectors, dtype=np.float64))
        embedded /= np.where(totals > 0, totals, 1.0)[:, None]
        return embedded

    # -- documents to word ids ----------------------------------------------------------
    def _token_lists(self, X, lowercase: bool) -> list[list[str]]:
        if isinstance(X, (str, bytes)) or not hasattr(X, "__iter__"):
            given = "one string" if isinstance(X, (str, bytes)) else repr(X) if X is None else type(X).__name__
            raise WordvecError(f"X must be a list of documents (strings or lists of tokens), not {given}")
        tokenizer = Tokenizer(lowercase=lowercase)
        documents = []
        for document in X:
            if isinstance(document, (str, bytes)):
                documents.append(tokenizer.tokens(document))
            elif hasattr(document, "__iter__"):
                documents.append([str(token) for token in document])
            else:
                raise WordvecError(f"a document must be a string or a list of tokens, not {type(document).__name__}")
        return documents

    def _ids(self, X) -> list[list[int]]:
        """The vocabulary ids of each document's known tokens (folded as the model's words are)."""
        vectors = self.vectors_
        if getattr(self, "_index", None) is None:
            self._index = vectors.index
        index, lowercase = self._index, vectors.lowercase
        documents = []
        for tokens in self._token_lists(X, lowercase or self.lowercase):
            ids = []
            for token in tokens:
                found = index.get(token)
                if found is None:
                    found = index.get(normalise(token, lowercase))
                if found is not None:
                    ids.append(found)
            documents.append(ids)
        return documents

    def _counts(self, documents: list[list[int]]) -> sparse.csr_matrix:
        """Documents x words matrix of token counts."""
        lengths = np.fromiter(map(len, documents), dtype=np.int64, count=len(documents))
        indptr = np.concatenate([[0], np.cumsum(lengths)])
        indices = np.fromiter((i for ids in documents for i in ids), dtype=np.int64, count=int(indptr[-1]))
        matrix = sparse.csr_matrix((np.ones(len(indices)), indices, indptr),
                                   shape=(len(documents), len(self.vectors_)))
        matrix.sum_duplicates()
        return matrix

    @property
    def _n_features_out(self) -> int:
        """For ``get_feature_names_out``: one feature per vector dimension."""
        return self.n_features_out_

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_index", None)  # rebuilt on first use: smaller to send to joblib's workers
        return state


def _first_component(embedded: np.ndarray) -> np.ndarray | None:
    """The first right singular vector of the document matrix (SIF's common direction)."""
    if not np.any(embedded):
        return None
    _, _, right = np.linalg.svd(embedded, full_matrices=False)
    return right[0]


__all__ = ["WordVectorizer", "EmptyDocumentsWarning", "WEIGHTINGS"]
