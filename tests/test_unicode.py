"""Words in every script: marks never cut a word, text is NFC, streams of any kind are read."""
import gzip
import os
import subprocess
import sys
import unicodedata

import pytest
from hypothesis import given, settings, strategies as st

from wordvec.tokenize import INNER_JOINERS, Tokenizer, is_word_character

EXAMPLES = int(os.environ.get("WORDVEC_FUZZ_EXAMPLES", "60"))


@pytest.mark.parametrize("language, text, words", [
    ("Hindi", "नमस्ते दुनिया, यह एक परीक्षण है।", ["नमस्ते", "दुनिया", "यह", "एक", "परीक्षण", "है"]),
    ("Bengali", "নমস্কার পৃথিবী। এটি একটি পরীক্ষা", ["নমস্কার", "পৃথিবী", "এটি", "একটি", "পরীক্ষা"]),
    # Thai writes no spaces between words: a run between spaces is one token.
    ("Thai", "สวัสดีชาวโลก นี่คือการทดสอบ", ["สวัสดีชาวโลก", "นี่คือการทดสอบ"]),
    ("Arabic", "مرحبا بالعالم، السَّلَامُ عَلَيْكُمْ", ["مرحبا", "بالعالم", "السَّلَامُ", "عَلَيْكُمْ"]),
    ("Hebrew", "שָׁלוֹם עוֹלָם, צה״ל", ["שָׁלוֹם", "עוֹלָם", "צה״ל"]),
    # Chinese writes no spaces: runs between punctuation are tokens (segment first, then --whitespace).
    ("Chinese", "你好，世界。这是一个测试", ["你好", "世界", "这是一个测试"]),
    ("Turkish", "İstanbul ılık IŞIK", ["i̇stanbul", "ılık", "işik"]),
    ("Persian", "من می‌خواهم", ["من", "می\u200cخواهم"]),
])
def test_words_of_many_scripts_stay_whole(language, text, words):
    assert Tokenizer().tokens(text) == words
    assert Tokenizer().tokens(text.encode()) == words  # the bytes path agrees


def test_decomposed_and_composed_text_give_the_same_words():
    composed = "naïve café résumé Zoë"
    decomposed = unicodedata.normalize("NFD", composed)
    assert decomposed != composed
    expected = ["naïve", "café", "résumé", "zoë"]
    for tokenizer in (Tokenizer(), Tokenizer(whitespace=True)):
        assert tokenizer.tokens(decomposed) == expected == tokenizer.tokens(composed)
        assert all(unicodedata.is_normalized("NFC", word) for word in tokenizer.tokens(decomposed.encode()))
    assert Tokenizer(lowercase=False).tokens(decomposed) == ["naïve", "café", "résumé", "Zoë"]


def test_pre_segmented_text_is_read_with_whitespace_mode():
    assert Tokenizer(whitespace=True).tokens("你好 世界 这是 一个 测试") == ["你好", "世界", "这是", "一个", "测试"]


word_characters = st.characters(categories=["L", "M", "N"])
any_characters = st.characters(codec="utf-8")


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.text(any_characters, max_size=60), st.booleans())
def test_no_letter_mark_or_digit_ever_ends_a_word(text, lowercase):
    """Every token is a maximal run: the character after it in the (folded, NFC)
    text is never a word character, and every word character is in some token."""
    tokenizer = Tokenizer(lowercase=lowercase)
    folded = unicodedata.normalize("NFC", text.lower() if lowercase else text)
    tokens = tokenizer.tokens(text)
    position = 0
    for token in tokens:
        start = folded.index(token, position)
        assert start == 0 or not is_word_character(folded[start - 1]) or folded[start - 1] in INNER_JOINERS
        after = start + len(token)
        assert after == len(folded) or not is_word_character(folded[after])
        position = after
    inside = sum(len(t) for t in tokens)
    assert inside >= sum(is_word_character(c) for c in folded)
    assert tokenizer.tokens(text.encode("utf-8")) == tokens


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.lists(st.text(word_characters, min_size=1, max_size=12), min_size=1, max_size=8))
def test_runs_of_letters_and_marks_come_back_whole(words):
    words = [unicodedata.normalize("NFC", w) for w in words]
    words = [w for w in words if all(is_word_character(c) for c in w)]  # NFC may compose to other classes
    assert Tokenizer(lowercase=False).tokens(" ".join(words)) == words


def test_named_pipes_and_process_substitution_are_read(tmp_path):
    """A FIFO and ``<(zcat corpus.gz)`` (a /dev/fd path that is a pipe), with the
    gzip found from the stream's first bytes."""
    fifo = tmp_path / "corpus.fifo"
    os.mkfifo(fifo)
    data = "king queen\nman woman\n".encode()
    writer = subprocess.Popen([sys.executable, "-c",
                               f"import sys; open(sys.argv[1], 'wb').write({gzip.compress(data)!r})", str(fifo)])
    try:
        assert list(Tokenizer().sentences(fifo)) == [["king", "queen"], ["man", "woman"]]
    finally:
        writer.wait(10)
    read, write = os.pipe()
    os.write(write, data)
    os.close(write)
    try:
        assert list(Tokenizer().sentences(f"/dev/fd/{read}")) == [["king", "queen"], ["man", "woman"]]
    finally:
        os.close(read)
