"""Subword vectors side by side: wordvec --subwords, fastText and gensim's FastText,
and plain wordvec, on the same text with the same settings, in one run.

    python bench/subwords_vs_fasttext.py CORPUS.txt [--tokens N] [--archs cbow,skipgram]
                                         [--tools wordvec,fasttext,gensim,plain] [--seed S] [--output FILE]

Settings for every tool: dim 100, window 5, 5 noise words, n-grams of 3..6
characters in 2,000,000 buckets, min_count 5, sample 1e-4 (fastText's default,
used by all), learning rate 0.05 (fastText's default for both architectures),
5 epochs, 2 threads.  Each run is a fresh child process, so its peak RSS is its
own.  Time is end to end: from the corpus file to the trained model in memory
(each tool reads and counts the text its own way).  All vectors (each
vocabulary word's, as fastText writes to .vec) are scored by the same code
(gensim's evaluators): questions-words over the 30,000 most frequent words,
semantic and syntactic apart, and WordSim-353; and the nearest neighbours of
made-up and misspelt words come from each tool's own query for unseen words.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # measure this checkout's wordvec, whatever is installed
from better_vectors import word_scores  # noqa: E402
from machine import cpu_model  # noqa: E402
from train_vs_gensim import EVAL, first_tokens  # noqa: E402

THREADS = 2
SETTINGS = dict(dim=100, window=5, negative=5, minn=3, maxn=6, bucket=2_000_000, min_count=5, sample=1e-4,
                alpha=0.05, epochs=5)
UNSEEN = ["kingdoms", "govermnent", "photosynthesizing", "unbelievableness", "recieve", "microbiologists",
          "teleportation", "accomodation", "neuroscientifically", "londonish"]
TOOLS = ("wordvec", "fasttext", "gensim", "plain")


def train_wordvec(corpus: Path, arch: str, subwords: bool, folder: Path, seed: int):
    import wordvec

    settings = dict(SETTINGS)
    if not subwords:
        for key in ("minn", "maxn", "bucket"):
            settings.pop(key)
    trainer = wordvec.Trainer(arch=arch, threads=THREADS, subwords=subwords, seed=seed, **settings).fit(corpus)
    model = trainer.model_
    path = folder / "model.wordvec"
    model.save(path)

    def neighbours(word):
        try:
            return [w for w, _ in model.wv.most_similar(word, topn=5)]
        except wordvec.WordvecError:
            return ["(no vector)"]

    return model.words, np.asarray(model.vectors), neighbours, [path], trainer.record_.train_seconds


def train_fasttext(corpus: Path, arch: str, folder: Path):
    import fasttext

    model = fasttext.train_unsupervised(str(corpus), model=arch, dim=SETTINGS["dim"], ws=SETTINGS["window"],
                                        neg=SETTINGS["negative"], minn=SETTINGS["minn"], maxn=SETTINGS["maxn"],
                                        bucket=SETTINGS["bucket"], minCount=SETTINGS["min_count"],
                                        t=SETTINGS["sample"], lr=SETTINGS["alpha"], epoch=SETTINGS["epochs"],
                                        thread=THREADS, verbose=0)
    path = folder / "model.bin"
    model.save_model(str(path))
    words = model.words
    vectors = np.stack([model.get_word_vector(w) for w in words])
    return words, vectors, lambda word: [w for _, w in model.get_nearest_neighbors(word, k=5)], [path], None


def train_gensim(corpus: Path, arch: str, folder: Path):
    from gensim.models import FastText

    model = FastText(vector_size=SETTINGS["dim"], window=SETTINGS["window"], negative=SETTINGS["negative"],
                     min_n=SETTINGS["minn"], max_n=SETTINGS["maxn"], bucket=SETTINGS["bucket"],
                     min_count=SETTINGS["min_count"], sample=SETTINGS["sample"], alpha=SETTINGS["alpha"],
                     sg=int(arch == "skipgram"), workers=THREADS, seed=1)
    model.build_vocab(corpus_file=str(corpus))
    model.train(corpus_file=str(corpus), total_examples=model.corpus_count, total_words=model.corpus_total_words,
                epochs=SETTINGS["epochs"])
    path = folder / "model.gensim"
    model.save(str(path))
    return (list(model.wv.index_to_key), np.asarray(model.wv.vectors),
            lambda word: [w for w, _ in model.wv.most_similar(word, topn=5)],
            [p for p in folder.iterdir() if p.name.startswith("model.gensim")], None)


def worker(corpus: Path, tool: str, arch: str, out: Path, seed: int) -> None:
    """Child process: train, save the model, write the vectors, neighbours and figures."""
    started = time.perf_counter()
    if tool in ("wordvec", "plain"):
        words, vectors, neighbours, files, train_only = train_wordvec(corpus, arch, tool == "wordvec", out, seed)
    elif tool == "fasttext":
        words, vectors, neighbours, files, train_only = train_fasttext(corpus, arch, out)
    else:
        words, vectors, neighbours, files, train_only = train_gensim(corpus, arch, out)
    seconds = time.perf_counter() - started  # includes saving the model (each tool its own format)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    np.save(out / "vectors.npy", np.asarray(vectors, dtype=np.float32))
    (out / "words.txt").write_text("\n".join(words), encoding="utf-8")
    (out / "figures.json").write_text(json.dumps({
        "seconds": seconds, "train_only": train_only, "peak_rss": peak,
        "file_bytes": sum(p.stat().st_size for p in files),
        "neighbours": {word: neighbours(word) for word in UNSEEN}}))


def load_run(folder: Path) -> tuple[list[str], np.ndarray]:
    return (folder / "words.txt").read_text(encoding="utf-8").split("\n"), np.load(folder / "vectors.npy")


def common_questions(runs: list[Path], out: Path) -> Path:
    """The questions-words questions whose four words are among the 30,000 most
    frequent of every run (fastText's vocabulary has ``</s>`` and orders ties its
    own way, so each tool's 30k answer slightly different questions)."""
    tops = [set(w.lower() for w in load_run(folder)[0][:30_000]) for folder in runs]
    kept = []
    for line in open(EVAL / "questions-words.txt", encoding="utf-8"):
        words = line.lower().split()
        if line.startswith(":") or all(w in top for top in tops for w in words):
            kept.append(line)
    out.write_text("".join(kept), encoding="utf-8")
    return out


def run_child(corpus: Path, tool: str, arch: str, tokens: int, scratch: Path, seed: int) -> tuple[dict, Path]:
    out = scratch / f"{tool}-{arch}"
    out.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, __file__, str(corpus), "--worker", tool, "--archs", arch, "--out", str(out),
               "--seed", str(seed)]
    child = subprocess.run(command, env={**os.environ, "PYTHONWARNINGS": "ignore"}, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE)
    if child.returncode != 0:
        raise SystemExit(f"{tool} {arch} failed:\n{child.stderr.decode(errors='replace')[-3000:]}")
    figures = json.loads((out / "figures.json").read_text())
    for path in out.glob("model*"):
        path.unlink()
    row = {"tool": tool, "arch": arch, **figures, "words_per_s": tokens * SETTINGS["epochs"] / figures["seconds"],
           **word_scores(*load_run(out))[0]}
    return row, out


