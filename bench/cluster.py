"""Training on a local Dask cluster against in-process threads, and accuracy as workers are added.

    python bench/cluster.py CORPUS.txt                       # in-process 2 threads; 1, 2, 4 and 8 workers
    python bench/cluster.py CORPUS.txt --workers 2 --epochs 1
    python bench/cluster.py CORPUS.txt --workers 2 --repeat 3   # three pairs, seeds 1, 2 and 3
    python bench/cluster.py CORPUS.txt --workers 2 --subwords   # fastText's n-grams (3..6, 2 M buckets)
    python bench/cluster.py CORPUS.txt --workers 4 --subwords --arch skipgram
    python bench/cluster.py CORPUS.txt --workers 2 --epochs 1 --phrases 1 --dedup   # the additions, on both

CBOW-NS with word2vec's defaults (``--arch skipgram``: skip-gram, alpha 0.025).  The in-process run uses 2 threads; each
cluster is a ``LocalCluster`` of N worker processes with 1 thread each, on the
same machine (so 4 and 8 workers share 2 cores: their time means nothing, their
accuracy is the point).  Printed per run: preparing seconds (counting and
encoding, with ``--dedup`` and ``--phrases`` finding the repeats and phrases),
training seconds and words/s, rounds,
megabytes sent to and from the workers per round, the share of round time
spent outside the kernels (round wall time on the driver minus the slowest
task's kernel time), and analogy accuracy (30,000 most frequent words) and
WordSim-353, scored by gensim's evaluation code as in ``train_vs_gensim.py``.
"""
from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))


def score(model) -> tuple[float, float]:
    import logging
    import tempfile

    import numpy as np
    from train_vs_gensim import evaluate

    logging.getLogger("distributed").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as folder:
        np.save(Path(folder) / "vectors.npy", np.asarray(model.vectors))
        (Path(folder) / "words.txt").write_text("\n".join(model.words), encoding="utf-8")
        return evaluate(Path(folder))


def run(corpus: Path, epochs: int, workers: int | None, how: str = "coherent", seed: int = 1,
        subwords: bool = False, arch: str = "cbow", additions: dict | None = None) -> dict:
    """One run in process (``workers`` None) or on a local cluster; ``additions``: the
    trainer's phrases, dedup and position weights settings."""
    import wordvec

    trainer = wordvec.Trainer(epochs=epochs, threads=2 if workers is None else 1, seed=seed, subwords=subwords,
                              arch=arch, **(additions or {}))
    if workers is None:
        trainer.fit(corpus)
    else:  # what `wordvec train --cluster local:N` starts
        from wordvec.distributed.driver import fit_on_cluster

        fit_on_cluster(trainer, corpus, f"local:{workers}", how=how)
    record = trainer.record_
    analogy, wordsim = score(trainer.model_)
    result = {"workers": workers, "prepare_seconds": record.prepare_seconds, "train_seconds": record.train_seconds,
              "words_per_second": record.words_per_second, "analogy": analogy, "wordsim": wordsim}
    cluster = record.cluster
    if cluster:
        rounds = max(cluster["rounds"], 1)
        result.update(rounds=cluster["rounds"], mb_to=cluster["bytes_to_workers"] / rounds / 2**20,
                      mb_from=cluster["bytes_from_workers"] / rounds / 2**20,
                      outside=1 - cluster["kernel_seconds"] / max(cluster["round_seconds"], 1e-9),
                      round_seconds=cluster["round_seconds"] / rounds)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--workers", default="1,2,4,8", help="cluster sizes to run")
    parser.add_argument("--combine", default="coherent",
                        help="how the workers' changes combine (coherent, sum, sqrt, mean)")
    parser.add_argument("--no-threads", action="store_true", help="skip the in-process run")
    parser.add_argument("--seed", type=int, default=1, help="the runs' seed (the spread between seeds is the noise)")
    parser.add_argument("--subwords", action="store_true", help="train with subwords (wordvec's defaults for them)")
    parser.add_argument("--arch", default="cbow", choices=("cbow", "skipgram"))
    parser.add_argument("--phrases", type=int, default=0, help="passes of phrase finding (word2phrase's defaults)")
    parser.add_argument("--dedup", action="store_true", help="drop repeated sentences")
    parser.add_argument("--position-weights", action="store_true", help="CBOW with position weights")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run the whole sequence this many times, with seeds S, S+1, ..., and print the median "
                             "speed ratio (the speed of these shared machines drifts from one run to the next) and "
                             "the mean analogy difference (one seed's result moves by about ±0.8 points)")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    from machine import cpu_model

    additions = dict(phrases=args.phrases, dedup=args.dedup, position_weights=args.position_weights)
    named = [name for name, on in (("subwords", args.subwords), (f"{args.phrases} phrase pass(es)", args.phrases),
                                   ("dedup", args.dedup), ("position weights", args.position_weights)) if on]
    print(f"{cpu_model()}; {'CBOW' if args.arch == 'cbow' else 'skip-gram'}-NS"
          f"{' with ' + ', '.join(named) if named else ''}, word2vec's defaults, "
          f"{args.epochs} epochs; changes combined by {args.combine}; "
          f"seed{'s' if args.repeat > 1 else ''} {', '.join(str(args.seed + k) for k in range(args.repeat))}\n")
    print("| run | prep s | train s | words/s | rounds | MB to workers / round | MB from workers / round | "
          "round s | outside kernels | analogy % | WS353 |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    sizes = ([] if args.no_threads else [None]) + [int(n) for n in args.workers.split(",")]
    repeats = []
    for repeat in range(args.repeat):
        results = []
        for workers in sizes:
            result = run(args.corpus, args.epochs, workers, args.combine, args.seed + repeat, args.subwords,
                         args.arch, additions)
            results.append(result)
            name = ("in-process, 2 threads" if workers is None
                    else f"{workers} worker{'s' if workers > 1 else ''} x 1 thread")
            cluster = (f"{result['rounds']} | {result['mb_to']:.0f} | {result['mb_from']:.0f} | "
                       f"{result['round_seconds']:.2f} | {100 * result['outside']:.1f} %") if workers else "| | | |"
            print(f"| {name} | {result['prepare_seconds']:.1f} | {result['train_seconds']:.1f} | "
                  f"{result['words_per_second']:,.0f} | {cluster} | "
                  f"{result['analogy']:.2f} | {result['wordsim']:.3f} |", flush=True)
        repeats.append(results)
    if args.no_threads:
        return
    print()
    for index, workers in enumerate(sizes[1:], start=1):
        ratios = [results[index]["words_per_second"] / results[0]["words_per_second"] for results in repeats]
        gains = [results[index]["analogy"] - results[0]["analogy"] for results in repeats]
        print(f"{workers} workers: words/s {statistics.median(ratios):.2f}x in-process "
              f"({', '.join(f'{ratio:.2f}x' for ratio in ratios)}); analogy {statistics.mean(gains):+.2f} points "
              f"({', '.join(f'{gain:+.2f}' for gain in gains)})")


if __name__ == "__main__":
    main()
