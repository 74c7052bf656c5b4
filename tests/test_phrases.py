"""Phrases: counts, scores and joins checked against hand counts and a plain-Python word2phrase."""
import io
import math
from collections import Counter

import numpy as np
import pytest
from click.testing import CliRunner

from wordvec import phrases
from wordvec.cli import main
import tempfile

from wordvec.corpus import scan_text
from wordvec.errors import WordvecError
from wordvec.tokenize import Tokenizer


def scanned_lines(lines):
    """The numbered text of ``lines``, as ``wordvec phrases`` reads a file."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt", encoding="utf-8") as text:
        text.write("".join(line + "\n" for line in lines))
        text.flush()
        return scan_text(text.name, Tokenizer(), keep_lines=True)


def text_of(scanned):
    stream = io.BytesIO()
    with scanned.spill:
        phrases.write_text(scanned, stream)
    return stream.getvalue().decode()


def word2phrase(lines, threshold, min_count):
    """word2phrase's one pass in plain Python (pairs counted within lines)."""
    words = Counter(w for line in lines for w in line.split())
    pairs = Counter(p for line in lines for p in zip(line.split(), line.split()[1:]))
    total = sum(words.values())

    def score(a, b):
        if min(words[a], words[b], pairs[a, b]) < min_count:
            return -math.inf
        return (pairs[a, b] - min_count) * total / (words[a] * words[b])

    out = []
    for line in lines:
        joined, previous, just_joined = [], None, False
        for word in line.split():
            if previous is not None and not just_joined and score(previous, word) > threshold:
                joined[-1] += "_" + word
                just_joined = True
            else:
                joined.append(word)
                just_joined = False
            previous = word
        out.append(" ".join(joined))
    return out


HAND = ["new york is big", "i love new york", "new york new york", "york is new"]


def test_scores_and_joins_match_hand_counts():
    # tokens N = 4 + 4 + 4 + 3 = 15; c(new) = 5, c(york) = 5, c(new york) = 4, c(york new) = 1, c(is) = 2
    scanned = scanned_lines(HAND)
    joined, table, report = phrases.detect(scanned, min_count=1, threshold=1.0)
    scores = {(a, b): score for a, b, score, _ in table.passes[0]}
    assert scores[("new", "york")] == pytest.approx((4 - 1) * 15 / (5 * 5))  # 1.8
    assert scores[("york", "is")] == pytest.approx((2 - 1) * 15 / (5 * 2))  # 1.5
    assert ("is", "big") not in scores and ("york", "new") not in scores  # (1 − 1) · N / ... = 0
    assert report.pairs_counted == [7]  # new york, york is, is big, i love, love new, york new, is new
    assert text_of(joined) == "new_york is big\ni love new_york\nnew_york new_york\nyork_is new\n"
    assert report.joins == [5]  # york is: york was just joined to new


def test_npmi_score_is_hand_computed():
    scanned = scanned_lines(HAND)
    _, table, _ = phrases.detect(scanned, min_count=1, scoring="npmi", threshold=0.0)
    scores = {(a, b): score for a, b, score, _ in table.passes[0]}
    p_ab, p_a, p_b = 4 / 15, 5 / 15, 5 / 15
    assert scores[("new", "york")] == pytest.approx(math.log(p_ab / (p_a * p_b)) / -math.log(p_ab))


def test_detection_matches_plain_word2phrase_on_random_text(monkeypatch):
    rng = np.random.default_rng(3)
    vocabulary = [f"w{i}" for i in range(12)]
    lines = [" ".join(rng.choice(vocabulary, size=rng.integers(0, 15), p=np.r_[[0.3, 0.2], [0.05] * 10]))
             for _ in range(400)]
    expected = word2phrase(lines, threshold=1.5, min_count=3)
    monkeypatch.setattr(phrases, "_BATCH", 7)  # pairs and joins must carry across batches
    joined, _, _ = phrases.detect(scanned_lines(lines), threshold=1.5, min_count=3)
    assert text_of(joined).split("\n")[:-1] == expected


