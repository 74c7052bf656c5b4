"""How fast the vectors answer and load: cold-start queries, reading word2vec
binary files, batched neighbour search.  Prints one table with ratios.

    python bench/query_speed.py                 # 100k x 300 model, 1M x 300 binary file
    python bench/query_speed.py --words 200000 --binary-words 100000   # smaller, quicker

1. ``wordvec similar WORD`` in a fresh process on a saved native model of
   ``--words`` x 300 (wall time, best of 5, the file in the page cache), and
   whether numba was imported (``python -X importtime``).
2. Reading a word2vec binary file of ``--binary-words`` x 300: wordvec against
   ``numpy.fromfile`` on the same bytes (the disk-speed floor) and gensim's
   ``load_word2vec_format``; best of 3 each, file in the page cache.
3. 1,000 ``most_similar`` queries in one batch on the native model.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # measure this checkout's wordvec, whatever is installed
DIM = 300


def random_words(count: int, rng) -> list[str]:
    """Distinct lower-case words of 2 to 14 letters (and a number, so none repeat)."""
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    lengths = rng.integers(2, 15, count)
    stems = ["".join(letters[rng.integers(0, 26, n)]) for n in lengths]
    return [f"{stem}{i}" if i else "king" for i, stem in enumerate(stems)]


def best_of(runs: int, action) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return min(times)


def cold_query(model: Path) -> tuple[float, bool]:
    env = {**os.environ, "WORDVEC_MODEL": str(model)}
    command = [sys.executable, "-m", "wordvec.cli", "similar", "king", "-n", "10"]
    seconds = best_of(5, lambda: subprocess.run(command, env=env, check=True, capture_output=True, cwd=HERE.parent))
    traced = subprocess.run([sys.executable, "-X", "importtime", *command[1:]], env=env, check=True,
                            capture_output=True, text=True, cwd=HERE.parent)
    numba = any(line.rstrip().endswith("| numba") for line in traced.stderr.splitlines())
    return seconds, numba


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--words", type=int, default=100_000, help="words in the native model")
    parser.add_argument("--binary-words", type=int, default=1_000_000, help="words in the word2vec binary file")
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--skip-gensim", action="store_true")
    args = parser.parse_args()

    import wordvec

    rng = np.random.default_rng(0)
    rows = []
    with tempfile.TemporaryDirectory(prefix="wordvec-bench-") as folder:
        folder = Path(folder)
        kv = wordvec.KeyedVectors(random_words(args.words, rng),
                                  rng.standard_normal((args.words, DIM), dtype=np.float32))
        model = folder / "model.wordvec"
        kv.save(model)
        seconds, numba = cold_query(model)
        rows.append((f"`wordvec similar king`, cold process, {args.words:,} x {DIM}", f"{seconds:.3f} s",
                     f"numba imported: {'yes' if numba else 'no'}", "must: < 0.5 s, no numba"))

        loaded = wordvec.load_vectors(model)
        queries = [loaded.words[i] for i in rng.integers(0, args.words, args.queries)]
        loaded.most_similar_batch(queries[:10])  # norms computed once, outside the timing
        seconds = best_of(3, lambda: loaded.most_similar_batch(queries, topn=10))
        rows.append((f"{args.queries:,} most_similar queries batched, {args.words:,} x {DIM}", f"{seconds:.3f} s",
                     f"{args.queries / seconds:,.0f} queries/s", "must: < 1 s"))
        del loaded

        binary = folder / "vectors.bin"
        big = wordvec.KeyedVectors(random_words(args.binary_words, rng),
                                   rng.standard_normal((args.binary_words, DIM), dtype=np.float32))
        big.save(binary)
        del big
        size = binary.stat().st_size
        floor = best_of(3, lambda: np.fromfile(binary, dtype=np.uint8))
        ours = best_of(3, lambda: wordvec.load_vectors(binary))
        rows.append((f"numpy.fromfile, {size / 2**20:,.0f} MB", f"{floor:.2f} s", f"{size / floor / 2**20:,.0f} MB/s", ""))
        rows.append((f"wordvec.load_vectors, word2vec binary {args.binary_words:,} x {DIM}", f"{ours:.2f} s",
                     f"{size / ours / 2**20:,.0f} MB/s; {floor / ours:.0%} of fromfile's speed", "must: >= 50 %"))
        if not args.skip_gensim:
            from gensim.models import KeyedVectors as GensimVectors

            theirs = best_of(1, lambda: GensimVectors.load_word2vec_format(str(binary), binary=True))
            rows.append(("gensim load_word2vec_format, same file", f"{theirs:.2f} s",
                         f"wordvec is {theirs / ours:.1f}x faster", "must: >= 5x"))

    print("| measure | time | rate / ratio | target |\n|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
