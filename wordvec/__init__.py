"""wordvec: word vectors from raw text, by the network word2vec really is.

    >>> import wordvec
    >>> model = wordvec.train("corpus.txt")          # doctest: +SKIP
    >>> model.most_similar("king")                   # doctest: +SKIP

Importing wordvec does not import numba; training does.  The training parts
are imported on first use.
"""
import importlib

from .errors import WordvecError
from .keyedvectors import KeyedVectors, UnknownWordError, load_vectors

__version__ = "0.1.0"
__all__ = ["train", "load", "load_vectors", "Trainer", "Model", "KeyedVectors", "Vocabulary", "TrainingRecord",
           "WordvecError", "UnknownWordError"]

# Imported on first use, so that `import wordvec` and the query commands start fast.
_LAZY = {"train": "trainer", "Trainer": "trainer", "TrainingRecord": "trainer",
         "Model": "model", "load": "model", "Vocabulary": "vocab"}


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'wordvec' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
