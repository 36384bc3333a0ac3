"""Attractor clusters per class and 2-D embeddings of states (ODE paper, Sec. 3.1, Figs. 1, 2).

* :func:`cluster_counts`: how many attractor clusters each class ends in (Tables 1 and 3,
  row "clusters"; Fig. 2). Per class, the final states are standardised (scikit-learn's
  ``StandardScaler``: each coordinate to zero mean and unit variance over the class), reduced
  to their first 50 principal components (``PCA``, exact SVD) and clustered by HDBSCAN
  (scikit-learn's ``sklearn.cluster.HDBSCAN``, McInnes et al. 2017; spec settings
  ``min_cluster_size = 15``, ``min_samples = 5``, the authors' code). HDBSCAN labels the points
  of no dense region as noise; the count is the number of clusters found and the noise
  fraction is reported beside it (the authors' one shown output, class 1: 3 clusters, 57 %
  noise).
* :func:`embed`: a 2-D picture of states (Fig. 1: 500 test trajectories at ``t = 0, 15,
  40``) by UMAP (McInnes et al. 2018; the optional extra ``pip install 'hopfield-lab[umap]'``,
  spec settings ``n_neighbors = 15``, ``min_dist = 0.1``, seeded) or, when umap-learn is
  absent or not wanted, by PCA onto the top principal components.

Both take states of any model (``x(T)`` of an ODE, ``v_K`` of a finite-step model, the
equilibrium of a layered model); they assume nothing but Euclidean geometry of the state.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

import numpy as np
import torch
from torch import Tensor

from hopfield_lab.errors import ConfigError, check_choice, check_int, check_range

__all__ = [
    "EMBED_METHODS",
    "ClusterCounts",
    "Embedding",
    "cluster_counts",
    "embed",
    "hdbscan_labels",
    "umap_available",
]

EMBED_METHODS = ("auto", "umap", "pca")


def _as_matrix(x: Any, name: str) -> np.ndarray:
    if not isinstance(x, Tensor) or x.dim() != 2 or not x.is_floating_point():
        got = (
            f"shape {tuple(x.shape)} and dtype {x.dtype}"
            if isinstance(x, Tensor)
            else type(x).__name__
        )
        raise ConfigError(f"{name} must be a floating-point tensor of shape (B, N); got {got}")
    if not bool(torch.isfinite(x).all()):
        raise ConfigError(f"{name} must be finite; it contains NaN or Inf")
    return x.detach().cpu().to(torch.float64).numpy()


def _as_labels(labels: Any, b: int) -> Tensor:
    if not isinstance(labels, Tensor) or labels.shape != (b,):
        got = tuple(labels.shape) if isinstance(labels, Tensor) else type(labels).__name__
        raise ConfigError(f"labels must have shape ({b},) to match x; got {got}")
    if labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool:
        raise ConfigError(f"labels must be an integer tensor; got dtype {labels.dtype}")
    return labels.detach().cpu()


def hdbscan_labels(
    x: Tensor,
    *,
    min_cluster_size: int = 15,
    min_samples: int = 5,
    n_components: int | None = 50,
    standardize: bool = True,
    allow_single_cluster: bool = False,
) -> np.ndarray:
    """HDBSCAN cluster labels of one point set, after ``StandardScaler`` and PCA.

    Args:
        x: ``(n, N)`` states (e.g. the final states of one class).
        min_cluster_size: HDBSCAN's smallest cluster (>= 2). Default 15 (spec).
        min_samples: HDBSCAN's neighbourhood size for core distances (>= 1). Default 5
            (spec).
        n_components: principal components kept (>= 1; capped at ``min(n, N)``); None skips
            the PCA. Default 50 (spec).
        standardize: scale each coordinate to unit variance first. Default True (spec).
        allow_single_cluster: let HDBSCAN return one cluster. Default False, as in the
            authors' call (and both HDBSCAN libraries): a set that is one dense blob then
            reads **0 clusters, all noise**, so read a count of 0 with its noise fraction.

    Returns:
        ``(n,)`` int labels, ``-1`` for noise and ``0 .. k-1`` for ``k`` clusters. A set
        smaller than ``min_cluster_size`` (or than ``min_samples + 1``) is all noise.

    Raises:
        ConfigError: for a malformed input or setting.
    """
    from sklearn.cluster import HDBSCAN
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import StandardScaler

    check_int("min_cluster_size", min_cluster_size, 2)
    check_int("min_samples", min_samples, 1)
    if n_components is not None:
        check_int("n_components", n_components, 1)
    z = _as_matrix(x, "x")
    n, dim = z.shape
    if n < max(min_cluster_size, min_samples + 1):
        return np.full(n, -1, dtype=np.int64)
    if standardize:
        z = StandardScaler().fit_transform(z)
    if n_components is not None:
        z = PCA(n_components=min(n_components, n, dim), svd_solver="full").fit_transform(z)
    model = HDBSCAN(
        min_cluster_size=min_cluster_size,
        min_samples=min_samples,
        allow_single_cluster=bool(allow_single_cluster),
        copy=True,
    )
    return np.asarray(model.fit_predict(z), dtype=np.int64)


@dataclass(frozen=True)
class ClusterCounts:
    """Attractor clusters of each class (see :func:`cluster_counts`).

    Attributes:
        classes: the class labels, ascending.
        counts: clusters HDBSCAN found in each class.
        noise: fraction of each class's points labelled noise, in ``[0, 1]``.
        sizes: points of each class.
        assignments: ``(B,)`` long, each point's cluster within its own class (``-1``:
            noise), in the order of the input.
    """

    classes: tuple[int, ...]
    counts: tuple[int, ...]
    noise: tuple[float, ...]
    sizes: tuple[int, ...]
    assignments: Tensor

    @property
    def median_count(self) -> float:
        """Median of the per-class counts (spec criterion 6: <= 3)."""
        return float(np.median(self.counts))

    @property
    def max_count(self) -> int:
        """Largest per-class count (spec criterion 6: <= 5)."""
        return max(self.counts)

    def rows(self) -> list[dict[str, Any]]:
        """One JSON-ready dict per class: ``class``, ``clusters``, ``noise``, ``n``."""
        return [
            {"class": c, "clusters": k, "noise": f, "n": n}
            for c, k, f, n in zip(self.classes, self.counts, self.noise, self.sizes, strict=True)
        ]


def cluster_counts(
    x: Tensor,
    labels: Tensor,
    *,
    min_cluster_size: int = 15,
    min_samples: int = 5,
    n_components: int | None = 50,
    standardize: bool = True,
    allow_single_cluster: bool = False,
) -> ClusterCounts:
    """Per-class attractor cluster counts with HDBSCAN (ODE paper, Tables 1 and 3; Fig. 2).

    For each class separately (the paper clusters within a class, "inter-class clustering"):
    :func:`hdbscan_labels` on the class's states, i.e. ``StandardScaler`` then PCA to
    ``n_components`` then ``HDBSCAN(min_cluster_size, min_samples)``. The spec's protocol is
    500 test images per class at ``x(T)``.

    Args:
        x: ``(B, N)`` states (normally the final states ``x(T)``).
        labels: ``(B,)`` integer labels (true classes, or predictions).
        min_cluster_size, min_samples, n_components, standardize, allow_single_cluster:
            see :func:`hdbscan_labels`; the defaults are the spec's settings (with them a
            class gathered in a single attractor reads 0 clusters and noise 1.0).

    Returns:
        A :class:`ClusterCounts` (counts, noise fractions, sizes, per-point assignments).

    Raises:
        ConfigError: for mismatched shapes, non-integer labels or bad settings.
    """
    z = _as_matrix(x, "x")
    lab = _as_labels(labels, z.shape[0])
    assign = torch.full((z.shape[0],), -1, dtype=torch.long)
    classes, counts, noise, sizes = [], [], [], []
    for c in torch.unique(lab).tolist():  # loop over classes
        mask = lab == c
        got = hdbscan_labels(
            x.detach()[mask.to(x.device)],
            min_cluster_size=min_cluster_size,
            min_samples=min_samples,
            n_components=n_components,
            standardize=standardize,
            allow_single_cluster=allow_single_cluster,
        )
        assign[mask] = torch.from_numpy(got)
        classes.append(int(c))
        counts.append(len({int(k) for k in got if k >= 0}))
        noise.append(float(np.mean(got < 0)))
        sizes.append(int(mask.sum()))
    return ClusterCounts(tuple(classes), tuple(counts), tuple(noise), tuple(sizes), assign)


class Embedding(NamedTuple):
    """A low-dimensional picture of states (see :func:`embed`).

    Attributes:
        points: ``(B, n_components)`` float64 coordinates.
        method: ``"umap"`` or ``"pca"``, the method that was used.
    """

    points: Tensor
    method: str


def umap_available() -> bool:
    """Whether umap-learn is installed (the optional extra ``hopfield-lab[umap]``)."""
    return importlib.util.find_spec("umap") is not None


def embed(
    x: Tensor,
    *,
    method: Literal["auto", "umap", "pca"] = "auto",
    n_components: int = 2,
    n_neighbors: int = 15,
    min_dist: float = 0.1,
    seed: int = 0,
    fit_on: Tensor | None = None,
) -> Embedding:
    """Embed states in ``n_components`` dimensions by UMAP, or by PCA as the fallback.

    ODE paper, Fig. 1 (UMAP of 500 test trajectories at ``t = 0, 15, 40``; the spec: one fit
    per time, 50 per class, ``n_neighbors = 15``, ``min_dist = 0.1``, seeded). UMAP
    (umap-learn) preserves neighbourhoods; it is an optional extra, ``pip install
    'hopfield-lab[umap]'``. PCA (scikit-learn, exact SVD, deterministic signs) projects on the
    top principal components: linear, so distances between far clusters stay meaningful but
    curved manifolds overlap.

    Args:
        x: ``(B, N)`` states to embed.
        method: ``"auto"`` (default: UMAP when installed, else PCA), ``"umap"`` (raises when
            umap-learn is absent) or ``"pca"``.
        n_components: output dimension (>= 1, at most ``min(B, N)`` for PCA). Default 2.
        n_neighbors: UMAP's neighbourhood size (>= 2; capped at ``B - 1``). Default 15.
        min_dist: UMAP's minimum distance between embedded points (>= 0). Default 0.1.
        seed: UMAP's ``random_state`` (fixing it also makes UMAP single-threaded and
            reproducible). PCA is deterministic. UMAP's first fit in a process compiles numba
            code (about 19 s of CPU here for 500 MNIST images; later fits about 1 s).
        fit_on: ``(M, N)`` states to fit the map on; ``x`` is then transformed with it (one
            coordinate frame for several times). Default None: fit on ``x``.

    Returns:
        An :class:`Embedding` ``(points (B, n_components), method)``.

    Raises:
        ConfigError: for a malformed input, a bad setting, or ``method="umap"`` without
            umap-learn.
    """
    check_choice("method", method, EMBED_METHODS)
    check_int("n_components", n_components, 1)
    check_int("n_neighbors", n_neighbors, 2)
    check_range("min_dist", min_dist, 0.0)
    check_int("seed", seed, 0)
    z = _as_matrix(x, "x")
    ref = z if fit_on is None else _as_matrix(fit_on, "fit_on")
    if ref.shape[1] != z.shape[1]:
        raise ConfigError(
            f"fit_on must have {z.shape[1]} columns like x; got shape {tuple(ref.shape)}"
        )
    use = method
    if method == "auto":
        use = "umap" if umap_available() else "pca"
    elif method == "umap" and not umap_available():
        raise ConfigError(
            "method='umap' needs umap-learn: pip install 'hopfield-lab[umap]' (or use "
            "method='pca' / 'auto')"
        )
    if use == "pca":
        from sklearn.decomposition import PCA

        if n_components > min(ref.shape):
            raise ConfigError(
                f"n_components must be <= min(points, dimensions) = {min(ref.shape)} for PCA; "
                f"got {n_components}"
            )
        pca = PCA(n_components=n_components, svd_solver="full").fit(ref)
        out = pca.transform(z)
    else:
        import umap

        if ref.shape[0] < 3:
            raise ConfigError(f"UMAP needs at least 3 points to fit; got {ref.shape[0]}")
        reducer = umap.UMAP(
            n_components=n_components,
            n_neighbors=min(n_neighbors, ref.shape[0] - 1),
            min_dist=min_dist,
            random_state=seed,
            n_jobs=1,  # what a fixed random_state implies anyway (UMAP warns otherwise)
        )
        fitted = reducer.fit_transform(ref)
        out = fitted if fit_on is None else reducer.transform(z)
    return Embedding(torch.from_numpy(np.asarray(out, dtype=np.float64)), use)
