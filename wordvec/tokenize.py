"""Streaming tokenizer: files, folders, .gz/.bz2/.xz and stdin to sentences.

A *sentence* is a list of at most :data:`MAX_SENTENCE_TOKENS` tokens.  Each
line of text is one sentence; a longer line is cut into several pieces and no
token is dropped.  Files are read in blocks of :data:`BLOCK_BYTES`, so a corpus
that is one 100 MB line (text8's layout) never sits in memory whole.

Words are runs of Unicode letters, combining marks and digits of any script
(categories L, M and N), joined by inner apostrophes (``don't``,
``rock'n'roll``), inner underscores (``new_york``: the phrases
:mod:`wordvec.phrases` writes read back as one word), Hebrew geresh and gershayim (``צה״ל``) and the zero-width
(non-)joiners that Persian and Indic text writes inside words; every other
character separates words.  So a vowel sign, a virama or an accent never cuts
a word (``नमस्ते``, ``İstanbul`` lower-cased to ``i̇stanbul``).  Text is
normalised to NFC after case folding, so decomposed input (``cafe`` + U+0301)
and composed input (``café``) give the same word.  Scripts written without
spaces (Chinese, Japanese, Thai) come out as one token per run of text between
punctuation; segment them first and pass ``whitespace=True``.  With
``whitespace=True`` the text is taken as already tokenised and split on white
space only (still case-folded and NFC-normalised).

Bad input is survived, and counted in :attr:`Tokenizer.stats`: bytes that are
not UTF-8 are decoded as U+FFFD (``replaced``); a word longer than
:data:`MAX_WORD_CHARS` keeps only its first characters (``capped``; the C tool
keeps 100); NUL and other control characters separate words.  A folder's files
with a NUL byte near their start are not text, and are skipped with a warning.  ``\n``,
``\r\n`` and a lone ``\r`` (old Macs) all end a line.
"""
from __future__ import annotations

import functools
import io
import lzma
import os
import re
import sys
import unicodedata
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from .errors import NotTextWarning, WordvecError
from .io.files import DECOMPRESSORS, head_bytes, open_decompressed

MAX_SENTENCE_TOKENS = 10_000
MAX_WORD_CHARS = 1_000
BLOCK_BYTES = 1 << 18
#: Characters that join two runs of word characters into one word.
INNER_JOINERS = "'_\u05f3\u05f4\u200c\u200d"
#: Code points that hold assigned characters: planes 0-3 and plane 14 (variation selectors).
_ASSIGNED_PLANES = (range(0, 0x40000), range(0xE0000, 0xE1000))

_LINE_BREAKS = b"\n\r"
_SPACES = b" \t\n\r\x0b\x0c"


def _ascii_table(lowercase: bool) -> bytes:
    """A bytes.translate table that keeps ASCII letters and digits (lowered when
    asked) and turns every other byte into a space."""
    table = bytearray(b" " * 256)
    for byte in b"abcdefghijklmnopqrstuvwxyz0123456789":
        table[byte] = byte
    for byte in b"ABCDEFGHIJKLMNOPQRSTUVWXYZ":
        table[byte] = byte + 32 if lowercase else byte
    return bytes(table)


_ASCII_TABLES = {True: _ascii_table(True), False: _ascii_table(False)}


def is_word_character(character: str) -> bool:
    """Letters, marks and numbers of any script (Unicode categories L, M, N)."""
    return unicodedata.category(character)[0] in "LMN"


@functools.lru_cache(maxsize=1)
def word_pattern() -> re.Pattern:
    """The word pattern: runs of L/M/N characters joined by :data:`INNER_JOINERS`.

    Python's ``\\w`` leaves out combining marks, so the class is built from
    this Python's Unicode database (about 0.1 s, once per process).
    """
    ranges, start, previous = [], None, None
    for plane in _ASSIGNED_PLANES:
        for code in plane:
            if is_word_character(chr(code)):
                if start is None or code != previous + 1:
                    if start is not None:
                        ranges.append((start, previous))
                    start = code
                previous = code
    ranges.append((start, previous))
    word = "[" + "".join(re.escape(chr(a)) + ("-" + re.escape(chr(b)) if b > a else "") for a, b in ranges) + "]"
    return re.compile(f"{word}+(?:[{INNER_JOINERS}]+{word}+)*")


def normalise(text: str, lowercase: bool) -> str:
    """Case-fold (when asked) and put ``text`` in Unicode NFC form."""
    if lowercase:
        text = text.lower()
    if text.isascii() or unicodedata.is_normalized("NFC", text):
        return text
    return unicodedata.normalize("NFC", text)


