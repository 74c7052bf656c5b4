"""Subwords (fastText's model): n-grams and hashing against fastText itself, the
row table, training, unseen words, and fastText's .bin read and written."""
import struct
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import wordvec
from wordvec import WordvecError, subwords
from wordvec.cli import main
from wordvec.io import fasttext as ftio
from wordvec.keyedvectors import KeyedVectors

fasttext = pytest.importorskip("fasttext")

LETTERS = list("abcdefghijklmnopqrstuvwxyz") + ["é", "ß", "ö", "ж", "и", "東", "京", "ﬁ"]


def _random_words(rng, n, lengths=(2, 12)):
    return ["".join(rng.choice(LETTERS, rng.integers(*lengths))) for _ in range(n)]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """About 1,200 distinct words of Latin, Cyrillic and CJK letters, Zipf-distributed, 120k tokens."""
    rng = np.random.default_rng(0)
    words = list(dict.fromkeys(_random_words(rng, 1300)))
    weights = 1.0 / np.arange(1, len(words) + 1) ** 0.7
    tokens = rng.choice(len(words), 120_000, p=weights / weights.sum())
    path = tmp_path_factory.mktemp("subwords") / "corpus.txt"
    lines = [" ".join(words[t] for t in tokens[i:i + 20]) for i in range(0, len(tokens), 20)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def fasttext_model(corpus, tmp_path_factory):
    model = fasttext.train_unsupervised(str(corpus), model="skipgram", dim=8, epoch=1, minCount=3, bucket=20_000,
                                        minn=2, maxn=5, thread=1, verbose=0)
    path = tmp_path_factory.mktemp("ft") / "model.bin"
    model.save_model(str(path))
    return model, path


def _unseen(known, n=250, seed=1):
    rng = np.random.default_rng(seed)
    return [w for w in dict.fromkeys(_random_words(rng, 2 * n, (1, 15))) if w not in known][:n]


def test_fnv1a_is_fasttexts_with_signed_bytes():
    assert subwords.fasttext_hash(b"") == 2166136261
    assert subwords.fasttext_hash(b"a") == 0xE40C292C  # plain FNV-1a below 0x80
    # é is C3 A9: fastText xors in 0xFFFFFFC3 and 0xFFFFFFA9, plain FNV-1a would xor 0xC3 and 0xA9.
    h = 2166136261
    for byte in (0xFFFFFFC3, 0xFFFFFFA9):
        h = ((h ^ byte) * 16777619) & 0xFFFFFFFF
    assert subwords.fasttext_hash("é".encode()) == h


def test_ngrams_of_a_word_by_hand():
    assert subwords.ngrams("where", 3, 3) == ["<wh", "whe", "her", "ere", "re>"]
    assert subwords.ngrams("ab", 1, 2) == ["<a", "a", "ab", "b", "b>"]  # no "<" or ">" alone
    assert subwords.ngrams("東京", 2, 3) == ["<東", "<東京", "東京", "東京>", "京>"]  # characters, not bytes
    assert subwords.ngrams("</s>", 1, 6) == []


@pytest.mark.parametrize("minn,maxn", [(2, 5), (1, 3)])
def test_ngram_buckets_are_fasttexts_for_known_and_unseen_words(fasttext_model, minn, maxn, corpus):
    model = fasttext_model[0] if (minn, maxn) == (2, 5) else fasttext.train_unsupervised(
        str(corpus), dim=4, epoch=1, minCount=3, bucket=20_000, minn=minn, maxn=maxn, thread=1, verbose=0)
    other_scripts = ["नमस्ते", "हिन्दी", "สวัสดี", "cafe\u0301", "السَّلَامُ", "שָׁלוֹם", "İstanbul"]  # marks, NFD, RTL
    words = model.words + _unseen(set(model.words)) + other_scripts
    offsets, buckets = subwords.ngram_buckets(words, minn, maxn, 20_000)
    for i, word in enumerate(words):
        names, ids = model.get_subwords(word)
        known = i < len(model.words)  # fastText lists a known word's own row first
        ngram_ids, ngram_names = (ids[1:], names[1:]) if known else (ids, names)
        assert list(buckets[offsets[i]:offsets[i + 1]] + len(model.words)) == list(ngram_ids), word
        assert subwords.ngrams(word, minn, maxn) == list(ngram_names), word


def test_training_rows_list_each_words_row_then_its_ngrams():
    words = ["aaaa", "ab", "b"]
    row_starts, row_ids, used = subwords.training_rows(words, 3, 4, 50)
    offsets, buckets = subwords.ngram_buckets(words, 3, 4, 50)
    assert used.tolist() == sorted(set(buckets.tolist()))
    for i in range(len(words)):
        rows = row_ids[row_starts[i]:row_starts[i + 1]]
        assert rows[0] == i
        assert [used[r - len(words)] for r in rows[1:]] == buckets[offsets[i]:offsets[i + 1]].tolist()
    # "<aaaa>" holds "aaa" twice: listed twice, as fastText does
    assert subwords.ngrams("aaaa", 3, 4).count("aaa") == 2


def test_the_mean_of_a_words_rows_from_the_training_table_equals_its_composed_vector():
    words = ["aaaa", "ab", "b", "kingdom"]
    row_starts, row_ids, used = subwords.training_rows(words, 3, 4, 50)
    W_in = np.random.default_rng(3).random((len(words) + len(used), 6), dtype=np.float32)
    means = subwords.mean_of_rows(row_starts, row_ids, W_in)
    by_hand = W_in[row_ids[row_starts[0]:row_starts[1]]].mean(axis=0)  # "aaa" counted twice
    np.testing.assert_allclose(means[0], by_hand, rtol=1e-6)
    composed = subwords.Subwords(3, 4, 50, used, W_in[len(words):]).compose(words, W_in[:len(words)])
    np.testing.assert_allclose(means, composed, rtol=1e-6)


def test_settings_are_checked():
    for bad in [(0, 6, 10), (4, 3, 10), (3, 6, 0), (3, 6, 2**31), (3.5, 6, 10)]:
        with pytest.raises(WordvecError):
            subwords.check_settings(*bad)
    for settings in [dict(position_weights=True), dict(cbow_mean=False), dict(minn=7)]:
        with pytest.raises(WordvecError):
            wordvec.Trainer(subwords=True, **settings).check_settings()


@pytest.fixture(scope="module")
def trained(corpus, tmp_path_factory):
    path = tmp_path_factory.mktemp("trained") / "sw.wordvec"
    model = wordvec.train(str(corpus), subwords=True, minn=2, maxn=5, bucket=20_000, dim=12, epochs=2,
                          min_count=3, threads=1, checkpoint=path)
    return model, path


def test_a_trained_model_keeps_only_the_buckets_its_words_use(trained):
    model, path = trained
    _, buckets = subwords.ngram_buckets(model.words, 2, 5, 20_000)
    assert model.subwords.buckets.tolist() == sorted(set(buckets.tolist()))
    assert len(model.subwords.buckets) < 20_000
    loaded = wordvec.load(path)
    np.testing.assert_array_equal(loaded.subwords.buckets, model.subwords.buckets)
    np.testing.assert_array_equal(loaded.subwords.vectors, model.subwords.vectors)
    assert loaded.config["subwords"] and loaded.subwords.settings == {"minn": 2, "maxn": 5, "bucket": 20_000}


def test_unseen_words_are_the_mean_of_their_trained_ngrams(trained):
    model, _ = trained
    wv = model.wv
    word = "zzqqxyzk"
    assert word not in wv and wv.has_vector(word)
    table = model.subwords
    found = [table.buckets.tolist().index(b) if b in table.buckets else None
             for b in subwords.ngram_buckets([word], 2, 5, 20_000)[1].tolist()]
    expected = sum(table.vectors[k] for k in found if k is not None) / len(found)
    np.testing.assert_allclose(wv[word], expected, rtol=1e-5, atol=1e-7)
    assert list(wv.built) == [word]
    assert len(wv) == len(model.words) and wv.vectors.shape[0] == len(model.words)
    # A word none of whose n-grams fell in a trained bucket (most buckets are used: search for one).
    untrained = next(w for w in map(chr, range(0x4E00, 0x9FFF)) if np.all(table.rows([w])[1] < 0))
    assert not wv.has_vector(untrained) and untrained not in wv
    with pytest.raises(WordvecError, match="none of its character n-grams"):
        wv[untrained]


def test_vocabulary_vectors_are_the_mean_of_own_and_ngram_rows(trained):
    model, _ = trained
    own = model.subwords.own_rows(model.words, model.vectors)
    word = model.words[7]
    offsets, rows = model.subwords.rows([word])
    expected = (own[7] + model.subwords.vectors[rows].sum(axis=0)) / (1 + len(rows))
    np.testing.assert_allclose(model.vectors[7], expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.subwords.compose(model.words, own), model.vectors, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("arch,loss", [("cbow", "ns"), ("skipgram", "ns"), ("cbow", "hs"), ("skipgram", "hs"),
                                       ("cbow", "softmax"), ("skipgram", "softmax")])
def test_every_output_layer_and_architecture_learns_with_subwords(tmp_path, arch, loss):
    demo = tmp_path / "demo.txt"  # real sentences (the random words above have nothing to learn but counts)
    demo.write_bytes((Path(__file__).parents[1] / "corpora" / "demo.txt").read_bytes()[:600_000])
    trainer = wordvec.Trainer(subwords=True, minn=3, maxn=4, bucket=5000, dim=10, epochs=3, min_count=3,
                              threads=1, arch=arch, loss=loss)
    history = trainer.fit(str(demo)).loss_history_
    assert np.all(np.isfinite(history)) and history[-1] < 0.98 * history[0]


def test_resume_continues_a_subword_run(corpus, tmp_path):
    settings = dict(subwords=True, minn=2, maxn=4, bucket=3000, dim=8, epochs=3, min_count=3, threads=1,
                    checkpoint=tmp_path / "run.wordvec", checkpoint_every=1)

    def stop_after_two(trainer, record):
        if record.epoch == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        wordvec.Trainer(callbacks=(stop_after_two,), **settings).fit(str(corpus))
    resumed = wordvec.Trainer(**settings).fit(str(corpus), resume=True)
    assert resumed.resumed_ == "continued" and len(resumed.record_.epochs) == 3
    assert resumed.model_.subwords is not None and np.all(np.isfinite(resumed.model_.vectors))


def test_reading_fasttexts_bin_gives_its_vectors(fasttext_model):
    model, path = fasttext_model
    wv = wordvec.load_vectors(path)
    assert wv.words == model.words and wv.subwords.bucket == 20_000
    unseen = _unseen(set(model.words))
    words = model.words + unseen
    assert len(words) >= 1000 and len(unseen) >= 200
    expected = np.stack([model.get_word_vector(w) for w in words])
    np.testing.assert_allclose(wv[words], expected, atol=1e-5)


def test_fasttext_loads_the_bin_wordvec_writes(trained, tmp_path):
    model, path = trained
    out = tmp_path / "out.bin"
    result = CliRunner().invoke(main, ["export", str(path), str(out)])
    assert result.exit_code == 0, result.output
    loaded = fasttext.load_model(str(out))
    assert loaded.words == model.words and loaded.get_dimension() == 12
    unseen = _unseen(set(model.words), 300)
    words = model.words + unseen
    assert len(words) >= 1000
    np.testing.assert_allclose(np.stack([loaded.get_word_vector(w) for w in words]), model.wv[words], atol=1e-5)
    back = wordvec.load_vectors(out)  # the full table again: the buckets wordvec did not keep are zeros
    np.testing.assert_allclose(back[words], model.wv[words], atol=1e-5)
    untrained = next(w for w in map(chr, range(0x4E00, 0x9FFF)) if np.all(model.subwords.rows([w])[1] < 0))
    assert not back.has_vector(untrained) and not model.wv.has_vector(untrained)


def test_import_and_query_a_bin(fasttext_model, tmp_path):
    model, path = fasttext_model
    word = _unseen(set(model.words))[0]
    runner = CliRunner()
    direct = runner.invoke(main, ["similar", word, "-m", str(path), "--json"])
    assert direct.exit_code == 0, direct.output
    assert "built from its character n-grams" in direct.stderr
    info = runner.invoke(main, ["info", "-m", str(path)])
    assert "bucket=20000, maxn=5, minn=2" in info.output and "20,000 buckets with vectors" in info.output
    imported = tmp_path / "en.wordvec"
    assert runner.invoke(main, ["import", str(path), str(imported)]).exit_code == 0
    again = runner.invoke(main, ["similar", word, "-m", str(imported), "--json"])
    assert again.stdout == direct.stdout
    np.testing.assert_allclose(wordvec.load_vectors(imported)[word], model.get_word_vector(word), atol=1e-5)


def _bin_bytes(words=("the", "king"), dim=2, bucket=3, minn=2, maxn=3):
    kv_vectors = np.arange(len(words) * dim, dtype=np.float32).reshape(-1, dim)
    table = subwords.Subwords(minn, maxn, bucket, np.arange(bucket), np.ones((bucket, dim), np.float32))
    return kv_vectors, table


def _damaged_bin(tmp_path, damage):
    vectors, table = _bin_bytes()
    path = tmp_path / "good.bin"
    ftio.write_bin(path, ["the", "king"], [3, 2], vectors, table)
    data = bytearray(path.read_bytes())
    dictionary = 8 + ftio._ARGS.size
    if damage == "magic":
        data[0:4] = b"\0\0\0\0"
    elif damage == "version":
        data[4:8] = struct.pack("<i", 11)
    elif damage == "entries":
        data[dictionary:dictionary + 4] = struct.pack("<i", 10**9)
    elif damage == "matrix":
        start = data.index(b"king\0") + 5 + ftio._ENTRY_TAIL.size + 1
        data[start:start + 8] = struct.pack("<q", 10**12)
    elif damage == "quantised":
        start = data.index(b"king\0") + 5 + ftio._ENTRY_TAIL.size
        data[start] = 1
    elif damage == "dim":
        data[8:12] = struct.pack("<i", 0)
    else:
        del data[int(damage):]
    path = tmp_path / f"damaged-{damage}.bin"
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("damage", ["magic", "version", "entries", "matrix", "quantised", "dim", "6", "40", "70",
                                    "90", "-5"])
def test_damaged_bins_raise_the_projects_error(tmp_path, damage):
    path = _damaged_bin(tmp_path, damage)
    with pytest.raises(WordvecError) as error:
        wordvec.load_vectors(path, format="fasttext-bin")
    assert str(path) in str(error.value)
    assert "\n" not in str(error.value)
    if damage == "quantised":
        assert ".ftz" in str(error.value)


def test_the_noise_exponent_is_fasttexts_for_skipgram_with_subwords_unless_given():
    assert wordvec.Trainer(subwords=True, arch="skipgram").settings()["ns_exponent"] == 0.5
    assert wordvec.Trainer(subwords=True, arch="cbow").settings()["ns_exponent"] == 0.75
    assert wordvec.Trainer(arch="skipgram").settings()["ns_exponent"] == 0.75
    assert wordvec.Trainer(subwords=True, arch="skipgram", ns_exponent=1.0).settings()["ns_exponent"] == 1.0
    with pytest.raises(WordvecError, match="ns_exponent"):
        wordvec.Trainer(ns_exponent=float("nan")).check_settings()
    from wordvec.trainer import training_tables
    from wordvec.vocab import Vocabulary, alias_table

    vocab = Vocabulary(["a", "b", "c"], np.array([100, 25, 4]))
    tables = training_tables(vocab, 1e-3, "ns", 0.5)
    expected = alias_table(np.array([10.0, 5.0, 2.0]) / 17.0)
    np.testing.assert_allclose(tables["noise_prob"], expected[0])
    np.testing.assert_array_equal(tables["noise_alias"], expected[1])


def test_subword_rows_start_in_fasttexts_range_plain_rows_in_word2vecs():
    from wordvec.vocab import Vocabulary

    vocab = Vocabulary(["kingdom", "queen", "crown"], np.array([9, 7, 5]))
    for subwords_on, reach in ((True, 1.0), (False, 0.5)):
        trainer = wordvec.Trainer(dim=40, subwords=subwords_on)
        trainer._rows = trainer._subword_rows(vocab)
        vectors, output_weights, _ = trainer._initial_weights(vocab, None)
        assert len(vectors) == (3 + len(trainer._rows[2]) if subwords_on else 3)
        assert 0.9 * reach / 40 < np.abs(vectors).max() <= reach / 40 and not output_weights.any()


def test_train_with_subword_flags_and_export_with_format(tmp_path):
    demo = tmp_path / "demo.txt"
    demo.write_bytes((Path(__file__).parents[1] / "corpora" / "demo.txt").read_bytes()[:200_000])
    model_path, out = tmp_path / "sw.wordvec", tmp_path / "vectors.fasttext"
    runner = CliRunner()
    result = runner.invoke(main, ["train", str(demo), "-o", str(model_path), "-q", "--subwords", "--minn", "2",
                                  "--maxn", "5", "--bucket", "5000", "--arch", "skipgram", "--epochs", "1",
                                  "--ns-exponent", "0.6", "--threads", "1"])
    assert result.exit_code == 0, result.output
    assert "subwords: n-grams of 2..5 characters" in result.output
    model = wordvec.load(model_path)
    assert model.config["ns_exponent"] == 0.6 and model.subwords.settings == {"minn": 2, "maxn": 5, "bucket": 5000}
    result = runner.invoke(main, ["export", str(out), "-m", str(model_path), "--format", "fasttext-bin"])
    assert result.exit_code == 0, result.output
    assert fasttext.load_model(str(out)).words == model.words
    bad = runner.invoke(main, ["train", str(demo), "--subwords", "--minn", "7", "--maxn", "3", "-q"])
    assert bad.exit_code != 0 and "minn (7) must not be above maxn (3)" in bad.output


def test_the_most_repeated_row_is_found_per_word():
    """Word 2's rows hold row 7 three times; row 5, shared by words 0 and 1, is
    once in each and does not count across words."""
    row_starts = np.array([0, 3, 5, 9, 10])
    row_ids = np.array([0, 5, 6, 1, 5, 2, 7, 7, 7, 3])
    assert subwords.most_repeated_row(row_starts, row_ids) == (2, 3)
    assert subwords.most_repeated_row(np.array([0, 1, 3]), np.array([0, 1, 4])) == (0, 1)
