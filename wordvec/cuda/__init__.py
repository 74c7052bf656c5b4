"""Training on an NVIDIA GPU through numba-cuda (``pip install 'wordvec[cuda]'``).

This module only names devices and checks settings: ``import wordvec`` never
imports numba-cuda, and :func:`open_backend` imports it when a run asks for
``device="cuda"``.  The kernels are in :mod:`.kernels`, the backend that holds
the weights and the corpus on the device in :mod:`.backend`.
"""
from __future__ import annotations

import importlib.util
import os

from ..errors import WordvecError

#: Limits of the GPU kernels (see :mod:`wordvec.cuda.kernels`): dim, window, noise words (one a
#: lane, beside the target), output rows per example (the Huffman tree's depth).
MAX_DIM = 1024
MAX_WINDOW = 32
MAX_NEGATIVE = 31
MAX_OUTPUTS = 64


def parse_device(device: str) -> tuple[str, int]:
    """``"cpu"`` → ``("cpu", 0)``; ``"cuda"`` / ``"cuda:N"`` → ``("cuda", N)``."""
    text = str(device).strip().lower()
    if text == "cpu":
        return "cpu", 0
    kind, _, index = text.partition(":")
    if kind == "cuda" and (text == "cuda" or index.isdigit()):
        return "cuda", int(index or 0)
    raise WordvecError(f"device must be cpu, cuda or cuda:N (a GPU's number), not {device!r}")


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
    if simulated:
        from .simulator import add_warp_functions

        add_warp_functions()
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
