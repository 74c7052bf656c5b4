"""Better vectors from the same text: phrases, position weights and de-duplication,
each alone and all together, against plain wordvec and gensim in one run; and
what the order of training gives: the spread order (the default with negative
sampling: ``plain``) against shuffled chunks (``chunks``; for skip-gram
``skipgram`` against ``skipgram-chunks``, with position weights ``positions``
against ``positions-chunks``, for hierarchical softmax ``hs-spread`` against
``hs``, for skip-gram with subwords ``skipgram-sub-spread`` against
``skipgram-sub``), and shuffled chunks against the corpus's order (``in-order``);
and which rows make the vectors: ``W_in + W_out``, CBOW's default (``plain``,
``positions``), against the input rows alone as word2vec gives them
(``input-only``, ``positions-input-only``), for skip-gram the other way round
(``skipgram-add-output`` against ``skipgram``).

    python bench/better_vectors.py CORPUS.txt [--tokens N] [--configs plain,positions,...] [--seed S] [--output FILE]

CBOW with negative sampling, word2vec's defaults (dim 100, window 5, 5 noise
words, sample 1e-3, min_count 5, 5 epochs, alpha 0.05; skip-gram 0.025), 2 threads; every run a fresh child
process.  All vectors are scored by the same code (gensim's evaluators):

* analogies: questions-words, the 30,000 most frequent words, semantic and
  syntactic sections apart; and again on the questions every configuration
  answered (with phrases among its 30,000 most frequent tokens a model answers
  fewer questions, mostly dropping hard ones, so only these compare fairly);
* phrase analogies: questions-phrases (word2vec's phrase set), accuracy over the
  questions whose four words the model has, and that coverage;
* WordSim-353 Spearman.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # measure this checkout's wordvec, whatever is installed
from machine import cpu_model  # noqa: E402
from train_vs_gensim import COMMON, EVAL, first_tokens, train_gensim  # noqa: E402

THREADS = 2
PHRASE_PASSES = 2
CONFIGS = {  # name: the wordvec settings beyond plain CBOW (None: gensim)
    "gensim": None,
    "plain": {},  # wordvec's defaults: with negative sampling, the spread order; CBOW's vectors W_in + W_out
    "chunks": {"spread": False},  # each epoch's chunks in a fresh order, each trained word after word
    "in-order": {"spread": False, "shuffle": False},  # every epoch in the corpus's order
    "positions": {"position_weights": True},
    "phrases": {"phrases": PHRASE_PASSES},
    "dedup": {"dedup": True},
    "all": {"position_weights": True, "phrases": PHRASE_PASSES, "dedup": True},
    "phrases-npmi": {"phrases": PHRASE_PASSES, "phrase_scoring": "npmi"},
    "window-15": {"window": 15},  # plain CBOW with a wider window, not "all else equal": for the README's advice
    "positions-15": {"position_weights": True, "window": 15},
    "positions-chunks": {"position_weights": True, "spread": False},
    "skipgram": {"arch": "skipgram", "alpha": 0.025},  # not "all else equal" with plain: the base of the next
    "skipgram-chunks": {"arch": "skipgram", "alpha": 0.025, "spread": False},
    "skipgram-sub": {"arch": "skipgram", "alpha": 0.025, "subwords": True},  # in shuffled chunks, its default
    "skipgram-sub-spread": {"arch": "skipgram", "alpha": 0.025, "subwords": True, "spread": True},
    "input-only": {"add_output": False},  # the input rows alone, word2vec's vectors
    "positions-input-only": {"position_weights": True, "add_output": False},
    "skipgram-add-output": {"arch": "skipgram", "alpha": 0.025, "add_output": True},
    "hs": {"loss": "hs"},  # in shuffled chunks, its default
    "hs-spread": {"loss": "hs", "spread": True},
}


def worker(corpus: Path, config: str, out: Path, seed: int) -> None:
    """Child process: train one configuration, save words, vectors and times."""
    if CONFIGS[config] is None:
        words, vectors, prep, train, tokens = train_gensim(corpus, "cbow", "ns", THREADS, "file")
    else:
        import wordvec

        trainer = wordvec.Trainer(threads=THREADS, seed=seed, **{**COMMON, "alpha": 0.05, **CONFIGS[config]}).fit(corpus)
        record = trainer.record_
        words, vectors = trainer.model_.words, np.asarray(trainer.model_.vectors)
        prep, train, tokens = record.prepare_seconds, record.train_seconds, record.corpus_tokens
        if trainer.model_.position_weights is not None:
            np.save(out / "position_weights.npy", trainer.model_.position_weights)
    np.save(out / "vectors.npy", vectors)
    (out / "words.txt").write_text("\n".join(words), encoding="utf-8")
    (out / "times.json").write_text(json.dumps({"prep": prep, "train": train, "tokens": tokens}))


def section_accuracy(sections, semantic: bool) -> float:
    chosen = [s for s in sections if s["section"] != "Total accuracy"
              and s["section"].startswith("gram") != semantic]
    correct = sum(len(s["correct"]) for s in chosen)
    return 100.0 * correct / max(correct + sum(len(s["incorrect"]) for s in chosen), 1)


def word_scores(words: list[str], vectors: np.ndarray, questions: Path = EVAL / "questions-words.txt"):
    """``(scores, gensim KeyedVectors)``: ``questions`` (questions-words) over the 30,000 most
    frequent words (semantic and syntactic apart, and the questions answered) and WordSim-353."""
    scores, kv, _ = scored_questions(words, vectors, questions)
    return scores, kv


def scored_questions(words: list[str], vectors: np.ndarray, questions: Path = EVAL / "questions-words.txt"):
    """:func:`word_scores`, and each answered question's outcome: ``{(section, a, b, c, d): correct}``."""
    import logging

    from gensim.models import KeyedVectors

    logging.getLogger("gensim").setLevel(logging.ERROR)
    kv = KeyedVectors(vectors.shape[1])
    kv.add_vectors(words, vectors)
    analogy, sections = kv.evaluate_word_analogies(str(questions), restrict_vocab=30_000)
    _, spearman, _ = kv.evaluate_word_pairs(str(EVAL / "wordsim353.tsv"))
    total = next(s for s in sections if s["section"] == "Total accuracy")
    outcomes = {(s["section"], *question): correct for s in sections if s is not total
                for correct in (True, False) for question in s["correct" if correct else "incorrect"]}
    return {"vocab": len(words), "answered": len(total["correct"]) + len(total["incorrect"]),
            "analogy": 100.0 * analogy, "semantic": section_accuracy(sections, True),
            "syntactic": section_accuracy(sections, False), "wordsim": float(spearman[0])}, kv, outcomes


