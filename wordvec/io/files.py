"""Opening vector files for reading and replacing files atomically."""
from __future__ import annotations

import bz2
import gzip
import io
import lzma
import mmap
import os
import re
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from ..errors import WordvecError

#: How to open a compressed file, by its suffix (the tokenizer reads corpora with these too).
DECOMPRESSORS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
#: The same by the first bytes of the data, for streams that have no name.  bz2's
#: magic includes the block header (π in BCD), so no text starting "BZh" matches.
_MAGIC = ((b"\x1f\x8b", gzip.open), (b"\xfd7zXZ\x00", lzma.open), (re.compile(rb"BZh[1-9]1AY&SY"), bz2.open))


def open_decompressed(stream: BinaryIO) -> BinaryIO:
    """``stream`` (binary, read from the start), decompressed when its first
    bytes are a gzip, xz or bz2 header; else as it is.  Only peeks: works on pipes."""
    buffered = stream if hasattr(stream, "peek") else io.BufferedReader(stream)
    start = buffered.peek(16)[:16]
    for magic, opener in _MAGIC:
        if (magic.match(start) if isinstance(magic, re.Pattern) else start.startswith(magic)):
            return opener(buffered, "rb")
    return buffered


@contextmanager
def atomic_write(path: str | os.PathLike):
    """Yield a temporary path beside ``path``; on success fsync it and rename it
    over ``path``, so readers see the old file or the new one, never a torn one."""
    import tempfile

    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise WordvecError(f"folder {folder} does not exist")
    # The process id in the name lets a later run tell a killed save's leftover from a live one.
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=folder)
    os.close(handle)
    try:
        yield temporary
        with open(temporary, "rb+") as written:
            os.fsync(written.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


@contextmanager
def file_bytes(path: str | os.PathLike, populate: bool = False):
    """The bytes of ``path`` as a buffer: memory-mapped for a plain file (read at
    disk speed, never copied whole; ``populate`` maps every page up front, which
    is faster when all will be read), decompressed into memory for .gz/.bz2/.xz."""
    path = Path(path)
    if not path.is_file():
        raise WordvecError(f"no such file: {path}" if not path.exists() else f"{path} is not a file")
    try:
        opener = DECOMPRESSORS.get(path.suffix.lower())
        if opener is not None:
            with opener(path, "rb") as compressed:
                yield compressed.read()
            return
        with open(path, "rb") as handle:
            if os.fstat(handle.fileno()).st_size == 0:
                raise WordvecError(f"{path} is empty")
            flags = getattr(mmap, "MAP_POPULATE", 0) if populate else 0
            with mmap.mmap(handle.fileno(), 0, flags=mmap.MAP_SHARED | flags, prot=mmap.PROT_READ) as mapped:
                yield mapped
    except (OSError, EOFError, lzma.LZMAError) as error:
        raise WordvecError(f"cannot read {path}: {getattr(error, 'strerror', None) or error}") from None
