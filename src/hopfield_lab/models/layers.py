"""Trainable Hopfield layers of the lecture notes, chapter 4.

All four layers iterate the modern Hopfield update of :mod:`hopfield_lab.models.modern`
(notes Def. 3.1.2, ``xi_new = X^T softmax(beta X xi)``, patterns as the rows of ``X``), written
in *logit* coordinates (notes Sec. 4.1). With ``l = beta X xi`` ``(P,)`` the update reads::

    l_0 = beta X xi                           (encoder: FC layer beta X, no bias)
    l_{t+1} = A_beta softmax(l_t),  A_beta = beta X X^T   (P, P), symmetric PSD

and the state itself is recovered as ``xi_t = X^T softmax(l_{t-1})`` (decoder: FC layer X^T).

* :class:`DeepHNN` (Sec. 4.2, Listing 4.1): one Hopfield network per channel, ``deep`` patterns
  per output feature; the feature logit is the maximum over its patterns plus a bias.
* :class:`ConvHNN2d` (Sec. 4.3, Listing 4.2): the same network applied to every patch of an
  image: a convolution with ``beta X`` followed by the logit loop as a 1x1 convolution.
* :class:`VHNN` (Sec. 4.4, Listing 4.3): variational noise on the probabilities,
  ``S = p + eta sqrt(p (1 - p)) * eps``, a Gaussian stand-in for averaging ``n`` one-hot samples
  with ``eta ~ 1/sqrt(n)``.
* :class:`ConvexReducer`: merges channels by a learned convex combination per feature (the
  notes' "convex reducer" after DeepHNN, Sec. 4.2).

Layers, not models. These are ``nn.Module`` layers of a network, not
:class:`~hopfield_lab.core.HopfieldModel` s: their input and output are features (logits after
a max and a bias, a convolution over patches, several independent channels at once), not
states of one dynamical system, so the model contract (``energy``, ``update``,
``vector_field``, ``jacobian``) does not apply to them as a whole. The dynamics each one
iterates is a modern Hopfield network, and ``as_hopfield(...)`` returns it as a
:class:`~hopfield_lab.models.modern.ModernHopfield` (one channel of DeepHNN or VHNN, every
patch of ConvHNN2d), which speaks the contract: energy (Eq. 3.4), update, flow, Jacobian. The
view is a snapshot of the current parameters (detached; the layer is what trains). VHNN's
noisy steps (train mode) are a stochastic chain around that update, not the update itself.

Differences from the notes' code (``MMforNN.ipynb``, cells 4-7), on purpose:

* The bias is a plain parameter and :meth:`DeepHNN.set_bias` stores the value it is given. The
  notes' ``update_bias`` stored ``log(bias)`` (NaN for a non-positive bias, and a wrong value
  otherwise: the forward pass adds the bias, not ``exp`` of it).
* :class:`VHNN`: the notes detach ``p`` inside the noise scale with
  ``x.detach().requires_grad(False)``, which raises ``TypeError`` (a tensor has no callable
  ``requires_grad``), so their layer could not run. We keep the scale ``sqrt(p (1 - p))`` in the
  graph (a safe square root whose gradient is 0 where ``p (1 - p) = 0``), so the gradient is the
  exact pathwise (reparameterisation) gradient of the sample ``S``: ``eps`` is drawn without
  gradient and the gradient reaches ``log_noise`` through ``eta * scale * eps`` and the patterns
  and ``beta`` through both ``p`` and the scale.
* Inverse temperatures are given as ``beta > 0`` and stored as ``log_beta``; biases start at
  zero (the notes draw them from ``N(0, 1)``, an arbitrary class preference at initialisation).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TypedDict

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from hopfield_lab.errors import ConfigError, check_int, check_positive
from hopfield_lab.models.modern import ModernHopfield

__all__ = ["VHNN", "ConvHNN2d", "ConvOptions", "ConvexReducer", "DeepHNN", "count_parameters"]


def count_parameters(module: nn.Module, *, trainable_only: bool = True) -> int:
    """Number of (trainable) scalar parameters of ``module``, as the notes count them."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


