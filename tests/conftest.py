import importlib.util
import os
import subprocess
import sys
from pathlib import Path

# The CUDA tests run wordvec's GPU kernels in numba's simulator, which numba
# chooses when it is first imported; set NUMBA_ENABLE_CUDASIM=0 on a machine
# with a GPU to run them on the device instead.
os.environ.setdefault("NUMBA_ENABLE_CUDASIM", "1")

import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "corpora" / "demo.txt"


def _load_demo_generator():
    spec = importlib.util.spec_from_file_location("make_demo", ROOT / "corpora" / "make_demo.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def demo_generator():
    """The generator of the demo corpus (corpora/make_demo.py)."""
    return _load_demo_generator()


#: Centres of a job in spread order (the default) that cut an epoch of ``demo_prefix`` into 6 jobs, as
#: many as its chunks in the other orders (``wordvec.trainer.JOB_STEPS``).
DEMO_JOB_STEPS = 16384


@pytest.fixture(scope="session")
def demo_prefix(tmp_path_factory):
    """The first 3,000 lines of the demo corpus (about 90k tokens)."""
    path = tmp_path_factory.mktemp("demo") / "demo_prefix.txt"
    with open(DEMO, encoding="utf-8") as source:
        path.write_text("".join(line for _, line in zip(range(3000), source)), encoding="utf-8")
    return path


@pytest.fixture
def runner(tmp_path, monkeypatch):
    """A click runner in ``tmp_path``, with its own state folder and no default model."""
    monkeypatch.setenv("WORDVEC_HOME", str(tmp_path / "state"))
    monkeypatch.delenv("WORDVEC_MODEL", raising=False)
    monkeypatch.chdir(tmp_path)
    return CliRunner()


def start_training(corpus, output, *extra, cwd=None) -> subprocess.Popen:
    """``wordvec train`` in a child process (one thread, min count 1), returned once
    its epochs have begun (numba imported, the corpus encoded): it has said how
    much memory it needs.  Its stderr is left to read."""
    command = [sys.executable, "-m", "wordvec.cli", "train", str(corpus), "-o", str(output), "--threads", "1",
               "--min-count", "1", *extra]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=cwd)
    for line in process.stderr:
        if "training needs about" in line:
            break
    return process
