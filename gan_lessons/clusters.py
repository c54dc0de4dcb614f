"""Clusters of unlabelled images: k-means on principal components, numpy only (lesson 04's
self-conditioned DCGAN, Liu et al. 2020, learns from the cluster ids of the unlabelled digits)."""

import numpy as np

from . import UserError
from .data import load_mnist


def _squared_distances(points, centres):
    """(N, D) x (K, D) -> (N, K) squared Euclidean distances, float32."""
    d = (points * points).sum(1, keepdims=True) - 2.0 * points @ centres.T + (centres * centres).sum(1)
    return np.maximum(d, 0.0)


def _nearest(points, centres, chunk=8192):
    """Index of the nearest centre and the squared distance to it, for each point (in chunks)."""
    labels = np.empty(len(points), dtype=np.int32)
    dist = np.empty(len(points), dtype=np.float32)
    for i in range(0, len(points), chunk):
        d = _squared_distances(points[i:i + chunk], centres)
        labels[i:i + chunk] = d.argmin(1)
        dist[i:i + chunk] = d[np.arange(len(d)), labels[i:i + chunk]]
    return labels, dist


def cluster_images(x, k, seed=0, pca_dims=50, iters=30, pca_samples=10000):
    """Group images without labels: k-means (k-means++ start, Lloyd iterations) on their first
    ``pca_dims`` principal components. Returns cluster ids (N,) int32, numbered by size (0 = largest).

    ``x``: (N, H, W) or (N, H, W, C), any numbers (uint8 or floats). The principal axes come from the
    SVD of at most ``pca_samples`` images; everything runs in float32 and in chunks, so 60,000 MNIST
    digits need a few tens of MB. Deterministic for a given ``seed``.
    """
    x = np.asarray(x)
    if x.ndim not in (3, 4):
        raise UserError(f"images must be shaped (N, H, W) or (N, H, W, C), got {x.shape}")
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or not 0 < k <= len(x):
        raise UserError(f"k must be a whole number of clusters between 1 and the {len(x)} images, got {k!r}")
    if not isinstance(pca_dims, int) or pca_dims <= 0 or not isinstance(iters, int) or iters <= 0:
        raise UserError(f"pca_dims and iters must be positive ints, got {pca_dims!r} and {iters!r}")
    rng = np.random.default_rng(seed)
    flat = x.reshape(len(x), -1)
    subset = flat[np.sort(rng.choice(len(x), min(pca_samples, len(x)), replace=False))].astype(np.float32)
    mean = subset.mean(0)
    _, _, axes = np.linalg.svd(subset - mean, full_matrices=False)
    axes = axes[:pca_dims].T  # (features, dims)
    points = np.concatenate([(flat[i:i + 8192].astype(np.float32) - mean) @ axes
                             for i in range(0, len(x), 8192)])

    # k-means++ (Arthur & Vassilvitskii 2007): each new centre drawn with probability ∝ squared distance.
    centres = points[[rng.integers(len(points))]]
    dist = _nearest(points, centres)[1]
    for _ in range(1, k):
        total = float(dist.sum(dtype=np.float64))
        pick = rng.choice(len(points), p=dist / total) if total > 0 else rng.integers(len(points))
        centres = np.concatenate([centres, points[[pick]]])
        dist = np.minimum(dist, _squared_distances(points, points[[pick]])[:, 0])

    labels = None
    for _ in range(iters):  # Lloyd: assign to the nearest centre, move each centre to its mean
        new_labels, dist = _nearest(points, centres)
        if labels is not None and np.array_equal(new_labels, labels):
            break
        labels = new_labels
        counts = np.bincount(labels, minlength=k)
        # Each cluster's rows summed in order, as np.add.at(sums, labels, points) would, to the bit, in a third
        # of its time (np.add.at was two thirds of clustering MNIST).
        sums = np.stack([points[labels == c].sum(0) for c in range(k)])
        centres = np.where(counts[:, None] > 0, sums / np.maximum(counts, 1)[:, None], centres)
        for empty in np.flatnonzero(counts == 0):  # an empty cluster restarts at the worst-fitted point
            far = int(dist.argmax())
            centres[empty], dist[far] = points[far], 0.0
    labels = _nearest(points, centres)[0]
    order = np.argsort(-np.bincount(labels, minlength=k), kind="stable")  # rename: 0 = largest
    rank = np.empty(k, dtype=np.int32)
    rank[order] = np.arange(k)
    return rank[labels]


_MNIST_CLUSTERS = {}


def mnist_clusters(k, seed=0):
    """:func:`cluster_images` of the 60,000 MNIST training digits (no labels used), kept in memory."""
    if (k, seed) not in _MNIST_CLUSTERS:
        (x_train, _), _ = load_mnist()
        _MNIST_CLUSTERS[k, seed] = cluster_images(x_train, k, seed=seed)
    return _MNIST_CLUSTERS[k, seed].copy()
