"""The CUDA backend: the weights, the sampling tables and the encoded corpus live
on the GPU for the whole run; each call trains one job of ids in two launches
(:func:`wordvec.cuda.kernels.subsample`, then :func:`wordvec.cuda.kernels.train`)
and brings back four numbers.  The weights come back to the host only when the
trainer asks (:meth:`CudaBackend.weights`: checks, checkpoints, the end)."""
from __future__ import annotations

import warnings

import numpy as np

from ..corpus import SENTENCE_END
from ..errors import WordvecError
from ..order import spread_stride

_OBJECTIVES = {"ns": 0, "hs": 1}
_ARCHS = {"cbow": 0, "skipgram": 1}
#: Warps per multiprocessor where the driver cannot say (numba's simulator): 64, the most
#: an sm_80 or sm_90 multiprocessor holds at once.
_SIMULATED_WARPS_PER_SM = 64
_MIB = 2 ** 20


class CudaBackend:
    """One GPU trains jobs of :attr:`job_words` words, one after another."""

    #: The trainer gives the GPU jobs of at least this many words (enough centres to
    #: fill every multiprocessor and to spread the blocks far apart), and acts on a
    #: signal or a due checkpoint after each.
    job_words = 1 << 24
    threads = 1
    #: The fewest centres a warp trains in a launch.  Thousands of warps on a launch of
    #: a few hundred centres would train them all at once from the same weights, their
    #: steps to the few rows of a small vocabulary overwriting each other (Hogwild
    #: assumes sparse updates).  A job of the bench corpus gives each warp hundreds.
    min_centres_per_warp = 64
    #: Warps in a block of the training kernel, each training its own centres.
    warps_per_block = 4
    #: A cap on the training kernel's registers a thread, or None for the compiler's
    #: choice: fewer registers let more warps run at once, each with fewer loads in flight
    #: (bench/gpu.py measures both, ``@w`` and ``@r`` in a run's name).
    max_registers = None
    #: Update the weights by atomic adds, so that no warp's step to a row that others
    #: write at the same moment is lost, instead of by reads and writes (Hogwild, as
    #: the CPU threads do; bench/gpu.py sets them against each other, ``@a1``).
    atomic_updates = False

    def __init__(self, cuda, device_index: int, vectors: np.ndarray, output_weights: np.ndarray, tables: dict,
                 arch: str, loss: str, window: int, negative: int, cbow_mean: bool, seed: int, ids: np.ndarray,
                 say=None, blocks: int | None = None):
        from . import kernels

        self.cuda, self.kernels = cuda, kernels
        cuda.select_device(device_index)
        self.vectors, self.output_weights = vectors, output_weights
        self.position_weights = None
        self._train = kernels.train_kernel(_ARCHS[arch], _OBJECTIVES[loss], "row_ids" in tables, bool(cbow_mean),
                                           vectors.shape[1], self.warps_per_block, self.max_registers,
                                           self.atomic_updates)
        self.window, self.negative = int(window), int(negative)
        self.seed, self.launches = int(seed), 0
        self.blocks = blocks  # the training kernel's grid: see _resident_blocks
        self._say = say
        self._place(device_index, ids, tables, say)

    def memory_plan(self, ids: np.ndarray, tables: dict) -> dict:
        """Bytes the run needs on the device: ``weights`` (both matrices), ``tables``
        (the sampling tables), ``flags`` (one job's subsampling flags) and ``ids`` (all of them)."""
        return {"weights": self.vectors.nbytes + self.output_weights.nbytes,
                "tables": sum(array.nbytes for array in tables.values()),
                "flags": min(len(ids), self.job_words + (1 << 20)),  # a job ends at a sentence end past job_words
                "ids": ids.nbytes}

    def _place(self, device_index: int, ids: np.ndarray, tables: dict, say) -> None:
        """Copy the weights and tables to the device, and the ids too if they fit (else
        each job's ids are copied at its launch); say what takes how much memory."""
        from ..backend import kernel_tables  # the CPU kernels' tables, stand-ins included

        cuda = self.cuda
        tables = kernel_tables(tables)._asdict()
        if tables["hs_points"].shape[1] > self.kernels.MAX_OUTPUTS:
            raise WordvecError(f"--device cuda: the Huffman tree is {tables['hs_points'].shape[1]} deep, "
                               f"more than the GPU kernels' {self.kernels.MAX_OUTPUTS}; use --loss ns")
        plan = self.memory_plan(ids, tables)
        free = cuda.current_context().get_memory_info()[0]
        needed = plan["weights"] + plan["tables"] + plan["flags"]
        if needed > free:
            raise WordvecError(f"the weights and tables need {needed / _MIB:,.1f} MB on "
                               f"cuda:{device_index}, which has {free / _MIB:,.1f} MB free; lower --dim or --max-vocab")
        resident = sum(plan.values()) <= free
        if say is not None:
            name = getattr(cuda.get_current_device(), "name", b"simulator")
            name = name.decode() if isinstance(name, bytes) else str(name)
            free_text = "" if free == float("inf") else f", {free / _MIB:,.0f} MB free"
            where = "held there" if resident else "streamed a job at a time (they do not fit)"
            say(f"cuda:{device_index} ({name}{free_text}): weights {plan['weights'] / _MIB:,.1f} MB, tables "
                f"{(plan['tables'] + plan['flags']) / _MIB:,.1f} MB, ids {plan['ids'] / _MIB:,.1f} MB {where}")
        self._W_in = cuda.to_device(self.vectors.reshape(-1))  # flat, as the training kernel takes them
        self._W_out = cuda.to_device(self.output_weights.reshape(-1))
        self._tables = {name: cuda.to_device(array) for name, array in tables.items()}
        self._ids = cuda.to_device(np.ascontiguousarray(ids, dtype=np.int32)) if resident else None
        self._job_ids = None
        self._kept = cuda.device_array(plan["flags"], dtype=np.uint8)
        self._loss = cuda.device_array(1, dtype=np.float64)
        self._counts = cuda.device_array(3, dtype=np.int64)

    def train_chunk(self, slot: int, ids: np.ndarray, start: int, stop: int,
                    alpha_start: float, alpha_stop: float) -> tuple[float, int, int, int]:
        """Train ``ids[start:stop]``; returns ``(loss sum, examples, words read, words kept)``."""
        n = stop - start
        if n <= 0:
            return 0.0, 0, 0, 0
        if n > len(self._kept):
            self._kept = self.cuda.device_array(n, dtype=np.uint8)
        if self._ids is not None:
            device_ids, offset = self._ids, start
        else:
            if self._job_ids is None or n > len(self._job_ids):
                self._job_ids = self.cuda.device_array(n, dtype=np.int32)
            self._job_ids[:n].copy_to_device(np.ascontiguousarray(ids[start:stop], dtype=np.int32))
            device_ids, offset = self._job_ids, 0
        self._loss.copy_to_device(np.zeros(1, np.float64))
        self._counts.copy_to_device(np.zeros(3, np.int64))
        seed = self._launch_seed()
        with warnings.catch_warnings():  # numba's simulator runs the wrapping uint64 arithmetic in numpy
            warnings.filterwarnings("ignore", "overflow encountered", RuntimeWarning)
            self._launch(device_ids, offset, n, seed, alpha_start, alpha_stop)
        loss, counts = self._loss.copy_to_host(), self._counts.copy_to_host()
        return float(loss[0]), int(counts[0]), int(counts[1]), int(counts[2])

    def _launch(self, device_ids, offset: int, n: int, seed: np.uint64, alpha_start: float, alpha_stop: float):
        """Subsample the job's ids, then train its centres."""
        tables = self._tables
        threads = self.kernels.SUBSAMPLE_THREADS
        self.kernels.subsample[-(-n // threads), threads](
            device_ids, offset, n, tables["keep_prob"], SENTENCE_END, seed, self._kept, self._counts)

        def train(grid: int, centres: int):
            self._train[grid, self.threads_per_block](
                device_ids, offset, centres, self._kept, self._W_in, self._W_out, tables["noise_prob"],
                tables["noise_alias"], tables["hs_points"], tables["hs_codes"], tables["hs_lengths"],
                tables["row_starts"], tables["row_ids"], self.window, self.negative, SENTENCE_END,
                spread_stride(centres), seed, float(alpha_start), float(alpha_stop), self._loss, self._counts)

        if self.blocks is None:
            train(1, 0)  # trains nothing: compiles the kernel for these arguments, so its occupancy is known
            self.blocks = self._resident_blocks()
        train(self.grid(n), n)

    @property
    def threads_per_block(self) -> int:
        """The training kernel's threads a block: a warp's for each of :attr:`warps_per_block`."""
        return self.warps_per_block * self.kernels.WARP

    def grid(self, n: int) -> int:
        """The training kernel's blocks for a launch of ``n`` centres: the blocks the GPU
        runs at once, fewer when that would leave a warp under :attr:`min_centres_per_warp`."""
        return max(1, min(self.blocks, n // (self.min_centres_per_warp * self.warps_per_block)))

    def _resident_blocks(self) -> int:
        """How many blocks of the compiled training kernel the GPU runs at once: on every
        multiprocessor as many as its registers, shared memory and block limit allow
        (the driver's occupancy calculator).  That is the grid: each block trains an
        equal share of a launch's centres, so a block beyond it would start only when
        one of the first had trained its whole share, and the launch would take twice
        as long."""
        compiled = next(iter(getattr(self._train, "overloads", {}).values()), None)
        if compiled is None or not hasattr(compiled, "max_cooperative_grid_blocks"):  # numba's simulator
            device = self.cuda.get_current_device()
            return getattr(device, "MULTIPROCESSOR_COUNT", 1) * _SIMULATED_WARPS_PER_SM // self.warps_per_block
        blocks = max(1, compiled.max_cooperative_grid_blocks(self.threads_per_block))
        if self._say is not None:
            self._say(f"training kernel: {compiled.regs_per_thread} registers a thread, {blocks:,} blocks of "
                      f"{self.threads_per_block} threads at once")
        return blocks

    def _launch_seed(self) -> np.uint64:
        """The seed of the next launch, from the run's seed and the launch's number, so
        that a resumed run draws what the uninterrupted run would have drawn."""
        self.launches += 1
        state = np.random.SeedSequence([self.seed, self.launches]).generate_state(1, np.uint64)
        return np.uint64(state[0])

    def weights(self, rows: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The host's copies of ``W_in`` and ``W_out`` (or of their first ``rows`` rows,
        all that the divergence check after every job reads), brought up to date."""
        copies = self.vectors[:rows], self.output_weights[:rows]
        for device, host in zip((self._W_in, self._W_out), copies):
            device[:host.size].copy_to_host(host.reshape(-1))
        return copies

    def random_state(self) -> list[int]:
        """What a checkpoint keeps of the random state: the number of launches so far."""
        return [self.launches]

    def set_random_state(self, state: list[int]) -> None:
        if state:
            self.launches = int(state[0])
