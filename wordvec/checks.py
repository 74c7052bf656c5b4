"""What is refused before work starts: settings, the output folder, disk and memory.

Every check raises :class:`WordvecError` with the numbers that decided it, so a
run that cannot work stops before it reads the corpus (settings, folder) or
before it allocates the weights (disk, memory), never half-way.
"""
from __future__ import annotations

import os
import re
import shutil
from typing import Callable

import numpy as np

from .errors import WordvecError

ARCHS = ("cbow", "skipgram")
LOSSES = ("ns", "hs", "softmax")
#: White space as ``str.isspace`` sees it: it ends a word in the tokenizer and in every file format.
WHITE_SPACE = re.compile(r"\s")


def is_word(text) -> bool:
    """Whether ``text`` can be a word: a non-empty string without white space."""
    return isinstance(text, str) and bool(text) and not WHITE_SPACE.search(text)


def whole_number(value, least: int) -> bool:
    """Whether ``value`` is an integer (not a bool) of at least ``least``."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= least


#: Settings that are on or off (``None`` also for :data:`OPTIONAL_FLAGS`: decided by the other settings).
FLAGS = ("cbow_mean", "lowercase", "whitespace", "dedup", "position_weights", "subwords", "shuffle")
OPTIONAL_FLAGS = ("spread", "add_output")


def is_flag(value) -> bool:
    """Whether ``value`` is on or off: a bool, or 0 or 1 as gensim writes its flags."""
    return isinstance(value, (bool, np.bool_)) or (whole_number(value, 0) and value <= 1)


def check_settings(settings: dict) -> None:
    """Reject bad values of a :meth:`Trainer.settings` dict (plus the checkpoint keys)."""
    for name in FLAGS + OPTIONAL_FLAGS:
        value = settings.get(name, False)
        if not (is_flag(value) or (value is None and name in OPTIONAL_FLAGS)):
            raise WordvecError(f"{name} must be True or False, not {value!r}")
    for name in ("dim", "window", "min_count", "epochs", "threads"):
        if not whole_number(settings[name], 1):
            raise WordvecError(f"{name} must be a whole number of at least 1, not {settings[name]!r}")
    if not whole_number(settings["seed"], 0):
        raise WordvecError(f"seed must be a whole number of at least 0, not {settings['seed']!r}")
    if settings["arch"] not in ARCHS:
        raise WordvecError(f"arch must be one of {', '.join(ARCHS)}, not {settings['arch']!r}")
    if settings["loss"] not in LOSSES:
        raise WordvecError(f"loss must be one of {', '.join(LOSSES)}, not {settings['loss']!r}")
    if settings["loss"] == "ns" and not whole_number(settings["negative"], 1):
        raise WordvecError(f"negative must be at least 1 for negative sampling, not {settings['negative']!r}")
    if settings["max_vocab"] is not None and not whole_number(settings["max_vocab"], 1):
        raise WordvecError(f"max_vocab must be a whole number of at least 1, not {settings['max_vocab']!r}")
    alpha = settings["alpha"]
    if not (isinstance(alpha, (int, float)) and alpha > 0 and np.isfinite(alpha)):
        raise WordvecError(f"alpha must be a number above 0, not {alpha!r}")
    if not (isinstance(settings["min_alpha"], (int, float)) and 0 <= settings["min_alpha"] <= alpha):
        raise WordvecError(f"min_alpha must be between 0 and alpha ({alpha}), not {settings['min_alpha']!r}")
    if not (isinstance(settings["sample"], (int, float)) and 0 <= settings["sample"] < np.inf):
        raise WordvecError(f"sample must be a number, 0 or more, not {settings['sample']!r}")
    exponent = settings.get("ns_exponent", 0.75)
    if not (isinstance(exponent, (int, float)) and not isinstance(exponent, bool) and np.isfinite(exponent)):
        raise WordvecError(f"ns_exponent must be a number, not {exponent!r}")
    if settings.get("position_weights") and settings["arch"] != "cbow":
        raise WordvecError("position weights scale CBOW's context words; they need arch cbow, not "
                           f"{settings['arch']!r}")
    phrases = settings.get("phrases", 0)
    if not whole_number(phrases, 0):
        raise WordvecError(f"phrases must be a whole number of passes, 0 or more, not {phrases!r}")
    if phrases and settings.get("phrase_table"):
        raise WordvecError("give phrases (find new ones) or phrase_table (join saved ones), not both")
    every, minutes = settings.get("checkpoint_every"), settings.get("checkpoint_minutes")
    if every is not None and not whole_number(every, 1):
        raise WordvecError(f"checkpoint_every must be a whole number of epochs, at least 1, not {every!r}")
    if minutes is not None and not (isinstance(minutes, (int, float)) and minutes > 0):
        raise WordvecError(f"checkpoint_minutes must be above 0, not {minutes!r}")
    if (every or minutes) and not settings.get("checkpoint"):
        raise WordvecError("checkpoint_every and checkpoint_minutes need a checkpoint path")


def check_output_folder(path: str | os.PathLike) -> None:
    """The folder that will hold ``path`` exists and can be written, and ``path``
    names a file: a training run saves its model (and its checkpoints, which a
    resumed run reads back) there, which a device or a pipe cannot hold."""
    if os.path.exists(path) and not os.path.isfile(path):
        raise WordvecError(f"{path} is not a file: a run saves its model there and reads it back to resume; "
                           "save to a file, then export it (wordvec export -m MODEL OUT)")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise WordvecError(f"folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise WordvecError(f"cannot write to folder {folder}")


def check_not_the_corpus(output: str | os.PathLike, corpus, what: str = "the corpus",
                         held: str = "the text") -> None:
    """``output`` is not a file that ``corpus`` (a path or a list of them) names:
    the result saved there would replace the text it came from (or ``what`` is
    read, holding ``held``: the vector file that ``wordvec export`` reads)."""
    for source in corpus if isinstance(corpus, (list, tuple)) else [corpus]:
        if (isinstance(source, (str, os.PathLike)) and os.path.isfile(source) and os.path.exists(output)
                and os.path.samefile(source, output)):
            raise WordvecError(f"{output} is {what} being read: saving there would replace {held}; "
                               f"choose another output file")


def check_disk_room(path: str | os.PathLike, needed: int) -> None:
    """The folder of ``path`` has ``needed`` bytes free."""
    folder = os.path.dirname(os.path.abspath(path))
    free = shutil.disk_usage(folder).free
    if free < needed:
        raise WordvecError(f"the model needs about {needed / 2**20:,.0f} MB in {folder}, "
                           f"which has {free / 2**20:,.0f} MB free")


def available_memory() -> int | None:
    """Bytes of memory the system can give without swapping (``MemAvailable``),
    or ``None`` where that is not known."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def check_memory(needed: int, what: str, hint: str = "") -> None:
    """Refuse, with the numbers, when ``needed`` bytes exceed the memory available."""
    available = available_memory()
    if available is not None and needed > available:
        raise WordvecError(f"{what} needs about {needed / 2**20:,.0f} MB of memory, but only "
                           f"{available / 2**20:,.0f} MB are available" + (f"; {hint}" if hint else ""))


#: Rows of each weight matrix checked between segments: the most frequent
#: words, which every stretch of text touches, so a divergence reaches them first.
WATCHED_ROWS = 4096


def divergence_cause(alpha: float, hint: Callable[[], str] = str) -> str:
    """The likely cause of a diverged run: the rate, and what ``hint()`` adds."""
    return f"The learning rate alpha={alpha} is probably too high{hint()}"


def check_finite(alpha: float, *matrices: np.ndarray, rows: int | None = None,
                 hint: Callable[[], str] = str) -> None:
    """Raise when a weight matrix (its first ``rows`` rows, if given) holds NaN or
    infinity; ``hint()``, called only then, names another likely cause."""
    for matrix in matrices:
        part = matrix if rows is None else matrix[:rows]
        if not np.isfinite(part).all():
            raise WordvecError(f"training diverged: the weights hold NaN or infinity, so nothing was saved. "
                               f"{divergence_cause(alpha, hint)}")