def _check_input(x: object, tail: tuple[int, ...], name: str, layout: str) -> Tensor:
    """Check ``x`` is a floating tensor ``(B, *tail)``; raise ConfigError naming the layout."""
    if not isinstance(x, Tensor) or not x.is_floating_point():
        raise ConfigError(f"{name} expects a floating tensor {layout}; got {type(x).__name__}")
    if x.dim() != len(tail) + 1 or tuple(x.shape[1:]) != tail:
        raise ConfigError(f"{name} expects input {layout} = (B, {tail}); got {tuple(x.shape)}")
    return x


def _check_beta(name: str, beta: object) -> float:
    check_positive(name, beta)
    return float(beta)  # type: ignore[arg-type]


def _check_channel(channel: object, channels: int) -> int:
    if not isinstance(channel, int) or isinstance(channel, bool) or not 0 <= channel < channels:
        raise ConfigError(f"channel must be an integer in [0, {channels}); got {channel!r}")
    return channel


def _pair(name: str, value: object, low: int) -> tuple[int, int]:
    items = value if isinstance(value, tuple) else (value, value)
    if len(items) != 2:
        raise ConfigError(f"{name} must be an int or a pair of ints; got {value!r}")
    return (check_int(name, items[0], low), check_int(name, items[1], low))


# ------------------------------------------------------------------------------------ DeepHNN


