"""Where a GPU run's time goes: the trainer's steps timed one by one.

    python bench/gpu_profile.py CORPUS.txt [--arch cbow|skipgram] [--epochs 5] [--device cuda]

Trains a few thousand tokens first (so that compiling is not timed), then the
corpus with word2vec's defaults, timing each step of the run by wrapping it:
the initial weights, the sampling tables, the backend (the copies to the
device), every job's launches (``train_chunk``: they return only once the GPU
has finished), the weights brought back and their check, and the save.  Prints
each step's seconds beside words/s end to end, the figure of bench/gpu.py.
(With ``--device cpu`` the threads' ``train_chunk`` seconds add up past the
wall clock.)
"""
from __future__ import annotations

import argparse
import functools
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's wordvec

from wordvec import checks  # noqa: E402
from wordvec.model import Model  # noqa: E402
from wordvec.trainer import Trainer  # noqa: E402

STEPS = ((Trainer, "_initial_weights"), (Trainer, "_tables"), (Trainer, "_backend"), (Trainer, "_run_epoch"),
         (checks, "check_finite"), (Model, "save"))


def timed(spent: dict, owner, name: str) -> None:
    """Replace ``owner.name`` by a wrapper adding its seconds and calls to ``spent[name]``."""
    original = getattr(owner, name)

    @functools.wraps(original)
    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            seconds, calls = spent.get(name, (0.0, 0))
            spent[name] = (seconds + time.perf_counter() - started, calls + 1)

    setattr(owner, name, wrapper)


def backend_class(device: str):
    """The backend class that trains on ``device``."""
    if device.startswith("cuda"):
        from wordvec.cuda import cuda_module

        cuda_module()  # numba-cuda, imported as the trainer imports it
        from wordvec.cuda.backend import CudaBackend

        return CudaBackend
    from wordvec.backend import CpuBackend

    return CpuBackend


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--arch", choices=("cbow", "skipgram"), default="cbow")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--device", default="cuda")
    args = parser.parse_args()
    settings = dict(dim=100, window=5, negative=5, sample=1e-3, min_count=5, arch=args.arch, epochs=args.epochs,
                    alpha=0.05 if args.arch == "cbow" else 0.025, device=args.device, progress=False)
    with tempfile.TemporaryDirectory(prefix="wordvec-gpu-profile-") as scratch:
        warm_up = Path(scratch) / "warm_up.txt"
        with open(args.corpus, encoding="utf-8") as text:
            warm_up.write_text(text.read(200_000), encoding="utf-8")
        Trainer(**dict(settings, min_count=1, epochs=1)).fit(warm_up)
        spent: dict = {}
        backend = backend_class(args.device)
        for owner, name in (*STEPS, (backend, "train_chunk"), (backend, "weights")):
            timed(spent, owner, name)
        trainer = Trainer(**settings).fit(args.corpus)
        trainer.model_.save(Path(scratch) / "model.wordvec")
    record = trainer.record_
    seconds = record.train_seconds + spent["save"][0]
    print(f"{args.device} {args.arch}, {args.epochs} epochs, {record.corpus_tokens:,} tokens: training "
          f"{record.train_seconds:.3f} s + save {spent['save'][0]:.3f} s, "
          f"{record.corpus_tokens * args.epochs / seconds / 1e6:.1f} M words/s end to end")
    for name, (step_seconds, calls) in spent.items():
        print(f"  {name}: {step_seconds:.3f} s in {calls} call{'s' * (calls != 1)}")


if __name__ == "__main__":
    main()
