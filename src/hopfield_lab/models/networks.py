"""The lecture notes' chapter-4 networks built from the Hopfield layers of :mod:`.layers`.

* :class:`PrototypeDeepHNN` (Sec. 4.2, ``MMforNN.ipynb`` cell 17): a standardised 32 x 32 image
  into ``DeepHNN(1, 10, 1024, deep)`` with a frozen ``beta``, patterns initialised with
  ``deep`` prototypes per digit; 10 logits. 30,730 trainable parameters for ``deep = 3``.
* :class:`CNNDeepHNN` (Sec. 4.2, cell 21): ``Conv2d(1, 5, 4, stride 2)`` (15 x 15 maps) ->
  ``BatchNorm1d(5, affine=False)`` -> ``DeepHNN(5, 10, 225, deep=5)`` -> ``ConvexReducer(5,
  10)``: 85 + 56,305 + 50 = **56,440** trainable parameters, the notes' count.
* :class:`HopfieldDenoiser` (Sec. 4.3, cell 27): ``ConvHNN2d(1, 9, 5x5, iterations=2)`` ->
  ``Conv2d(9, 3, 3x3)`` -> ``ConvTranspose2d(3, 9, 3x3)`` -> the Hopfield read-out
  ``conv_transpose(g * softmax_channels(l'), X)``: 235 + 246 + 252 + 9 = **742** parameters,
  the notes' count.

Our readings where the notes' code and text disagree:

* :class:`PrototypeDeepHNN` standardises each image on its own pixels (zero mean, unit
  variance); the notes build a ``BatchNorm1d(1, affine=False)`` afresh in every forward pass,
  which always uses the batch's statistics, also at test time.
* :class:`CNNDeepHNN` keeps the convolution's 5 biases: the notes' code has ``bias=False``
  (56,435 parameters), their text's 56,440 needs them.
* :class:`HopfieldDenoiser`: the notes' code has 733 parameters, the text 742. The 9 missing
  ones are read as a per-pattern read-out gain ``g`` (initialised to 1, so the network starts as
  the notes' code) that lets the decoder fade patterns, as Fig. 4.7 describes ("patterns with
  low bias are ignored"). The text's channel counts are garbled ("9 channels to 2 channels");
  we follow the code (3 -> 9). The output is the notes' ``clamp(y, -1, 1)`` in value, with a
  straight-through gradient (``y + (clamp(y) - y).detach()``): the plain clamp has zero
  gradient wherever ``|y| > 1``, and with it training collapses within the first epoch to the
  blank image (every pixel at -1), for the notes' initialisation and for gains of 1/25 alike.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from hopfield_lab.models.layers import ConvexReducer, ConvHNN2d, DeepHNN

__all__ = ["CNNDeepHNN", "HopfieldDenoiser", "PrototypeDeepHNN", "standardise_images"]


def standardise_images(x: Tensor) -> Tensor:
    """Zero mean, unit variance per image over its pixels: ``(B, ...) -> (B, ...)``."""
    flat = x.flatten(1)
    flat = (flat - flat.mean(1, keepdim=True)) / flat.std(1, keepdim=True).clamp_min(1e-6)
    return flat.view_as(x)


class PrototypeDeepHNN(nn.Module):
    """Standardised 32 x 32 image -> ``DeepHNN(1, 10, 1024, deep)`` -> 10 logits (Sec. 4.2).

    Args:
        prototypes: ``(10 deep, 1024)`` initial patterns, digit-major (row ``d deep + k`` is
            the ``k``-th prototype of digit ``d``), pixels in ``[-1, 1]``.
        beta: the DeepHNN's inverse temperature, frozen (notes: 0.07).
    """

    def __init__(self, prototypes: Tensor, beta: float) -> None:
        super().__init__()
        deep = prototypes.shape[0] // 10
        self.hopfield = DeepHNN(1, 10, 1024, deep=deep, iterations=1, beta=beta)
        self.hopfield.set_patterns(prototypes.view(1, 10 * deep, 1024))
        self.hopfield.log_beta.requires_grad_(False)

    def forward(self, x: Tensor) -> Tensor:
        """``(B, 1, 32, 32) -> (B, 10)``."""
        return self.hopfield(standardise_images(x).view(-1, 1, 1024)).view(-1, 10)


class CNNDeepHNN(nn.Module):
    """Conv(1->C, 4x4, stride 2) -> BN -> DeepHNN(C, 10, 225, deep) -> ConvexReducer (Sec. 4.2).

    Args:
        channels: convolution channels ``C`` (notes: 5). deep: patterns per digit (notes: 5).
    """

    def __init__(self, channels: int = 5, deep: int = 5) -> None:
        super().__init__()
        self.channels = channels
        self.cnn = nn.Conv2d(1, channels, 4, stride=2)
        self.norm = nn.BatchNorm1d(channels, affine=False)
        self.hopfield = DeepHNN(channels, 10, 15 * 15, deep=deep, iterations=1)
        self.reducer = ConvexReducer(channels, 10)

    def forward(self, x: Tensor) -> Tensor:
        """``(B, 1, 32, 32) -> (B, 10)``."""
        h = self.cnn(x).flatten(2)  # (B, C, 225)
        return self.reducer(self.hopfield(self.norm(h)))  # (B, 10)

    def regulariser(self) -> Tensor:
        """``mean |conv weight| + max_c (mean_f W_{c, f})^2`` (notes cell 21, times 0.01 there)."""
        merge = self.reducer.weight.mean(dim=1).pow(2).max()
        return self.cnn.weight.abs().mean() + merge


class HopfieldDenoiser(nn.Module):
    """ConvHNN2d -> linear conv autoencoder -> Hopfield read-out (742 parameters, Sec. 4.3).

    ::

        x (B, 1, 32, 32) --pad 4 with -1--> (B, 1, 40, 40)
        l = ConvHNN2d(1, K, 5x5, iterations=2)(x)             (B, K, 36, 36)
        z = Conv2d(K, C, 3x3, pad 2)(SiLU(l))                 (B, C, 38, 38)
        l' = ConvTranspose2d(C, K, 3x3, pad 2)(SiLU(z))       (B, K, 36, 36)
        y = conv_transpose(g * softmax_channels(l'), X)       (B, 1, 40, 40)
        output = clamp(y, -1, 1)[:, :, 4:36, 4:36]            (B, 1, 32, 32)

    ``y`` is the recalled image ``X softmax(l')`` summed over patches (the notes'
    "transposed convolution with Hopfield parameters").

    Args:
        patterns: Hopfield patterns ``K`` (notes: 9). code: encoder channels ``C`` (notes: 3).
    """

    def __init__(self, patterns: int = 9, code: int = 3) -> None:
        super().__init__()
        self.hopfield = ConvHNN2d(1, patterns, 5, iterations=2)
        self.encoder = nn.Conv2d(patterns, code, 3, padding=2)
        self.decoder = nn.ConvTranspose2d(code, patterns, 3, padding=2)
        self.gain = nn.Parameter(torch.ones(patterns))

    def stages(self, x: Tensor) -> dict[str, Tensor]:
        """Every intermediate map of Fig. 4.8: ``logits``, ``code``, ``decoded``, ``output``."""
        x = F.pad(x, (4, 4, 4, 4), value=-1.0)  # (B, 1, 40, 40)
        logits = self.hopfield(x)  # (B, K, 36, 36)
        code = self.encoder(F.silu(logits))  # (B, C, 38, 38)
        decoded = self.decoder(F.silu(code))  # (B, K, 36, 36)
        probs = decoded.softmax(dim=1) * self.gain.view(1, -1, 1, 1)  # (B, K, 36, 36)
        image = F.conv_transpose2d(probs, self.hopfield.patterns)  # (B, 1, 40, 40)
        clamped = image + (image.clamp(-1.0, 1.0) - image).detach()  # straight-through clamp
        out = clamped[:, :, 4:36, 4:36]  # (B, 1, 32, 32)
        return {"logits": logits, "code": code, "decoded": decoded, "output": out}

    def forward(self, x: Tensor) -> Tensor:
        """``(B, 1, 32, 32)`` in ``[-1, 1]`` -> denoised ``(B, 1, 32, 32)`` in ``[-1, 1]``."""
        return self.stages(x)["output"]

    def regulariser(self) -> Tensor:
        """``mean |encoder weight| + mean |decoder weight|`` (notes cell 27, times 0.01)."""
        return self.encoder.weight.abs().mean() + self.decoder.weight.abs().mean()
