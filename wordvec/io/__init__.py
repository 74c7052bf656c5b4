"""Model and vector files: the native format, word2vec text and binary, GloVe, fastText's .bin.

:func:`read_vectors` and :func:`write_vectors` are the one door to every format;
the format is found from the file's first bytes unless it is given.
"""
from __future__ import annotations

import codecs
import os
import warnings
from collections import namedtuple

import numpy as np

from ..checks import whole_number
from ..errors import BadVectorsWarning, WordvecError
from . import fasttext, native, word2vec
from .files import atomic_write, head_bytes
from .native import load_native, save_native

#: The formats :func:`read_vectors` reads; all but GloVe are also written.
FORMATS = ("native", "word2vec-bin", "word2vec-txt", "glove", "fasttext-bin")
WRITABLE = ("native", "word2vec-bin", "word2vec-txt", "fasttext-bin")
_SUFFIXES = {".wordvec": "native", ".bin": "word2vec-bin", ".txt": "word2vec-txt", ".vec": "word2vec-txt"}
#: What :func:`read_vectors` returns; ``subwords`` is a :class:`~wordvec.subwords.Subwords` or ``None``.
VectorFile = namedtuple("VectorFile", "words vectors counts settings subwords")


def sniff(path: str | os.PathLike) -> str:
    """Guess a vector file's format from its first bytes (see :func:`wordvec.io.word2vec.sniff`;
    fastText's ``.bin`` by its magic number)."""
    if fasttext.is_fasttext(head_bytes(path, 4)):
        return "fasttext-bin"
    return word2vec.sniff(path)


def read_vectors(path: str | os.PathLike, format: str | None = None, limit: int | None = None,
                 encoding: str = "utf-8", unicode_errors: str = "strict"):
    """A :data:`VectorFile` ``(words, vectors, counts, settings, subwords)`` from a
    vector file of any known format.

    ``limit`` keeps the first N words; ``encoding`` and ``unicode_errors`` apply
    to the words of word2vec and GloVe files (native and fastText files are UTF-8).
    Counts are known for native and fastText files, training settings only for
    native ones (``None`` and ``{}`` otherwise); the n-grams (``subwords``) for a
    native subword model and a fastText ``.bin``, whose vectors are then each
    word's own row averaged with its n-grams' rows, as fastText's ``.vec``.  Rows holding NaN or infinity are left out, with a
    :class:`~wordvec.errors.BadVectorsWarning` that counts them and names the first few.
    """
    if limit is not None and not whole_number(limit, 1):
        raise WordvecError(f"limit must be a whole number of at least 1, not {limit!r}")
    try:
        codecs.lookup(encoding), codecs.lookup_error(unicode_errors)
    except LookupError as error:
        raise WordvecError(f"unknown encoding or unicode_errors handler: {error}") from None
    format = format or sniff(path)
    counts, settings, subwords = None, {}, None
    stop = limit
    if format == "native":
        words, counts, arrays, header = load_native(path)
        if "vectors" not in arrays:
            raise WordvecError(f"{path} holds no vectors")
        words, vectors, counts = words[:stop], arrays["vectors"][:stop], counts[:stop]
        settings = header.get("settings", {}) if isinstance(header.get("settings"), dict) else {}
        subwords = native.read_subwords(path, arrays, header)
    elif format == "fasttext-bin":
        words, vectors, counts, subwords = _read_fasttext(path, stop)
    elif format == "word2vec-bin":
        words, vectors = word2vec.read_binary(path, limit, encoding, unicode_errors)
    elif format in ("word2vec-txt", "glove"):
        words, vectors = word2vec.read_text(path, limit, encoding, unicode_errors, header=format == "word2vec-txt")
    else:
        raise WordvecError(f"unknown format '{format}' (known: {', '.join(FORMATS)})")
    words, vectors, counts = _finite_rows(words, vectors, counts, path)
    return VectorFile(words, vectors, counts, settings, subwords)


def _read_fasttext(path, limit):
    """Words, their vectors (composed as fastText's ``get_word_vector``), counts and n-grams of a ``.bin``."""
    from ..subwords import Subwords

    model = fasttext.read_bin(path)
    words, counts, args = model.words[:limit], model.counts[:limit], model.args
    own = model.input[:len(words)]
    if args["maxn"] < 1 or args["bucket"] < 1 or args["minn"] > args["maxn"]:
        return words, np.array(own), counts, None
    n_words = len(model.words)
    subwords = Subwords(max(args["minn"], 1), args["maxn"], args["bucket"], np.arange(args["bucket"]),
                        model.input[n_words:])
    return words, subwords.compose(words, own), counts, subwords


def _finite_rows(words, vectors, counts, path):
    """Drop the rows that hold NaN or infinity, and warn.  One sum per row finds
    the candidates (NaN and infinity survive a sum); only those are looked at."""
    with np.errstate(over="ignore", invalid="ignore"):
        suspects = np.flatnonzero(~np.isfinite(np.add.reduce(vectors, axis=1, dtype=np.float32)))
    bad = suspects[~np.isfinite(np.asarray(vectors[suspects])).all(axis=1)]
    if not len(bad):
        return words, vectors, counts
    named = ", ".join(repr(words[i]) for i in bad[:5]) + (", ..." if len(bad) > 5 else "")
    warnings.warn(BadVectorsWarning(f"{path}: {len(bad):,} vector{'s' if len(bad) > 1 else ''} holding NaN or "
                                    f"infinity left out ({named})"), stacklevel=3)
    keep = np.ones(len(words), dtype=bool)
    keep[bad] = False
    return ([w for w, k in zip(words, keep.tolist()) if k], np.ascontiguousarray(vectors[keep]),
            None if counts is None else counts[keep])


def format_for(path: str | os.PathLike, subwords: bool = False) -> str:
    """The format a file name asks for (``.bin``: fastText's for a model with
    ``subwords``, else word2vec's; ``.txt``/``.vec``; else native)."""
    format = _SUFFIXES.get(os.path.splitext(str(path))[1].lower(), "native")
    return "fasttext-bin" if format == "word2vec-bin" and subwords else format


def write_vectors(path: str | os.PathLike, words: list[str], vectors: np.ndarray, counts=None,
                  format: str | None = None, config: dict | None = None, subwords=None) -> None:
    """Write words and vectors atomically; the format defaults to the file name's.
    Native and fastText files keep the n-grams of ``subwords``."""
    format = format or format_for(path, subwords is not None)
    if format == "native":
        counts = np.zeros(len(words), dtype=np.int64) if counts is None else counts
        arrays, config = {"vectors": vectors}, dict(config or {})
        if subwords is not None:
            arrays.update(native.subword_arrays(subwords))
            config["subwords"] = subwords.settings
        save_native(path, words, counts, arrays, config)
    elif format == "fasttext-bin":
        own = subwords.own_rows(words, vectors) if subwords is not None else vectors
        fasttext.write_bin(path, words, counts, own, subwords, settings=(config or {}).get("settings"))
    elif format == "word2vec-bin":
        word2vec.write_binary(path, words, vectors)
    elif format == "word2vec-txt":
        word2vec.write_text(path, words, vectors)
    else:
        raise WordvecError(f"cannot write format '{format}' (writable: {', '.join(WRITABLE)})")


__all__ = ["FORMATS", "WRITABLE", "VectorFile", "read_vectors", "write_vectors", "format_for", "sniff", "atomic_write",
           "load_native", "save_native", "native", "word2vec", "fasttext"]