class DeepHNN(nn.Module):
    """``channels`` independent Hopfield networks with ``deep`` patterns per feature (Sec. 4.2).

    For channel ``c`` with patterns ``X_c`` ``(F * deep, N)`` (pattern ``f * deep + d`` is the
    ``d``-th pattern of feature ``f``) and ``beta_c = exp(log_beta_c)`` (Listing 4.1)::

        l_0 = beta_c X_c x_c                              (F * deep,)
        l_{t+1} = beta_c X_c X_c^T softmax(l_t),  t < iterations
        y_{c, f} = max_d l_T[f * deep + d] + b_{c, f}     (F,)

    ``l_{t+1} = beta_c X_c xi_{t+1}`` with ``xi_{t+1} = X_c^T softmax(l_t)`` the modern
    Hopfield update (Sec. 4.1), so the output is the (biased) best logit of each feature after
    ``iterations`` retrieval steps. The bias is added directly (see the module docstring for the
    notes' ``log(bias)`` bug).

    Args:
        channels: number of independent networks ``C`` (>= 1).
        features: output features ``F`` per channel (>= 1).
        neurons: input size ``N`` per channel (>= 1).
        deep: patterns per feature (>= 1). Default 1.
        iterations: number of loop steps ``T`` (>= 1). Default 1.
        beta: initial inverse temperature of every channel (> 0). Default 1.

    Parameters: ``log_beta`` ``(C,)``, ``patterns`` ``(C, F * deep, N)`` initialised as
    ``tanh(N(0, 1))`` like the notes, ``bias`` ``(C, F)`` zeros. Freeze any of them with
    ``requires_grad_(False)``. Count: ``C + C F deep N + C F``.

    Raises:
        ConfigError: for a non-integer or non-positive size, ``iterations < 1`` or ``beta <= 0``.
    """

    def __init__(
        self,
        channels: int,
        features: int,
        neurons: int,
        *,
        deep: int = 1,
        iterations: int = 1,
        beta: float = 1.0,
    ) -> None:
        super().__init__()
        self.channels = check_int("channels", channels, 1)
        self.features = check_int("features", features, 1)
        self.neurons = check_int("neurons", neurons, 1)
        self.deep = check_int("deep", deep, 1)
        self.iterations = check_int("iterations", iterations, 1)
        beta = _check_beta("beta", beta)
        n_pat = self.features * self.deep
        self.log_beta = nn.Parameter(torch.full((channels,), math.log(beta)))
        self.patterns = nn.Parameter(torch.tanh(torch.randn(channels, n_pat, neurons)))
        self.bias = nn.Parameter(torch.zeros(channels, features))

    @property
    def beta(self) -> Tensor:
        """Inverse temperatures ``exp(log_beta)``: ``(C,)``."""
        return self.log_beta.exp()

    def loop_logits(self, x: Tensor) -> Tensor:
        """Pattern logits ``l_T`` before the max: ``(B, C, N) -> (B, C, F deep)``."""
        x = _check_input(x, (self.channels, self.neurons), "DeepHNN", "(B, channels, neurons)")
        L = self.beta.view(-1, 1, 1) * self.patterns  # (C, P, N) = beta X
        A = torch.einsum("cin,cjn->cij", L, self.patterns)  # (C, P, P) = beta X X^T
        logits = torch.einsum("cpn,bcn->bcp", L, x)  # (B, C, P)
        for _ in range(self.iterations):
            logits = torch.einsum("cpq,bcq->bcp", A, logits.softmax(dim=-1))  # (B, C, P)
        return logits

    def forward(self, x: Tensor) -> Tensor:
        """Feature logits ``y`` ``(B, C, F)`` of inputs ``x`` ``(B, C, N)`` (Listing 4.1)."""
        logits = self.loop_logits(x).view(-1, self.channels, self.features, self.deep)
        return logits.max(dim=-1).values + self.bias  # (B, C, F)

    def recall(self, x: Tensor) -> Tensor:
        """Retrieved states ``xi_T = X^T softmax(l_{T-1})``: ``(B, C, N) -> (B, C, N)``.

        The state whose logits are those of :meth:`loop_logits` (``l_T = beta X xi_T``).
        """
        x = _check_input(x, (self.channels, self.neurons), "DeepHNN", "(B, channels, neurons)")
        L = self.beta.view(-1, 1, 1) * self.patterns  # (C, P, N)
        xi = x
        for _ in range(self.iterations):
            p = torch.einsum("cpn,bcn->bcp", L, xi).softmax(dim=-1)  # (B, C, P)
            xi = torch.einsum("cpn,bcp->bcn", self.patterns, p)  # (B, C, N)
        return xi

    def as_hopfield(self, channel: int = 0) -> ModernHopfield:
        """The modern Hopfield network channel ``channel`` iterates (Sec. 4.1).

        ``ModernHopfield(X_c, beta_c)`` (a detached snapshot): :meth:`recall` is ``iterations``
        of its ``update``, and :meth:`loop_logits` is ``beta_c X_c`` times that state.

        Raises:
            ConfigError: for a channel outside ``[0, channels)``.
        """
        c = _check_channel(channel, self.channels)
        return ModernHopfield(self.patterns[c].detach(), beta=float(self.beta[c].detach()))

    @torch.no_grad()
    def set_patterns(self, patterns: Tensor) -> None:
        """Copy ``patterns`` ``(C, F deep, N)`` into the layer (gradient flags are kept)."""
        _check_input(patterns, tuple(self.patterns.shape[1:]), "set_patterns", "(C, F deep, N)")
        if patterns.shape[0] != self.channels:
            raise ConfigError(
                f"set_patterns expects {self.channels} channels; got {tuple(patterns.shape)}"
            )
        self.patterns.copy_(patterns)

    @torch.no_grad()
    def set_beta(self, beta: float | Tensor) -> None:
        """Set every (or each, for a ``(C,)`` tensor) inverse temperature; must be > 0."""
        b = torch.as_tensor(beta, dtype=self.log_beta.dtype).expand(self.channels)
        if not bool(torch.isfinite(b).all()) or bool((b <= 0).any()):
            raise ConfigError(f"beta must be finite and > 0; got {beta!r}")
        self.log_beta.copy_(b.log())

    @torch.no_grad()
    def set_bias(self, bias: float | Tensor) -> None:
        """Set the bias ``(C, F)`` (or a scalar) *as given*: no log (the notes' bug, fixed)."""
        b = torch.as_tensor(bias, dtype=self.bias.dtype)
        if b.dim() > 0 and tuple(b.shape) != tuple(self.bias.shape):
            raise ConfigError(
                f"bias must be a scalar or have shape {tuple(self.bias.shape)}; "
                f"got {tuple(b.shape)}"
            )
        self.bias.copy_(b.expand_as(self.bias))


