"""Group window embeddings into speakers: spectral clustering with the eigengap count (3D-Speaker's
recipe), then merge clusters whose centroids are the same voice and fold tiny ones into their nearest.

Spectral clustering picks the number of speakers from the affinity matrix itself; the merge step
catches what it over-splits (one voice in two moods), and ``num``/``low``/``high`` bound it when the
user knows how many spoke.
"""

from __future__ import annotations

import numpy as np

MERGE_COSINE = 0.75  # two clusters whose centroids are this close are one voice
MIN_SHARE = 0.04  # a cluster holding fewer of the windows than this is folded into its nearest
# Spectral clustering is O(n^3) in windows (an hour of speech holds ~6000): beyond this many, the
# speakers are found on an even sample of the windows and every window joins its nearest speaker.
SPECTRAL_LIMIT = 1500


def _normalise(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-9)


def _kmeans(points: np.ndarray, k: int) -> np.ndarray:
    from sklearn.cluster import KMeans  # noqa: PLC0415 - heavy (TID253): loaded only in the process that runs the model

    return KMeans(n_clusters=k, n_init=10, random_state=0).fit_predict(points)


def _spectral(unit: np.ndarray, low: int, high: int, num: int | None) -> np.ndarray:
    n = len(unit)
    sim = unit @ unit.T
    keep = max(6, int(np.ceil(0.08 * n)))  # p-pruning: keep each row's strongest links only
    pruned = np.zeros_like(sim)
    top = np.argsort(-sim, axis=1)[:, :keep]
    rows = np.arange(n)[:, None]
    pruned[rows, top] = sim[rows, top]
    affinity = np.clip(0.5 * (pruned + pruned.T), 0.0, None)
    np.fill_diagonal(affinity, 0.0)
    laplacian = np.diag(affinity.sum(axis=1)) - affinity
    values, vectors = np.linalg.eigh(laplacian)
    if num is None:
        gaps = np.diff(values[: high + 1])
        num = int(np.argmax(gaps[low - 1 :]) + low) if len(gaps) >= low else low
    return _kmeans(vectors[:, :num], num)


def _relabel(labels: np.ndarray) -> np.ndarray:
    """Number the speakers 0, 1, ... in order of first appearance."""
    order: dict[int, int] = {}
    for label in labels:
        order.setdefault(int(label), len(order))
    return np.array([order[int(label)] for label in labels], dtype=int)


def _centroids(unit: np.ndarray, labels: np.ndarray) -> dict[int, np.ndarray]:
    return {int(k): _normalise(unit[labels == k].mean(axis=0, keepdims=True))[0] for k in np.unique(labels)}


def _merge(unit: np.ndarray, labels: np.ndarray, low: int, fixed: bool) -> np.ndarray:
    labels = labels.copy()
    while len(np.unique(labels)) > low:
        cents = _centroids(unit, labels)
        keys = sorted(cents)
        counts = {k: int((labels == k).sum()) for k in keys}
        small = min(keys, key=lambda k: counts[k])
        best, pair = -2.0, None
        for i, a in enumerate(keys):
            for b in keys[i + 1 :]:
                score = float(cents[a] @ cents[b])
                if score > best:
                    best, pair = score, (a, b)
        if not fixed and pair and best >= MERGE_COSINE:
            labels[labels == pair[1]] = pair[0]
        elif counts[small] < MIN_SHARE * len(labels):
            nearest = max((k for k in keys if k != small), key=lambda k: float(cents[small] @ cents[k]))
            labels[labels == small] = nearest
        else:
            break
    return labels


def cluster(embeddings: np.ndarray, *, num: int | None = None, low: int = 1, high: int = 8) -> np.ndarray:
    """One speaker label per embedding row, numbered in order of first appearance."""
    n = len(embeddings)
    if n == 0:
        return np.zeros(0, dtype=int)
    unit = _normalise(np.asarray(embeddings, dtype=np.float64))
    if n > SPECTRAL_LIMIT:
        pick = np.linspace(0, n - 1, SPECTRAL_LIMIT).astype(int)
        sample = cluster(unit[pick], num=num, low=low, high=high)
        cents = _centroids(unit[pick], sample)
        keys = sorted(cents)
        return _relabel(np.array(keys)[np.argmax(unit @ np.stack([cents[k] for k in keys]).T, axis=1)])
    if num is not None:
        low = high = num
    high = max(low, min(high, n))
    if n < 2 * max(low, 2) or high == 1:
        return np.zeros(n, dtype=int) if high == 1 or n < 2 else _relabel(_kmeans(unit, min(max(low, 1), n)))
    labels = _spectral(unit, max(low, 1), high, num)
    return _relabel(_merge(unit, labels, max(low, 1), fixed=num is not None))
