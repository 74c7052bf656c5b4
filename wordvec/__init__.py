"""wordvec: word vectors from raw text, by the network word2vec really is.

    >>> import wordvec
    >>> model = wordvec.train("corpus.txt")          # doctest: +SKIP
    >>> model.most_similar("king")                   # doctest: +SKIP

Importing wordvec does not import numba; training does.
"""
from .errors import WordvecError
from .keyedvectors import KeyedVectors, UnknownWordError, load_vectors
from .model import Model, load
from .trainer import Trainer, TrainingRecord, train
from .vocab import Vocabulary

__version__ = "0.1.0"
__all__ = ["train", "load", "load_vectors", "Trainer", "Model", "KeyedVectors", "Vocabulary", "TrainingRecord",
           "WordvecError", "UnknownWordError"]
