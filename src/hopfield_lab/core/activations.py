"""Activations with their Lagrangians.

Every Hopfield energy in the papers is written with a Lagrangian ``Phi`` whose gradient is the
activation, ``sigma = grad Phi`` (Krotov & Hopfield; finite-step paper App. C; notes ch. 3). An
:class:`Activation` carries the three pieces together:

* ``sigma(u)``: the activation, same shape as ``u``;
* ``lagrangian(u)``: ``Phi(u)`` summed over the last dimension, shape ``u.shape[:-1]``;
* ``derivative(u)``: the elementwise ``sigma'(u)`` (only for elementwise activations);
  ``jvp(u, v)`` gives ``J_sigma(u) v`` for every activation, softmax included.

Closed forms used (all elementwise sums over the last dimension unless stated):

=================  ==========================  ============================================
name               sigma(u)                    Phi(u)
=================  ==========================  ============================================
identity           u                           u^2 / 2
tanh               tanh(beta u)                log cosh(beta u) / beta
sigmoid            sigmoid(beta u)             softplus(beta u) / beta
shifted_sigmoid    sigmoid(4u - 2)             softplus(4u - 2) / 4   (hopdeq's rho)
relu               max(u, 0)                   max(u, 0)^2 / 2
softplus           log(1 + e^u)                -Li2(-e^u)   (dilogarithm)
hardtanh           clip(u, -1, 1)              Huber: u^2/2 if |u|<=1 else |u| - 1/2
softmax            softmax(beta u)             logsumexp(beta u) / beta  (not separable)
gelu               u Phi_N(u)                  ((u^2 - 1) Phi_N(u) + u phi_N(u)) / 2
=================  ==========================  ============================================

GELU is not monotone, so its Lagrangian is not convex: ``convex_lagrangian`` is False and energy
descent theorems that need a convex Lagrangian do not apply to it.

Numerics: ``log cosh`` is evaluated as ``|x| + log1p(e^{-2|x|}) - log 2`` and ``sech^2`` as
``4 e^{-2|x|} / (1 + e^{-2|x|})^2``, which never overflow and whose gradients stay finite where
tanh saturates (``sqrt(1 - tanh^2)`` would give NaN gradients there). The softplus Lagrangian
uses Landen's identity ``-Li2(-z) = Li2(z / (1 + z)) + log(1 + z)^2 / 2`` for ``z = e^{-|u|}``,
so the series argument is at most 1/2 (48 terms reach float64 precision), and the inversion
formula ``-Li2(-e^u) = pi^2/6 + u^2/2 + Li2(-e^{-u})`` for ``u > 0``; its gradient is the exact
``softplus(u)`` (a custom autograd function that also supports double backward).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor

from hopfield_lab.errors import ConfigError, check_positive

__all__ = [
    "ACTIVATIONS",
    "Activation",
    "dilog_lagrangian",
    "get_activation",
    "log_cosh",
    "sech2",
]


def log_cosh(x: Tensor) -> Tensor:
    """Stable ``log cosh(x)``; finite for every finite ``x``."""
    a = x.abs()
    return a + torch.log1p(torch.exp(-2.0 * a)) - math.log(2.0)


def sech2(x: Tensor) -> Tensor:
    """Stable ``sech(x)^2 = 1 - tanh(x)^2``; tends to 0 without NaN in value or gradient."""
    e = torch.exp(-2.0 * x.abs())
    return 4.0 * e / (1.0 + e) ** 2


_DILOG_TERMS = 48
_PI2_6 = math.pi**2 / 6.0


def _li2_small(w: Tensor) -> Tensor:
    """``Li2(w) = sum_k w^k / k^2`` for ``0 <= w <= 1/2`` by Horner's rule."""
    acc = torch.zeros_like(w)
    for k in range(_DILOG_TERMS, 0, -1):
        acc = w * (1.0 / (k * k) + acc)
    return acc


