"""Containers shared by every image dataset: a labelled ``Split`` and a train/val/test ``Dataset``.

Images are stored flat and batch-first, ``x`` of shape ``(n, H*W)`` with pixels in ``[0, 1]``,
so that a Hopfield state of size ``N = H*W`` is one row; :meth:`Split.images` gives the
``(n, 1, H, W)`` view for plotting and convolutional code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from hopfield_lab.errors import ConfigError, DataError, check_int

__all__ = ["MNIST", "Dataset", "Split", "subset"]


def _check_float_dtype(dtype: torch.dtype) -> torch.dtype:
    """Return ``dtype`` if it is a floating-point torch dtype, else raise ConfigError."""
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise ConfigError(
            f"dtype must be a floating-point torch.dtype (e.g. torch.float32); got {dtype!r}"
        )
    return dtype


def _describe(t: torch.Tensor) -> str:
    dtype = str(t.dtype).removeprefix("torch.")
    return f"{tuple(t.shape)} {dtype}"


@dataclass(frozen=True, eq=False)
class Split:
    """One labelled part of a dataset (train, val or test).

    Attributes:
        x: images, float tensor of shape ``(n, H*W)`` with values in ``[0, 1]``.
        y: labels, ``torch.long`` tensor of shape ``(n,)``.
        image_shape: ``(H, W)`` of one image; ``H*W`` must equal ``x.shape[1]``.
            Default ``(28, 28)`` (MNIST).

    Raises:
        DataError: if the shapes or dtypes of ``x``, ``y`` and ``image_shape`` disagree.
    """

    x: torch.Tensor = field(repr=False)
    y: torch.Tensor = field(repr=False)
    image_shape: tuple[int, int] = (28, 28)

    def __post_init__(self) -> None:
        if not isinstance(self.x, torch.Tensor) or self.x.ndim != 2:
            raise DataError(f"Split.x must be a 2-D tensor (n, H*W); got {_shape_or_type(self.x)}")
        if not self.x.is_floating_point():
            raise DataError(f"Split.x must have a floating-point dtype; got {self.x.dtype}")
        if not isinstance(self.y, torch.Tensor) or self.y.ndim != 1:
            raise DataError(f"Split.y must be a 1-D tensor (n,); got {_shape_or_type(self.y)}")
        if self.y.dtype != torch.long:
            raise DataError(f"Split.y must have dtype torch.long; got {self.y.dtype}")
        if self.x.shape[0] != self.y.shape[0]:
            raise DataError(
                f"Split.x and Split.y must hold the same number of samples; "
                f"got {self.x.shape[0]} images and {self.y.shape[0]} labels"
            )
        shape = tuple(self.image_shape)
        if len(shape) != 2 or any(not isinstance(s, int) or s < 1 for s in shape):
            raise DataError(
                "Split.image_shape must be a pair of positive ints (H, W); "
                f"got {self.image_shape!r}"
            )
        if math.prod(shape) != self.x.shape[1]:
            raise DataError(
                f"Split.image_shape {shape} has {math.prod(shape)} pixels but x has "
                f"{self.x.shape[1]} features per row"
            )
        object.__setattr__(self, "image_shape", shape)

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def __repr__(self) -> str:
        return (
            f"Split(n={len(self)}, x={_describe(self.x)}, y={_describe(self.y)}, "
            f"image_shape={self.image_shape})"
        )

    def subset(self, n: int, generator: torch.Generator | None = None) -> Split:
        """Return ``n`` samples: the first ``n`` or, given a generator, ``n`` drawn at random.

        Args:
            n: number of samples to keep, ``0 <= n <= len(self)``.
            generator: if None (default) keep the first ``n`` samples in order; otherwise draw
                ``n`` distinct samples without replacement (in random order) with this generator.

        Returns:
            A new ``Split`` with ``x`` of shape ``(n, H*W)`` and ``y`` of shape ``(n,)``.

        Raises:
            ConfigError: if ``n`` is not an integer in ``[0, len(self)]``.
        """
        check_int("n", n, 0, len(self))
        if generator is None:
            return Split(self.x[:n], self.y[:n], self.image_shape)
        index = torch.randperm(len(self), generator=generator, device=generator.device)[:n]
        index = index.to(self.x.device)
        return Split(self.x[index], self.y[index], self.image_shape)

    def images(self) -> torch.Tensor:
        """Return the images as a ``(n, 1, H, W)`` view of ``x`` (no copy)."""
        return self.x.reshape(len(self), 1, *self.image_shape)  # (n, 1, H, W)

    def to(self, *args, **kwargs) -> Split:
        """Move or cast ``x`` like :meth:`torch.Tensor.to`; ``y`` follows the device only.

        Args:
            *args: forwarded to ``x.to`` (a device, a floating dtype, or both).
            **kwargs: forwarded to ``x.to``.

        Returns:
            A new ``Split``; ``y`` stays ``torch.long`` on the device of the new ``x``.
        """
        x = self.x.to(*args, **kwargs)
        return Split(x, self.y.to(x.device), self.image_shape)


def subset(
    x: torch.Tensor, y: torch.Tensor, n: int, seed: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` rows of a labelled set: the first ``n`` (``seed=None``) or ``n`` drawn without
    replacement by a generator seeded with ``seed`` (the first ``n`` of a seeded permutation).

    Args:
        x: ``(m, ...)`` inputs. y: ``(m,)`` labels.
        n: rows to keep; ``n <= 0`` or ``n >= m`` keeps all rows, in order.
        seed: None (default) for the first rows, else the permutation's seed (>= 0).

    Returns:
        ``(x[idx], y[idx])``.

    Raises:
        ConfigError: if ``n`` is not an integer, ``seed`` not None or an integer >= 0, or ``x``
            and ``y`` differ in length.
    """
    check_int("n", n)
    if len(x) != len(y):
        raise ConfigError(f"x and y must have the same length; got {len(x)} and {len(y)}")
    if n <= 0 or n >= len(x):
        return x, y
    if seed is None:
        return x[:n], y[:n]
    check_int("seed", seed, 0)
    idx = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))[:n]
    return x[idx], y[idx]


