"""Train wordvec, gensim and Google's word2vec C tool side by side on the same corpus and print ratios.

    python bench/train_vs_gensim.py CORPUS.txt                      # the full table
    python bench/train_vs_gensim.py CORPUS.txt --tokens 2000000 --configs cbow-ns --threads 1,2
    python bench/train_vs_gensim.py CORPUS.txt --configs cbow-ns,sg-ns --gensim-modes file --repeat 2

CORPUS.txt is the benchmark corpus (``python3 ../shared/data/build_corpus.py
CORPUS.txt``).  Every run is a fresh child process, so its peak memory (the
whole process's maximum resident set, the C tool's included) is its own.
gensim runs in both of its modes, an iterable of sentences (``LineSentence``)
and ``corpus_file=``; the C tool (``word2vec-c``) is built from PyPI's
``word2vec`` source with its Makefile's flags (``bench/c_tools.py``) unless
``--word2vec`` names a built one.  Each peer gets a ratio line.  With
``--repeat N`` the tools take turns N times and the table keeps each one's
fastest run (the 2-thread runs on the shared 2-core machines swing by up to
2x from one run to the next).  All vectors
are scored by the same code: gensim's ``evaluate_word_analogies`` on the Google
analogy set with only the 30,000 most frequent words, and
``evaluate_word_pairs`` on WordSim-353.

words/s is corpus tokens x epochs / training seconds; "prep" is the time to
count the vocabulary (and, for wordvec, to encode the ids) before training.
The C tool counts in a run of its own (``-save-vocab``, no output), then trains
from that vocabulary (``-read-vocab``): its training seconds also hold its
1e8-entry noise table's filling and the writing of its vectors (binary),
about a second.  It decays the learning rate to ``alpha`` x 1e-4, not to 1e-4.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import c_tools
from machine import cpu_model

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # measure this checkout's wordvec, whatever is installed
EVAL = HERE.parent.parent / "shared" / "eval"
PEERS = ("gensim-iter", "gensim-file", "word2vec-c")
CONFIGS = {  # name: (arch, loss, tools)
    "cbow-ns": ("cbow", "ns", ("wordvec", *PEERS)),
    "sg-ns": ("skipgram", "ns", ("wordvec", *PEERS)),
    "cbow-hs": ("cbow", "hs", ("wordvec", *PEERS)),
    "sg-hs": ("skipgram", "hs", ("wordvec", *PEERS)),
    "cbow-softmax": ("cbow", "softmax", ("wordvec",)),
}
COMMON = dict(dim=100, window=5, negative=5, sample=1e-3, min_count=5, epochs=5)


def train_wordvec(corpus, arch, loss, threads, max_vocab):
    import wordvec

    trainer = wordvec.Trainer(arch=arch, loss=loss, threads=threads, max_vocab=max_vocab,
                              alpha=0.05 if arch == "cbow" else 0.025, **COMMON)
    trainer.fit(corpus)
    record = trainer.record_
    return trainer.model_.words, np.asarray(trainer.model_.vectors), record.prepare_seconds, record.train_seconds, record.corpus_tokens


def train_gensim(corpus, arch, loss, threads, mode):
    from gensim.models import Word2Vec
    from gensim.models.word2vec import LineSentence

    model = Word2Vec(vector_size=COMMON["dim"], window=COMMON["window"], min_count=COMMON["min_count"],
                     sample=COMMON["sample"], workers=threads, sg=int(arch == "skipgram"),
                     hs=int(loss == "hs"), negative=COMMON["negative"] if loss == "ns" else 0,
                     alpha=0.05 if arch == "cbow" else 0.025, min_alpha=1e-4, seed=1)
    source = {"corpus_file": str(corpus)} if mode == "file" else {"corpus_iterable": LineSentence(str(corpus))}
    started = time.perf_counter()
    model.build_vocab(**source)
    prepared = time.perf_counter()
    model.train(**source, total_examples=model.corpus_count, total_words=model.corpus_total_words,
                epochs=COMMON["epochs"])
    trained = time.perf_counter()
    return (model.wv.index_to_key, model.wv.vectors, prepared - started, trained - prepared,
            model.corpus_total_words)


def train_word2vec_c(binary, corpus, arch, loss, threads, out: Path):
    """The C tool: its vocabulary counted in one run, then trained from it in another."""
    from wordvec import load_vectors

    vocab, saved = out / "vocab.txt", out / "vectors.bin"
    started = time.perf_counter()
    subprocess.run([binary, "-train", corpus, "-save-vocab", vocab, "-min-count", str(COMMON["min_count"]),
                    "-debug", "0"], check=True, stdout=subprocess.DEVNULL)
    prepared = time.perf_counter()
    settings = {"-cbow": int(arch == "cbow"), "-hs": int(loss == "hs"),
                "-negative": COMMON["negative"] if loss == "ns" else 0, "-size": COMMON["dim"],
                "-window": COMMON["window"], "-sample": COMMON["sample"], "-min-count": COMMON["min_count"],
                "-iter": COMMON["epochs"], "-alpha": 0.05 if arch == "cbow" else 0.025, "-threads": threads}
    subprocess.run([binary, "-train", corpus, "-read-vocab", vocab, "-output", saved, "-binary", "1", "-debug", "0",
                    *(str(part) for pair in settings.items() for part in pair)], check=True, stdout=subprocess.DEVNULL)
    trained = time.perf_counter()
    vectors = load_vectors(saved)
    words = [word for word in vectors.words if word != "</s>"]  # its sentence end is a word of its vocabulary
    with open(corpus, encoding="utf-8") as text:
        tokens = sum(len(line.split()) for line in text)
    return words, vectors[words], prepared - started, trained - prepared, tokens


def worker(args) -> None:
    """Child process: train one configuration, save words and vectors."""
    arch, loss, _ = CONFIGS[args.config]
    if args.tool == "wordvec":
        words, vectors, prep, train, tokens = train_wordvec(args.corpus, arch, loss, args.threads, args.max_vocab)
    elif args.tool == "word2vec-c":
        words, vectors, prep, train, tokens = train_word2vec_c(args.word2vec, args.corpus, arch, loss, args.threads,
                                                               args.out)
    else:
        words, vectors, prep, train, tokens = train_gensim(args.corpus, arch, loss, args.threads, args.tool.split("-")[1])
    np.save(args.out / "vectors.npy", vectors)
    (args.out / "words.txt").write_text("\n".join(words), encoding="utf-8")
    (args.out / "times.json").write_text(json.dumps({"prep": prep, "train": train, "tokens": tokens}))


def evaluate(folder: Path) -> tuple[float, float]:
    """Analogy accuracy (30k most frequent words) and WordSim-353 Spearman."""
    import logging

    from gensim.models import KeyedVectors

    logging.getLogger("gensim").setLevel(logging.ERROR)
    words = (folder / "words.txt").read_text(encoding="utf-8").split("\n")
    vectors = np.load(folder / "vectors.npy")
    kv = KeyedVectors(vectors.shape[1])
    kv.add_vectors(words, vectors)
    accuracy, _ = kv.evaluate_word_analogies(str(EVAL / "questions-words.txt"), restrict_vocab=30_000)
    pearson, spearman, oov = kv.evaluate_word_pairs(str(EVAL / "wordsim353.tsv"))
    return 100.0 * accuracy, float(spearman[0])


def run_child(tool, config, threads, corpus, max_vocab, scratch: Path, word2vec: Path | None) -> dict:
    out = scratch / f"{config}-{tool}-{threads}"
    out.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, __file__, "--worker", str(corpus), "--tool", tool, "--config", config,
               "--threads", str(threads), "--out", str(out)]
    if max_vocab:
        command += ["--max-vocab", str(max_vocab)]
    if tool == "word2vec-c":
        command += ["--word2vec", str(word2vec)]
    child = subprocess.Popen(command, env={**os.environ, "PYTHONWARNINGS": "ignore"},
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    stderr = child.stderr.read().decode(errors="replace")
    if status != 0:
        raise SystemExit(f"{tool} {config} failed:\n{stderr[-3000:]}")
    times = json.loads((out / "times.json").read_text())
    accuracy, spearman = evaluate(out)
    return {"tool": tool, "config": config, "threads": threads, **times,
            "words_per_s": times["tokens"] * COMMON["epochs"] / times["train"],
            "total_words_per_s": times["tokens"] * COMMON["epochs"] / (times["train"] + times["prep"]),
            "peak_mb": usage.ru_maxrss / 1024, "analogy": accuracy, "wordsim": spearman}


def first_tokens(corpus: Path, tokens: int, scratch: Path) -> Path:
    """A copy of the corpus cut after ``tokens`` tokens (whole lines kept, the last one cut)."""
    out = scratch / f"first-{tokens}.txt"
    left = tokens
    with open(corpus, encoding="utf-8") as source, open(out, "w", encoding="utf-8") as target:
        for line in source:
            words = line.split()
            target.write(" ".join(words[:left]) + "\n")
            left -= len(words)
            if left <= 0:
                break
    return out


def print_table(rows: list[dict]) -> list[str]:
    lines = [f"CPU: {cpu_model()}", "",
             "| config | threads | tool | prep s | train s | words/s | words/s incl. prep | peak MB | analogy % | WS353 |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {row['config']} | {row['threads']} | {row['tool']} | {row['prep']:.1f} | {row['train']:.1f} | "
                     f"{row['words_per_s']:,.0f} | {row['total_words_per_s']:,.0f} | {row['peak_mb']:.0f} | "
                     f"{row['analogy']:.2f} | {row['wordsim']:.3f} |")
    lines += ["", "| config | threads | words/s ratio | incl. prep | analogy diff (points) | WS353 diff | peak memory ratio |",
              "|---|---|---|---|---|---|---|"]
    groups = {}
    for row in rows:
        groups.setdefault((row["config"], row["threads"]), []).append(row)
    for (config, threads), group in groups.items():
        ours = next((r for r in group if r["tool"] == "wordvec"), None)
        if ours is None:
            continue
        for peer in (r for r in group if r["tool"] != "wordvec"):
            lines.append(f"| {config} | {threads} | {ours['words_per_s'] / peer['words_per_s']:.2f}x vs "
                         f"{peer['tool']} | {ours['total_words_per_s'] / peer['total_words_per_s']:.2f}x | "
                         f"{ours['analogy'] - peer['analogy']:+.2f} | {ours['wordsim'] - peer['wordsim']:+.3f} | "
                         f"{ours['peak_mb'] / peer['peak_mb']:.2f} |")
    scaling = {(r["tool"], r["config"]): {} for r in rows}
    for r in rows:
        scaling[(r["tool"], r["config"])][r["threads"]] = r["words_per_s"]
    for (tool, config), speeds in scaling.items():
        if 1 in speeds and 2 in speeds:
            lines.append(f"\nthread scaling {tool} {config}: 2 threads / 1 thread = {speeds[2] / speeds[1]:.2f}x")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--tokens", type=int, help="use only the first N tokens")
    parser.add_argument("--configs", default="cbow-ns,sg-ns,cbow-hs,sg-hs,cbow-softmax")
    parser.add_argument("--threads", default="1,2", help="thread counts for cbow-ns; the others run at the largest")
    parser.add_argument("--gensim-modes", default="iter,file", help="gensim's modes to run (iter, file)")
    parser.add_argument("--word2vec", help="a built word2vec C tool [default: build it]; 'no' leaves it out")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run each tool N times, taking turns, and keep each one's fastest run")
    parser.add_argument("--softmax-tokens", type=int, default=1_000_000)
    parser.add_argument("--output", type=Path, help="also write the table to this file (markdown)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--tool", help=argparse.SUPPRESS)
    parser.add_argument("--config", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--max-vocab", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if args.worker:
        args.threads = int(args.threads)
        return worker(args)

    thread_counts = [int(t) for t in args.threads.split(",")]
    rows = []
    with tempfile.TemporaryDirectory(prefix="wordvec-bench-") as scratch:
        scratch = Path(scratch)
        corpus = first_tokens(args.corpus, args.tokens, scratch) if args.tokens else args.corpus
        for config in args.configs.split(","):
            _, _, tools = CONFIGS[config]
            chosen = [tool for tool in tools
                      if not (tool.startswith("gensim-") and tool.split("-")[1] not in args.gensim_modes.split(","))
                      and not (tool == "word2vec-c" and args.word2vec == "no")]
            source, max_vocab = corpus, None
            if config == "cbow-softmax":
                source, max_vocab = first_tokens(args.corpus, args.softmax_tokens, scratch), 10_000
            for threads in thread_counts if config == "cbow-ns" else [max(thread_counts)]:
                fastest = {}
                for _ in range(args.repeat):
                    for tool in chosen:
                        if tool == "word2vec-c" and args.word2vec is None:
                            args.word2vec = c_tools.build("word2vec", scratch)
                        row = run_child(tool, config, threads, source, max_vocab, scratch, args.word2vec)
                        print(json.dumps(row), flush=True)
                        if tool not in fastest or row["words_per_s"] > fastest[tool]["words_per_s"]:
                            fastest[tool] = row
                rows += fastest.values()
    lines = print_table(rows)
    print("\n".join(lines))
    if args.output:
        args.output.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
