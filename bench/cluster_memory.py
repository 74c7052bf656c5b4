"""How many copies of the weights a cluster's driver and workers hold, measured,
beside the figures the driver checks memory with before training.

    python bench/cluster_memory.py CORPUS.txt [--workers 2,4] [--dims 100,300] [--epochs 1]

For each number of workers and each dimension, a fresh child process trains
CORPUS (CBOW, negative sampling, word2vec's defaults) on a local Dask cluster of
that many one-thread worker processes and reports its own peak resident memory
(the driver's) and each worker's.  What a process needs besides the weights
(Python, numpy, numba, Dask) does not change with the dimension, so the growth
of the peak from the smallest dimension to the largest, over the growth of the
weights (``W_in`` and ``W_out``), is the number of copies of the weights it holds.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # measure this checkout's wordvec, whatever is installed
from machine import cpu_model  # noqa: E402

CHILD = """
import json, resource, sys
sys.path.insert(0, {root!r})

def peak():
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

if __name__ == "__main__":
    import wordvec
    from wordvec.distributed import driver
    client, cluster = driver.connect("local:{workers}")
    trainer = wordvec.Trainer(dim={dim}, epochs={epochs}, threads=1, progress=False)
    trainer.fit({corpus!r}, cluster=client)
    words = len(trainer.model_.words)
    print(json.dumps({{"weights": 2 * words * {dim} * 4, "driver": peak(),
                      "workers": sorted(client.run(peak).values())}}))
    client.close()
    cluster.close()
"""


def measure(corpus: Path, workers: int, dim: int, epochs: int) -> dict:
    code = CHILD.format(root=str(HERE.parent), workers=workers, dim=dim, epochs=epochs, corpus=str(corpus))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--workers", default="2,4")
    parser.add_argument("--dims", default="100,300")
    parser.add_argument("--epochs", type=int, default=1)
    args = parser.parse_args()
    from wordvec.distributed import driver

    dims = [int(d) for d in args.dims.split(",")]
    print(f"CPU: {cpu_model()}; corpus {args.corpus.name}, {args.epochs} epoch(s), dims {dims}")
    print("| workers | driver peak MB by dim | worker peak MB by dim | driver copies | checked as "
          "| worker copies | checked as |")
    print("|---|---|---|---|---|---|---|")
    for workers in [int(w) for w in args.workers.split(",")]:
        runs = [measure(args.corpus, workers, dim, args.epochs) for dim in dims]
        grown = runs[-1]["weights"] - runs[0]["weights"]
        driver_copies = (runs[-1]["driver"] - runs[0]["driver"]) / grown
        worker_copies = (max(runs[-1]["workers"]) - max(runs[0]["workers"])) / grown
        checked = driver.DRIVER_WEIGHT_COPIES + driver.DRIVER_COPIES_PER_WORKER * workers
        driver_peaks = " / ".join(f"{run['driver'] / 2**20:,.0f}" for run in runs)
        worker_peaks = " / ".join(f"{max(run['workers']) / 2**20:,.0f}" for run in runs)
        print(f"| {workers} | {driver_peaks} | {worker_peaks} | {driver_copies:.2f} | {checked:.2f} | {worker_copies:.2f} | {driver.WORKER_WEIGHT_COPIES:.2f} |")


if __name__ == "__main__":
    main()