@dataclass(frozen=True)
class Tokenizer:
    """Turns text into tokens.  ``lowercase`` folds case; ``whitespace`` splits
    on white space only (for corpora that are already tokenised)."""

    lowercase: bool = True
    whitespace: bool = False
    #: Bad input survived so far: undecodable byte sequences replaced, over-long words capped.
    stats: dict = field(default_factory=lambda: {"replaced": 0, "capped": 0}, compare=False)

    def tokens(self, text: str | bytes) -> list[str]:
        """The tokens of one piece of text, in order."""
        if isinstance(text, bytes):
            words = self._ascii_words(text)
            if words is not None:
                return self._capped(words.decode("ascii").split(), text)
            raw = text
            text = text.decode("utf-8", errors="replace")
            if "\ufffd" in text:
                self.stats["replaced"] += text.count("\ufffd") - raw.count("\ufffd".encode())
        text = normalise(text, self.lowercase)
        return self._capped(text.split() if self.whitespace else word_pattern().findall(text), text)

    def _ascii_words(self, text: bytes) -> bytes | None:
        """The fast path, same tokens as the pattern for text of ASCII letters, digits,
        spaces and punctuation other than joiners: ``text`` with every other byte a
        space (and lower-cased when asked); ``None`` for text that needs the pattern."""
        if not self.whitespace and text.isascii() and b"'" not in text and b"_" not in text:
            return text.translate(_ASCII_TABLES[self.lowercase])
        return None

    def word_bytes(self, source: str | os.PathLike | list) -> Iterator[bytes]:
        """The words of ``source`` as UTF-8 bytes, separated by spaces, each line
        ended by ``\n``: what :func:`wordvec.corpus.scan_text` numbers without making
        a string per token.  Words are not cut to :data:`MAX_WORD_CHARS` here (the
        numbering does it and counts it); lines are not cut into sentences."""
        return self._word_bytes(read_pieces(source))

    def word_bytes_of_bytes(self, data: bytes, name: str = "a block of text") -> Iterator[bytes]:
        """:meth:`word_bytes` of ``data``, read exactly as a file of these bytes would be."""
        return self._word_bytes(_pieces_of_stream(io.BytesIO(data), name))

    def _word_bytes(self, raw_pieces) -> Iterator[bytes]:
        for piece, ends_line in raw_pieces:
            words = self._ascii_words(piece)
            if words is None:
                words = " ".join(self.tokens(piece)).encode("utf-8")
            yield words + (b"\n" if ends_line else b" ")

    def _capped(self, tokens: list[str], text) -> list[str]:
        """``tokens`` with every word cut to :data:`MAX_WORD_CHARS` characters."""
        if len(text) <= MAX_WORD_CHARS or max(map(len, tokens), default=0) <= MAX_WORD_CHARS:
            return tokens
        self.stats["capped"] += sum(len(token) > MAX_WORD_CHARS for token in tokens)
        return [token[:MAX_WORD_CHARS] for token in tokens]

    def sentences(self, source: str | os.PathLike | list) -> Iterator[list[str]]:
        """Every sentence of ``source`` (a file, a folder, ``-`` for stdin, or a
        list of these), each at most :data:`MAX_SENTENCE_TOKENS` tokens long."""
        return self._sentences(read_pieces(source))

    def _pieces(self, raw_pieces) -> Iterator[tuple[list[str], bool]]:
        """``(tokens, ends_line)``: every line gives one piece (an empty line an
        empty list), a line longer than :data:`MAX_SENTENCE_TOKENS` tokens several."""
        pending: list[str] = []
        for piece, ends_line in raw_pieces:
            pending.extend(self.tokens(piece))
            while len(pending) > MAX_SENTENCE_TOKENS:
                yield pending[:MAX_SENTENCE_TOKENS], False
                pending = pending[MAX_SENTENCE_TOKENS:]
            if ends_line:
                yield pending, True
                pending = []
        if pending:
            yield pending, True

    def _sentences(self, raw_pieces) -> Iterator[list[str]]:
        return (tokens for tokens, _ in self._pieces(raw_pieces) if tokens)


