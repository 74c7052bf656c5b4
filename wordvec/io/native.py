"""Model files: the native format and atomic writes.

The native format is one uncompressed zip file (``*.wordvec``) holding

* ``config.json`` — format version, training settings and the record of the run;
* ``vocab.tsv`` — one ``word<TAB>count`` line per word, in id order;
* ``vectors.npy`` and ``output_weights.npy`` — float32 arrays in numpy's format;
  with subwords also ``ngram_vectors.npy`` (float32, one row per n-gram bucket
  kept) and ``ngram_buckets.npy`` (int64, those buckets, rising).

Members are stored, not compressed, so the arrays are memory-mapped straight
from the file.  Nothing is unpickled: loading never runs code from the file.
Any zip tool can open it; ``numpy.load`` reads the arrays.
"""
from __future__ import annotations

import io
import json
import struct
import tokenize
import zipfile
import zlib
from pathlib import Path

import numpy as np

from ..errors import WordvecError
from .files import atomic_write

FORMAT_NAME = "wordvec-model"
FORMAT_VERSION = 1
#: The arrays with one row per word; others (CBOW's position weights) have their own rows.
WORD_ARRAYS = ("vectors", "output_weights")
#: The arrays of int64 indices (one dimension); every other array is a float32 matrix.
INDEX_ARRAYS = ("ngram_buckets",)
_ZIP_LOCAL_HEADER = struct.Struct("<4s22xHH")


#: Arrays start at a multiple of this offset in the file, so that the memory
#: maps are aligned (numpy's BLAS paths need aligned data).
_ALIGN = 64
_PADDING_ID = 0xD935  # the extra-field id zip aligners use for padding
_ROWS_PER_WRITE = 65_536


def _write_array(archive: zipfile.ZipFile, name: str, array: np.ndarray) -> None:
    """Store ``array`` as ``name`` in numpy's .npy format, as the type the format
    reads (little-endian float32, or int64 for :data:`INDEX_ARRAYS`: vectors given
    as float64 are cast), its data aligned to :data:`_ALIGN` bytes in the file
    (padding in the local header's extra field), written in blocks of rows so that
    no copy of the whole array is made."""
    stored = np.dtype("<i8") if name[:-4] in INDEX_ARRAYS else np.dtype("<f4")
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": stored.str, "fortran_order": False,
                                                  "shape": np.shape(array)})
    size = header.tell() + np.size(array) * stored.itemsize
    zip64 = size * 1.05 > zipfile.ZIP64_LIMIT  # the rule zipfile uses to add its zip64 extra field
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type, info.file_size = zipfile.ZIP_STORED, size
    local_header = _ZIP_LOCAL_HEADER.size + len(name.encode()) + 4 + (20 if zip64 else 0)
    pad = -(archive.fp.tell() + local_header + header.tell()) % _ALIGN
    info.extra = struct.pack("<HH", _PADDING_ID, pad) + bytes(pad)
    with archive.open(info, "w", force_zip64=zip64) as member:
        member.write(header.getvalue())
        for start in range(0, len(array), _ROWS_PER_WRITE):
            member.write(np.ascontiguousarray(array[start:start + _ROWS_PER_WRITE], dtype=stored).data)


def save_native(path, words, counts, arrays: dict, config: dict) -> None:
    """Write a native model file atomically."""
    for word in words:
        if "\t" in word or "\n" in word or "\r" in word:
            raise WordvecError(f"cannot save the word {word!r}: words may not hold tabs or line breaks")
    vocab_text = "".join(f"{w}\t{int(c)}\n" for w, c in zip(words, counts))
    header = {"format": FORMAT_NAME, "version": FORMAT_VERSION, **config}
    try:
        with atomic_write(path) as temporary:
            with zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_STORED) as archive:
                archive.writestr("config.json", json.dumps(header, indent=2, sort_keys=True))
                archive.writestr("vocab.tsv", vocab_text.encode("utf-8"))
                for name, array in arrays.items():
                    _write_array(archive, f"{name}.npy", array)
    except OSError as error:
        kept = f"; the previous {path} is unchanged" if Path(path).exists() else ""
        raise WordvecError(f"cannot write {path}: {error.strerror or error}{kept}") from None


def load_native(path, mmap: bool = True):
    """Read a native model file: ``(words, counts, arrays, config)``."""
    path = Path(path)
    if not path.is_file():
        raise WordvecError(f"no such model file: {path}")
    try:
        # One open file for the directory and every mapped matrix: a save that replaces the file meanwhile
        # (a checkpoint written while someone loads it) renames a new file over the path, and this one stays whole.
        with open(path, "rb") as raw, zipfile.ZipFile(raw) as archive:
            config = json.loads(archive.read("config.json"))
            if not isinstance(config, dict) or config.get("format") != FORMAT_NAME:
                raise WordvecError(f"{path} is not a wordvec model")
            if config.get("version", 0) > FORMAT_VERSION:
                raise WordvecError(f"{path} was written by a newer wordvec (format {config['version']})")
            words, counts = _parse_vocab(archive.read("vocab.tsv"), path)
            arrays = {
                info.filename[:-4]: _read_array(raw, archive, info, mmap)
                for info in archive.infolist() if info.filename.endswith(".npy")
            }
    except (zipfile.BadZipFile, zipfile.LargeZipFile, KeyError, ValueError, OSError, EOFError, NotImplementedError,
            RuntimeError, struct.error, zlib.error, OverflowError, TypeError) as error:
        # Whatever a damaged or hostile file makes the zip and .npy readers say (UnicodeDecodeError and
        # json's errors are ValueErrors; RuntimeError: an encrypted member; NotImplementedError: a compression
        # method zipfile lacks; TypeError: a header field of the wrong type).
        raise WordvecError(f"{path} is not a readable wordvec model ({error})") from None
    for name, array in arrays.items():
        if name in INDEX_ARRAYS:
            continue  # checked by _matrix_header: one dimension, int64
        if array.ndim != 2 or (name in WORD_ARRAYS and array.shape[0] != len(words)):
            raise WordvecError(f"{path}: {name} has shape {array.shape}, which does not fit {len(words)} words")
        if array.shape[1] < 1:
            raise WordvecError(f"{path}: {name} has shape {array.shape}: vectors of no dimensions")
    return words, counts, arrays, config


