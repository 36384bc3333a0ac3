"""Prototype digits of the lecture notes' chapter 4: padded MNIST and k-means prototypes per digit.

The notes (Secs. 4.2-4.4, Table 4.1) store 30 prototype images, 3 per digit, on 32 x 32 pixels
(MNIST padded by 2 pixels), with pixels mapped from ``[0, 1]`` to ``[-1, 1]``. Theirs are
hand-picked images of their repository; these helpers choose prototypes reproducibly:

* :func:`kmeans_prototypes`: per class, scikit-learn's ``KMeans`` (seeded, 4 restarts); the
  prototype is the member image nearest each centroid (``"kmeans-medoid"``: a real digit with
  saturated pixels, like the notes' images) or the centroid itself (``"kmeans-centroid"``),
  clusters ordered by size. :func:`prototype_problem` applies it to a dataset's training split
  and returns the test split beside it (the Table 4.1 and Figs. 3.1-3.2 experiments);
* :func:`digit_prototypes`: per digit, ``iters`` Lloyd iterations in torch from ``k`` seeded
  random members (the DeepHNN initialisation of Sec. 4.2); :func:`binary_prototypes` keeps
  their signs, ``+-1`` patterns with ``|x_i| = 32`` (the VHNN experiment of Sec. 4.4).

Images are flat rows ``(n, H*W)``; :func:`mnist32` gives the ``(n, 1, 32, 32)`` form the
notes' networks take and :func:`signed_padded` the flat ``[-1, 1]`` form of the memories.
"""

from __future__ import annotations

import functools

import numpy as np
import torch
from torch import Tensor
from torch.nn import functional as F

from hopfield_lab.data.digits import load_digits
from hopfield_lab.data.mnist import load_mnist, mnist_tensors
from hopfield_lab.errors import ConfigError, check_choice, check_int

__all__ = [
    "PROTOTYPE_METHODS",
    "binary_prototypes",
    "digit_prototypes",
    "kmeans_prototypes",
    "mnist32",
    "prototype_problem",
    "signed_padded",
]

PROTOTYPE_METHODS = ("kmeans-medoid", "kmeans-centroid")


def mnist32(x: Tensor) -> Tensor:
    """Flat MNIST rows ``(n, 784)`` -> zero-padded images ``(n, 1, 32, 32)`` (the notes' Pad(2))."""
    return F.pad(x.view(-1, 1, 28, 28), (2, 2, 2, 2))


def signed_padded(x: Tensor, shape: tuple[int, int], pad: int) -> tuple[Tensor, tuple[int, int]]:
    """Pad ``[0, 1]`` images with background 0 and map them to ``[-1, 1]``, float64.

    Args:
        x: ``(n, H*W)`` images in ``[0, 1]``. shape: ``(H, W)``. pad: pixels added per side.

    Returns:
        ``(2 x_padded - 1 (n, (H+2 pad) (W+2 pad)), (H+2 pad, W+2 pad))``.
    """
    imgs = x.double().reshape(-1, *shape)  # (n, H, W)
    if pad:
        imgs = F.pad(imgs, (pad, pad, pad, pad))  # (n, H+2p, W+2p)
    h, w = imgs.shape[1:]
    return 2.0 * imgs.reshape(len(imgs), h * w) - 1.0, (int(h), int(w))


def kmeans_prototypes(
    train_x: Tensor,
    train_y: Tensor,
    *,
    per_class: int = 3,
    n_per_class: int = 0,
    method: str = "kmeans-medoid",
    seed: int = 0,
) -> tuple[Tensor, Tensor]:
    """Prototypes per class by scikit-learn's k-means, clusters ordered by size.

    Args:
        train_x: ``(n, N)`` images. train_y: ``(n,)`` labels.
        per_class: clusters per class. Default 3.
        n_per_class: images per class given to k-means, the first after a seeded shuffle
            (0 = all). Default 0.
        method: ``"kmeans-medoid"`` (the member nearest each centroid) or
            ``"kmeans-centroid"``. Default ``"kmeans-medoid"``.
        seed: seeds the shuffle and k-means. Default 0.

    Returns:
        ``(prototypes (C * per_class, N) float64, labels (C * per_class,))``, class-major.

    Raises:
        ConfigError: if a class has fewer than ``per_class`` images or ``method`` is unknown.
    """
    from sklearn.cluster import KMeans  # imported here: scikit-learn only when it runs

    check_choice("method", method, PROTOTYPE_METHODS)
    gen = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(train_y), generator=gen)
    xs, ys = train_x[order].double(), train_y[order]
    protos: list[Tensor] = []
    labels: list[int] = []
    for c in sorted(int(v) for v in torch.unique(ys)):
        members = xs[ys == c]
        if n_per_class:
            members = members[:n_per_class]
        if len(members) < per_class:
            raise ConfigError(
                f"class {c} has {len(members)} images, fewer than per_class={per_class}"
            )
        km = KMeans(n_clusters=per_class, n_init=4, random_state=seed).fit(members.numpy())
        sizes = np.bincount(km.labels_, minlength=per_class)
        for k in np.argsort(-sizes, kind="stable"):
            centre = torch.from_numpy(km.cluster_centers_[k])
            if method == "kmeans-centroid":
                protos.append(centre)
            else:
                own = members[torch.from_numpy(km.labels_ == k)]
                protos.append(own[torch.cdist(centre[None], own)[0].argmin()])
            labels.append(c)
    return torch.stack(protos), torch.tensor(labels)


