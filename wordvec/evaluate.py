"""The standard benchmarks: analogy questions and word-pair similarity.

Both follow gensim's ``evaluate_word_analogies`` / ``evaluate_word_pairs`` (and
the C tool's ``compute-accuracy``) rule for rule, so their numbers are
comparable:

* only the ``restrict_vocab`` most frequent words take part; a question or pair
  with another word is skipped (out of vocabulary);
* matching is case-insensitive by default: a word stands for the most frequent
  of its spellings;
* an analogy ``a : b :: c : d`` is answered by the best of the 5 nearest words to
  ``b̂ − â + ĉ`` (3CosAdd; or 3CosMul) that is not ``a``, ``b`` or ``c`` in any
  spelling; it is right when that word is ``d``.

All questions are answered in batches of matrix products, so the 19,544 Google
questions take seconds.  Sections whose name starts with ``gram`` are
syntactic, the rest semantic (the Google set's convention).
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field

import numpy as np

from .checks import whole_number
from .errors import WordvecError
from .keyedvectors import ANALOGY_METHODS, BLOCK_SCORES, KeyedVectors, top_columns

_CANDIDATES = 5  # gensim looks at the 5 nearest words for an answer


@dataclass
class SectionScore:
    """One section of an analogy set: ``correct`` of ``answered`` right, ``skipped`` out of vocabulary."""
    name: str
    correct: int = 0
    answered: int = 0
    skipped: int = 0

    @property
    def accuracy(self) -> float:
        return self.correct / self.answered if self.answered else 0.0


@dataclass
class AnalogyScores:
    """The result of :func:`evaluate_analogies`; accuracies are fractions (0–1)."""
    sections: list[SectionScore]
    method: str
    restrict_vocab: int
    semantic: SectionScore = field(init=False)
    syntactic: SectionScore = field(init=False)
    total: SectionScore = field(init=False)

    def __post_init__(self):
        self.semantic = _sum("semantic", [s for s in self.sections if not s.name.startswith("gram")])
        self.syntactic = _sum("syntactic", [s for s in self.sections if s.name.startswith("gram")])
        self.total = _sum("total", self.sections)

    @property
    def accuracy(self) -> float:
        return self.total.accuracy

    def as_dict(self) -> dict:
        def row(score):
            return {**asdict(score), "accuracy": score.accuracy}

        return {"method": self.method, "restrict_vocab": self.restrict_vocab,
                "accuracy": self.accuracy, "questions": self.total.answered + self.total.skipped,
                "answered": self.total.answered, "skipped": self.total.skipped,
                "sections": [row(s) for s in self.sections],
                "semantic": row(self.semantic), "syntactic": row(self.syntactic), "total": row(self.total)}


def _sum(name: str, sections: list[SectionScore]) -> SectionScore:
    return SectionScore(name, sum(s.correct for s in sections), sum(s.answered for s in sections),
                        sum(s.skipped for s in sections))


def _lines(path: str | os.PathLike, encoding: str = "utf-8") -> list[str]:
    try:
        with open(path, "rb") as handle:
            return handle.read().decode(encoding, "replace").splitlines()
    except FileNotFoundError:
        raise WordvecError(f"no such file: {path}") from None
    except OSError as error:
        raise WordvecError(f"cannot read {path}: {error.strerror or error}") from None


def read_analogies(path: str | os.PathLike) -> list[tuple[str, list[tuple[str, str, str, str]]]]:
    """The sections of a questions-words file: ``[(name, [(a, b, c, d), ...]), ...]``.
    Lines that are not four words are skipped, as gensim does."""
    sections = []
    for number, line in enumerate(_lines(path), 1):
        if line.startswith(": "):
            sections.append((line[2:].strip(), []))
            continue
        words = line.split()
        if len(words) != 4:
            continue
        if not sections:
            raise WordvecError(f"{path}: line {number} comes before the first ': section' header")
        sections[-1][1].append(tuple(words))
    if not sections:
        raise WordvecError(f"{path} holds no ': section' header; it is not a questions-words file")
    return sections


class _Lookup:
    """Words of the first ``restrict_vocab`` rows, matched with or without case."""

    def __init__(self, vectors: KeyedVectors, restrict_vocab: int, case_insensitive: bool):
        if not whole_number(restrict_vocab, 1):
            raise WordvecError(f"restrict_vocab must be a whole number of at least 1, not {restrict_vocab!r}")
        self.stop = min(restrict_vocab, len(vectors))
        self.fold = str.upper if case_insensitive else (lambda word: word)
        self.keys = [self.fold(w) for w in vectors.words[:self.stop]]
        self.ids = {}
        for i in range(self.stop - 1, -1, -1):  # the most frequent spelling wins
            self.ids[self.keys[i]] = i

    def find(self, words) -> list[int] | None:
        ids = [self.ids.get(self.fold(w)) for w in words]
        return None if None in ids else ids


def evaluate_analogies(vectors: KeyedVectors, path: str | os.PathLike, restrict_vocab: int = 30_000,
                       method: str = "3cosadd", case_insensitive: bool = True) -> AnalogyScores:
    """Accuracy on an analogy set in the Google ``questions-words.txt`` format."""
    if method not in ANALOGY_METHODS:
        raise WordvecError(f"unknown analogy method '{method}' (use {' or '.join(ANALOGY_METHODS)})")
    lookup = _Lookup(vectors, restrict_vocab, case_insensitive)
    scores, questions, owners = [], [], []
    for name, rows in read_analogies(path):
        score = SectionScore(name)
        for row in rows:
            ids = lookup.find(row)
            if ids is None:
                score.skipped += 1
            else:
                questions.append(ids)
                owners.append(score)
        scores.append(score)
    questions = np.array(questions, dtype=np.int64).reshape(-1, 4)
    answers = _answer(vectors, lookup, questions, method)
    for score, (a, b, c, d), answer in zip(owners, questions, answers):
        score.answered += 1
        score.correct += int(answer == lookup.keys[d])
    return AnalogyScores(scores, method, restrict_vocab)


def _answer(vectors: KeyedVectors, lookup: _Lookup, questions: np.ndarray, method: str) -> list[str]:
    """For each question ``(a, b, c, d)`` (row ids), the folded answer word."""
    answers = []
    block = max(1, BLOCK_SCORES // lookup.stop)
    for start in range(0, len(questions), block):
        a, b, c = questions[start:start + block, :3].T
        scores = vectors.analogy_scores(questions[start:start + block, :3], method, lookup.stop)
        best = top_columns(scores, _CANDIDATES)
        for row, nearest in enumerate(best.tolist()):
            ignore = {lookup.keys[a[row]], lookup.keys[b[row]], lookup.keys[c[row]]}
            answer = None
            for i in nearest:
                answer = lookup.keys[i]
                if answer not in ignore:
                    break
            answers.append(answer)
    return answers


@dataclass
class SimilarityScores:
    """The result of :func:`evaluate_similarity`."""
    spearman: float
    spearman_p: float
    pearson: float
    pearson_p: float
    pairs: int
    skipped: int

    @property
    def oov_ratio(self) -> float:
        return self.skipped / (self.pairs + self.skipped) if self.pairs + self.skipped else 0.0

    def as_dict(self) -> dict:
        return {**asdict(self), "oov_ratio": self.oov_ratio}


def read_word_pairs(path: str | os.PathLike) -> list[tuple[str, str, float]]:
    """Word pairs with human scores: WordSim-353 (``word1 word2 score``) and
    SimLex-999 (``word1 word2 POS score ...``) layouts, tab or space separated.
    The score is the first number after the two words; comment lines (``#``)
    and lines without a number (headers) are skipped."""
    pairs = []
    for line in _lines(path):
        if line.startswith("#"):
            continue
        fields = line.split("\t") if "\t" in line else line.split()
        fields = [f.strip() for f in fields]
        if len(fields) < 3:
            continue
        for text in fields[2:]:
            try:
                pairs.append((fields[0], fields[1], float(text)))
                break
            except ValueError:
                continue
    if not pairs:
        raise WordvecError(f"{path} holds no 'word word score' lines")
    return pairs


def evaluate_similarity(vectors: KeyedVectors, path: str | os.PathLike, restrict_vocab: int = 300_000,
                        case_insensitive: bool = True) -> SimilarityScores:
    """Spearman and Pearson correlation of cosine similarity with human scores."""
    from scipy import stats

    lookup = _Lookup(vectors, restrict_vocab, case_insensitive)
    human, ids, skipped = [], [], 0
    for first, second, score in read_word_pairs(path):
        found = lookup.find((first, second))
        if found is None:
            skipped += 1
            continue
        human.append(score)
        ids.append(found)
    if len(ids) < 3:
        raise WordvecError(f"only {len(ids)} pairs of {path} are in the vocabulary; too few to correlate")
    ids = np.array(ids)
    unit = np.asarray(vectors.vectors, dtype=np.float32)[ids.ravel()]
    unit /= np.maximum(np.linalg.norm(unit, axis=1, keepdims=True), 1e-12)
    model = np.einsum("ij,ij->i", unit[0::2], unit[1::2])
    spearman = stats.spearmanr(human, model)
    pearson = stats.pearsonr(human, model)
    return SimilarityScores(float(spearman.statistic), float(spearman.pvalue), float(pearson.statistic),
                            float(pearson.pvalue), len(ids), skipped)
