"""Where a run is, and keeping it: positions, signals, stale temporary files.

A run's *position* is how many epochs are done, how many jobs into the next
one, that epoch's totals so far, each thread's random state and how that
epoch's jobs were laid out; saved with the weights it makes the model file a
checkpoint that ``resume`` continues exactly.
"""
from __future__ import annotations

import contextlib
import os
import signal
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path


#: Totals of an epoch that has not started.
EMPTY_TOTALS = {"loss": 0.0, "examples": 0, "words": 0, "kept": 0, "seconds": 0.0}


@dataclass
class Position:
    """How far a run has got: whole epochs, then jobs into the next epoch (with
    that epoch's totals so far), and each thread's random state.  ``layout`` says
    how the jobs of an epoch were cut and ordered (on one machine the threads'
    stripes and the words a job; on a cluster the workers and a worker's share of
    a round), so that a run resumed inside an epoch skips exactly the jobs done,
    whatever it runs on now (empty in files from before it was kept)."""

    epochs_done: int
    jobs_done: int
    partial: dict
    rng: list
    layout: dict = field(default_factory=dict)

    @classmethod
    def start(cls) -> "Position":
        return cls(0, 0, dict(EMPTY_TOTALS), [])

    @classmethod
    def restore(cls, saved: dict, backend) -> "Position":
        """The position saved in a model file; its random states are put back
        into ``backend`` (see ``set_random_state``)."""
        backend.set_random_state(saved["rng"])
        return cls(saved["epochs_done"], saved["jobs_done"], dict(saved["partial"]), saved["rng"],
                   dict(saved.get("layout", {})))

    @classmethod
    def now(cls, epochs_done: int, jobs_done: int, partial: dict, backend, layout: dict) -> "Position":
        """This position, with the backend's random states as they are now."""
        return cls(epochs_done, jobs_done, partial, backend.random_state(), layout)

    def inside_epoch(self) -> bool:
        """Whether the run stopped between the jobs of an epoch."""
        return self.jobs_done > 0

    def as_dict(self) -> dict:
        return asdict(self)

    def describe(self, jobs_per_epoch: int) -> str:
        if not self.jobs_done:
            return f"{self.epochs_done} epoch{'s' if self.epochs_done != 1 else ''}"
        return (f"{self.epochs_done} epochs and {100 * self.jobs_done / max(jobs_per_epoch, 1):.0f} % "
                f"of epoch {self.epochs_done + 1}")


class StopSignals:
    """While active (a context manager, in the main thread), SIGINT and SIGTERM
    do not kill the run: they are noted in :attr:`caught`, and the trainer stops
    at its next safe point, after saving."""

    NUMBERS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self):
        self.caught: int | None = None

    @contextlib.contextmanager
    def active(self):
        if threading.current_thread() is not threading.main_thread():
            yield self
            return

        def note(number, frame):
            self.caught = number

        previous = {number: signal.signal(number, note) for number in self.NUMBERS}
        try:
            yield self
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)

    @property
    def name(self) -> str:
        return signal.Signals(self.caught).name if self.caught else ""


def remove_stale_temporaries(path: str | os.PathLike) -> list[Path]:
    """Delete the temporary files that saves to ``path`` left behind when their
    process was killed mid-write (``.NAME.PID.*.tmp`` whose process is gone);
    returns what was removed.  Saves through a link write beside its file, so
    that is where they are looked for."""
    path = Path(os.path.realpath(path))
    removed = []
    for temporary in path.parent.glob(f".{path.name}.*.tmp"):
        pid = temporary.name[len(path.name) + 2:].split(".", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            with contextlib.suppress(OSError):
                temporary.unlink()
                removed.append(temporary)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
