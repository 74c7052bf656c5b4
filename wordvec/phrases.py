"""Phrases: pairs of words that act as one word (*new york* → ``new_york``).

word2phrase's method (Mikolov et al. 2013, "Distributed Representations of
Words and Phrases and their Compositionality"), over the numbered text that
:func:`wordvec.corpus.scan` leaves, never over Python strings per token.

Counting.  ``c(a)`` is the number of times word ``a`` occurs, ``c(a b)`` the
number of times ``b`` follows ``a`` in the same sentence, and ``N`` the number
of words in the text (sentence ends not counted).  These are word2phrase's
``pa``, ``pb``, ``pab`` and ``train_words``; word2phrase also counts the pair
that spans a line break, which we do not (a handful of pairs in a corpus).
gensim's ``Phrases`` uses the number of distinct words and pairs it counted
as ``N`` in the same formula, so its thresholds are on another scale.

Scoring.  A pair is a phrase when ``c(a)``, ``c(b)`` and ``c(a b)`` are all at
least ``min_count`` and its score is above ``threshold``:

* ``word2phrase``: ``(c(a b) − min_count) · N / (c(a) · c(b))`` (word2phrase's
  score; its default threshold is 100);
* ``npmi``: ``ln(p(a b) / (p(a) p(b))) / −ln p(a b)`` with ``p(x) = c(x) / N``,
  normalised pointwise mutual information (Bouma 2009, gensim's ``npmi``), in
  ``[−1, 1]``; the default threshold is 0.5.

Joining.  Left to right, as word2phrase writes its output: a pair that is a
phrase is joined unless its first word was itself just joined to the word
before it, so one pass makes phrases of two words (``a b c`` with both pairs
phrases gives ``a_b c``); each further pass can add one word to them
(``new_york times`` → ``new_york_times``), counting again on the joined text.

Memory.  Pair counts are kept in a hash table (:mod:`wordvec.phrase_kernels`)
of 16-byte slots, at least two a pair, for at most ``max_pairs`` pairs; when
it is full, the rarest are dropped as word2phrase does when its table fills
(every pair seen at most ``m`` times, ``m`` = 1, 2, … until the table has
room) and the number dropped is reported.
"""
from __future__ import annotations

import itertools
import json
import math
import os
from dataclasses import dataclass, field

import numpy as np

from .checks import check_not_the_corpus, is_word
from .corpus import NumberedText, ScannedCorpus
from .errors import WordvecError

SCORINGS = ("word2phrase", "npmi")
DEFAULT_THRESHOLDS = {"word2phrase": 100.0, "npmi": 0.5}
#: Distinct pairs counted before the rarest are dropped (a table of 32 to 64 bytes a pair: 0.6 to 1.3 GB).
DEFAULT_MAX_PAIRS = 20_000_000
#: Tokens read from the numbered text at a time.
_BATCH = 1 << 20
_TABLE_HEADER = "# wordvec phrase table"


