"""A trained model: vocabulary, input vectors, output weights, settings, record."""
from __future__ import annotations

import os

import numpy as np

from . import io
from .errors import WordvecError
from .keyedvectors import KeyedVectors
from .vocab import Vocabulary


class Model:
    """The trained network.

    ``words`` (id order, most frequent first) and ``vectors`` (float32, one row
    per word: the rows of ``W_in``, or ``W_in + W_out`` in a finished run with
    ``config["add_output"]``) are the stable public face.
    ``output_weights`` is ``W_out``, ``config`` the settings it was trained with
    and ``record`` what happened during training (loss per epoch, speed).
    ``position_weights`` is CBOW's ``D`` when it was learned (2·window x d; a window
    wider than a sentence has rows for the offsets within one only, see
    :func:`wordvec.backend.position_reach`), and
    ``phrases`` the phrase table the corpus was joined with (a dict, see
    :class:`wordvec.phrases.PhraseTable`).  ``subwords`` is the n-gram table of a
    subword model (:class:`wordvec.subwords.Subwords`); then each row of
    ``vectors`` is the mean of the word's own input row and its n-grams' rows.
    """

    def __init__(self, vocab: Vocabulary, vectors: np.ndarray, output_weights: np.ndarray,
                 config: dict, record: dict | None = None, position: dict | None = None,
                 position_weights: np.ndarray | None = None, phrases: dict | None = None, subwords=None):
        self.vocab = vocab
        self.subwords = subwords
        self.vectors = vectors
        self.output_weights = output_weights
        self.position_weights = position_weights
        self.phrases = phrases
        self.config = dict(config)
        self.record = dict(record or {})
        #: Where an unfinished training run stopped (``None`` once training is complete).
        self.position = position
        self._keyed = None

    @property
    def words(self) -> list[str]:
        return self.vocab.words

    @property
    def wv(self) -> KeyedVectors:
        """The word vectors as a query object."""
        if self._keyed is None:
            self._keyed = KeyedVectors(self.vocab.words, self.vectors, self.vocab.counts,
                                       lowercase=bool(self.config.get("lowercase", False)), subwords=self.subwords)
        return self._keyed

    def most_similar(self, *args, **kwargs):
        """See :meth:`KeyedVectors.most_similar`."""
        return self.wv.most_similar(*args, **kwargs)

    def phrase_table(self):
        """The :class:`~wordvec.phrases.PhraseTable` of the run, or ``None``."""
        if self.phrases is None:
            return None
        from .phrases import PhraseTable

        return PhraseTable.from_dict(self.phrases)

    @property
    def complete(self) -> bool:
        """False for a checkpoint of a training run that has not finished."""
        return self.position is None

    def __repr__(self) -> str:
        return f"<wordvec.Model: {len(self.words)} words x {self.vectors.shape[1]} dims, {self.config.get('arch')}/{self.config.get('loss')}>"

    def save(self, path: str | os.PathLike) -> None:
        """Write the model atomically in the native format (see :mod:`wordvec.io`)."""
        io.save_native(
            path, self.vocab.words, self.vocab.counts,
            {"vectors": self.vectors, "output_weights": self.output_weights,
             **({"position_weights": self.position_weights} if self.position_weights is not None else {}),
             **(io.native.subword_arrays(self.subwords) if self.subwords is not None else {})},
            {"settings": self.config, "record": self.record,
             **({"position": self.position} if self.position else {}),
             **({"phrases": self.phrases} if self.phrases is not None else {}),
             **({"subwords": self.subwords.settings} if self.subwords is not None else {})},
        )

    @classmethod
    def load(cls, path: str | os.PathLike, mmap: bool = True) -> "Model":
        """Read a native model file; arrays are memory-mapped unless ``mmap`` is false."""
        words, counts, arrays, header = io.load_native(path, mmap=mmap)
        if "vectors" not in arrays:
            raise WordvecError(f"{path} holds no vectors")
        if "output_weights" not in arrays:
            raise WordvecError(f"{path} holds word vectors only, not a trained network: "
                               "read it with wordvec.load_vectors")
        return cls(Vocabulary(words, counts), arrays["vectors"], arrays["output_weights"],
                   header.get("settings", {}), header.get("record", {}),
                   header.get("position", header.get("checkpoint")),  # "checkpoint": files of 0.1.0
                   arrays.get("position_weights"), header.get("phrases"), io.native.read_subwords(path, arrays, header))


def load(path: str | os.PathLike, mmap: bool = True) -> Model:
    """Load a model saved by :meth:`Model.save`."""
    return Model.load(path, mmap=mmap)
