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

Memory.  Pair counts are kept in sorted numpy arrays, 16 bytes a distinct pair,
at most ``max_pairs`` of them; when more are counted, the rarest are dropped as
word2phrase does when its table fills (every pair seen at most ``m`` times,
``m`` = 1, 2, … until the table fits) and the number dropped is reported.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field

import numpy as np

from .corpus import ScannedCorpus, spill_file, write_spill
from .errors import WordvecError

SCORINGS = ("word2phrase", "npmi")
DEFAULT_THRESHOLDS = {"word2phrase": 100.0, "npmi": 0.5}
#: Distinct pairs counted before the rarest are dropped (16 bytes each, about 320 MB).
DEFAULT_MAX_PAIRS = 20_000_000
#: Tokens read from the numbered text at a time.
_BATCH = 1 << 20
_TABLE_HEADER = "# wordvec phrase table"


def pair_keys(previous: int, ids: np.ndarray) -> np.ndarray:
    """The pairs ``(x_{i−1}, x_i)`` of ``ids`` as ``x_{i−1} · 2^32 + x_i`` (int64),
    ``x_{−1}`` being ``previous``; a pair with a sentence end (0) in it is 0."""
    words = np.concatenate(([previous], ids)).astype(np.int64)
    keys = (words[:-1] << 32) | words[1:]
    keys[(words[:-1] == 0) | (words[1:] == 0)] = 0
    return keys