def test_a_word_joined_to_its_left_does_not_join_to_its_right():
    lines = ["a b c d e"] * 6 + ["a b", "b c", "c d", "d e"] * 3
    joined, _, _ = phrases.detect(scanned_lines(lines), min_count=1, threshold=0.0)
    assert text_of(joined).split("\n")[0] == "a_b c_d e"


def test_second_pass_adds_a_word():
    lines = ["new york times"] * 6 + ["new york city"] * 3 + ["times square"] * 3
    # pass 1 (N = 33): new york (9 − 2)·33/81 = 2.85, york times 1.63, york city 1.22, times square 1.22;
    # pass 2 (N = 21): new_york times (6 − 2)·21/(9·6) = 1.56, new_york city (3 − 2)·21/27 = 0.78
    joined, table, report = phrases.detect(scanned_lines(lines), passes=2, min_count=2, threshold=1.0)
    assert text_of(joined) == "new_york_times\n" * 6 + "new_york city\n" * 3 + "times_square\n" * 3
    assert [(a, b) for a, b, _, _ in table.passes[1]] == [("new_york", "times")]
    assert report.joins == [12, 6]


def test_pair_counter_drops_the_rarest_when_full():
    # pairs in order: (1 2) x3, (3 4) x2, (5 6), (7 8), (9 10); room for 3
    ids = np.array([1, 2, 0, 1, 2, 0, 1, 2, 0, 3, 4, 0, 3, 4, 0, 5, 6, 0, 7, 8, 0, 9, 10, 0], dtype=np.int32)
    counter = phrases.PairCounter(max_pairs=3)
    counter.add(ids[:5], 0)
    counter.add(ids[5:], int(ids[4]))
    keys, counts = counter.finish()
    # (7 8) finds the table full: (5 6), seen once, goes; (9 10) finds it full again: (3 4) and (7 8), seen
    # at most twice, go
    assert [(k >> 32, k & 0xFFFFFFFF) for k in keys.tolist()] == [(1, 2), (9, 10)] and counts.tolist() == [3, 1]
    assert counter.pruned == 3 and counter.min_reduce == 3


def test_table_round_trip_and_apply_to_new_text(tmp_path):
    _, table, _ = phrases.detect(scanned_lines(HAND), min_count=1, threshold=1.0)
    path = tmp_path / "table.tsv"
    table.save(path)
    loaded = phrases.PhraseTable.load(path)
    assert loaded == table
    applied = phrases.apply(scanned_lines(["we saw new york today", "york is here"]), loaded)
    assert text_of(applied) == "we saw new_york today\nyork_is here\n"
    assert loaded.join_words("new york is new york".split()) == ["new_york", "is", "new_york"]
    with pytest.raises(WordvecError, match="a list of words, not a string: split it first"):
        loaded.join_words("new york")  # it was joined character by character
    (tmp_path / "bad.tsv").write_text("not a table\n")
    with pytest.raises(WordvecError, match="not a wordvec phrase table"):
        phrases.PhraseTable.load(tmp_path / "bad.tsv")
    # phrase_text takes a saved table's path as well as the table
    (tmp_path / "new.txt").write_text("we saw new york today\n")
    phrases.phrase_text(tmp_path / "new.txt", tmp_path / "joined.txt", table=path)
    assert (tmp_path / "joined.txt").read_text() == "we saw new_york today\n"


def test_cli_keeps_the_layout_and_reads_back_as_words(tmp_path):
    long_line = " ".join(["new york"] * 6_000)  # 12,000 tokens: more than a sentence, still one line
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("New York, big!\n\n" + long_line + "\nlast line new york\n", encoding="utf-8")
    out, table = tmp_path / "out.txt", tmp_path / "table.tsv"
    result = CliRunner().invoke(main, ["phrases", str(corpus), "-o", str(out), "--min-count", "2",
                                       "--threshold", "0.5", "--save-table", str(table)])
    assert result.exit_code == 0, result.output
    lines = out.read_text(encoding="utf-8").split("\n")
    assert lines[:2] == ["new_york big", ""] and lines[2] == " ".join(["new_york"] * 6_000)
    assert lines[3:] == ["last line new_york", ""]
    assert Tokenizer().tokens(lines[0]) == ["new_york", "big"]
    again = CliRunner().invoke(main, ["phrases", str(corpus), "-o", "-", "--phrase-table", str(table)])
    assert again.exit_code == 0 and again.stdout.split("\n")[0] == "new_york big"