def _neg_li2_neg_exp(u: Tensor) -> Tensor:
    """``-Li2(-e^u)`` for any real ``u`` (value only)."""
    a = u.abs()
    w = torch.sigmoid(-a)  # z / (1 + z) with z = e^{-|u|}, in (0, 1/2]
    log1pz = F.softplus(-a)  # log(1 + z)
    small = _li2_small(w) + 0.5 * log1pz**2  # -Li2(-z), z = e^{-|u|}
    return torch.where(u <= 0, small, _PI2_6 + 0.5 * u * u - small)


class _DilogLagrangian(torch.autograd.Function):
    """Elementwise ``-Li2(-e^u)`` with the exact gradient ``softplus(u)``."""

    @staticmethod
    def forward(ctx, u: Tensor) -> Tensor:
        ctx.save_for_backward(u)
        return _neg_li2_neg_exp(u)

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tensor:
        (u,) = ctx.saved_tensors
        return grad * F.softplus(u)


def dilog_lagrangian(u: Tensor) -> Tensor:
    """Elementwise softplus Lagrangian ``-Li2(-e^u)`` (its derivative is ``log(1 + e^u)``)."""
    return _DilogLagrangian.apply(u)


@dataclass(frozen=True)
class Activation:
    """An activation ``sigma = grad Phi`` with its Lagrangian and derivative.

    Attributes:
        name: registry name.
        beta: inverse temperature / gain (1 where the activation has none).
        elementwise: whether ``sigma`` acts entry by entry (False for softmax).
        convex_lagrangian: whether ``Phi`` is convex (``sigma`` monotone).
        bounded: whether ``sigma`` has bounded range (used by energy-bound diagnostics).
    """

    name: str
    beta: float
    _sigma: Callable[[Tensor], Tensor] = field(repr=False)
    _phi: Callable[[Tensor], Tensor] = field(repr=False)
    _dsigma: Callable[[Tensor], Tensor] | None = field(repr=False)
    elementwise: bool = True
    convex_lagrangian: bool = True
    bounded: bool = False

    def __call__(self, u: Tensor) -> Tensor:
        return self._sigma(u)

    def sigma(self, u: Tensor) -> Tensor:
        """The activation ``sigma(u)``, shape of ``u``."""
        return self._sigma(u)

    def lagrangian(self, u: Tensor) -> Tensor:
        """``Phi(u)`` summed over the last dimension: shape ``u.shape[:-1]``."""
        phi = self._phi(u)
        return phi if not self.elementwise else phi.sum(dim=-1)

    def derivative(self, u: Tensor) -> Tensor:
        """Elementwise ``sigma'(u)``.

        Raises:
            ConfigError: for a non-elementwise activation (use :meth:`jvp`).
        """
        if self._dsigma is None:
            raise ConfigError(
                f"activation {self.name!r} is not elementwise: its derivative is a matrix; "
                "use jvp(u, v) or jacobian(u)"
            )
        return self._dsigma(u)

    def jvp(self, u: Tensor, v: Tensor) -> Tensor:
        """``J_sigma(u) v`` for batch-first ``u, v`` of the same shape."""
        if self.elementwise:
            return self.derivative(u) * v
        p = self._sigma(u)  # softmax(beta u)
        return self.beta * p * (v - (p * v).sum(dim=-1, keepdim=True))

    def jacobian(self, u: Tensor) -> Tensor:
        """Full Jacobian ``d sigma / d u``: shape ``(..., n, n)``."""
        if self.elementwise:
            return torch.diag_embed(self.derivative(u))
        p = self._sigma(u)
        return self.beta * (torch.diag_embed(p) - p.unsqueeze(-1) * p.unsqueeze(-2))


def _identity(beta: float) -> Activation:
    return Activation(
        "identity", 1.0, lambda u: u, lambda u: 0.5 * u * u, lambda u: torch.ones_like(u)
    )