def subword_arrays(subwords) -> dict:
    """The arrays of a :class:`~wordvec.subwords.Subwords` as the file stores them."""
    return {"ngram_vectors": subwords.vectors, "ngram_buckets": np.asarray(subwords.buckets, dtype=np.int64)}


def read_subwords(path, arrays: dict, header: dict):
    """The :class:`~wordvec.subwords.Subwords` of a file (``None`` without), checked."""
    settings = header.get("subwords")
    if settings is None:
        return None
    from ..subwords import Subwords

    if not isinstance(settings, dict) or "ngram_vectors" not in arrays or "ngram_buckets" not in arrays:
        raise WordvecError(f"{path}: the subword settings or n-gram arrays are missing or damaged")
    try:
        subwords = Subwords(settings.get("minn"), settings.get("maxn"), settings.get("bucket"),
                            arrays["ngram_buckets"], arrays["ngram_vectors"])
    except WordvecError as error:
        raise WordvecError(f"{path}: {error}") from None
    if subwords.vectors.shape[1] != arrays["vectors"].shape[1]:
        raise WordvecError(f"{path}: n-gram vectors of {subwords.vectors.shape[1]} dimensions, "
                           f"word vectors of {arrays['vectors'].shape[1]}")
    return subwords


def _parse_vocab(data: bytes, path) -> tuple[list[str], np.ndarray]:
    """``word<TAB>count`` lines, checked and split in bulk: the tabs and newlines
    must alternate (one tab a line, the last line ended) and every count be digits."""
    raw = np.frombuffer(data, dtype=np.uint8)
    separators = raw[np.flatnonzero((raw == 9) | (raw == 10))]
    lines = np.count_nonzero(separators == 10)
    text = data.decode("utf-8")
    fields = text.replace("\n", "\t").split("\t")[:-1]
    counts = fields[1::2]
    if len(separators) != 2 * lines or np.any(separators[0::2] != 9) or np.any(separators[1::2] != 10) \
            or (lines and not "".join(counts).isdigit()) or (data and data[-1:] != b"\n"):
        for number, line in enumerate(text.split("\n"), 1):
            word, sep, count = line.partition("\t")
            if not sep or not count.isdigit():
                raise WordvecError(f"{path}: vocabulary line {number} is not 'word<TAB>count'")
        raise WordvecError(f"{path}: the vocabulary does not end with a line break")
    return fields[0::2], np.fromstring(" ".join(counts), dtype=np.int64, sep=" ")


def _read_array(raw, archive: zipfile.ZipFile, info: zipfile.ZipInfo, mmap: bool) -> np.ndarray:
    """A float32 matrix (or an int64 vector of :data:`INDEX_ARRAYS`) from the archive, memory-mapped when it is stored plain.
    The .npy header's shape is checked against the member's size before
    anything is allocated or mapped."""
    if mmap and info.compress_type == zipfile.ZIP_STORED:
        raw.seek(info.header_offset)
        signature, name_length, extra_length = _ZIP_LOCAL_HEADER.unpack(raw.read(_ZIP_LOCAL_HEADER.size))
        if signature != b"PK\x03\x04":
            raise ValueError(f"bad zip entry for {info.filename}")
        start = info.header_offset + _ZIP_LOCAL_HEADER.size + name_length + extra_length
        raw.seek(start)
        shape, header_bytes, dtype = _matrix_header(raw, info)
        array = np.memmap(raw, dtype=dtype, mode="r", offset=start + header_bytes, shape=shape)
        return array if array.flags.aligned else np.array(array)  # old, unaligned files: copy for BLAS
    with archive.open(info) as member:
        data = member.read()
    shape, header_bytes, dtype = _matrix_header(io.BytesIO(data), info)
    return np.frombuffer(data, dtype=dtype, offset=header_bytes).reshape(shape).copy()


def _matrix_header(stream, info: zipfile.ZipInfo) -> tuple[tuple[int, ...], int, np.dtype]:
    """The shape in a .npy header at ``stream``'s position, the header's length and
    the dtype; the header must describe a C-order float32 matrix (an int64 vector
    for :data:`INDEX_ARRAYS`) filling the member exactly."""
    begin = stream.tell()
    version = np.lib.format.read_magic(stream)
    if version not in ((1, 0), (2, 0)):
        raise ValueError(f"{info.filename} has an unknown .npy version {version}")
    read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    try:
        shape, fortran_order, dtype = read_header(stream)
    except (SyntaxError, tokenize.TokenError):  # numpy parses the header as a Python literal
        raise ValueError(f"{info.filename} has a damaged .npy header") from None
    header_bytes = stream.tell() - begin
    expected, ndim = (np.dtype("<i8"), 1) if info.filename[:-4] in INDEX_ARRAYS else (np.dtype("<f4"), 2)
    if dtype != expected or fortran_order or len(shape) != ndim:
        raise ValueError(f"{info.filename} is not a {'int64 vector' if ndim == 1 else 'float32 matrix'}")
    if header_bytes + int(np.prod(shape)) * expected.itemsize != info.file_size:
        raise ValueError(f"{info.filename} claims shape {shape}, which its {info.file_size:,} bytes do not hold")
    return shape, header_bytes, expected
