"""The machine a benchmark ran on, printed beside every figure: the CPU model as
``/proc/cpuinfo`` names it, with its last-level cache (two machines of the same
name have been seen with 32 MiB and 260 MiB) and whether it has AVX-512."""
from __future__ import annotations

import platform
from pathlib import Path


def cpu_model() -> str:
    """For example ``"Intel(R) Xeon(R) Processor (L3 260 MiB, AVX-512)"``."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or "unknown CPU"
    name = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")),
                platform.processor() or "unknown CPU")
    details = [f"L3 {l3}"] if (l3 := _l3_size()) else []
    if " avx512f" in info:
        details.append("AVX-512")
    return f"{name} ({', '.join(details)})" if details else name


def _l3_size() -> str | None:
    """The last-level cache of CPU 0 in MiB, from sysfs (``"266240K"`` → ``"260 MiB"``)."""
    try:
        size = Path("/sys/devices/system/cpu/cpu0/cache/index3/size").read_text().strip()
    except OSError:
        return None
    units = {"K": 1 / 1024, "M": 1, "G": 1024}
    if not size or size[-1] not in units or not size[:-1].isdigit():
        return None
    return f"{int(size[:-1]) * units[size[-1]]:g} MiB"