def evaluate(folder: Path) -> tuple[dict, dict]:
    """The scores of the vectors in ``folder`` and their analogy outcomes (see :func:`scored_questions`)."""
    words = (folder / "words.txt").read_text(encoding="utf-8").split("\n")
    scores, kv, outcomes = scored_questions(words, np.load(folder / "vectors.npy"))
    phrase_accuracy, phrase_sections = kv.evaluate_word_analogies(str(EVAL / "questions-phrases.txt"),
                                                                  restrict_vocab=len(words))
    asked = sum(1 for line in open(EVAL / "questions-phrases.txt", encoding="utf-8") if not line.startswith(":"))
    answered = sum(len(s["correct"]) + len(s["incorrect"]) for s in phrase_sections
                   if s["section"] == "Total accuracy")
    return {**scores, "phrases_in_30k": sum("_" in word for word in words[:30_000]),
            "phrase_analogy": 100.0 * phrase_accuracy, "phrase_coverage": 100.0 * answered / asked}, outcomes


def score_shared_questions(rows: list[dict], outcomes: list[dict]) -> None:
    """Add to each row its accuracy on the questions every row answered (``shared``):
    phrases push words out of the 30,000 scored, and the questions dropped are
    mostly the harder ones, so the rows' own accuracies are not comparable."""
    shared = set.intersection(*(set(answers) for answers in outcomes))
    syntactic = {question for question in shared if question[0].startswith("gram")}
    for row, answers in zip(rows, outcomes):
        for name, chosen in [("shared", shared), ("shared_semantic", shared - syntactic),
                             ("shared_syntactic", syntactic)]:
            row[name] = 100.0 * sum(answers[q] for q in chosen) / max(len(chosen), 1)
        row["shared_questions"] = len(shared)


