"""2-D coordinates for word vectors: PCA or t-SNE (scikit-learn, imported on use).

Shared by the PNG pictures (:mod:`wordvec.plot`) and the browser explorer
(:mod:`wordvec.explore`); neither matplotlib nor a web server is imported here.
"""
from __future__ import annotations

import numpy as np

from .errors import WordvecError

PROJECTIONS = {"pca": "PCA", "tsne": "t-SNE"}


def project(vectors: np.ndarray, method: str = "pca", seed: int = 0) -> np.ndarray:
    """2-D coordinates for the rows of ``vectors``.

    ``pca`` keeps the two directions of largest variance (distances within that
    plane are kept exactly); ``tsne`` keeps neighbourhoods, with a perplexity of
    ``min(30, (n − 1) / 3)`` so that it works for a handful of words too.
    """
    vectors = np.asarray(vectors, dtype=np.float64)
    if len(vectors) < 2:
        raise WordvecError("a map needs at least two words")
    if method == "pca":
        from sklearn.decomposition import PCA

        return PCA(n_components=2, random_state=seed).fit_transform(vectors)
    if method == "tsne":
        from sklearn.manifold import TSNE

        if len(vectors) < 4:
            raise WordvecError("t-SNE needs at least four words; use --method pca")
        perplexity = min(30.0, (len(vectors) - 1) / 3)
        return TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(vectors)
    raise WordvecError(f"unknown projection '{method}' (use {' or '.join(PROJECTIONS)})")
