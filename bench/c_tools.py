"""Google's word2vec C tools (word2vec, word2phrase), built for the benchmarks from
the ``word2vec`` package's source distribution on PyPI (its ``includes`` folder
holds the original C files), with the flags of their own Makefile."""
from __future__ import annotations

import subprocess
import sys
import tarfile
from pathlib import Path

SOURCE = "word2vec==0.11.1"
CFLAGS = ["-lm", "-pthread", "-O3", "-march=native", "-funroll-loops", "-Wno-unused-result"]


def build(program: str, scratch: Path) -> Path:
    """``program`` ("word2vec" or "word2phrase") compiled into ``scratch``."""
    archives = list(scratch.glob("word2vec-*.tar.gz"))
    if not archives:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-binary", ":all:", "--no-deps", "-q",
                        "-d", str(scratch), SOURCE], check=True)
        archives = list(scratch.glob("word2vec-*.tar.gz"))
    with tarfile.open(archives[0]) as archive:
        archive.extractall(scratch, filter="data")
    source = next(scratch.glob(f"word2vec-*/word2vec/includes/{program}.c"))
    binary = scratch / program
    subprocess.run(["gcc", str(source), "-o", str(binary), *CFLAGS], check=True)
    return binary