def run_child(corpus: Path, config: str, scratch: Path, seed: int) -> tuple[dict, dict]:
    """Train ``config`` in a child process; its row of the table and its analogy outcomes."""
    out = scratch / config
    out.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, __file__, str(corpus), "--worker", config, "--out", str(out), "--seed", str(seed)]
    child = subprocess.run(command, env={**os.environ, "PYTHONWARNINGS": "ignore"}, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE)
    if child.returncode != 0:
        raise SystemExit(f"{config} failed:\n{child.stderr.decode(errors='replace')[-3000:]}")
    times = json.loads((out / "times.json").read_text())
    scores, outcomes = evaluate(out)
    row = {"config": config, **times, "words_per_s": times["tokens"] * COMMON["epochs"] / times["train"], **scores}
    if (out / "position_weights.npy").exists():
        weights = np.load(out / "position_weights.npy")
        window = len(weights) // 2
        row["position_weights"] = {"mean_by_offset": [round(float(mean), 2) for mean in weights.mean(axis=1)],
                                   "negative_share": round(float(np.mean(weights < 0)), 3),
                                   "offsets": [*range(-window, 0), *range(1, window + 1)]}
    return row, outcomes


def table(rows: list[dict]) -> list[str]:
    plain = next((r for r in rows if r["config"] == "plain"), None)
    gensim = next((r for r in rows if r["config"] == "gensim"), None)
    shared = rows[0]["shared_questions"]
    lines = ["| config | vocab | phrases in top 30k | words/s | vs plain | analogy % (questions) | semantic | syntactic | "
             f"vs plain | vs gensim | on the {shared:,} questions all answer (semantic / syntactic) | vs plain | "
             "vs gensim | phrase analogy % (coverage) | WS353 |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        versus = lambda base, key, fmt: fmt.format(row[key] - base[key]) if base else "-"  # noqa: E731
        speed = f"{row['words_per_s'] / plain['words_per_s']:.2f}x" if plain else "-"
        lines.append(f"| {row['config']} | {row['vocab']:,} | {row['phrases_in_30k']:,} | {row['words_per_s']:,.0f} | "
                     f"{speed} | {row['analogy']:.2f} ({row['answered']:,}) | {row['semantic']:.2f} | "
                     f"{row['syntactic']:.2f} | "
                     f"{versus(plain, 'analogy', '{:+.2f}')} | {versus(gensim, 'analogy', '{:+.2f}')} | "
                     f"{row['shared']:.2f} ({row['shared_semantic']:.2f} / {row['shared_syntactic']:.2f}) | "
                     f"{versus(plain, 'shared', '{:+.2f}')} | {versus(gensim, 'shared', '{:+.2f}')} | "
                     f"{row['phrase_analogy']:.2f} ({row['phrase_coverage']:.1f} %) | {row['wordsim']:.3f} |")
    for row in rows:
        if "position_weights" in row:
            weights = row["position_weights"]
            lines.append(f"\n{row['config']}: learned position weights, mean by offset "
                         f"{dict(zip(weights['offsets'], weights['mean_by_offset']))}; "
                         f"{100 * weights['negative_share']:.1f} % of the entries negative")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--tokens", type=int, help="use only the first N tokens")
    parser.add_argument("--configs", default=",".join(CONFIGS))
    parser.add_argument("--output", type=Path, help="also write the table to this file (markdown)")
    parser.add_argument("--seed", type=int, default=1, help="wordvec's seed (the spread between seeds is the noise)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args.corpus, args.worker, args.out, args.seed)
    rows, outcomes = [], []
    with tempfile.TemporaryDirectory(prefix="wordvec-better-") as scratch:
        scratch = Path(scratch)
        corpus = first_tokens(args.corpus, args.tokens, scratch) if args.tokens else args.corpus
        for config in args.configs.split(","):
            row, answers = run_child(corpus, config, scratch, args.seed)
            rows.append(row)
            outcomes.append(answers)
            print(json.dumps(row), flush=True)
    score_shared_questions(rows, outcomes)
    heading = f"CPU: {cpu_model()}; {THREADS} threads; corpus {args.corpus.name}; wordvec's seed {args.seed}"
    lines = [heading, ""] + table(rows)
    print("\n".join(lines))
    if args.output:
        args.output.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