def corpus_files(source: str | os.PathLike | list) -> list[str | Path]:
    """The files a source names: itself, the text files below a folder (sorted;
    hidden ones and those that are not text skipped), or ``-`` for standard input."""
    if isinstance(source, (list, tuple)):
        return [f for s in source for f in corpus_files(s)]
    if str(source) == "-":
        return ["-"]
    path = Path(source)
    if path.is_dir():
        files = sorted(
            p for p in path.rglob("*")
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts)
        )
        if not files:
            raise WordvecError(f"folder {path} holds no files to read")
        return text_files_of_folder(path, files)
    if not path.exists():
        looks_like_text = any(ch.isspace() for ch in str(source)) and not os.path.dirname(str(source))
        raise WordvecError(f"no such file or folder: {path}" + (
            " (a string, or a list of them, names files; give sentences as lists of tokens: line.split())"
            if looks_like_text else ""))
    if not os.access(path, os.R_OK):
        raise WordvecError(f"cannot read {path}: permission denied")
    return [path]  # a file, or a stream: a pipe, a FIFO, /dev/stdin, <(zcat corpus.gz)


#: Bytes read (decompressed) from the start of each file found in a folder: a file with
#: a NUL byte among them (a model, a picture, a PDF, UTF-16 text) is not read as text.
TEXT_PROBE_BYTES = 8192


def text_files_of_folder(folder, files: list) -> list:
    """``files`` (found in ``folder``) less those whose first :data:`TEXT_PROBE_BYTES`
    bytes hold a NUL, as ``grep`` and ``git`` tell binary files; warns naming those."""
    is_text = [b"\x00" not in head_bytes(file, TEXT_PROBE_BYTES) for file in files]
    text = [file for file, keep in zip(files, is_text) if keep]
    skipped = [os.path.relpath(file, folder) for file, keep in zip(files, is_text) if not keep]
    if skipped:
        shown = ", ".join(skipped[:5]) + (f" and {len(skipped) - 5:,} more" if len(skipped) > 5 else "")
        warnings.warn(NotTextWarning(f"{folder}: skipped {len(skipped):,} of its {len(files):,} files, which are not "
                                     f"UTF-8 text (a NUL byte in their first {TEXT_PROBE_BYTES:,} bytes): {shown}"))
    if not text:
        raise WordvecError(f"folder {folder} holds no text files to read")
    return text


def _open_binary(file: str | Path):
    """``file`` opened for reading bytes, decompressed by its suffix or, for a
    name without one (a pipe, ``-``), by its first bytes."""
    if file == "-":
        return open_decompressed(sys.stdin.buffer)
    opener = DECOMPRESSORS.get(Path(file).suffix.lower())
    try:
        return opener(file, "rb") if opener else open_decompressed(open(file, "rb"))
    except OSError as error:
        raise WordvecError(f"cannot open {file}: {error.strerror or error}") from None


def read_pieces(source) -> Iterator[tuple[bytes, bool]]:
    """Stream ``source`` as ``(piece, ends_line)`` pairs of raw bytes.

    A piece is one line (``ends_line`` true) or, for a line longer than a
    block, a run of it cut at white space (``ends_line`` false) so no word is
    split unless a single word is longer than a block.
    """
    for file in corpus_files(source):
        stream = _open_binary(file)
        try:
            yield from _pieces_of_stream(stream, file)
        finally:
            if file != "-":
                stream.close()


def _pieces_of_stream(stream, name) -> Iterator[tuple[bytes, bool]]:
    carry = b""
    skipping = False  # inside a word longer than a block, whose start was kept
    while True:
        try:
            block = stream.read(BLOCK_BYTES)
        except (OSError, EOFError, lzma.LZMAError) as error:
            raise WordvecError(f"cannot read {name}: {error}") from None
        if not block:
            break
        if skipping:
            end = min((i for i in map(block.find, (b" ", b"\t", b"\n", b"\r", b"\x0b", b"\x0c")) if i >= 0),
                      default=-1)
            if end < 0:
                continue
            block, skipping = block[end:], False
        buffer = carry + block
        cut = max(buffer.rfind(b"\n"), buffer.rfind(b"\r"))
        if cut >= 0:
            for line in buffer[: cut + 1].splitlines():
                yield line, True
            carry = buffer[cut + 1:]
        else:
            carry = buffer
        if len(carry) >= BLOCK_BYTES:
            cut = max(carry.rfind(space) for space in (b" ", b"\t", b"\x0b", b"\x0c"))
            if cut > 0:
                yield carry[:cut], False
                carry = carry[cut:]
            else:  # one word longer than a block: keep its start (capped later), drop the rest
                yield carry[:4 * MAX_WORD_CHARS], False
                carry, skipping = b"", True
    if carry:
        yield carry, True
