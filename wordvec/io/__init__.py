"""Model and vector files: the native format, word2vec text and binary, GloVe.

:func:`read_vectors` and :func:`write_vectors` are the one door to every format;
the format is found from the file's first bytes unless it is given.
"""
from __future__ import annotations

import os
import warnings

import numpy as np

from ..errors import BadVectorsWarning, WordvecError
from . import native, word2vec
from .files import atomic_write
from .native import load_native, save_native
from .word2vec import sniff

#: The formats :func:`read_vectors` reads; all but GloVe are also written.
FORMATS = ("native", "word2vec-bin", "word2vec-txt", "glove")
WRITABLE = ("native", "word2vec-bin", "word2vec-txt")
_SUFFIXES = {".wordvec": "native", ".bin": "word2vec-bin", ".txt": "word2vec-txt", ".vec": "word2vec-txt"}


def read_vectors(path: str | os.PathLike, format: str | None = None, limit: int | None = None,
                 encoding: str = "utf-8", unicode_errors: str = "strict"):
    """``(words, vectors, counts, settings)`` from a vector file of any known format.

    ``limit`` keeps the first N words; ``encoding`` and ``unicode_errors`` apply
    to the words of word2vec and GloVe files (native files are UTF-8).  Counts
    and training settings are known only for native files (``None`` and ``{}``
    otherwise).  Rows holding NaN or infinity are left out, with a
    :class:`~wordvec.errors.BadVectorsWarning` that counts them and names the first few.
    """
    if limit is not None and limit < 1:
        raise WordvecError(f"limit must be at least 1, not {limit}")
    format = format or sniff(path)
    counts, settings = None, {}
    if format == "native":
        words, counts, arrays, header = load_native(path)
        if "vectors" not in arrays:
            raise WordvecError(f"{path} holds no vectors")
        stop = len(words) if limit is None else limit
        words, vectors, counts = words[:stop], arrays["vectors"][:stop], counts[:stop]
        settings = header.get("settings", {}) if isinstance(header.get("settings"), dict) else {}
    elif format == "word2vec-bin":
        words, vectors = word2vec.read_binary(path, limit, encoding, unicode_errors)
    elif format in ("word2vec-txt", "glove"):
        words, vectors = word2vec.read_text(path, limit, encoding, unicode_errors, header=format == "word2vec-txt")
    else:
        raise WordvecError(f"unknown format '{format}' (known: {', '.join(FORMATS)})")
    words, vectors, counts = _finite_rows(words, vectors, counts, path)
    return words, vectors, counts, settings


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


def format_for(path: str | os.PathLike) -> str:
    """The format a file name asks for (``.bin``, ``.txt``/``.vec``, else native)."""
    return _SUFFIXES.get(os.path.splitext(str(path))[1].lower(), "native")


def write_vectors(path: str | os.PathLike, words: list[str], vectors: np.ndarray, counts=None,
                  format: str | None = None, config: dict | None = None) -> None:
    """Write words and vectors atomically; the format defaults to the file name's."""
    format = format or format_for(path)
    if format == "native":
        counts = np.zeros(len(words), dtype=np.int64) if counts is None else counts
        save_native(path, words, counts, {"vectors": vectors}, config or {})
    elif format == "word2vec-bin":
        word2vec.write_binary(path, words, vectors)
    elif format == "word2vec-txt":
        word2vec.write_text(path, words, vectors)
    else:
        raise WordvecError(f"cannot write format '{format}' (writable: {', '.join(WRITABLE)})")


__all__ = ["FORMATS", "WRITABLE", "read_vectors", "write_vectors", "format_for", "sniff", "atomic_write",
           "load_native", "save_native", "native", "word2vec"]
