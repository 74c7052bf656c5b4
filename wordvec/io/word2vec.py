"""word2vec's text and binary vector files, and GloVe's text files.

* word2vec text (``.txt``, ``.vec``): a header line ``COUNT DIM``, then one line
  per word: the word and its ``DIM`` numbers, separated by spaces.
* word2vec binary (``.bin``): the same header, then per word the word's UTF-8
  bytes, one space and ``DIM`` little-endian float32 values (4·DIM bytes); the
  C tool puts a newline after each vector, gensim does not; both are read.
* GloVe text: word2vec text without the header line.

Readers trust nothing in the file: the header's claims are checked against the
file's size before anything is allocated, and every malformed record is
reported with its position.  Binary files are memory-mapped and copied row by
row; text numbers are parsed by numpy in one call.
"""
from __future__ import annotations

import os
import re
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..checks import check_memory, is_word
from ..errors import WordvecError
from .files import atomic_write, file_bytes, head_bytes

#: Longest word a binary file may hold (the C tool's limit is 100 bytes).
MAX_WORD_BYTES = 10_000
_HEADER_BYTES = 100


def _decode_words(raw: list[bytes], encoding: str, unicode_errors: str, path) -> list[str]:
    """Decode the word bytes in one call.  Words hold no spaces (a space ends a
    word in both formats), so they are joined with spaces; newlines left before
    a word by the C tool's binary layout are dropped."""
    try:
        joined = b" ".join(raw)
        if b"\n" in joined:
            joined = joined.replace(b"\n", b"")
        return joined.decode(encoding, unicode_errors).split(" ") if raw else []
    except UnicodeDecodeError as error:
        raise WordvecError(f"{path}: a word is not valid {encoding} ({error.reason} at byte {error.start} of "
                           "the words); pass unicode_errors='replace' (--unicode-errors replace) to read it anyway") from None
    except LookupError:
        raise WordvecError(f"unknown encoding '{encoding}'") from None


def check_unique(words: list[str], path=None) -> None:
    """Raise if a word appears twice.  Sorting the words' hashes is several times
    cheaper than a set of a million words; only equal hashes are looked at closely."""
    hashes = np.fromiter(map(hash, words), dtype=np.int64, count=len(words))
    order = np.argsort(hashes, kind="stable")
    same = np.flatnonzero(hashes[order[1:]] == hashes[order[:-1]])
    seen = set()
    for i in sorted(set(order[same].tolist()) | set(order[same + 1].tolist())):  # in file order
        if words[i] in seen:
            where = f"{path}: " if path else ""
            raise WordvecError(f"{where}the word {words[i]!r} appears more than once")
        seen.add(words[i])


def _read_header(data, path) -> tuple[int, int, int]:
    """``(count, dim, offset of the first record)`` from a ``COUNT DIM`` line."""
    end = data.find(b"\n", 0, _HEADER_BYTES)
    fields = bytes(data[: end if end >= 0 else 0]).split()
    if len(fields) != 2 or not all(field.isdigit() for field in fields):
        raise WordvecError(f"{path} does not start with a word2vec header line 'COUNT DIM'")
    count, dim = int(fields[0]), int(fields[1])
    if dim < 1:
        raise WordvecError(f"{path}: the header claims a dimension of {dim}")
    return count, dim, end + 1


def _check_claim(count: int, least_record_bytes: int, available: int, path) -> None:
    if count * least_record_bytes > available:
        raise WordvecError(f"{path}: the header claims {count:,} words, but the file is too small to hold them "
                           f"({available:,} bytes after the header); it is truncated or the header is wrong")


