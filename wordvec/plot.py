"""Pictures of the vector space (PNG): 2-D word maps, analogy parallelograms and
loss curves.

Projections come from scikit-learn, drawing from matplotlib; both are imported
by this module only, which only the plotting commands import.  Figures are
drawn on matplotlib's ``Figure`` object directly (no pyplot state, no display
needed) and saved atomically.
"""
from __future__ import annotations

import io
import os

import numpy as np
from matplotlib.figure import Figure

from .errors import WordvecError
from .io import atomic_write
from .keyedvectors import KeyedVectors
from .projection import PROJECTIONS, project

SIZE = (10, 8)  # inches
DPI = 100  # so a picture is 1000 x 800 pixels


def _save(figure: Figure, path: str | os.PathLike) -> None:
    """Draw the PNG in memory (matplotlib seeks in what it writes, which a pipe
    such as ``-o /dev/stdout`` cannot), then write it atomically."""
    drawn = io.BytesIO()
    figure.savefig(drawn, format="png", dpi=DPI)
    try:
        with atomic_write(path) as temporary, open(temporary, "wb") as out:
            out.write(drawn.getbuffer())
    except OSError as error:
        raise WordvecError(f"cannot write {path}: {error.strerror or error}") from None


def _figure(title: str):
    figure = Figure(figsize=SIZE, dpi=DPI, layout="constrained")
    axes = figure.subplots()
    axes.set_title(title)
    return figure, axes


def plot_words(vectors: KeyedVectors, words: list[str], path: str | os.PathLike, method: str = "pca",
               seed: int = 0) -> np.ndarray:
    """A labelled 2-D map of ``words``; returns their coordinates."""
    points = project(vectors[words], method, seed)
    figure, axes = _figure(f"{len(words)} words, {PROJECTIONS[method]} of {vectors.dim} dimensions")
    axes.scatter(points[:, 0], points[:, 1], s=18, color="tab:blue")
    for word, (x, y) in zip(words, points):
        axes.annotate(word, (x, y), xytext=(4, 3), textcoords="offset points", fontsize=10)
    axes.margins(0.12)
    _save(figure, path)
    return points


def analogy_plane(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """An orthonormal 2 x d basis of the plane through the relation ``b − a`` and
    ``c − a``: the plane in which ``a, b, c`` and ``b − a + c`` form a parallelogram."""
    first = b - a
    second = c - a
    first = first / max(np.linalg.norm(first), 1e-12)
    second = second - (second @ first) * first
    norm = np.linalg.norm(second)
    if norm < 1e-9:
        raise WordvecError("the three words lie on one line; there is no plane to draw")
    return np.stack([first, second / norm])


def plot_analogy(vectors: KeyedVectors, a: str, b: str, c: str, path: str | os.PathLike,
                 method: str = "3cosadd") -> str:
    """"a is to b as c is to ?": the four words (unit vectors) in the plane of the
    relation, with arrows a → b and c → predicted word, and a dashed arrow from c
    to the point b − a + c that the prediction is nearest to; returns the prediction."""
    predicted = vectors.analogy(a, b, c, topn=1, method=method)[0][0]
    units = np.stack([vectors.unit(w) for w in (a, b, c, predicted)]).astype(np.float64)
    target = units[1] - units[0] + units[2]
    basis = analogy_plane(units[0], units[1], units[2])
    centre = units.mean(axis=0)
    points = (np.vstack([units, target]) - centre) @ basis.T
    figure, axes = _figure(f"{a} : {b} :: {c} : {predicted}")
    arrow = dict(arrowstyle="->", lw=2)
    for start, stop, colour in ((0, 1, "tab:blue"), (2, 3, "tab:blue"), (0, 2, "tab:gray"), (1, 3, "tab:gray")):
        axes.annotate("", points[stop], points[start], arrowprops={**arrow, "color": colour})
    axes.annotate("", points[4], points[2], arrowprops={**arrow, "color": "tab:red", "linestyle": "--", "lw": 1})
    axes.scatter(points[:3, 0], points[:3, 1], s=40, color="tab:blue", zorder=3)
    axes.scatter(points[3, 0], points[3, 1], s=120, color="tab:red", marker="*", zorder=3, label=f"answer: {predicted}")
    axes.scatter(points[4, 0], points[4, 1], s=60, facecolors="none", edgecolors="tab:red", zorder=3,
                 label=f"{b} − {a} + {c}")
    for word, (x, y) in zip((a, b, c, predicted), points):
        axes.annotate(word, (x, y), xytext=(6, 6), textcoords="offset points", fontsize=13)
    axes.set_aspect("equal", adjustable="datalim")
    axes.margins(0.2)
    axes.legend(loc="best")
    _save(figure, path)
    return predicted


def plot_loss(record: dict, path: str | os.PathLike) -> None:
    """The training loss: per epoch, and along the run where the record has it."""
    history = record.get("loss_history") or []
    if not history:
        raise WordvecError("the model's record holds no loss history (it was not trained by wordvec)")
    figure, axes = _figure("training loss (mean −log p per example)")
    curve = np.array(record.get("loss_curve") or [], dtype=np.float64).reshape(-1, 2)
    epochs = np.arange(1, len(history) + 1)
    if len(curve):
        per_epoch = curve[-1, 0] / len(history)
        axes.plot(curve[:, 0] / per_epoch, curve[:, 1], color="tab:blue", lw=1.2, label="along the run")
        axes.set_xlabel("epochs")
    else:
        axes.set_xlabel("epoch")
    axes.plot(epochs if not len(curve) else epochs - 0.5, history, "o-", color="tab:red", label="epoch mean")
    axes.set_ylabel("loss")
    axes.legend(loc="best")
    _save(figure, path)