class PairCounter:
    """Counts of the pairs of adjacent words in a numbered text, in a hash table
    (:mod:`wordvec.phrase_kernels`) of at most ``max_pairs`` pairs, 16 bytes a
    slot and at least two slots a pair; when it is full, the rarest pairs are
    dropped as word2phrase does (every pair seen at most ``min_reduce`` times,
    then ``min_reduce`` goes up by one)."""

    def __init__(self, max_pairs: int = DEFAULT_MAX_PAIRS, expected: int = 0):
        """``expected``: about how many distinct pairs will come, to size the table
        once instead of growing it (a quarter of the words of a text is typical)."""
        self.max_pairs = max_pairs
        slots = 1 << max(16, (2 * min(expected, max_pairs)).bit_length())
        self.keys = np.zeros(slots, dtype=np.int64)
        self.counts = np.zeros(slots, dtype=np.int64)
        self.pairs = 0
        self.min_reduce = 1
        self.pruned = 0
        self.peak_bytes = 0

    def add(self, ids: np.ndarray, previous: int) -> None:
        """Count the pairs of ``ids``, the word before them being ``previous``."""
        from .phrase_kernels import count_pairs

        done = 0
        while done < len(ids):
            limit = min(self.max_pairs, len(self.keys) // 2)
            before = previous if done == 0 else int(ids[done - 1])
            consumed, self.pairs = count_pairs(ids[done:], before, self.keys, self.counts, self.pairs, limit)
            done += consumed
            if done < len(ids):
                self._grow() if len(self.keys) // 2 < self.max_pairs else self._prune()

    def _items(self) -> tuple[np.ndarray, np.ndarray]:
        used = self.keys != 0
        return self.keys[used], self.counts[used]

    def _rebuild(self, slots: int, keys: np.ndarray, counts: np.ndarray) -> None:
        from .phrase_kernels import insert_pairs

        self.peak_bytes = max(self.peak_bytes, 16 * (len(self.keys) + slots + len(keys)))
        self.keys, self.counts = np.zeros(slots, dtype=np.int64), np.zeros(slots, dtype=np.int64)
        insert_pairs(keys, counts, self.keys, self.counts)
        self.pairs = len(keys)

    def _grow(self) -> None:
        self._rebuild(2 * len(self.keys), *self._items())

    def _prune(self) -> None:
        keys, counts = self._items()
        while len(keys) >= min(self.max_pairs, len(self.keys) // 2):
            keep = counts > self.min_reduce
            self.pruned += int(np.count_nonzero(~keep))
            keys, counts = keys[keep], counts[keep]
            self.min_reduce += 1
        self._rebuild(len(self.keys), keys, counts)

    def finish(self) -> tuple[np.ndarray, np.ndarray]:
        """``(keys, counts)`` of every pair counted, in the table's order."""
        self.peak_bytes = max(self.peak_bytes, 16 * len(self.keys))
        return self._items()


def score_pairs(keys: np.ndarray, pair_counts: np.ndarray, word_counts: np.ndarray, words: int, scoring: str,
                min_count: int) -> np.ndarray:
    """The score of each pair (see the module docstring); ``−inf`` where a count is below ``min_count``."""
    a, b = keys >> 32, keys & 0xFFFFFFFF
    count_a, count_b = word_counts[a].astype(np.float64), word_counts[b].astype(np.float64)
    count_ab = pair_counts.astype(np.float64)
    rare = (count_a < min_count) | (count_b < min_count) | (count_ab < min_count)
    with np.errstate(divide="ignore", invalid="ignore"):
        if scoring == "word2phrase":
            scores = (count_ab - min_count) * words / (count_a * count_b)
        else:
            p_ab = count_ab / words
            scores = np.log(p_ab * words * words / (count_a * count_b)) / -np.log(p_ab)
            scores[p_ab >= 1.0] = 1.0  # a text of one pair repeated: as associated as can be
    scores[rare] = -np.inf
    return scores


@dataclass
class PhraseTable:
    """The phrases found, pass by pass, and the settings that found them.

    ``passes[k]`` lists the pairs joined in pass ``k`` as ``(a, b, score, count)``;
    a pair of a later pass may hold a phrase of an earlier one (``new_york``, ``times``).
    """

    scoring: str = "word2phrase"
    threshold: float = 100.0
    min_count: int = 5
    delimiter: str = "_"
    passes: list = field(default_factory=list)

    def __len__(self) -> int:
        return sum(len(pairs) for pairs in self.passes)

    def phrase(self, a: str, b: str) -> str:
        return f"{a}{self.delimiter}{b}"

    def as_dict(self) -> dict:
        return {"scoring": self.scoring, "threshold": self.threshold, "min_count": self.min_count,
                "delimiter": self.delimiter, "passes": [[list(pair) for pair in pairs] for pairs in self.passes]}

    @classmethod
    def from_dict(cls, data: dict) -> "PhraseTable":
        try:
            passes = [[(str(a), str(b), float(score), int(count)) for a, b, score, count in pairs]
                      for pairs in data["passes"]]
            return cls(str(data["scoring"]), float(data["threshold"]), int(data["min_count"]),
                       str(data["delimiter"]), passes)
        except (KeyError, TypeError, ValueError) as error:
            raise WordvecError(f"not a phrase table ({error})") from None

    def save(self, path: str | os.PathLike) -> None:
        """Write the table as text, atomically: a header line of settings (JSON),
        then ``pass<TAB>a<TAB>b<TAB>score<TAB>count`` a phrase."""
        from .io.files import atomic_write

        settings = {key: value for key, value in self.as_dict().items() if key != "passes"}
        lines = [f"{_TABLE_HEADER} {json.dumps(settings)}\n"]
        for number, pairs in enumerate(self.passes, 1):
            lines += [f"{number}\t{a}\t{b}\t{score!r}\t{count}\n" for a, b, score, count in pairs]
        try:
            with atomic_write(path) as temporary:
                with open(temporary, "w", encoding="utf-8") as out:
                    out.writelines(lines)
        except OSError as error:
            raise WordvecError(f"cannot write {path}: {error.strerror or error}") from None

    @classmethod
    def load(cls, path: str | os.PathLike) -> "PhraseTable":
        try:
            with open(path, encoding="utf-8") as table:
                header = table.readline()
                if not header.startswith(_TABLE_HEADER):
                    raise WordvecError(f"{path} is not a wordvec phrase table")
                settings = json.loads(header[len(_TABLE_HEADER):])
                passes: list[list] = []
                for number, line in enumerate(table, 2):
                    fields = line.rstrip("\n").split("\t")
                    if len(fields) != 5 or not fields[0].isdigit() or int(fields[0]) < len(passes) \
                            or int(fields[0]) > len(passes) + 1:
                        raise WordvecError(f"{path}: line {number} is not 'pass<TAB>a<TAB>b<TAB>score<TAB>count'")
                    if int(fields[0]) > len(passes):
                        passes.append([])
                    passes[-1].append((fields[1], fields[2], fields[3], fields[4]))
        except FileNotFoundError:
            raise WordvecError(f"no such phrase table: {path}") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise WordvecError(f"cannot read the phrase table {path}: {error}") from None
        return cls.from_dict({**(settings if isinstance(settings, dict) else {}), "passes": passes})

    def join_words(self, words: list[str]) -> list[str]:
        """``words`` with this table's phrases joined, pass by pass (for a query or a short text)."""
        if isinstance(words, (str, bytes)):
            raise WordvecError("join_words takes a list of words, not a string: split it first (text.split())")
        for pairs in self.passes:
            known = {(a, b) for a, b, _, _ in pairs}
            joined: list[str] = []
            just_joined = False  # a word joined to its left does not join to its right
            for word in words:
                if joined and not just_joined and (joined[-1], word) in known:
                    joined[-1], just_joined = self.phrase(joined[-1], word), True
                else:
                    joined.append(word)
                    just_joined = False
            words = joined
        return words


@dataclass
class PhraseReport:
    """What detection did: pairs counted and dropped, memory, phrases and joins per pass."""

    pairs_counted: list = field(default_factory=list)
    pairs_pruned: list = field(default_factory=list)
    memory_bytes: int = 0
    phrases: list = field(default_factory=list)
    joins: list = field(default_factory=list)

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def check_phrase_settings(passes: int, scoring: str, threshold: float | None, min_count: int,
                          delimiter: str, max_pairs: int) -> float:
    """Refuse bad phrase settings; returns the threshold, defaulted by scoring."""
    if not isinstance(passes, int) or passes < 1:
        raise WordvecError(f"phrase passes must be a whole number of at least 1, not {passes!r}")
    if scoring not in SCORINGS:
        raise WordvecError(f"phrase scoring must be one of {', '.join(SCORINGS)}, not {scoring!r}")
    threshold = DEFAULT_THRESHOLDS[scoring] if threshold is None else float(threshold)
    if scoring == "npmi" and not -1.0 <= threshold < 1.0:
        raise WordvecError(f"npmi scores lie between -1 and 1, so a threshold of {threshold:g} would join "
                           "nothing (or everything); give one in [-1, 1), such as 0.5")
    if not math.isfinite(threshold):
        raise WordvecError(f"the phrase threshold must be a number, not {threshold!r}")
    if not isinstance(min_count, int) or min_count < 1:
        raise WordvecError(f"phrase min_count must be a whole number of at least 1, not {min_count!r}")
    if not is_word(delimiter):
        raise WordvecError(f"the phrase delimiter must be one or more characters that are not white space, "
                           f"not {delimiter!r}")
    if not isinstance(max_pairs, int) or max_pairs < 1000:
        raise WordvecError(f"max_pairs must be a whole number of at least 1000, not {max_pairs!r}")
    return threshold


def detect(scanned: ScannedCorpus, passes: int = 1, scoring: str = "word2phrase", threshold: float | None = None,
           min_count: int = 5, delimiter: str = "_", max_pairs: int = DEFAULT_MAX_PAIRS
           ) -> tuple[ScannedCorpus, PhraseTable, PhraseReport]:
    """Find phrases in ``scanned`` in ``passes`` passes and join them; returns the
    joined text (``scanned``'s spill is closed), the table and the report.

    Each pass reads the numbered text once; the pairs of the next pass are
    counted while this pass writes its joined text.
    """
    threshold = check_phrase_settings(passes, scoring, threshold, min_count, delimiter, max_pairs)
    table = PhraseTable(scoring, threshold, min_count, delimiter)
    report = PhraseReport()
    counter = count_text_pairs(scanned, max_pairs)
    for number in range(passes):
        keys, pair_counts = counter.finish()
        report.pairs_counted.append(len(keys))
        report.pairs_pruned.append(counter.pruned)
        report.memory_bytes = max(report.memory_bytes, counter.peak_bytes)
        chosen, pairs = choose(keys, pair_counts, scanned.counts, scanned.tokens, list(scanned.index), table)
        table.passes.append(pairs)
        report.phrases.append(len(pairs))
        counter = PairCounter(max_pairs, scanned.tokens // 4) if number + 1 < passes else None
        scanned, joins = _join(scanned, chosen, table, pairs, counter)
        report.joins.append(joins)
    return scanned, table, report


def count_text_pairs(scanned: ScannedCorpus, max_pairs: int = DEFAULT_MAX_PAIRS) -> PairCounter:
    """The pairs of a numbered text, counted."""
    counter = PairCounter(max_pairs, scanned.tokens // 4)
    previous = 0
    for batch in scanned.batches(_BATCH):
        counter.add(batch, previous)
        previous = int(batch[-1])
    return counter


def choose(keys: np.ndarray, pair_counts: np.ndarray, word_counts: np.ndarray, tokens: int, words: list[str],
           table: PhraseTable) -> tuple[np.ndarray, list]:
    """The pairs (``keys``, counted ``pair_counts``) that are phrases by the table's
    scoring, threshold and min count: their keys and ``(a, b, score, count)``, by
    their words' numbers (``words[n]`` is word ``n``)."""
    scores = score_pairs(keys, pair_counts, word_counts, tokens, table.scoring, table.min_count)
    chosen = np.flatnonzero(scores > table.threshold)
    chosen = chosen[np.argsort(keys[chosen])]
    pairs = [(words[key >> 32], words[key & 0xFFFFFFFF], float(score), int(count))
             for key, score, count in zip(keys[chosen].tolist(), scores[chosen].tolist(),
                                          pair_counts[chosen].tolist())]
    return keys[chosen], pairs


def apply(scanned: ScannedCorpus, table: PhraseTable, joins: list | None = None) -> ScannedCorpus:
    """Join the phrases of a saved ``table`` in ``scanned`` (pass by pass, no detection);
    appends each pass's joins to ``joins`` when given."""
    for pairs in table.passes:
        present = [pair for pair in pairs if pair[0] in scanned.index and pair[1] in scanned.index]
        keys = np.array([(scanned.index[a] << 32) | scanned.index[b] for a, b, _, _ in present], dtype=np.int64)
        scanned, joined = _join(scanned, keys, table, present, None)
        if joins is not None:
            joins.append(joined)
    return scanned


def _join(scanned: ScannedCorpus, phrase_keys: np.ndarray, table: PhraseTable, pairs: list,
          counter: PairCounter | None) -> tuple[ScannedCorpus, int]:
    """Write ``scanned`` with the pairs ``phrase_keys`` (``pairs`` in the same
    order) joined into new words (:func:`~wordvec.phrase_kernels.join_pairs`);
    count the new text's pairs into ``counter``.  Returns the joined text and
    the number of joins."""
    from .phrase_kernels import insert_pairs, join_pairs

    index = dict(scanned.index)
    phrase_ids = np.array([index.setdefault(table.phrase(a, b), len(index)) for a, b, _, _ in pairs],
                          dtype=np.int64)
    slots = 1 << max(4, int(2 * len(pairs)).bit_length())
    lookup_keys, lookup_ids = np.zeros(slots, dtype=np.int64), np.zeros(slots, dtype=np.int64)
    insert_pairs(phrase_keys, phrase_ids, lookup_keys, lookup_ids)
    joined = NumberedText(duplicates=scanned.duplicates)
    state = np.array([-1, 0], dtype=np.int64)  # nothing held yet, no joins
    previous = 0  # the last word written, for the pairs of the next pass
    with scanned.spill:
        for batch in itertools.chain(scanned.batches(_BATCH), [np.zeros(0, dtype=np.int32)]):
            out = np.empty(len(batch) + 1, dtype=np.int32)
            written = join_pairs(batch, state, lookup_keys, lookup_ids, out)
            if not len(batch) and state[0] >= 0:  # the end: the word still held
                out[written], written = state[0], written + 1
            out = out[:written]
            joined.add(out, len(index))
            if counter is not None and written:
                counter.add(out, previous)
                previous = int(out[-1])
    return joined.finish(index), int(state[1])


def write_text(scanned: ScannedCorpus, stream) -> None:
    """Write the numbered text to the binary ``stream`` as text: words separated
    by one space, a line break at every sentence end (for :func:`~wordvec.corpus.scan_text`'s
    text with ``keep_lines``: exactly the lines of the input)."""
    from .phrase_kernels import text_bytes

    encoded = [word.encode("utf-8") for word in scanned.index]
    arena = np.frombuffer(b"".join(encoded), dtype=np.uint8)
    starts = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(word) for word in encoded], out=starts[1:])
    lengths = np.diff(starts)
    open_line = np.zeros(1, dtype=np.bool_)
    for batch in scanned.batches(_BATCH):
        out = np.empty(int(lengths[batch].sum()) + len(batch), dtype=np.uint8)
        stream.write(out[:text_bytes(batch, arena, starts, open_line, out)].tobytes())


def phrase_text(source, output, passes: int = 1, scoring: str = "word2phrase", threshold: float | None = None,
                min_count: int = 5, delimiter: str = "_", max_pairs: int = DEFAULT_MAX_PAIRS,
                table: PhraseTable | str | os.PathLike | None = None,
                tokenizer=None) -> tuple[PhraseTable, PhraseReport | None]:
    """Read ``source`` (anything the trainer reads), join its phrases and write the
    text to ``output`` (a path, written atomically, or ``-`` for stdout) line for
    line.  With ``table`` (a :class:`PhraseTable` or the path of a saved one), join
    that table's phrases instead of finding new ones.
    Returns the table and the report (``None`` with a given table)."""
    import sys

    from .corpus import scan_text
    from .io.files import atomic_write
    from .tokenize import Tokenizer

    if isinstance(table, (str, os.PathLike)):
        table = PhraseTable.load(table)
    if table is None:
        check_phrase_settings(passes, scoring, threshold, min_count, delimiter, max_pairs)
    if str(output) != "-":
        check_not_the_corpus(output, source)
    scanned = scan_text(source, tokenizer or Tokenizer(), keep_lines=True)
    if scanned.tokens == 0:
        raise WordvecError("the corpus holds no words")
    if table is None:
        scanned, table, report = detect(scanned, passes, scoring, threshold, min_count, delimiter, max_pairs)
    else:
        scanned, report = apply(scanned, table), None
    with scanned.spill:
        if str(output) == "-":
            write_text(scanned, sys.stdout.buffer)
            sys.stdout.buffer.flush()
            return table, report
        try:
            with atomic_write(output) as temporary, open(temporary, "wb") as stream:
                write_text(scanned, stream)
        except OSError as error:
            raise WordvecError(f"cannot write {output}: {error.strerror or error}") from None
    return table, report