def read_binary(path, limit: int | None = None, encoding: str = "utf-8",
                unicode_errors: str = "strict") -> tuple[list[str], np.ndarray]:
    """Read a word2vec binary file: ``(words, vectors)``, at most ``limit`` words.

    No Python loop runs per word.  One regular expression walks the records in
    C (``\\n? word SPACE 4·DIM bytes``: the fixed-size vector is skipped, not
    scanned), giving the words; their lengths give every vector's offset; the
    vectors are gathered in one numpy indexing step from a sliding-window view
    of the memory-mapped file.  That the records tile the file as assumed is
    checked: a space must sit before every vector.
    """
    count, dim, position = _read_header(head_bytes(path, _HEADER_BYTES), path)
    record = 4 * dim
    count = count if limit is None else min(count, limit)
    if count == 0:
        raise WordvecError(f"{path} holds no vectors")
    check_memory(count * record, f"reading {count:,} vectors of {dim} dimensions from {path}", "use --limit")
    most = position + count * (record + 2 + MAX_WORD_BYTES)  # a compressed file is read no further
    with file_bytes(path, populate=limit is None, most_bytes=most) as data:
        _check_claim(count, record + 2, len(data) - position, path)
        end = min(len(data), most)
        raw = _record_pattern(record).findall(data, position, end)[:count]
        if len(raw) < count:
            raise WordvecError(f"{path}: the file holds {len(raw):,} whole records, not {count:,}; "
                               "it is truncated or not word2vec binary")
        lengths = np.fromiter(map(len, raw), dtype=np.int64, count=count)
        starts = position + np.cumsum(lengths + 1 + record) - record  # where each vector begins
        with ThreadPoolExecutor(1) as pool:  # numpy copies the vectors without the GIL meanwhile
            rows = pool.submit(_gather_rows, data, starts, record, path)
            words = _decode_words(raw, encoding, unicode_errors, path)
            check_unique(words, path)
            vectors = rows.result().view(np.float32).reshape(count, dim)
    return words, vectors


def _gather_rows(data, starts: np.ndarray, size: int, path) -> np.ndarray:
    """``data[s : s + size]`` for every ``s`` in ``starts``, as one uint8 matrix
    (a copy: no view of ``data`` outlives this call)."""
    buffer = np.frombuffer(data, dtype=np.uint8)
    misplaced = np.flatnonzero(buffer[starts - 1] != ord(" "))
    rows = None if len(misplaced) else np.lib.stride_tricks.sliding_window_view(buffer, size)[starts]
    del buffer  # before raising: a traceback must not keep the file's memory map open
    if rows is None:
        raise WordvecError(f"{path}: record {misplaced[0] + 1} is malformed (no space before its vector); "
                           "the file is damaged or not word2vec binary")
    return rows


def _record_pattern(record: int) -> re.Pattern:
    """One binary record: an optional newline and the word (group 1), a space, ``record`` bytes."""
    return re.compile(rb"(\n?[^ \n]{0,%d}) .{%d}" % (MAX_WORD_BYTES, record), re.DOTALL)


def read_text(path, limit: int | None = None, encoding: str = "utf-8", unicode_errors: str = "strict",
              header: bool = True) -> tuple[list[str], np.ndarray]:
    """Read a word2vec text file (``header=True``) or a GloVe file: ``(words, vectors)``."""
    if header:
        count, dim, position = _read_header(head_bytes(path, _HEADER_BYTES), path)
        count = count if limit is None else min(count, limit)
        check_memory(count * 4 * dim, f"reading {count:,} vectors of {dim} dimensions from {path}", "use --limit")
    wanted = (count + 1) if header else limit  # lines; a compressed file is read no further
    with file_bytes(path, most_lines=wanted) as data:
        if header:
            _check_claim(count, 2 * dim + 1, len(data) - position, path)
            lines = bytes(data[position:]).split(b"\n", count)[:count]
        else:
            lines = bytes(data).split(b"\n", limit)[:limit] if limit else bytes(data).split(b"\n")
    lines = [line for line in lines if line.strip()]
    if header and len(lines) < count:
        raise WordvecError(f"{path}: the header claims {count:,} words but the file holds {len(lines):,} lines")
    if not lines:
        raise WordvecError(f"{path} holds no vectors")
    raw, numbers = [], []
    for line in lines:
        word, _, rest = line.strip().partition(b" ")
        raw.append(word)
        numbers.append(rest)
    if not header:
        dim = len(numbers[0].split())
        if dim < 1:
            raise WordvecError(f"{path}: the first line holds a word but no numbers")
    values = _parse_numbers(b" ".join(numbers))
    if values is None or values.size != len(lines) * dim:
        _report_bad_line(numbers, dim, path)
    words = _decode_words(raw, encoding, unicode_errors, path)
    check_unique(words, path)
    return words, values.reshape(len(lines), dim)


