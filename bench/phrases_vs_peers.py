"""Phrase detection side by side: wordvec, the C tool's word2phrase and gensim's Phrases.

    python bench/phrases_vs_peers.py CORPUS.txt [--word2phrase PATH] [--output FILE]

Each tool reads CORPUS.txt, finds phrases with word2phrase's settings
(min_count 5, threshold 100, one pass) and writes the joined text; every run is
a fresh child process, timed from start to exit (reading, counting, scoring,
writing) with its peak memory.  word2phrase is compiled from the ``word2vec``
package's source on PyPI unless ``--word2phrase`` names a built one.

Agreement: the 10,000 phrases word2phrase joined most often, and the share of
them that the other tool's text also joins.  gensim scores pairs with the
number of distinct words and pairs it counted as N, so at the same threshold
it finds other phrases; its agreement is shown for information.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import c_tools
from machine import cpu_model

HERE = Path(__file__).resolve().parent
SETTINGS = dict(min_count=5, threshold=100)
GENSIM = """
import sys
from gensim.models.phrases import Phrases
from gensim.models.word2vec import LineSentence
corpus, out = sys.argv[1], sys.argv[2]
phrases = Phrases(LineSentence(corpus), min_count={min_count}, threshold={threshold})
with open(out, "w", encoding="utf-8") as stream:
    for sentence in LineSentence(corpus):
        stream.write(" ".join(phrases[sentence]) + "\\n")
"""


def timed(command: list[str]) -> tuple[float, float]:
    """Wall seconds and peak resident MB of ``command``, run to its end."""
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"{command[0]} failed:\n{child.stderr.read().decode(errors='replace')[-3000:]}")
    return seconds, usage.ru_maxrss / 1024


def joined(path: Path) -> Counter:
    """How often each joined token (holding ``_``) occurs in a text."""
    counts: Counter = Counter()
    with open(path, encoding="utf-8") as text:
        for line in text:
            counts.update(token for token in line.split() if "_" in token)
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--word2phrase", type=Path, help="a built word2phrase [default: build it]")
    parser.add_argument("--top", type=int, default=10_000)
    parser.add_argument("--output", type=Path, help="also write the table to this file (markdown)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="wordvec-phrases-") as scratch:
        scratch = Path(scratch)
        binary = args.word2phrase or c_tools.build("word2phrase", scratch)
        outputs = {name: scratch / f"{name}.txt" for name in ("wordvec", "wordvec-2-passes", "word2phrase", "gensim")}
        wordvec = [sys.executable, "-c", "from wordvec.cli import main; main()", "phrases", str(args.corpus),
                   "--min-count", str(SETTINGS["min_count"]), "--threshold", str(SETTINGS["threshold"])]
        commands = {
            "wordvec": wordvec + ["-o", str(outputs["wordvec"])],
            "wordvec-2-passes": wordvec + ["--passes", "2", "-o", str(outputs["wordvec-2-passes"])],
            "word2phrase": [str(binary), "-train", str(args.corpus), "-output", str(outputs["word2phrase"]),
                            "-min-count", str(SETTINGS["min_count"]), "-threshold", str(SETTINGS["threshold"]),
                            "-debug", "0"],
            "gensim": [sys.executable, "-c", GENSIM.format(**SETTINGS), str(args.corpus), str(outputs["gensim"])],
        }
        results = {}
        for name, command in commands.items():
            results[name] = timed(command)
            print(f"{name}: {results[name][0]:.1f} s, {results[name][1]:.0f} MB", flush=True)
        found = {name: joined(path) for name, path in outputs.items()}
    reference = [token for token, _ in found["word2phrase"].most_common(args.top)]
    lines = [f"CPU: {cpu_model()}; corpus {args.corpus.name}; min_count {SETTINGS['min_count']}, "
             f"threshold {SETTINGS['threshold']}", "",
             f"| tool | seconds | peak MB | distinct phrases | joins | speed vs gensim | "
             f"agreement with word2phrase's top {len(reference):,} |", "|---|---|---|---|---|---|---|"]
    for name, (seconds, peak) in results.items():
        agreement = sum(token in found[name] for token in reference) / max(len(reference), 1)
        lines.append(f"| {name} | {seconds:.1f} | {peak:.0f} | {len(found[name]):,} | {sum(found[name].values()):,} | "
                     f"{results['gensim'][0] / seconds:.1f}x | {100 * agreement:.2f} % |")
    print("\n".join(lines))
    if args.output:
        args.output.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
