"""The cluster's rounds run in this process, without a cluster: how the accuracy depends
on the number of workers, the rule that combines their changes and the round length.

    python bench/cluster_rounds.py CORPUS.txt [--workers 1,2,4,8] [--combine coherent,sum,sqrt,mean]
                                   [--round-words N] [--epochs 5] [--seed 1]

Each configuration cuts the corpus into the blocks a cluster of that size reads
(Dask's ``read_bytes``, computed here), encodes them as its workers do, plans
the rounds as ``wordvec.distributed.driver`` does and calls the same pure round
function for every worker's task, one after another, with the same seeds and
the same momentum, so the vectors are those a cluster of that size produces
(checked: 4 workers, coherent, seed 1, 37.61 % here and on a LocalCluster);
only the time means nothing.  CBOW-NS, word2vec's defaults; analogy accuracy
is wordvec's evaluator over the 30,000 most frequent words.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # measure this checkout's wordvec, whatever is installed
EVAL = HERE.parent.parent / "shared" / "eval"


def simulate(corpus: Path, workers: int, how: str, round_words: int | None, epochs: int,
             momentum: float | None = None, seed: int = 1) -> dict:
    import dask

    import wordvec
    from wordvec.distributed import rounds
    from wordvec.distributed.driver import (block_places, epoch_parts, plan_parts, round_settings, round_tasks,
                                            task_seed, text_blocks)
    from wordvec.evaluate import evaluate_analogies
    from wordvec.trainer import _Schedule, training_tables

    trainer = wordvec.Trainer(epochs=epochs, threads=1, seed=seed)
    vocab, _ = trainer.prepare(corpus)
    # The corpus cut into the blocks a cluster of this size reads, encoded as its workers encode them.
    _, delayed_blocks, sizes = text_blocks(corpus, workers)
    words = "\n".join(vocab.words)
    blocks = [rounds.encode_block(data, words, trainer.lowercase, trainer.whitespace)
              for data in dask.compute(*delayed_blocks, scheduler="sync")]
    W_in, W_out, _ = trainer._initial_weights(vocab, None)
    parts = plan_parts([rounds.block_summary(block) for block in blocks], workers, block_places(sizes, workers))
    tables = training_tables(vocab, trainer.sample, trainer.loss, trainer._ns_exponent())
    settings = {key: getattr(trainer, key) for key in ("arch", "loss", "window", "negative", "cbow_mean")}
    schedule = _Schedule(trainer._alpha(), trainer.min_alpha, sum(w for part in parts for *_, w in part) * epochs)
    plan = round_settings(workers, vocab.counts, epochs, round_words, momentum)
    carried = (np.zeros_like(W_in), np.zeros_like(W_out)) if plan.eta else None
    started, count = time.perf_counter(), 0
    for epoch in range(1, epochs + 1):
        cursors, round_index = [0] * len(parts), 0
        ordered = epoch_parts(parts, trainer.shuffle, trainer.seed, epoch)
        while tasks := round_tasks(ordered, cursors, plan.share):
            alpha_start, alpha_stop = schedule.alpha(), schedule.advance(sum(task.words for task in tasks))
            results = [rounds.train_round(W_in, W_out, [(blocks[b], first, stop) for b, first, stop in task.pieces],
                                          tables, settings, task_seed(trainer.seed, epoch, round_index, i),
                                          alpha_start, alpha_stop, 1)
                       for i, task in enumerate(tasks)]
            rounds.combine(W_in, W_out, results, how, carried, plan.eta, plan.summed_from, plan.power)
            round_index += 1
            count += 1
    score = evaluate_analogies(wordvec.KeyedVectors(vocab.words, W_in), EVAL / "questions-words.txt",
                               restrict_vocab=30_000)
    return {"workers": workers, "combine": how, "momentum": plan.eta, "round_words": plan.share * workers,
            "rounds": count, "analogy": 100 * score.accuracy, "seconds": time.perf_counter() - started}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--workers", default="1,2,4,8")
    parser.add_argument("--combine", default="coherent,sum,sqrt,mean")
    parser.add_argument("--round-words", type=int, help="[default: the driver's, driver.default_round_words]")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--momentum", type=float, help="[default: the driver's, rounds.block_momentum]")
    parser.add_argument("--seed", type=int, default=1, help="the run's seed (the spread between seeds is the noise)")
    args = parser.parse_args()
    print("| workers | combine | momentum | words a round | rounds | analogy % |")
    print("|---|---|---|---|---|---|")
    for workers in (int(n) for n in args.workers.split(",")):
        for how in args.combine.split(",") if workers > 1 else ["sum"]:
            row = simulate(args.corpus, workers, how, args.round_words, args.epochs, args.momentum, args.seed)
            print(f"| {workers} | {how} | {row['momentum']:g} | {row['round_words']:,} | {row['rounds']} | "
                  f"{row['analogy']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