def _shape_or_type(value: object) -> str:
    if isinstance(value, torch.Tensor):
        return f"shape {tuple(value.shape)}"
    return f"an object of type {type(value).__name__}"


@dataclass(frozen=True, eq=False)
class Dataset:
    """A labelled image dataset cut into train, validation and test splits.

    Attributes:
        train: training split.
        val: validation split (carved from the official training set when the source has none).
        test: test split.
        name: short name, e.g. ``"mnist"`` or ``"digits"``.

    Raises:
        DataError: if a split is not a :class:`Split` or the splits disagree on ``image_shape``
            or dtype.
    """

    train: Split
    val: Split
    test: Split
    name: str = "dataset"

    def __post_init__(self) -> None:
        for part in ("train", "val", "test"):
            value = getattr(self, part)
            if not isinstance(value, Split):
                raise DataError(f"Dataset.{part} must be a Split; got {type(value).__name__}")
        shapes = {self.train.image_shape, self.val.image_shape, self.test.image_shape}
        if len(shapes) != 1:
            raise DataError(f"Dataset splits must share one image_shape; got {sorted(shapes)}")
        dtypes = {self.train.x.dtype, self.val.x.dtype, self.test.x.dtype}
        if len(dtypes) != 1:
            raise DataError(f"Dataset splits must share one dtype; got {sorted(map(str, dtypes))}")

    @property
    def image_shape(self) -> tuple[int, int]:
        """``(H, W)`` of one image: ``(28, 28)`` for MNIST, ``(8, 8)`` for digits."""
        return self.train.image_shape

    @property
    def n_features(self) -> int:
        """Number of pixels per image, ``N = H*W`` (the size of a Hopfield state)."""
        return int(self.train.x.shape[1])

    def __repr__(self) -> str:
        return (
            f"Dataset(name={self.name!r}, image_shape={self.image_shape}, "
            f"train={len(self.train)}, val={len(self.val)}, test={len(self.test)}, "
            f"dtype={self.train.x.dtype})"
        )


MNIST = Dataset
"""Alias of :class:`Dataset`, the type returned by ``load_mnist``."""
