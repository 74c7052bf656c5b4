"""Train on a GPU and on the same machine's CPU cores in one run, and print ratios.

    python bench/gpu.py CORPUS.txt [--runs gpu-cbow-5,gpu-cbow-10,gpu-sg-5,cpu-cbow-5,cpu-cbow-5-chunks,cpu-cbow-10,cpu-sg-5,
                                          gensim-cbow-5]
                                   [--eval FOLDER] [--output results.json]

A run is TOOL-ARCH-EPOCHS, with ``-sub`` for subwords (fastText's n-grams of 3 to
6 characters in 2 M buckets): ``gpu-cbow-5-sub,cpu-cbow-5-sub`` compare them; and
a CPU run trains in wordvec's default order (with negative sampling the GPU's
spread order), with ``-chunks`` in shuffled chunks (``--no-spread``).
A GPU run may end in ``@wN`` (warps a block), ``@rN`` (a cap on the training
kernel's registers a thread) and ``@a1`` (atomic weight updates):
``gpu-cbow-5,gpu-cbow-5@w1,gpu-cbow-5@r40`` measure the kernel's layouts against
each other.

CORPUS.txt is the benchmark corpus (``python3 ../shared/data/build_corpus.py
CORPUS.txt``), FOLDER the one holding questions-words.txt and wordsim353.tsv
(default ../shared/eval).  Settings are word2vec's defaults for every run
(dim 100, window 5, 5 noise words, sample 1e-3, min_count 5; alpha 0.05 CBOW,
0.025 skip-gram); the CPU runs use every core.  Each run is a fresh child
process that first trains a few thousand tokens (so that compiling the kernels
is not timed; they are cached on disk after that) and then the corpus.

words/s is tokens x epochs / seconds from the encoded ids to the saved model
(the trainer's training time plus the save); the GPU's memory plan is printed
by the run.  Vectors are scored by wordvec's own evaluator (3CosAdd over the
30,000 most frequent words; WordSim-353 Spearman), so gensim is needed only
for its own run, which is left out when gensim is not installed.
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

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # measure this checkout's wordvec, whatever is installed
from machine import cpu_model  # noqa: E402

COMMON = dict(dim=100, window=5, negative=5, sample=1e-3, min_count=5)
RUNS = ("gpu-cbow-5", "gpu-cbow-10", "gpu-sg-5", "cpu-cbow-5", "cpu-cbow-5-chunks", "cpu-cbow-10", "cpu-sg-5",
        "gensim-cbow-5")


def parse_run(name: str) -> tuple[str, str, int, bool, bool]:
    """``gpu-cbow-5`` → ``("gpu", "cbow", 5, False, False)``; ``cpu-sg-5-sub`` → ``("cpu",
    "skipgram", 5, True, False)``; ``cpu-cbow-5-chunks``: the CPU in shuffled chunks, not the
    spread order it trains negative sampling in by default (``--no-spread``; the GPU trains in
    spread order always) (a GPU kernel's layout after ``@``: :func:`kernel_layout`)."""
    tool, arch, epochs, *flags = name.partition("@")[0].split("-")
    if len(set(flags)) < len(flags) or not set(flags) <= {"sub", "chunks"}:
        raise ValueError(f"a run is TOOL-ARCH-EPOCHS, then -sub and/or -chunks, not {name!r}")
    return tool, {"cbow": "cbow", "sg": "skipgram"}[arch], int(epochs), "sub" in flags, "chunks" in flags


def kernel_layout(name: str) -> dict:
    """``gpu-cbow-5@w2@r48@a1`` → ``{"warps_per_block": 2, "max_registers": 48, "atomic_updates": 1}``:
    the :class:`wordvec.cuda.backend.CudaBackend` settings a run changes."""
    names = {"w": "warps_per_block", "r": "max_registers", "a": "atomic_updates"}
    return {names[part[0]]: int(part[1:]) for part in name.split("@")[1:]}


def train_wordvec(corpus: Path, device: str, arch: str, epochs: int, subwords: bool, chunks: bool, out: Path,
                  warm_up_bytes: int, layout: dict) -> dict:
    import wordvec

    if layout:
        from wordvec.cuda.backend import CudaBackend

        for name, value in layout.items():
            setattr(CudaBackend, name, value)

    settings = dict(COMMON, arch=arch, epochs=epochs, alpha=0.05 if arch == "cbow" else 0.025,
                    threads=os.cpu_count(), device=device, progress=False, subwords=subwords,
                    spread=False if chunks else None)
    warm_up = out / "warm_up.txt"
    with open(corpus, encoding="utf-8") as text:
        warm_up.write_text(text.read(warm_up_bytes), encoding="utf-8")
    wordvec.Trainer(**dict(settings, min_count=1, epochs=1)).fit(warm_up)
    trainer = wordvec.Trainer(**settings)
    trainer._say = lambda line: print(line, file=sys.stderr)
    trainer.fit(corpus)
    started = time.perf_counter()
    trainer.model_.save(out / "model.wordvec")
    saved = time.perf_counter() - started
    record = trainer.record_
    return {"tokens": record.corpus_tokens, "seconds": record.train_seconds + saved,
            "prep": record.prepare_seconds, "loss": record.loss_history[-1]}


def train_gensim(corpus: Path, arch: str, epochs: int, out: Path) -> dict:
    from gensim.models import Word2Vec

    import wordvec

    model = Word2Vec(vector_size=COMMON["dim"], window=COMMON["window"], min_count=COMMON["min_count"],
                     sample=COMMON["sample"], negative=COMMON["negative"], workers=os.cpu_count(),
                     sg=int(arch == "skipgram"), alpha=0.05 if arch == "cbow" else 0.025, min_alpha=1e-4, seed=1)
    started = time.perf_counter()
    model.build_vocab(corpus_file=str(corpus))
    prepared = time.perf_counter()
    model.train(corpus_file=str(corpus), total_examples=model.corpus_count, total_words=model.corpus_total_words,
                epochs=epochs)
    trained = time.perf_counter()
    wordvec.KeyedVectors(list(model.wv.index_to_key), model.wv.vectors).save(out / "model.wordvec")
    return {"tokens": model.corpus_total_words, "seconds": trained - prepared + (time.perf_counter() - trained),
            "prep": prepared - started, "loss": float("nan")}


def score(model: Path, eval_folder: Path) -> dict:
    import wordvec
    from wordvec.evaluate import evaluate_analogies, evaluate_similarity

    vectors = wordvec.load_vectors(model)
    analogies = evaluate_analogies(vectors, eval_folder / "questions-words.txt", restrict_vocab=30_000)
    try:
        wordsim = evaluate_similarity(vectors, eval_folder / "wordsim353.tsv").spearman
    except wordvec.WordvecError:  # a corpus too small to hold the pairs
        wordsim = float("nan")
    return {"analogy": 100 * analogies.accuracy, "answered": analogies.total.answered,
            "semantic": 100 * analogies.semantic.accuracy, "syntactic": 100 * analogies.syntactic.accuracy,
            "wordsim": wordsim}


def worker(corpus: Path, run: str, out: Path, eval_folder: Path, warm_up_bytes: int) -> None:
    tool, arch, epochs, subwords, chunks = parse_run(run)
    if tool == "gensim":
        if subwords:
            raise ValueError("the gensim run here is word2vec's; bench/subwords_vs_fasttext.py compares subwords")
        result = train_gensim(corpus, arch, epochs, out)
    else:
        result = train_wordvec(corpus, "cuda" if tool == "gpu" else "cpu", arch, epochs, subwords, chunks, out,
                               warm_up_bytes, kernel_layout(run))
    result.update(score(out / "model.wordvec", eval_folder))
    (out / "result.json").write_text(json.dumps(result))


def run_child(corpus: Path, run: str, scratch: Path, eval_folder: Path, warm_up_bytes: int) -> dict | None:
    out = scratch / run
    out.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, __file__, str(corpus), "--worker", run, "--out", str(out), "--eval", str(eval_folder),
               "--warm-up-bytes", str(warm_up_bytes)]
    child = subprocess.run(command, env={**os.environ, "PYTHONWARNINGS": "ignore"}, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    said = child.stderr.splitlines()
    shown = [line for line in said[:-6] if line.startswith("training kernel:")] + said[-6:]  # registers, blocks
    sys.stderr.write("".join(f"  [{run}] {line}\n" for line in shown))
    if child.returncode != 0:
        print(f"{run} failed (exit {child.returncode}); see above", file=sys.stderr)
        return None
    result = json.loads((out / "result.json").read_text())
    tool, arch, epochs, subwords, chunks = parse_run(run)
    return {"run": run, "tool": tool, "arch": arch, "epochs": epochs, "subwords": subwords, "chunks": chunks,
            **result,
            "words_per_s": result["tokens"] * epochs / result["seconds"]}


def table(rows: list[dict]) -> list[str]:
    """One line a run: speed against wordvec on the CPU (in its default order) and gensim
    (same arch, with or without subwords, and epochs where there is one, else same
    arch), accuracy against wordvec's CPU run."""
    def peer(row, tool):
        same = [r for r in rows if r["tool"] == tool and r["arch"] == row["arch"] and not r.get("chunks")
                and r.get("subwords", False) == row.get("subwords", False)]
        return next((r for r in same if r["epochs"] == row["epochs"]), same[0] if same else None)

    lines = ["| run | words/s | vs wordvec CPU | vs gensim | analogy % (answered) | vs CPU same epochs | semantic | "
             "syntactic | WS353 | loss |", "|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        cpu, gensim = peer(row, "cpu"), peer(row, "gensim")
        speed = lambda base: f"{row['words_per_s'] / base['words_per_s']:.1f}x" if base else "-"  # noqa: E731
        same = cpu if cpu and cpu["epochs"] == row["epochs"] else None
        versus_cpu = f"{row['analogy'] - same['analogy']:+.2f}" if same else "-"
        lines.append(f"| {row['run']} | {row['words_per_s'] / 1e6:,.1f} M | {speed(cpu)} | {speed(gensim)} | "
                     f"{row['analogy']:.2f} ({row['answered']:,}) | "
                     f"{versus_cpu} | {row['semantic']:.2f} | "
                     f"{row['syntactic']:.2f} | {row['wordsim']:.3f} | {row['loss']:.4f} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--runs", default=",".join(RUNS))
    parser.add_argument("--eval", type=Path, default=HERE.parent.parent / "shared" / "eval")
    parser.add_argument("--output", type=Path)
    parser.add_argument("--warm-up-bytes", type=int, default=200_000,
                        help="text trained first, untimed, so that compiling is not timed")
    parser.add_argument("--worker")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.worker:
        return worker(args.corpus, args.worker, args.out, args.eval, args.warm_up_bytes)
    runs = args.runs.split(",")
    try:
        import gensim  # noqa: F401
    except ImportError:
        runs = [run for run in runs if not run.startswith("gensim")]
        print("gensim is not installed: its run is left out", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="wordvec-gpu-bench-") as scratch:
        rows = [row for run in runs
                if (row := run_child(args.corpus, run, Path(scratch), args.eval, args.warm_up_bytes))]
    from wordvec.cuda import cuda_module

    device = cuda_module().get_current_device()
    name = getattr(device, "name", b"numba's simulator")
    name = name.decode() if isinstance(name, bytes) else str(name)
    header = f"GPU {name}; CPU {cpu_model()} x {os.cpu_count()} threads; {rows[0]['tokens']:,} tokens" if rows else ""
    lines = [header, "", *table(rows)]
    print("\n".join(lines))
    if args.output:
        args.output.write_text(json.dumps({"header": header, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
