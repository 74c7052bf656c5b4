"""Opening vector files for reading and replacing files atomically."""
from __future__ import annotations

import bz2
import gzip
import io
import lzma
import mmap
import os
import re
import stat
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
    over ``path``, so readers see the old file or the new one, never a torn one.

    A symbolic link keeps pointing at its file, which is the one replaced.  A path
    that is not a file but a stream (``/dev/stdout``, ``/dev/null``, a named pipe)
    is yielded itself and written in place: renaming over it would put a file
    where the device or pipe was."""
    import tempfile

    if os.path.isdir(path):
        raise WordvecError(f"{path} is a folder: give the name of a file in it")
    if os.path.exists(path) and not os.path.isfile(path):
        yield os.fspath(path)
        return
    path = Path(os.path.realpath(path))
    folder = path.parent
    if not folder.is_dir():
        raise WordvecError(f"folder {folder} does not exist")
    # The process id in the name lets a later run tell a killed save's leftover from a live one.
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=folder)
    os.close(handle)
    try:
        os.chmod(temporary, _permissions_for(path))
        yield temporary
        with open(temporary, "rb+") as written:
            os.fsync(written.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def _permissions_for(path: Path) -> int:
    """The permission bits ``open(path, "w")`` would leave: those of the file it
    replaces, or a new file's 0o666 less the umask (mkstemp's own 0o600 would keep
    every saved model, exported vector file and phrased corpus from other users)."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        umask = os.umask(0o077)  # reading the umask means setting it: put it straight back
        os.umask(umask)
        return 0o666 & ~umask


#: Decompressed bytes written to the temporary file per step.
_DECOMPRESS_BLOCK = 1 << 22


def head_bytes(path: str | os.PathLike, size: int = 4096) -> bytes:
    """The first ``size`` bytes of ``path``, decompressed if it is .gz/.bz2/.xz
    (only those bytes are decompressed)."""
    path = _existing_file(path)
    try:
        opener = DECOMPRESSORS.get(path.suffix.lower(), open)
        with opener(path, "rb") as stream:
            return stream.read(size)
    except (OSError, EOFError, lzma.LZMAError) as error:
        raise WordvecError(f"cannot read {path}: {getattr(error, 'strerror', None) or error}") from None


@contextmanager
def file_bytes(path: str | os.PathLike, populate: bool = False, most_bytes: int | None = None,
               most_lines: int | None = None):
    """The bytes of ``path`` as a buffer, memory-mapped (read at disk speed, never
    copied whole; ``populate`` maps every page up front, which is faster when all
    will be read).

    A .gz/.bz2/.xz file is decompressed block by block into a temporary file,
    never whole into memory, and only as far as the reader can use: at most
    ``most_bytes`` bytes or ``most_lines`` lines (what the file's header can
    justify), and never more than the free space of the temporary folder.
    """
    path = _existing_file(path)
    try:
        opener = DECOMPRESSORS.get(path.suffix.lower())
        if opener is None:
            with open(path, "rb") as handle, _mapped(handle, path, populate) as mapped:
                yield mapped
            return
        import tempfile

        with opener(path, "rb") as compressed, tempfile.TemporaryFile(prefix="wordvec-vectors-") as plain:
            _decompress(compressed, plain, path, most_bytes, most_lines)
            with _mapped(plain, path, populate) as mapped:
                yield mapped
    except (OSError, EOFError, lzma.LZMAError) as error:
        raise WordvecError(f"cannot read {path}: {getattr(error, 'strerror', None) or error}") from None


def _existing_file(path) -> Path:
    path = Path(path)
    if not path.is_file():
        raise WordvecError(f"no such file: {path}" if not path.exists() else f"{path} is not a file")
    return path


def _mapped(handle, path, populate: bool):
    if os.fstat(handle.fileno()).st_size == 0:
        raise WordvecError(f"{path} is empty")
    flags = getattr(mmap, "MAP_POPULATE", 0) if populate else 0
    return mmap.mmap(handle.fileno(), 0, flags=mmap.MAP_SHARED | flags, prot=mmap.PROT_READ)


def _decompress(compressed: BinaryIO, plain: BinaryIO, path, most_bytes: int | None, most_lines: int | None):
    """Copy ``compressed`` into ``plain`` block by block, stopping after
    ``most_bytes`` bytes or ``most_lines`` lines, and before the disk fills."""
    import shutil
    import tempfile

    free = shutil.disk_usage(tempfile.gettempdir()).free
    written, lines = 0, 0
    while block := compressed.read(_DECOMPRESS_BLOCK):
        if most_lines is not None:
            newlines = block.count(b"\n")
            if lines + newlines >= most_lines:  # keep through the last line wanted
                cut = -1
                for _ in range(most_lines - lines):
                    cut = block.index(b"\n", cut + 1)
                block = block[:cut + 1]
            lines += newlines
        if most_bytes is not None:
            block = block[:max(most_bytes - written, 0)]
        written += len(block)
        if written > free - (64 << 20):
            raise WordvecError(f"{path} decompresses to more than the {free / 2**20:,.0f} MB free for "
                               "temporary files; decompress it where there is room, or use --limit")
        plain.write(block)
        if (most_bytes is not None and written >= most_bytes) or (most_lines is not None and lines >= most_lines):
            break
    plain.flush()