class PairCounter:
    """Counts of word pairs (keys of :func:`pair_keys`) in at most ``max_pairs``
    entries of two sorted arrays; new keys wait in a buffer that is sorted and
    merged in when it holds a quarter of the table (or 4 M keys)."""

    def __init__(self, max_pairs: int = DEFAULT_MAX_PAIRS):
        self.max_pairs = max_pairs
        self.keys = np.empty(0, dtype=np.int64)
        self.counts = np.empty(0, dtype=np.int64)
        self.pending: list[np.ndarray] = []
        self.pending_size = 0
        self.min_reduce = 1
        self.pruned = 0
        self.peak_bytes = 0

    def add(self, keys: np.ndarray) -> None:
        keys = keys[keys != 0]
        self.pending.append(keys)
        self.pending_size += len(keys)
        if self.pending_size >= max(len(self.keys) // 4, 1 << 22):
            self._merge()

    def _merge(self) -> None:
        if not self.pending:
            return
        new, counts = np.unique(np.concatenate(self.pending), return_counts=True)
        self.peak_bytes = max(self.peak_bytes, 16 * (2 * len(self.keys) + len(new)) + 8 * self.pending_size)
        self.pending, self.pending_size = [], 0
        where = np.searchsorted(self.keys, new)
        found = where < len(self.keys)
        found[found] = self.keys[where[found]] == new[found]
        self.counts[where[found]] += counts[found]
        self.keys = np.insert(self.keys, where[~found], new[~found])
        self.counts = np.insert(self.counts, where[~found], counts[~found])
        while len(self.keys) > self.max_pairs:
            keep = self.counts > self.min_reduce
            self.pruned += int(np.count_nonzero(~keep))
            self.keys, self.counts = self.keys[keep], self.counts[keep]
            self.min_reduce += 1

    def finish(self) -> tuple[np.ndarray, np.ndarray]:
        """``(keys, counts)``, sorted by key."""
        self._merge()
        return self.keys, self.counts


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


def choose_joins(candidate: np.ndarray, run_before: int) -> np.ndarray:
    """Which pairs to join, left to right: in every run of consecutive candidate
    pairs, the 1st, 3rd, 5th, … (a word joined to its left is not joined to its
    right).  ``run_before`` is the length of the run that ends just before
    ``candidate[0]``, so batches join as the whole text would."""
    index = np.arange(len(candidate))
    starts = candidate & ~np.concatenate(([run_before > 0], candidate[:-1]))
    run_start = np.maximum.accumulate(np.where(starts, index, -run_before))
    return candidate & ((index - run_start) % 2 == 0)


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
        for pairs in self.passes:
            known = {(a, b) for a, b, _, _ in pairs}
            joined: list[str] = []
            for word in words:
                if joined and joined[-1] is not None and (joined[-1], word) in known:
                    joined[-1:] = [self.phrase(joined[-1], word), None]  # None: the next word may not join it
                else:
                    if joined and joined[-1] is None:
                        joined.pop()
                    joined.append(word)
            words = [word for word in joined if word is not None]
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
    if not delimiter or any(character.isspace() for character in delimiter):
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
    counter = PairCounter(max_pairs)
    previous = 0
    for batch in scanned.batches(_BATCH):
        counter.add(pair_keys(previous, batch))
        previous = int(batch[-1])
    for number in range(passes):
        keys, pair_counts = counter.finish()
        report.pairs_counted.append(len(keys))
        report.pairs_pruned.append(counter.pruned)
        report.memory_bytes = max(report.memory_bytes, counter.peak_bytes)
        scores = score_pairs(keys, pair_counts, scanned.counts, scanned.tokens, scoring, min_count)
        chosen = np.flatnonzero(scores > threshold)
        words = list(scanned.index)
        pairs = [(words[key >> 32], words[key & 0xFFFFFFFF], float(score), int(count))
                 for key, score, count in zip(keys[chosen].tolist(), scores[chosen].tolist(),
                                              pair_counts[chosen].tolist())]
        table.passes.append(pairs)
        report.phrases.append(len(pairs))
        counter = PairCounter(max_pairs) if number + 1 < passes else None
        scanned, joins = _join(scanned, keys[chosen], table, pairs, counter)
        report.joins.append(joins)
    return scanned, table, report


def apply(scanned: ScannedCorpus, table: PhraseTable) -> ScannedCorpus:
    """Join the phrases of a saved ``table`` in ``scanned`` (pass by pass, no detection)."""
    for pairs in table.passes:
        ids = [(scanned.index.get(a), scanned.index.get(b)) for a, b, _, _ in pairs]
        present = [pair for pair, (a, b) in zip(pairs, ids) if a is not None and b is not None]
        keys = np.array([(scanned.index[a] << 32) | scanned.index[b] for a, b, _, _ in present], dtype=np.int64)
        order = np.argsort(keys)
        scanned, _ = _join(scanned, keys[order], table, [present[i] for i in order], None)
    return scanned


def _join(scanned: ScannedCorpus, phrase_keys: np.ndarray, table: PhraseTable, pairs: list,
          counter: PairCounter | None) -> tuple[ScannedCorpus, int]:
    """Write ``scanned`` with the pairs ``phrase_keys`` (sorted; ``pairs`` in the
    same order) joined into new words; count the new text's pairs into ``counter``.
    Returns the joined text and the number of joins.

    The last word of each batch is held back until the next batch says whether
    it starts a phrase; ``held_taken`` is set when it was joined to its left.
    """
    index = dict(scanned.index)
    phrase_ids = np.array([index.setdefault(table.phrase(a, b), len(index)) for a, b, _, _ in pairs],
                          dtype=np.int32)
    joined_text = _CountedSpill(len(index), counter)
    # Words that start or end a phrase: only their pairs are looked up in phrase_keys.
    starts, ends = np.zeros(len(scanned.index), dtype=bool), np.zeros(len(scanned.index), dtype=bool)
    starts[phrase_keys >> 32], ends[phrase_keys & 0xFFFFFFFF] = True, True
    held, held_taken, run, joins = 0, True, 0, 0  # before the text: a sentence end, not to be written
    with scanned.spill:
        for batch in scanned.batches(_BATCH):
            words = np.concatenate(([held], batch)).astype(np.int32)
            keys = pair_keys(held, batch)  # pair i is (words[i], words[i + 1])
            where = np.zeros(len(keys), dtype=np.int64)
            maybe = np.flatnonzero(starts[words[:-1]] & ends[words[1:]])
            where[maybe] = np.minimum(np.searchsorted(phrase_keys, keys[maybe]), max(len(phrase_keys) - 1, 0))
            candidate = np.zeros(len(keys), dtype=bool)
            candidate[maybe] = phrase_keys[where[maybe]] == keys[maybe]
            joined = choose_joins(candidate, run)
            outside = np.flatnonzero(~candidate)
            run = len(candidate) - 1 - int(outside[-1]) if len(outside) else run + len(candidate)
            keep = np.ones(len(words), dtype=bool)
            keep[0] = not held_taken
            keep[1:][joined] = False
            keep[-1] = False
            words_out = words.copy()
            words_out[:-1][joined] = phrase_ids[where[joined]]
            joined_text.write(words_out[keep])
            joins += int(np.count_nonzero(joined))
            held, held_taken = int(words[-1]), bool(joined[-1])
    if not held_taken:
        joined_text.write(np.array([held], dtype=np.int32))
    return ScannedCorpus(index, joined_text.counts, joined_text.spill, scanned.duplicates), joins


class _CountedSpill:
    """A new numbered text, written in order: its word counts and, into ``counter``, its pairs."""

    def __init__(self, words: int, counter: PairCounter | None):
        self.spill = spill_file()
        self.counts = np.zeros(words, dtype=np.int64)
        self.counter = counter
        self.last = 0

    def write(self, ids: np.ndarray) -> None:
        if not len(ids):
            return
        write_spill(self.spill, ids)
        self.counts += np.bincount(ids, minlength=len(self.counts))
        if self.counter is not None:
            self.counter.add(pair_keys(self.last, ids))
        self.last = int(ids[-1])


def write_text(scanned: ScannedCorpus, stream) -> None:
    """Write the numbered text to the binary ``stream`` as text: words separated
    by one space, a line break at every sentence end (for :func:`~wordvec.corpus.scan_text`'s
    text with ``keep_lines``: exactly the lines of the input)."""
    words = np.array(list(scanned.index), dtype=object)
    open_line = False  # words of the current line were written
    for batch in scanned.batches(_BATCH):
        tokens = words[batch].tolist()
        out, start = [], 0
        for end in np.flatnonzero(batch == 0).tolist() + [len(tokens)]:
            line = " ".join(tokens[start:end])
            out.append(" " + line if open_line and line else line)
            open_line = open_line or bool(line)
            if end < len(tokens):
                out.append("\n")
                open_line = False
            start = end + 1
        stream.write("".join(out).encode("utf-8"))


def phrase_text(source, output, passes: int = 1, scoring: str = "word2phrase", threshold: float | None = None,
                min_count: int = 5, delimiter: str = "_", max_pairs: int = DEFAULT_MAX_PAIRS,
                table: PhraseTable | None = None, tokenizer=None) -> tuple[PhraseTable, PhraseReport | None]:
    """Read ``source`` (anything the trainer reads), join its phrases and write the
    text to ``output`` (a path, written atomically, or ``-`` for stdout) line for
    line.  With ``table``, join that table's phrases instead of finding new ones.
    Returns the table and the report (``None`` with a given table)."""
    import sys

    from .corpus import scan_text
    from .io.files import atomic_write
    from .tokenize import Tokenizer

    if table is None:
        check_phrase_settings(passes, scoring, threshold, min_count, delimiter, max_pairs)
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
