"""fastText's binary model files (``.bin``, as fastText 0.9 writes them).

Layout, all little-endian:

* ``int32`` magic 793712314, ``int32`` version 12;
* the arguments: ``int32`` dim, ws, epoch, minCount, neg, wordNgrams, loss
  (1 hs, 2 ns, 3 softmax, 4 one-vs-all), model (1 cbow, 2 skipgram, 3
  supervised), bucket, minn, maxn, lrUpdateRate, then ``float64`` t (sample);
* the dictionary: ``int32`` size, nwords, nlabels; ``int64`` ntokens,
  pruneidx_size; then ``size`` entries of (word as UTF-8 bytes ending in a NUL
  byte, ``int64`` count, ``int8`` type: 0 word, 1 label); then pruneidx_size
  pairs of ``int32`` (only in pruned, quantised files);
* ``uint8`` quantised flag, the input matrix: ``int64`` rows, cols, then
  ``rows × cols`` float32 (rows = nwords + bucket: the words' own rows, then
  one per n-gram bucket);
* ``uint8`` quantised-output flag, the output matrix in the same form.

Reading memory-maps both matrices; every size is checked against the bytes
that hold it before anything is allocated.  Quantised ``.ftz`` files are refused.
"""
from __future__ import annotations

import mmap
import struct
from pathlib import Path

import numpy as np

from ..errors import WordvecError
from .files import atomic_write

MAGIC, VERSION = 793712314, 12
_ARGS = struct.Struct("<12id")
_DICT_HEADER = struct.Struct("<3i2q")
_ENTRY_TAIL = struct.Struct("<qb")
_MATRIX_HEADER = struct.Struct("<2q")
LOSSES = {"hs": 1, "ns": 2, "softmax": 3}
MODELS = {"cbow": 1, "skipgram": 2}
_ROWS_PER_WRITE = 65_536


def is_fasttext(start: bytes) -> bool:
    """Whether a file's first bytes are fastText's magic number."""
    return len(start) >= 4 and struct.unpack_from("<i", start)[0] == MAGIC


class FastTextFile:
    """What a ``.bin`` holds: ``args`` (dict), ``words``, ``counts``, the input
    matrix ``input`` (memory-mapped) and the output matrix ``output``."""

    def __init__(self, args, words, counts, input_matrix, output_matrix):
        self.args, self.words, self.counts = args, words, counts
        self.input, self.output = input_matrix, output_matrix


def read_bin(path) -> FastTextFile:
    """Read a fastText ``.bin``; raises :class:`WordvecError` on anything malformed."""
    path = Path(path)
    try:
        with open(path, "rb") as raw:
            size = raw.seek(0, 2)
            if size == 0:
                raise WordvecError(f"{path} is empty")
            with mmap.mmap(raw.fileno(), 0, access=mmap.ACCESS_READ) as data:
                return _parse(path, raw, data, size)
    except OSError as error:
        raise WordvecError(f"cannot read {path}: {error.strerror or error}") from None
    except struct.error:
        raise WordvecError(f"{path} is a truncated fastText model") from None


def _parse(path, raw, data, size) -> FastTextFile:
    magic, version = struct.unpack_from("<2i", data, 0)
    if magic != MAGIC:
        raise WordvecError(f"{path} is not a fastText model (wrong magic number)")
    if version != VERSION:
        raise WordvecError(f"{path} is a fastText model of version {version}; wordvec reads version {VERSION} "
                           "(fastText 0.9)")
    values = _ARGS.unpack_from(data, 8)
    names = ("dim", "ws", "epoch", "minCount", "neg", "wordNgrams", "loss", "model", "bucket", "minn", "maxn",
             "lrUpdateRate")
    args = dict(zip(names, values[:12]), t=values[12])
    if args["dim"] < 1 or args["bucket"] < 0 or args["maxn"] < 0 or args["minn"] < 0:
        raise WordvecError(f"{path}: impossible fastText arguments (dim {args['dim']}, bucket {args['bucket']}, "
                           f"minn {args['minn']}, maxn {args['maxn']})")
    position = 8 + _ARGS.size
    n_entries, n_words, n_labels, _, prune_size = _DICT_HEADER.unpack_from(data, position)
    position += _DICT_HEADER.size
    if not (0 <= n_words and 0 <= n_labels and n_entries == n_words + n_labels) \
            or n_entries * (1 + _ENTRY_TAIL.size) > size - position:
        raise WordvecError(f"{path}: the dictionary claims {n_entries:,} entries, which the file cannot hold")
    words, counts = [], np.empty(n_words, dtype=np.int64)
    for entry in range(n_entries):
        end = data.find(b"\0", position)
        if end < 0 or end + 1 + _ENTRY_TAIL.size > size:
            raise WordvecError(f"{path} is a truncated fastText model (in the dictionary)")
        count, kind = _ENTRY_TAIL.unpack_from(data, end + 1)
        if (kind == 0) != (entry < n_words):
            raise WordvecError(f"{path}: dictionary entry {entry} is a {'label' if kind else 'word'} out of place")
        if entry < n_words:
            try:
                words.append(data[position:end].decode("utf-8"))
            except UnicodeDecodeError:
                raise WordvecError(f"{path}: dictionary entry {entry} is not UTF-8") from None
            counts[entry] = count
        position = end + 1 + _ENTRY_TAIL.size
    position += 8 * max(prune_size, 0)
    quantised = data[position:position + 1]
    if quantised != b"\0":
        if quantised == b"\1":
            raise WordvecError(f"{path} is a quantised fastText model (.ftz); wordvec reads only full .bin "
                               "models: use the .bin or .vec the .ftz was made from")
        raise WordvecError(f"{path} is a truncated fastText model (after the dictionary)")
    input_matrix, position = _matrix(path, raw, data, size, position + 1, "input")
    if input_matrix.shape != (n_words + args["bucket"], args["dim"]):
        raise WordvecError(f"{path}: the input matrix is {input_matrix.shape[0]:,} x {input_matrix.shape[1]}, "
                           f"not {n_words:,} words + {args['bucket']:,} buckets x {args['dim']}")
    output_matrix = None
    if data[position:position + 1] == b"\0":
        output_matrix, position = _matrix(path, raw, data, size, position + 1, "output")
    return FastTextFile(args, words, counts, input_matrix, output_matrix)


