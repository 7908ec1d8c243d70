"""Product quantization by k-means on fixed features, and OPQ's rotation.

METHOD.md's reference points for the CIFAR-10 table (PCA + k-means PQ on raw pixels, a
randomly initialised network + k-means PQ), and the search codes fitted to a trained
network's normalised embedding (`fit_opq`, `training.search_fit`). Numpy only.

- [0] Optimized Product Quantization, Ge et al., 2014 (non-parametric OPQ, section 3.1).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from sscq_desktop.core import encode


def kmeans(
    x: npt.NDArray[np.float32], k: int, *, iterations: int = 25, seed: int = 0
) -> npt.NDArray[np.float32]:
    """Lloyd's k-means with k-means++-style random initial picks; empty clusters re-seeded.

    Shape:
        x: (n, d) -> centroids (k, d).
    """
    rng = np.random.default_rng(seed)
    centroids = x[rng.choice(len(x), size=k, replace=False)].copy()  # (k, d)
    for _ in range(iterations):
        d2 = (
            (x * x).sum(1, keepdims=True) - 2 * x @ centroids.T + (centroids**2).sum(1)
        )  # (n, k)
        assign = d2.argmin(axis=1)  # (n,)
        for j in range(k):
            members = x[assign == j]
            centroids[j] = (
                members.mean(axis=0) if len(members) else x[rng.integers(len(x))]
            )
    return centroids.astype(np.float32)


def train_pq_codebook(
    x: npt.NDArray[np.float32], *, n_codebooks: int, ksub: int, seed: int = 0
) -> npt.NDArray[np.float32]:
    """Independent k-means per subspace (the classic PQ training).

    Shape:
        x: (n, M*L) -> codebook (M, ksub, L).
    """
    n, d = x.shape
    if d % n_codebooks:
        raise ValueError(f"dimension {d} is not divisible by M={n_codebooks}")
    sub = x.reshape(n, n_codebooks, d // n_codebooks)  # (n, M, L)
    books = [
        kmeans(np.ascontiguousarray(sub[:, m]), ksub, seed=seed + m)
        for m in range(n_codebooks)
    ]
    return np.stack(books).astype(np.float32)  # (M, ksub, L)


class PcaProjection:
    """PCA fitted on a sample; projects to the top `dim` components.

    Args:
        x: Data to fit on.
        dim: Output dimension.

    Shape:
        x: (n, D); transform: (m, D) -> (m, dim).
    """

    def __init__(self, x: npt.NDArray[np.float32], dim: int) -> None:
        self.mean = x.mean(axis=0)
        _, _, vt = np.linalg.svd(x - self.mean, full_matrices=False)
        comps = np.zeros((x.shape[1], dim), dtype=np.float32)  # (D, dim); zero-padded
        kept = vt[:dim].T  # fewer than dim when fitted on fewer than dim samples
        comps[:, : kept.shape[1]] = kept
        self.components = comps

    def transform(self, x: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Project centred data onto the components."""
        out: npt.NDArray[np.float32] = ((x - self.mean) @ self.components).astype(
            np.float32
        )
        return out


def pq_reconstruct(
    x: npt.NDArray[np.float32], codebook: npt.NDArray[np.float32]
) -> npt.NDArray[np.float32]:
    """Each sub-vector replaced by its nearest codeword (`sscq_desktop.core.encode`'s).

    Shape:
        x: (n, M*L), codebook: (M, K, L) -> (n, M*L).
    """
    codes = encode(x, codebook)  # (n, M)
    books = np.arange(codebook.shape[0])
    out: npt.NDArray[np.float32] = codebook[books, codes].reshape(len(x), -1)
    return out


def fit_opq(
    x: npt.NDArray[np.float32],
    *,
    n_codebooks: int,
    ksub: int,
    iterations: int = 8,
    seed: int = 0,
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """Non-parametric OPQ: an orthogonal rotation R and PQ codebooks of ``x @ R``.

    Alternates k-means PQ on the rotated data with the rotation that best maps the data
    onto its reconstruction (orthogonal Procrustes, one SVD of a D x D matrix), starting
    from the identity; the codebooks are fitted once more on the final rotation.

    Returns:
        ``(rotation, codebook)``: rotation (D, D) orthogonal, codebook (M, ksub, L).

    Shape:
        x: (n, D), n >= ksub.
    """
    if len(x) < ksub:
        raise ValueError(
            f"need at least {ksub} vectors to fit {ksub} codewords, got {len(x)}"
        )
    x = np.ascontiguousarray(x, dtype=np.float32)
    rotation = np.eye(x.shape[1], dtype=np.float32)
    for it in range(iterations):
        rotated = x @ rotation
        codebook = train_pq_codebook(
            rotated, n_codebooks=n_codebooks, ksub=ksub, seed=seed + 1000 * it
        )
        u, _, vt = np.linalg.svd(x.T @ pq_reconstruct(rotated, codebook))
        rotation = (u @ vt).astype(np.float32)
    codebook = train_pq_codebook(
        x @ rotation, n_codebooks=n_codebooks, ksub=ksub, seed=seed + 1000 * iterations
    )
    return rotation, codebook
