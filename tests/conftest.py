import importlib.util
from pathlib import Path

import pytest

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


@pytest.fixture(scope="session")
def demo_prefix(tmp_path_factory):
    """The first 3,000 lines of the demo corpus (about 90k tokens)."""
    path = tmp_path_factory.mktemp("demo") / "demo_prefix.txt"
    with open(DEMO, encoding="utf-8") as source:
        path.write_text("".join(line for _, line in zip(range(3000), source)), encoding="utf-8")
    return path