def _parse_numbers(text: bytes) -> np.ndarray | None:
    """All the whitespace-separated numbers in ``text`` as float32, parsed by numpy
    in one call; ``None`` if something in it is not a number."""
    try:
        return np.fromstring(text.decode("ascii", "replace"), dtype=np.float32, sep=" ")
    except ValueError:
        return None


def _report_bad_line(numbers: list[bytes], dim: int, path):
    for number, line in enumerate(numbers, 1):
        fields = line.split()
        try:
            [float(field) for field in fields]
        except ValueError:
            raise WordvecError(f"{path}: vector {number} holds something that is not a number") from None
        if len(fields) != dim:
            raise WordvecError(f"{path}: vector {number} has {len(fields)} numbers, not {dim}")
    raise WordvecError(f"{path}: the vectors could not be parsed")


def write_binary(path, words: list[str], vectors: np.ndarray) -> None:
    """Write a word2vec binary file atomically (the C tool's layout, newline after each vector)."""
    _write(path, words, vectors, binary=True)


def write_text(path, words: list[str], vectors: np.ndarray) -> None:
    """Write a word2vec text file atomically; 9 significant digits keep float32 exact."""
    _write(path, words, vectors, binary=False)


def _write(path, words, vectors, binary: bool) -> None:
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    for word in words:
        if not is_word(word):
            raise WordvecError(f"cannot write the word {word!r} to a word2vec file: words may not be empty "
                               "or hold white space")
    try:
        with atomic_write(path) as temporary, open(temporary, "wb") as out:
            out.write(f"{len(words)} {vectors.shape[1]}\n".encode())
            for start in range(0, len(words), 10_000):
                block = vectors[start:start + 10_000]
                if binary:
                    out.write(b"".join(word.encode("utf-8") + b" " + row.tobytes() + b"\n"
                                       for word, row in zip(words[start:start + 10_000], block)))
                else:
                    out.write("".join(word + " " + " ".join(["%.9g" % x for x in row]) + "\n"
                                      for word, row in zip(words[start:start + 10_000], block.tolist()))
                              .encode("utf-8"))
    except OSError as error:
        raise WordvecError(f"cannot write {path}: {error.strerror or error}") from None


def sniff(path: str | os.PathLike) -> str:
    """Guess a vector file's format from its first bytes: ``native``,
    ``word2vec-bin``, ``word2vec-txt`` or ``glove``."""
    start = head_bytes(path, 4096)
    if not start:
        raise WordvecError(f"{path} is empty")
    if start.startswith(b"PK\x03\x04"):
        return "native"
    first, _, rest = start.partition(b"\n")
    fields = first.split()
    if len(fields) == 2 and all(field.isdigit() for field in fields):
        dim = int(fields[1])
        word, _, after = rest.partition(b" ")
        text_line = after.split(b"\n", 1)[0]
        try:
            if len(text_line.split()) == dim:
                [float(x) for x in text_line.split()]
                return "word2vec-txt"
        except ValueError:
            pass
        return "word2vec-bin"
    if len(fields) > 1:
        try:
            [float(x) for x in fields[1:]]
            return "glove"
        except ValueError:
            pass
    raise WordvecError(f"{path} is not a vector file wordvec knows (native, word2vec text or binary, GloVe)")