@functools.lru_cache(maxsize=4)
def prototype_problem(
    dataset: str = "mnist",
    per_class: int = 3,
    n_per_class: int = 500,
    method: str = "kmeans-medoid",
    pad: int = 2,
    seed: int = 0,
    mnist_path: str = "",
) -> tuple[Tensor, Tensor, Tensor, Tensor, tuple[int, int]]:
    """Prototypes of the training split and the test split, as in Table 4.1 (cached).

    Images are padded by ``pad`` background pixels and mapped to ``[-1, 1]``
    (:func:`signed_padded`); prototypes come from :func:`kmeans_prototypes`.

    Args:
        dataset: ``"mnist"`` or ``"digits"`` (scikit-learn's 8x8). per_class, n_per_class,
            method, seed: see :func:`kmeans_prototypes`. pad: padding per side.
        mnist_path: user MNIST ("" = bundled).

    Returns:
        ``(prototypes (P, N) float64, labels (P,), test images (n, N) float64, test labels
        (n,), image shape)``. Treat the tensors as read-only (they are cached).
    """
    check_choice("dataset", dataset, ("mnist", "digits"))
    data = load_mnist(mnist_path or None) if dataset == "mnist" else load_digits(seed=seed)
    train_x, shape = signed_padded(data.train.x, data.image_shape, pad)
    test_x, _ = signed_padded(data.test.x, data.image_shape, pad)
    X, labels = kmeans_prototypes(
        train_x,
        data.train.y,
        per_class=per_class,
        n_per_class=n_per_class,
        method=method,
        seed=seed,
    )
    return X, labels, test_x, data.test.y, shape


def digit_prototypes(
    x: Tensor, y: Tensor, per_digit: int = 3, *, seed: int = 0, iters: int = 20
) -> Tensor:
    """``per_digit`` k-means centroids per digit (Lloyd), digit-major: ``(10 * per_digit, D)``.

    Args:
        x: images ``(n, D)``. y: labels ``(n,)`` in 0..9 (each digit needs >= per_digit images).
        per_digit: centroids per digit (>= 1). Default 3.
        seed: seeds the choice of the initial centroids. iters: Lloyd iterations. Default 20.

    Returns:
        Row ``d * per_digit + k`` is the ``k``-th centroid of digit ``d`` (the order DeepHNN
        expects for ``deep = per_digit``); an empty cluster keeps its centre.

    Raises:
        ConfigError: if ``per_digit < 1`` or a digit has fewer than ``per_digit`` images.
    """
    check_int("per_digit", per_digit, 1)
    gen = torch.Generator().manual_seed(seed)
    out = []
    for digit in range(10):
        xd = x[y == digit].float()  # (n_d, D)
        if len(xd) < per_digit:
            raise ConfigError(f"digit {digit} has {len(xd)} images, fewer than {per_digit}")
        centres = xd[torch.randperm(len(xd), generator=gen)[:per_digit]].clone()  # (k, D)
        for _ in range(iters):
            # |x - c|^2 up to the per-row constant |x|^2: one matmul instead of cdist
            dist = (centres * centres).sum(1) - 2.0 * xd @ centres.T  # (n_d, k)
            onehot = F.one_hot(dist.argmin(dim=1), per_digit).to(xd.dtype)  # (n_d, k)
            counts = onehot.sum(0)  # (k,)
            sums = onehot.T @ xd  # (k, D)
            filled = counts > 0
            centres[filled] = sums[filled] / counts[filled, None]
        out.append(centres)
    return torch.cat(out).to(x.dtype)


@functools.lru_cache(maxsize=4)
def binary_prototypes(mnist_path: str = "", per_digit: int = 3, seed: int = 0) -> Tensor:
    """Signs of :func:`digit_prototypes` of MNIST's training digits on 32 x 32 in ``[-1, 1]``.

    Args:
        mnist_path: user MNIST ("" = bundled). per_digit: prototypes per digit. Default 3.
        seed: seeds the initial centroids. Default 0.

    Returns:
        ``(10 per_digit, 1024)`` float64 ``+-1`` patterns (``|x_i| = 32``), digit-major.
        Read-only (cached).
    """
    x, y = mnist_tensors(mnist_path)["train"]
    centroids = digit_prototypes(mnist32(x).flatten(1) * 2 - 1, y, per_digit, seed=seed)
    return torch.where(centroids >= 0, 1.0, -1.0).double()  # (P, N)