def _matrix(path, raw, data, size, position, name):
    """The matrix at ``position``, mapped from the open file ``raw`` (not the path, which a
    new file may have replaced since the header was read), and the position after it."""
    rows, cols = _MATRIX_HEADER.unpack_from(data, position)
    start = position + _MATRIX_HEADER.size
    if rows < 0 or cols < 1 or rows * cols * 4 > size - start:
        raise WordvecError(f"{path}: the {name} matrix claims {rows:,} x {cols} floats, "
                           f"which the file's {size:,} bytes cannot hold")
    matrix = np.memmap(raw, dtype="<f4", mode="r", offset=start, shape=(rows, cols)) if rows \
        else np.zeros((0, cols), np.float32)
    return matrix, start + rows * cols * 4


def write_bin(path, words, counts, own_rows, subwords, output_weights=None, settings=None) -> None:
    """Write a fastText ``.bin`` atomically: ``own_rows`` are the words' own input
    rows; ``subwords`` (or ``None``: no n-grams) gives the bucket rows, zero for
    buckets it does not keep; ``settings`` are wordvec's training settings."""
    settings = settings or {}
    dim = own_rows.shape[1]
    minn, maxn, bucket = (subwords.minn, subwords.maxn, subwords.bucket) if subwords is not None else (0, 0, 0)
    args = (dim, settings.get("window", 5), settings.get("epochs", 5), settings.get("min_count", 5),
            settings.get("negative", 5), 1, LOSSES.get(settings.get("loss"), 2), MODELS.get(settings.get("arch"), 1),
            bucket, minn, maxn, 100, float(settings.get("sample", 1e-4)))
    counts = np.zeros(len(words), np.int64) if counts is None else np.asarray(counts, dtype=np.int64)
    with atomic_write(path) as temporary, open(temporary, "wb") as out:
        out.write(struct.pack("<2i", MAGIC, VERSION))
        out.write(_ARGS.pack(*args))
        out.write(_DICT_HEADER.pack(len(words), len(words), 0, int(counts.sum()), -1))
        out.write(b"".join(w.encode("utf-8") + b"\0" + _ENTRY_TAIL.pack(int(c), 0)
                           for w, c in zip(words, counts.tolist())))
        out.write(b"\0")
        out.write(_MATRIX_HEADER.pack(len(words) + bucket, dim))
        _write_rows(out, own_rows)
        for first in range(0, bucket, _ROWS_PER_WRITE):
            block = np.zeros((min(_ROWS_PER_WRITE, bucket - first), dim), dtype="<f4")
            low, high = np.searchsorted(subwords.buckets, [first, first + len(block)])
            block[np.asarray(subwords.buckets[low:high]) - first] = subwords.vectors[low:high]
            out.write(block.data)
        output = np.zeros((len(words), dim), np.float32) if output_weights is None else output_weights
        out.write(b"\0")
        out.write(_MATRIX_HEADER.pack(*output.shape))
        _write_rows(out, output)


def _write_rows(out, matrix) -> None:
    for first in range(0, len(matrix), _ROWS_PER_WRITE):
        out.write(np.ascontiguousarray(matrix[first:first + _ROWS_PER_WRITE], dtype="<f4").data)
