"""Readings of "additive Gaussian noise at test time" for an image classifier.

A paper that says only "inputs corrupted by additive Gaussian noise of standard deviation
``sigma``" leaves three choices open, and they change the perturbation a model sees:

* the input scale the model is trained on: ``"pixels"`` (images in ``[0, 1]``) or
  ``"standardized"``, ``(x - mean) / std`` with MNIST's usual constants
  (:data:`MNIST_MEAN`, :data:`MNIST_STD`, those of ``torchvision``'s MNIST examples);
* where the noise is added (``noise_on``): to the ``"pixels"`` before the standardisation,
  or to the model ``"inputs"`` after it. On standardised inputs, ``sigma`` added to the inputs
  is ``sigma * std`` in pixel units (about a third), and ``sigma`` added to the pixels is
  ``sigma / std`` in input units; on pixel inputs the two are the same;
* whether the corrupted image is clipped back to the valid range (``[0, 1]`` in pixels, its
  image ``[(0 - mean) / std, (1 - mean) / std]`` in standardised inputs). Clipping
  half-rectifies the noise on the background (zero) pixels, the most of MNIST: their mean
  becomes ``sigma / sqrt(2 pi)`` (0.10 for ``sigma = 0.25``), a systematic shift instead of
  zero-mean noise.

:class:`NoiseReading` is one such choice; every reading maps clean pixels and one standard
normal draw ``xi`` (shared by all readings and noise levels, so that they are compared on the
same noise) to the model's input.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from hopfield_lab.errors import ConfigError, check_choice, check_range

__all__ = [
    "INPUT_SCALES",
    "MNIST_MEAN",
    "MNIST_STD",
    "NOISE_SPACES",
    "NoiseReading",
    "readings_for_scale",
]

MNIST_MEAN = 0.1307
"""Mean pixel of the MNIST training images (in ``[0, 1]``)."""
MNIST_STD = 0.3081
"""Standard deviation of the MNIST training pixels."""

INPUT_SCALES = ("pixels", "standardized")
"""Input scales a model may be trained on."""
NOISE_SPACES = ("pixels", "inputs")
"""Where test-time noise is added: to the pixels, or to the (possibly standardised) inputs."""


@dataclass(frozen=True)
class NoiseReading:
    """One reading of the test-time noise protocol.

    Attributes:
        scale: ``"pixels"`` (model inputs are the pixels in ``[0, 1]``) or ``"standardized"``
            (``(x - mean) / std``). Default ``"pixels"``.
        noise_on: ``"pixels"`` (noise added to the image before standardisation) or
            ``"inputs"`` (added to the model input after it); the same for ``scale="pixels"``.
            Default ``"pixels"``.
        clip: clip the corrupted image to the valid range. Default True.
        mean, std: standardisation constants. Default :data:`MNIST_MEAN`, :data:`MNIST_STD`.

    Raises:
        ConfigError: for an unknown ``scale`` or ``noise_on``, or ``std <= 0``.
    """

    scale: str = "pixels"
    noise_on: str = "pixels"
    clip: bool = True
    mean: float = MNIST_MEAN
    std: float = MNIST_STD

    def __post_init__(self) -> None:
        check_choice("scale", self.scale, INPUT_SCALES)
        check_choice("noise_on", self.noise_on, NOISE_SPACES)
        if not isinstance(self.clip, bool):
            raise ConfigError(f"clip must be True or False; got {self.clip!r}")
        check_range("mean", self.mean)
        check_range("std", self.std, 0.0, low_inclusive=False)

    @property
    def name(self) -> str:
        """A short label, e.g. ``"pixels, clipped"`` or ``"standardized, noise on inputs"``."""
        parts = [self.scale]
        if self.scale == "standardized":
            parts.append("noise on pixels" if self.noise_on == "pixels" else "noise on inputs")
        parts.append("clipped" if self.clip else "unclipped")
        return ", ".join(parts)

    def inputs(self, x: Tensor) -> Tensor:
        """Model inputs of clean pixels ``x`` ``(B, D)`` in ``[0, 1]``: ``(B, D)``."""
        if self.scale == "pixels":
            return x
        return (x - self.mean) / self.std

    def noisy(self, x: Tensor, sigma: float, xi: Tensor) -> Tensor:
        """Model inputs of the pixels ``x`` ``(B, D)`` corrupted by ``sigma * xi``.

        Args:
            x: clean pixels ``(B, D)`` in ``[0, 1]``.
            sigma: noise standard deviation (>= 0), in the units of ``noise_on``.
            xi: a standard normal draw of the shape of ``x`` (shared across readings).

        Returns:
            ``(B, D)`` model inputs: ``inputs(clip(x + sigma xi))`` for noise on pixels,
            ``clip(inputs(x) + sigma xi)`` for noise on inputs (``clip`` only if ``clip``).

        Raises:
            ConfigError: for ``sigma < 0`` or ``xi`` not of the shape of ``x``.
        """
        check_range("sigma", sigma, 0.0)
        if not isinstance(xi, Tensor) or xi.shape != x.shape:
            what = tuple(xi.shape) if isinstance(xi, Tensor) else type(xi).__name__
            raise ConfigError(f"xi must have the shape of x {tuple(x.shape)}; got {what}")
        if self.noise_on == "pixels" or self.scale == "pixels":
            pixels = x + sigma * xi
            return self.inputs(pixels.clamp(0.0, 1.0) if self.clip else pixels)
        z = self.inputs(x) + sigma * xi
        if not self.clip:
            return z
        low, high = (0.0 - self.mean) / self.std, (1.0 - self.mean) / self.std
        return z.clamp(low, high)


def readings_for_scale(scale: str) -> tuple[NoiseReading, ...]:
    """Every distinct reading of a model trained on ``scale`` (2 for pixels, 4 standardised).

    Raises:
        ConfigError: for an unknown ``scale``.
    """
    check_choice("scale", scale, INPUT_SCALES)
    spaces = ("pixels",) if scale == "pixels" else NOISE_SPACES
    return tuple(
        NoiseReading(scale, noise_on, clip) for noise_on in spaces for clip in (True, False)
    )
