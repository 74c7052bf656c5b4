"""What numba's CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``) lacks to run wordvec's kernels.

The simulator runs each thread of a block as a Python thread, but has no warp
functions (numba-cuda 0.30).  :func:`add_warp_functions` gives it ``syncwarp``,
``shfl_xor_sync`` and ``ballot_sync``: the 32 lanes of a warp meet at a barrier
of their own; an exchange posts each lane's value (in one of two buffers, taken
in turn, so that a lane's next post never overwrites a value another lane has
yet to read), all meet, and each reads what the instruction returns.  The
kernels call them with every lane of a warp.  Imported only when the simulator
is on, so that ``--device cuda`` runs there as on a GPU, slowly.

The GPU kernels share the CPU kernels' random numbers (:mod:`wordvec.kernels`'s
``mix64``, ``kept_at``, …), compiled for the GPU with the functions they call.
The simulator runs a device function as Python, but a CPU kernel it calls would
run compiled, and hand a uint64 back as a Python int that the next kernel takes
as an int64 (refused above 2^63): :func:`python_of` gives them as Python throughout.
"""
from __future__ import annotations

import threading
import types

import numpy as np


def add_warp_functions() -> None:
    """Give the simulator's ``cuda`` module the warp functions the kernels call (once)."""
    from numba.cuda.simulator.kernelapi import FakeCUDAModule

    if getattr(FakeCUDAModule, "syncwarp", None) is _syncwarp:
        return
    FakeCUDAModule.syncwarp = _syncwarp
    FakeCUDAModule.shfl_xor_sync = _shfl_xor_sync
    FakeCUDAModule.ballot_sync = _ballot_sync


_MADE = threading.Lock()


def _warp_of(thread):
    """The lane's warp: its barrier and two posting buffers (made by its first lane to ask)."""
    if "warp" not in thread.__dict__:
        block, first = thread._manager, thread.thread_id - thread.thread_id % 32
        with _MADE:
            warps = block.__dict__.setdefault("warps", {})
            if first not in warps:
                warps[first] = (threading.Barrier(min(32, int(np.prod(block._block_dim)) - first)), ({}, {}))
        thread.warp, thread.exchanges = warps[first], 0
    return thread.warp


def _exchange(value, answer):
    """Post this lane's ``value``; when every lane of the warp has, return ``answer(posted, lane)``."""
    thread = threading.current_thread()
    barrier, buffers = _warp_of(thread)
    thread.exchanges += 1
    posted = buffers[thread.exchanges % 2]
    posted[thread.thread_id] = value
    barrier.wait()
    return answer(posted, thread.thread_id)


def _syncwarp(self, mask=0xFFFFFFFF):
    _warp_of(threading.current_thread())[0].wait()


def _shfl_xor_sync(self, mask, value, offset):
    return _exchange(value, lambda posted, lane: posted[lane ^ offset])


def _ballot_sync(self, mask, predicate):
    def ballot(posted, lane):
        first = lane - lane % 32
        return sum(1 << i for i in range(32) if posted.get(first + i, False))

    return _exchange(bool(predicate), ballot)


def python_of(kernel):
    """The Python of the CPU kernel ``kernel`` (a numba dispatcher), calling the
    Python of the kernels it calls in turn."""
    from numba.core.registry import CPUDispatcher

    function = kernel.py_func
    called = {name: python_of(value) for name, value in function.__globals__.items()
              if name in function.__code__.co_names and isinstance(value, CPUDispatcher)}
    return types.FunctionType(function.__code__, {**function.__globals__, **called}, function.__name__,
                              function.__defaults__, function.__closure__)