# ---------------------------------------------------------------------------------- ConvHNN2d


class ConvKwargs(TypedDict):
    """Keyword arguments of ``F.conv2d`` / ``F.conv_transpose2d`` built by ``ConvOptions``."""

    stride: tuple[int, int]
    padding: tuple[int, int]
    dilation: tuple[int, int]


@dataclass(frozen=True)
class ConvOptions:
    """Geometry of the Hopfield convolution, as for ``torch.nn.functional.conv2d``.

    Attributes:
        stride: int or ``(sh, sw)``, >= 1. Default 1.
        padding: int or ``(ph, pw)``, >= 0 (zero padding). Default 0.
        dilation: int or ``(dh, dw)``, >= 1. Default 1.
    """

    stride: int | tuple[int, int] = 1
    padding: int | tuple[int, int] = 0
    dilation: int | tuple[int, int] = 1

    def __post_init__(self) -> None:
        _pair("stride", self.stride, 1)
        _pair("padding", self.padding, 0)
        _pair("dilation", self.dilation, 1)

    def kwargs(self) -> ConvKwargs:
        """``stride``, ``padding``, ``dilation`` as pairs."""
        return {
            "stride": _pair("stride", self.stride, 1),
            "padding": _pair("padding", self.padding, 0),
            "dilation": _pair("dilation", self.dilation, 1),
        }