def test_bad_phrase_settings_are_one_line_errors(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("a b c\n")
    result = CliRunner().invoke(main, ["phrases", str(corpus), "-o", str(tmp_path / "o.txt"),
                                       "--scoring", "npmi", "--threshold", "100"])
    assert result.exit_code == 1 and "between -1 and 1" in result.output
    result = CliRunner().invoke(main, ["phrases", str(tmp_path / "missing.txt"), "-o", str(tmp_path / "o.txt")])
    assert result.exit_code == 1 and "no such file" in result.output
    assert not (tmp_path / "o.txt").exists()


def test_phrase_kernels_stay_in_bounds(monkeypatch):
    """Counting, joining and writing compiled again with numba's bounds checks,
    on text with one-word lines, empty lines and phrases at the batch edges."""
    from numba import njit

    from wordvec import phrase_kernels

    for name in ("count_pairs", "insert_pairs", "join_pairs", "text_bytes"):
        monkeypatch.setattr(phrase_kernels, name, njit(boundscheck=True)(getattr(phrase_kernels, name).py_func))
    monkeypatch.setattr(phrases, "_BATCH", 5)
    lines = ["new york", "", "a", "new york new york", "york"] * 20
    joined, _, _ = phrases.detect(scanned_lines(lines), passes=2, min_count=1, threshold=0.0)
    assert text_of(joined).split("\n")[:5] == ["new_york", "", "a", "new_york_new_york", "york"]


def test_cli_flags_delimiter_npmi_passes_and_max_pairs(tmp_path):
    corpus = tmp_path / "corpus.txt"
    rng = np.random.default_rng(1)
    noise = [" ".join(f"w{i}" for i in rng.integers(0, 400, 12)) for _ in range(300)]  # > 1000 distinct pairs
    corpus.write_text("\n".join(["the new york times"] * 40 + noise) + "\n", encoding="utf-8")
    out = tmp_path / "out.txt"
    result = CliRunner().invoke(main, ["phrases", str(corpus), "-o", str(out), "--delimiter", "+", "--passes", "2",
                                       "--scoring", "npmi", "--threshold", "0.5", "--min-count", "5",
                                       "--max-pairs", "1000"])
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8").split("\n")[0] == "the+new+york+times"
    pruned = int(result.output.split("pass 1: ")[1].split("(")[1].split(" rare")[0].replace(",", ""))
    assert pruned > 0  # more than 1,000 distinct pairs: the rarest were dropped, and it says how many


def test_phrases_in_other_scripts_and_decomposed_text(tmp_path):
    corpus = tmp_path / "corpus.txt"
    text = "नई दिल्ली में\nCafe\u0301 au lait\nกรุง เทพ มหานคร\n"  # Hindi, NFD accent, Thai written with spaces
    corpus.write_text(text * 10, encoding="utf-8")
    out = tmp_path / "out.txt"
    result = CliRunner().invoke(main, ["phrases", str(corpus), "-o", str(out), "--min-count", "5",
                                       "--threshold", "0.1"])
    assert result.exit_code == 0, result.output
    lines = out.read_text(encoding="utf-8").split("\n")
    assert lines[:3] == ["नई_दिल्ली में", "café_au lait", "กรุง_เทพ มหานคร"]
    assert Tokenizer().tokens(lines[0]) == ["नई_दिल्ली", "में"]  # the vowel signs and the joiner keep it one word


def test_a_corpus_without_words_is_a_one_line_error(tmp_path):
    corpus = tmp_path / "punctuation.txt"
    corpus.write_text("!!! ... ---\n\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["phrases", str(corpus), "-o", str(tmp_path / "o.txt")])
    assert result.exit_code == 1 and "holds no words" in result.output