def score_on_common_questions(rows: list[dict], folders: list[Path], scratch: Path) -> None:
    """Add each run's accuracy on the questions every run of its architecture can answer."""
    for arch in dict.fromkeys(row["arch"] for row in rows):
        mine = [(row, folder) for row, folder in zip(rows, folders) if row["arch"] == arch]
        questions = common_questions([folder for _, folder in mine], scratch / f"common-{arch}.txt")
        for row, folder in mine:
            scores = word_scores(*load_run(folder), questions=questions)[0]
            row.update(common_answered=scores["answered"], common_analogy=scores["analogy"],
                       common_semantic=scores["semantic"], common_syntactic=scores["syntactic"])


def table(rows: list[dict]) -> list[str]:
    lines = ["| arch | tool | seconds | words/s | vs fastText | vs gensim | peak RSS MB | vs fastText | model file MB | "
             "vs fastText | analogy % (own 30k) | common questions: analogy % | semantic | syntactic | vs fastText "
             "(total / syntactic) | WS353 |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        peers = {r["tool"]: r for r in rows if r["arch"] == row["arch"]}
        ft, gs = peers.get("fasttext"), peers.get("gensim")
        ratio = lambda base, key: f"{row[key] / base[key]:.2f}x" if base else "-"  # noqa: E731
        versus = (f"{row['common_analogy'] - ft['common_analogy']:+.2f} / "
                  f"{row['common_syntactic'] - ft['common_syntactic']:+.2f}") if ft else "-"
        lines.append(
            f"| {row['arch']} | {row['tool']} | {row['seconds']:.0f} | {row['words_per_s']:,.0f} | "
            f"{ratio(ft, 'words_per_s')} | {ratio(gs, 'words_per_s')} | {row['peak_rss'] / 2**20:,.0f} | "
            f"{ratio(ft, 'peak_rss')} | {row['file_bytes'] / 2**20:,.0f} | {ratio(ft, 'file_bytes')} | "
            f"{row['analogy']:.2f} ({row['answered']:,}) | {row['common_analogy']:.2f} ({row['common_answered']:,}) | "
            f"{row['common_semantic']:.2f} | {row['common_syntactic']:.2f} | {versus} | {row['wordsim']:.3f} |")
    lines.append("")
    for row in rows:
        lines.append(f"{row['arch']} {row['tool']}: " + "; ".join(
            f"{word} → {', '.join(found)}" for word, found in row["neighbours"].items()))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--tokens", type=int, help="use only the first N tokens")
    parser.add_argument("--archs", default="cbow,skipgram")
    parser.add_argument("--tools", default=",".join(TOOLS))
    parser.add_argument("--output", type=Path, help="also write the table to this file (markdown)")
    parser.add_argument("--seed", type=int, default=1, help="wordvec's seed (the spread between seeds is the noise)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args.corpus, args.worker, args.archs, args.out, args.seed)
    rows, folders = [], []
    with tempfile.TemporaryDirectory(prefix="wordvec-subwords-") as scratch:
        scratch = Path(scratch)
        corpus = first_tokens(args.corpus, args.tokens, scratch) if args.tokens else args.corpus
        tokens = sum(len(line.split()) for line in open(corpus, encoding="utf-8"))
        for arch in args.archs.split(","):
            for tool in args.tools.split(","):
                row, folder = run_child(corpus, tool, arch, tokens, scratch, args.seed)
                rows.append(row)
                folders.append(folder)
                print(json.dumps(row, ensure_ascii=False), flush=True)
        score_on_common_questions(rows, folders, scratch)
    lines = [f"CPU: {cpu_model()}; {THREADS} threads; corpus {args.corpus.name}, {tokens:,} tokens; "
             f"{time.strftime('%Y-%m-%d')}; wordvec's seed {args.seed}", ""] + table(rows)
    print("\n".join(lines))
    if args.output:
        args.output.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