class ConvHNN2d(nn.Module):
    """Hopfield convolution: one small Hopfield network on every patch (Sec. 4.3, Listing 4.2).

    The ``out_channels`` patterns are kernels ``X_k`` ``(C_in, kh, kw)``; flattened they form
    ``Xbar`` ``(C_out, C_in kh kw)``. With ``beta = exp(log_beta)`` (one scalar)::

        l_0 = conv2d(x, beta X)                               (B, C_out, H', W')
        l_{t+1} = conv1x1(softmax_channels(l_t), beta Xbar Xbar^T),  t < iterations
        y = l_T + b                                           b: (C_out,)

    so every pixel of ``l`` runs the logit loop of Sec. 4.1 for its own patch (Fig. 4.2). The
    recalled image of Sec. 4.3, ``X softmax(logits)`` summed over overlapping patches, is
    :meth:`reconstruct` (a transposed convolution with the patterns).

    Args:
        in_channels: ``C_in`` (>= 1).
        out_channels: number of patterns ``C_out`` (>= 1).
        kernel_size: int or ``(kh, kw)``, >= 1.
        iterations: loop steps (>= 1). Default 1.
        beta: initial inverse temperature (> 0). Default 1 (the notes draw ``log beta`` from
            ``N(0, 1)``).
        conv: stride, padding and dilation. Default :class:`ConvOptions` ``()``.

    Parameters: ``log_beta`` ``(1,)``, ``patterns`` ``(C_out, C_in, kh, kw)`` initialised
    ``tanh(N(0, 1))``, ``bias`` ``(C_out,)`` zeros; count ``1 + C_out C_in kh kw + C_out``.

    Raises:
        ConfigError: for bad sizes, ``iterations < 1``, ``beta <= 0`` or bad options.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        *,
        iterations: int = 1,
        beta: float = 1.0,
        conv: ConvOptions | None = None,
    ) -> None:
        super().__init__()
        self.in_channels = check_int("in_channels", in_channels, 1)
        self.out_channels = check_int("out_channels", out_channels, 1)
        self.kernel_size = _pair("kernel_size", kernel_size, 1)
        self.iterations = check_int("iterations", iterations, 1)
        beta = _check_beta("beta", beta)
        conv = ConvOptions() if conv is None else conv
        if not isinstance(conv, ConvOptions):
            raise ConfigError(f"conv must be a ConvOptions; got {type(conv).__name__}")
        self.conv = conv
        self.log_beta = nn.Parameter(torch.full((1,), math.log(beta)))
        self.patterns = nn.Parameter(
            torch.tanh(torch.randn(out_channels, in_channels, *self.kernel_size))
        )
        self.bias = nn.Parameter(torch.zeros(out_channels))

    @property
    def beta(self) -> Tensor:
        """Inverse temperature ``exp(log_beta)``: ``(1,)``."""
        return self.log_beta.exp()

    def _check(self, x: Tensor) -> Tensor:
        if not isinstance(x, Tensor) or not x.is_floating_point() or x.dim() != 4:
            shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ConfigError(f"ConvHNN2d expects a floating tensor (B, C_in, H, W); got {shape}")
        if x.shape[1] != self.in_channels:
            raise ConfigError(
                f"ConvHNN2d expects {self.in_channels} input channels; got {tuple(x.shape)}"
            )
        opts = self.conv.kwargs()
        for i, axis in enumerate(("H", "W")):
            span = opts["dilation"][i] * (self.kernel_size[i] - 1) + 1
            if x.shape[2 + i] + 2 * opts["padding"][i] < span:
                raise ConfigError(
                    f"ConvHNN2d input {axis} = {x.shape[2 + i]} (padding {opts['padding'][i]}) "
                    f"is smaller than the kernel span {span}"
                )
        return x

    def loop_weight(self) -> Tensor:
        """The 1x1 convolution ``beta Xbar Xbar^T``: ``(C_out, C_out, 1, 1)``."""
        flat = self.patterns.reshape(self.out_channels, -1)  # (C_out, C_in kh kw)
        return (self.beta * flat @ flat.T).view(self.out_channels, self.out_channels, 1, 1)

    def forward(self, x: Tensor) -> Tensor:
        """Pattern logits ``(B, C_out, H', W')`` of images ``(B, C_in, H, W)`` (Listing 4.2)."""
        x = self._check(x)
        logits = F.conv2d(x, self.beta * self.patterns, **self.conv.kwargs())  # (B, C_out, H', W')
        weight = self.loop_weight()
        for _ in range(self.iterations):
            logits = F.conv2d(logits.softmax(dim=1), weight)  # (B, C_out, H', W')
        return logits + self.bias.view(1, -1, 1, 1)

    def as_hopfield(self) -> ModernHopfield:
        """The modern Hopfield network every patch runs (Sec. 4.3).

        ``ModernHopfield(Xbar, beta)`` with ``Xbar`` ``(C_out, C_in kh kw)`` the flattened
        kernels, on flattened patches (``F.unfold``'s layout): the logits of :meth:`forward`
        at a pixel are ``beta Xbar xi_T + b`` with ``xi_T`` ``iterations`` updates of its
        patch. A detached snapshot.
        """
        flat = self.patterns.detach().reshape(self.out_channels, -1)  # (C_out, C_in kh kw)
        return ModernHopfield(flat, beta=float(self.beta.detach()))

    def reconstruct(self, logits: Tensor) -> Tensor:
        """Recalled image ``sum over patches of X softmax(logits)`` (Sec. 4.3).

        Args:
            logits: ``(B, C_out, H', W')``.

        Returns:
            ``(B, C_in, H, W)``: the transposed convolution of ``softmax_channels(logits)`` with
            the patterns (same stride, padding and dilation; ``H`` may be smaller than the
            input's by up to ``stride - 1``).
        """
        if not isinstance(logits, Tensor) or logits.dim() != 4:
            shape = tuple(logits.shape) if isinstance(logits, Tensor) else type(logits).__name__
            raise ConfigError(f"reconstruct expects logits (B, C_out, H', W'); got {shape}")
        if logits.shape[1] != self.out_channels:
            raise ConfigError(
                f"reconstruct expects {self.out_channels} channels; got {tuple(logits.shape)}"
            )
        probs = logits.softmax(dim=1)
        return F.conv_transpose2d(probs, self.patterns, **self.conv.kwargs())


# --------------------------------------------------------------------------------------- VHNN


class VHNN(nn.Module):
    """Variational Hopfield network: noisy probabilities in the loop (Sec. 4.4, Listing 4.3).

    Per channel ``c`` with patterns ``X_c`` ``(F, N)``, ``beta_c = exp(log_beta_c)`` and
    ``eta_c = exp(log_noise_c)``, each of the ``iterations`` steps is::

        p = softmax(beta_c X_c xi)                                  (F,)
        S = p + eta_c sqrt(p (1 - p)) * eps,  eps ~ N(0, I_F)       (Sec. 4.4, S^eta)
        xi <- X_c^T S                                               (N,)

    Our reading of the garbled text: the notes define ``eps ~ N(0, eta^2 I)`` and multiply by
    ``diag(sqrt(p_k (1 - p_k)))``, the standard deviation of one Bernoulli(``p_k``) sample, so
    ``eta`` plays ``1/sqrt(n)`` for the mean of ``n`` one-hot samples (central limit theorem).
    Listing 4.3 scales the input by ``sqrt(beta)`` and the patterns by ``sqrt(beta)`` and the
    output by ``1/sqrt(beta)``; these factors cancel, giving exactly the map above.

    ``S`` need not lie in the simplex (components can be negative or exceed 1); the state stays
    in the affine span of the patterns. The noise is reparameterised: ``eps`` carries no
    gradient and ``S`` is differentiated exactly, scale included (Listing 4.3 meant to detach
    the scale, and crashed doing so); the square root is taken safely, with gradient 0 where
    ``p (1 - p) = 0`` (there the noise term vanishes, and ``dp/dl = 0`` as well).

    Noise is on in train mode, or when ``forward(..., stochastic=True)``; in eval mode (and with
    ``stochastic=False``) the layer is the deterministic modern Hopfield update iterated.

    Args:
        channels: ``C`` (>= 1). features: patterns ``F`` per channel (>= 1).
        neurons: ``N`` (>= 1).
        iterations: steps per forward (>= 1). Default 1.
        beta: initial inverse temperature (> 0). Default 1.
        noise: initial noise level ``eta`` (> 0). Default ``exp(-3)`` (the notes initialise
            ``log_noise = -3``, plus ``N(0, 1)`` when trainable).

    Parameters: ``log_beta`` ``(C,)``, ``log_noise`` ``(C,)``, ``patterns`` ``(C, F, N)``
    initialised ``tanh(N(0, 1))``.

    Raises:
        ConfigError: for bad sizes, ``iterations < 1``, ``beta <= 0`` or ``noise <= 0``.
    """

    def __init__(
        self,
        channels: int,
        features: int,
        neurons: int,
        *,
        iterations: int = 1,
        beta: float = 1.0,
        noise: float = math.exp(-3.0),
    ) -> None:
        super().__init__()
        self.channels = check_int("channels", channels, 1)
        self.features = check_int("features", features, 1)
        self.neurons = check_int("neurons", neurons, 1)
        self.iterations = check_int("iterations", iterations, 1)
        beta = _check_beta("beta", beta)
        noise = _check_beta("noise", noise)
        self.log_beta = nn.Parameter(torch.full((channels,), math.log(beta)))
        self.log_noise = nn.Parameter(torch.full((channels,), math.log(noise)))
        self.patterns = nn.Parameter(torch.tanh(torch.randn(channels, features, neurons)))

    @property
    def beta(self) -> Tensor:
        """``exp(log_beta)``: ``(C,)``."""
        return self.log_beta.exp()

    @property
    def noise(self) -> Tensor:
        """``eta = exp(log_noise)``: ``(C,)``."""
        return self.log_noise.exp()

    def probabilities(self, xi: Tensor) -> Tensor:
        """``p = softmax(beta X xi)``: ``(B, C, N) -> (B, C, F)``."""
        logits = torch.einsum("cfn,bcn->bcf", self.patterns, xi)  # (B, C, F)
        return (self.beta.view(1, -1, 1) * logits).softmax(dim=-1)

    def sample(self, p: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """``S = p + eta sqrt(p (1 - p)) eps`` (reparameterised): ``(B, C, F) -> (B, C, F)``."""
        eps = torch.randn(p.shape, generator=generator, dtype=p.dtype, device=p.device)
        var = p * (1.0 - p)  # (B, C, F): Bernoulli variance
        pos = var > 0
        scale = torch.where(pos, var, torch.ones_like(var)).sqrt() * pos  # safe sqrt, grad 0 at 0
        return p + self.noise.view(1, -1, 1) * scale * eps

    def step(
        self, xi: Tensor, *, stochastic: bool = False, generator: torch.Generator | None = None
    ) -> Tensor:
        """One update ``xi <- X^T S`` (or ``X^T p`` when not stochastic): ``(B, C, N)``."""
        p = self.probabilities(xi)  # (B, C, F)
        if stochastic:
            p = self.sample(p, generator)
        return torch.einsum("cfn,bcf->bcn", self.patterns, p)  # (B, C, N)

    def forward(
        self,
        x: Tensor,
        *,
        stochastic: bool | None = None,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """``iterations`` steps from ``x`` ``(B, C, N)``; returns ``(B, C, N)``.

        Args:
            x: initial states ``(B, C, N)``.
            stochastic: add the variational noise; ``None`` (default) means ``self.training``.
            generator: optional generator for ``eps`` (reproducible chains).
        """
        xi = _check_input(x, (self.channels, self.neurons), "VHNN", "(B, channels, neurons)")
        noisy = self.training if stochastic is None else bool(stochastic)
        for _ in range(self.iterations):
            xi = self.step(xi, stochastic=noisy, generator=generator)
        return xi

    def as_hopfield(self, channel: int = 0) -> ModernHopfield:
        """The modern Hopfield network channel ``channel`` iterates without noise (Sec. 4.4).

        ``ModernHopfield(X_c, beta_c)`` (a detached snapshot): in eval mode (or with
        ``stochastic=False``) :meth:`forward` is ``iterations`` of its ``update``.

        Raises:
            ConfigError: for a channel outside ``[0, channels)``.
        """
        c = _check_channel(channel, self.channels)
        return ModernHopfield(self.patterns[c].detach(), beta=float(self.beta[c].detach()))

    @torch.no_grad()
    def set_patterns(self, patterns: Tensor) -> None:
        """Copy ``patterns`` ``(C, F, N)`` into the layer."""
        _check_input(
            patterns, (self.features, self.neurons), "set_patterns", "(C, features, neurons)"
        )
        if patterns.shape[0] != self.channels:
            raise ConfigError(
                f"set_patterns expects {self.channels} channels; got {tuple(patterns.shape)}"
            )
        self.patterns.copy_(patterns)

    @torch.no_grad()
    def set_beta(self, beta: float) -> None:
        """Set every inverse temperature (> 0)."""
        self.log_beta.fill_(math.log(_check_beta("beta", beta)))

    @torch.no_grad()
    def set_noise(self, noise: float) -> None:
        """Set every noise level ``eta`` (> 0)."""
        self.log_noise.fill_(math.log(_check_beta("noise", noise)))


# ------------------------------------------------------------------------------ ConvexReducer


class ConvexReducer(nn.Module):
    """Merge channels by a learned convex combination per feature (Sec. 4.2).

    ``y_f = sum_c w_{c, f} x_{c, f}`` with ``w_{:, f} = softmax_c(W_{:, f})``, so each output
    logit lies between the smallest and the largest channel logit of its feature (notes cell 7,
    ``ConvexMerge(1, features, 1, channels)``).

    Args:
        channels: ``C`` (>= 1). features: ``F`` (>= 1).

    Parameters: ``weight`` ``(C, F)``, zeros (a plain average at initialisation; the notes draw
    ``N(0, 1)``). Count ``C F``.

    Raises:
        ConfigError: for non-positive sizes.
    """

    def __init__(self, channels: int, features: int) -> None:
        super().__init__()
        self.channels = check_int("channels", channels, 1)
        self.features = check_int("features", features, 1)
        self.weight = nn.Parameter(torch.zeros(channels, features))

    def mixing(self) -> Tensor:
        """Convex weights ``softmax_c(W)``: ``(C, F)``, columns sum to 1."""
        return self.weight.softmax(dim=0)

    def forward(self, x: Tensor) -> Tensor:
        """``(B, C, F) -> (B, F)``."""
        x = _check_input(x, (self.channels, self.features), "ConvexReducer", "(B, C, F)")
        return torch.einsum("cf,bcf->bf", self.mixing(), x)  # (B, F)
