"""Model files: the native format and atomic writes.

The native format is one uncompressed zip file (``*.wordvec``) holding

* ``config.json`` — format version, training settings and the record of the run;
* ``vocab.tsv`` — one ``word<TAB>count`` line per word, in id order;
* ``vectors.npy`` and ``output_weights.npy`` — float32 arrays in numpy's format.

Members are stored, not compressed, so the arrays are memory-mapped straight
from the file.  Nothing is unpickled: loading never runs code from the file.
Any zip tool can open it; ``numpy.load`` reads the arrays.
"""
from __future__ import annotations

import io
import json
import struct
import zipfile
from pathlib import Path

import numpy as np

from ..errors import WordvecError
from .files import atomic_write

FORMAT_NAME = "wordvec-model"
FORMAT_VERSION = 1
_ZIP_LOCAL_HEADER = struct.Struct("<4s22xHH")


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
    return buffer.getvalue()


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
                    archive.writestr(f"{name}.npy", _npy_bytes(array))
    except OSError as error:
        raise WordvecError(f"cannot write {path}: {error.strerror or error}") from None


def load_native(path, mmap: bool = True):
    """Read a native model file: ``(words, counts, arrays, config)``."""
    path = Path(path)
    if not path.is_file():
        raise WordvecError(f"no such model file: {path}")
    try:
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))
            if config.get("format") != FORMAT_NAME:
                raise WordvecError(f"{path} is not a wordvec model")
            if config.get("version", 0) > FORMAT_VERSION:
                raise WordvecError(f"{path} was written by a newer wordvec (format {config['version']})")
            words, counts = _parse_vocab(archive.read("vocab.tsv").decode("utf-8"), path)
            arrays = {
                info.filename[:-4]: _read_array(path, archive, info, mmap)
                for info in archive.infolist() if info.filename.endswith(".npy")
            }
    except (zipfile.BadZipFile, KeyError, ValueError, UnicodeDecodeError, OSError, EOFError) as error:
        raise WordvecError(f"{path} is not a readable wordvec model ({error})") from None
    for name, array in arrays.items():
        if array.ndim != 2 or array.shape[0] != len(words):
            raise WordvecError(f"{path}: {name} has shape {array.shape}, which does not fit {len(words)} words")
    return words, counts, arrays, config


def _parse_vocab(text: str, path) -> tuple[list[str], np.ndarray]:
    words, counts = [], []
    for number, line in enumerate(text.splitlines(), 1):
        word, sep, count = line.partition("\t")
        if not sep or not count.isdigit():
            raise WordvecError(f"{path}: vocabulary line {number} is not 'word<TAB>count'")
        words.append(word)
        counts.append(int(count))
    return words, np.array(counts, dtype=np.int64)


def _read_array(path: Path, archive: zipfile.ZipFile, info: zipfile.ZipInfo, mmap: bool) -> np.ndarray:
    """A float32 matrix from the archive, memory-mapped when it is stored plain."""
    if not mmap or info.compress_type != zipfile.ZIP_STORED:
        with archive.open(info) as member:
            array = np.load(io.BytesIO(member.read()), allow_pickle=False)
    else:
        with open(path, "rb") as raw:
            raw.seek(info.header_offset)
            signature, name_length, extra_length = _ZIP_LOCAL_HEADER.unpack(raw.read(_ZIP_LOCAL_HEADER.size))
            if signature != b"PK\x03\x04":
                raise ValueError(f"bad zip entry for {info.filename}")
            start = info.header_offset + _ZIP_LOCAL_HEADER.size + name_length + extra_length
            raw.seek(start)
            version = np.lib.format.read_magic(raw)
            read_header = {(1, 0): np.lib.format.read_array_header_1_0}.get(version, np.lib.format.read_array_header_2_0)
            shape, fortran_order, dtype = read_header(raw)
            offset = raw.tell()
        if dtype != np.float32 or fortran_order or len(shape) != 2:
            raise ValueError(f"{info.filename} is not a float32 matrix")
        if offset - start + shape[0] * shape[1] * 4 != info.file_size:
            raise ValueError(f"{info.filename} is truncated")
        array = np.memmap(path, dtype=np.float32, mode="r", offset=offset, shape=shape)
    if array.dtype != np.float32 or array.ndim != 2:
        raise ValueError(f"{info.filename} is not a float32 matrix")
    return array
