"""Peak memory of training against the corpus size, wordvec beside gensim.

    python bench/memory.py CORPUS.txt                    # the corpus x1 and x5 (about 20 M and 100 M tokens)
    python bench/memory.py CORPUS.txt --copies 1,5 --epochs 1 --threads 2

The corpus is written ``copies`` times into one temporary file.  Each tool
trains it (CBOW, negative sampling, word2vec's defaults, ``--epochs`` epochs)
with ``min_count`` = 5 x copies, so that every size has the same vocabulary
(with min_count 5, five copies would let every word seen once into it, and the
weights would grow with the vocabulary, not with the corpus), in a fresh child process; a watcher samples the child's ``/proc`` status every
20 ms for the peak anonymous resident memory (heap, arrays: what grows when a
program holds data in RAM) and the kernel reports the peak total resident set
(which also counts pages of memory-mapped files, which the kernel can drop at
will).  The growth from the small corpus to the large one is the figure that
matters: it should be the vocabulary's, not the corpus's (wordvec's spread
order, its default here, adds one span's subsampled ids: 4 bytes a position,
at most about 2^24 positions).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from machine import cpu_model

HERE = Path(__file__).resolve().parent

CHILD = {
    "wordvec": """
import sys; sys.path.insert(0, {root!r})
import wordvec
trainer = wordvec.Trainer(threads={threads}, epochs={epochs}, min_count={min_count}).fit({corpus!r})
print(len(trainer.model_.words))
""",
    "gensim-file": """
from gensim.models import Word2Vec
model = Word2Vec(corpus_file={corpus!r}, vector_size=100, window=5, min_count={min_count}, sample=1e-3,
                 negative=5, workers={threads}, epochs={epochs}, alpha=0.05, sg=0)
print(len(model.wv.index_to_key))
""",
}


def anonymous_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("RssAnon:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def measure(tool: str, corpus: Path, threads: int, epochs: int, min_count: int) -> dict:
    """Run one training in a child; return its seconds, vocabulary size, peak RSS and peak anonymous RSS (MB)."""
    code = CHILD[tool].format(root=str(HERE.parent), corpus=str(corpus), threads=threads, epochs=epochs,
                              min_count=min_count)
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env={**os.environ, "PYTHONWARNINGS": "ignore"})
    peak_anonymous = 0
    done = threading.Event()

    def watch():
        nonlocal peak_anonymous
        while not done.wait(0.02):
            peak_anonymous = max(peak_anonymous, anonymous_kb(child.pid))

    watcher = threading.Thread(target=watch)
    watcher.start()
    _, status, usage = os.wait4(child.pid, 0)
    done.set()
    watcher.join()
    if status:
        raise SystemExit(f"{tool} failed:\n{child.stderr.read().decode(errors='replace')[-3000:]}")
    return {"seconds": time.perf_counter() - started, "peak": usage.ru_maxrss / 1024,
            "anonymous": peak_anonymous / 1024, "vocabulary": int(child.stdout.read().split()[-1])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--copies", default="1,5", help="corpus sizes, as copies of CORPUS")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--tools", default="wordvec,gensim-file")
    args = parser.parse_args()
    tokens = sum(len(line.split()) for line in open(args.corpus, encoding="utf-8"))
    print(f"{cpu_model()}; {os.cpu_count()} cores; corpus {args.corpus.name}: {tokens:,} tokens; "
          f"CBOW-NS, {args.epochs} epoch(s), {args.threads} threads\n")
    print("| tool | tokens | min_count | vocabulary | seconds | peak RSS MB | peak anonymous MB |")
    print("|---|---|---|---|---|---|---|")
    results = {}
    with tempfile.TemporaryDirectory(prefix="wordvec-memory-") as folder:
        for copies in map(int, args.copies.split(",")):
            corpus = Path(folder) / f"corpus-x{copies}.txt"
            with open(corpus, "wb") as out:
                for _ in range(copies):
                    out.write(args.corpus.read_bytes())
            for tool in args.tools.split(","):
                result = measure(tool, corpus, args.threads, args.epochs, 5 * copies)
                results[tool, copies] = result
                print(f"| {tool} | {tokens * copies:,} | {5 * copies} | {result['vocabulary']:,} | "
                      f"{result['seconds']:.0f} | {result['peak']:.0f} | {result['anonymous']:.0f} |", flush=True)
            corpus.unlink()
    sizes = sorted({copies for _, copies in results})
    if len(sizes) > 1:
        small, large = sizes[0], sizes[-1]
        print(f"\ngrowth from x{small} to x{large} ({tokens * (large - small):,} more tokens):")
        for tool in args.tools.split(","):
            a, b = results[tool, small], results[tool, large]
            print(f"  {tool}: peak RSS {b['peak'] - a['peak']:+.0f} MB, anonymous {b['anonymous'] - a['anonymous']:+.0f} MB")


if __name__ == "__main__":
    main()