def _tanh(beta: float) -> Activation:
    return Activation(
        "tanh",
        beta,
        lambda u: torch.tanh(beta * u),
        lambda u: log_cosh(beta * u) / beta,
        lambda u: beta * sech2(beta * u),
        bounded=True,
    )


def _sigmoid_parts(scale: float, shift: float) -> tuple[Callable, Callable, Callable]:
    def sigma(u: Tensor) -> Tensor:
        return torch.sigmoid(scale * u - shift)

    def phi(u: Tensor) -> Tensor:
        return F.softplus(scale * u - shift) / scale

    def dsigma(u: Tensor) -> Tensor:
        s = torch.sigmoid(scale * u - shift)
        return scale * s * (1.0 - s)

    return sigma, phi, dsigma


def _sigmoid(beta: float) -> Activation:
    return Activation("sigmoid", beta, *_sigmoid_parts(beta, 0.0), bounded=True)


def _shifted_sigmoid(beta: float) -> Activation:
    return Activation("shifted_sigmoid", 1.0, *_sigmoid_parts(4.0, 2.0), bounded=True)


def _relu(beta: float) -> Activation:
    return Activation(
        "relu",
        1.0,
        torch.relu,
        lambda u: 0.5 * torch.relu(u) ** 2,
        lambda u: (u > 0).to(u.dtype),
    )


def _softplus(beta: float) -> Activation:
    return Activation("softplus", 1.0, F.softplus, dilog_lagrangian, lambda u: torch.sigmoid(u))


def _hardtanh(beta: float) -> Activation:
    return Activation(
        "hardtanh",
        1.0,
        lambda u: u.clamp(-1.0, 1.0),
        lambda u: torch.where(u.abs() <= 1.0, 0.5 * u * u, u.abs() - 0.5),
        lambda u: (u.abs() < 1.0).to(u.dtype),
        bounded=True,
    )


def _softmax(beta: float) -> Activation:
    return Activation(
        "softmax",
        beta,
        lambda u: torch.softmax(beta * u, dim=-1),
        lambda u: torch.logsumexp(beta * u, dim=-1) / beta,
        None,
        elementwise=False,
        bounded=True,
    )


_SQRT2 = math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def _normal_cdf(u: Tensor) -> Tensor:
    return 0.5 * (1.0 + torch.erf(u / _SQRT2))


def _normal_pdf(u: Tensor) -> Tensor:
    return _INV_SQRT_2PI * torch.exp(-0.5 * u * u)


def _gelu(beta: float) -> Activation:
    return Activation(
        "gelu",
        1.0,
        lambda u: u * _normal_cdf(u),
        lambda u: 0.5 * ((u * u - 1.0) * _normal_cdf(u) + u * _normal_pdf(u)),
        lambda u: _normal_cdf(u) + u * _normal_pdf(u),
        convex_lagrangian=False,
    )


ACTIVATIONS: dict[str, Callable[[float], Activation]] = {
    "identity": _identity,
    "tanh": _tanh,
    "sigmoid": _sigmoid,
    "shifted_sigmoid": _shifted_sigmoid,
    "relu": _relu,
    "softplus": _softplus,
    "hardtanh": _hardtanh,
    "softmax": _softmax,
    "gelu": _gelu,
}
"""Name -> factory taking ``beta`` (ignored by activations without a gain)."""


def get_activation(name: str | Activation, beta: float = 1.0) -> Activation:
    """Look up an activation by name.

    Args:
        name: one of :data:`ACTIVATIONS` (or an :class:`Activation`, returned unchanged).
        beta: gain for ``tanh``, ``sigmoid`` and ``softmax``; must be > 0.

    Raises:
        ConfigError: unknown name (the message lists the valid ones) or ``beta <= 0``.
    """
    if isinstance(name, Activation):
        return name
    if name not in ACTIVATIONS:
        raise ConfigError(
            f"activation must be one of {', '.join(sorted(ACTIVATIONS))}; got {name!r}"
        )
    check_positive("beta", beta)
    return ACTIVATIONS[name](float(beta))
