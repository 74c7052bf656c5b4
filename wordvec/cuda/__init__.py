"""Training on an NVIDIA GPU through numba-cuda (``pip install 'wordvec[cuda]'``).

This module only names devices and checks settings: ``import wordvec`` never
imports numba-cuda, and :func:`open_backend` imports it when a run asks for
``device="cuda"``.  The kernels are in :mod:`.kernels`, the backend that holds
the weights and the corpus on the device in :mod:`.backend`.
"""
from __future__ import annotations

import functools
import importlib.util
import math
import os

from ..errors import WordvecError

#: Limits of the GPU kernels (see :mod:`wordvec.cuda.kernels`): dim, window, noise words (one a
#: lane, beside the target), output rows per example (the Huffman tree's depth).
MAX_DIM = 1024
MAX_WINDOW = 32
MAX_NEGATIVE = 31
MAX_OUTPUTS = 64
#: The golden ratio's fraction: consecutive multiples of ``0.618 n`` modulo ``n`` stay far apart.
_SPREAD = (math.sqrt(5.0) - 1.0) / 2.0


def parse_device(device: str) -> tuple[str, int]:
    """``"cpu"`` → ``("cpu", 0)``; ``"cuda"`` / ``"cuda:N"`` → ``("cuda", N)``."""
    text = str(device).strip().lower()
    if text == "cpu":
        return "cpu", 0
    kind, _, index = text.partition(":")
    if kind == "cuda" and (text == "cuda" or index.isdigit()):
        return "cuda", int(index or 0)
    raise WordvecError(f"device must be cpu, cuda or cuda:N (a GPU's number), not {device!r}")


@functools.lru_cache(maxsize=256)
def spread_stride(n: int) -> int:
    """A stride ``s`` coprime to ``n`` for which the centres ``q · s mod n`` of consecutive
    ``q`` (the warps that run at the same time) are spread over the whole range, every
    position coming once: the one nearest ``0.618 n`` whose ratio ``s / n`` has no partial
    quotient above 3 in its continued fraction.  The golden ratio's are all 1, and by
    the three-distance theorem the first ``G`` multiples of such a ratio are then at
    least about ``n / (5 G)`` apart; the stride nearest ``0.618 n`` alone can have a
    large quotient (``n = 1,048,583``: 36, and centres 11 apart among 4,224 warps)."""
    if n <= 2:
        return 1
    target = int(n * _SPREAD)
    best = (n, 1)  # (largest quotient, stride)
    for distance in range(min(n, 1 << 16)):
        for stride in (target - distance, target + 1 + distance):
            if 0 < stride < n and math.gcd(stride, n) == 1:
                best = min(best, (_largest_partial_quotient(stride, n), stride))
                if best[0] <= 3:
                    return best[1]
    return best[1]  # none so flat nearby (never seen): the flattest of those tried


def _largest_partial_quotient(numerator: int, denominator: int) -> int:
    """The largest of the partial quotients ``a_1, a_2, …`` of ``numerator / denominator`` (< 1)."""
    largest = 0
    while numerator:
        largest = max(largest, denominator // numerator)
        numerator, denominator = denominator % numerator, numerator
    return largest


def check_settings(settings: dict) -> None:
    """Refuse, in one line, what the GPU kernels do not train."""
    unsupported = [name for name, on in (("position weights", settings["position_weights"]),
                                         ("the full softmax (--loss softmax)", settings["loss"] == "softmax"))
                   if on]
    if unsupported:
        raise WordvecError(f"--device cuda trains CBOW and skip-gram with negative sampling or hierarchical "
                           f"softmax, with or without subwords; not yet {' or '.join(unsupported)}: train "
                           f"those with --device cpu")
    for name, value, limit in (("dim", settings["dim"], MAX_DIM), ("window", settings["window"], MAX_WINDOW),
                               ("negative", settings["negative"], MAX_NEGATIVE)):
        if value > limit:
            raise WordvecError(f"--device cuda takes --{name} up to {limit}, not {value}")


def restore_numpy_names() -> None:
    """Give numpy back ``row_stack`` (dropped in numpy 2.5), which numba-cuda 0.30
    registers when it is imported: called only on the way to the GPU, never by
    ``import wordvec``."""
    import numpy as np

    if not hasattr(np, "row_stack"):
        np.row_stack = np.vstack


def cuda_module():
    """numba's CUDA module, or a one-line error saying what is missing."""
    simulated = os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"
    if importlib.util.find_spec("numba_cuda") is None and not simulated:
        raise WordvecError("--device cuda needs the GPU extra, which is not installed: "
                           "pip install 'wordvec[cuda]' (numba-cuda and its CUDA 12 libraries)")
    restore_numpy_names()
    from numba import cuda

    if not cuda.is_available():
        raise WordvecError("--device cuda: no CUDA GPU is usable here (numba-cuda found no NVIDIA driver or "
                           "device); train with --device cpu")
    return cuda


def check_device(device_index: int):
    """numba's CUDA module when GPU ``device_index`` can be used, else a one-line error."""
    cuda = cuda_module()
    if device_index >= len(cuda.gpus):
        raise WordvecError(f"there is no GPU cuda:{device_index}: this machine has {len(cuda.gpus)} "
                           f"(cuda:0{f'..cuda:{len(cuda.gpus) - 1}' if len(cuda.gpus) > 1 else ''})")
    return cuda


def open_backend(device_index: int, **arguments):
    """A :class:`wordvec.cuda.backend.CudaBackend` on GPU ``device_index``."""
    from .backend import CudaBackend

    return CudaBackend(check_device(device_index), device_index, **arguments)
