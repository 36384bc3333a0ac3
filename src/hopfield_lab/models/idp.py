"""Input-driven-plasticity (IDP) Hopfield networks and two-timescale sequential retrieval.

Sources: Betteti, Baggio, Bullo, Zampieri, Sci. Adv. 11 eadu6991 (2025) (Model 1) and
Betteti, Baggio, Zampieri, arXiv 2603.03201 (2026) (Model 2). The second paper's full text
was not available; the equations follow ``shared/papers/sequential-retrieval-idp-spec.md``,
whose tags are repeated here: [A] stated by the papers' summaries, [C] the authors' code for
the first paper, [D] derived, [P] our reconstruction.

**Model 1, :class:`IDPHopfield`** (spec Sec. 1). Memories ``xi_mu in {-1, +1}^N`` are the rows
of ``X`` ``(P, N)``; the input ``u in R^N`` sets the saliencies ``alpha_mu(u) = xi_mu^T u / N``
[C] (the projection coefficients for orthogonal memories) and the couplings
``W(u) = (1/N) X^T diag(alpha) X`` [A, C]::

    x' = -x + W(u) psi(x)            (+ sigma dB for the stochastic version [A, C])
    E(x; u) = -1/2 psi(x)^T W(u) psi(x) + sum_i G(x_i),   G(z) = z psi(z) - int_0^z psi

with ``psi(z) = tanh(gamma z)`` or Hard Tanh ``clip(z, -1, 1)`` (``G = z tanh z - log cosh z``
for ``gamma = 1``, ``G = min(z^2, 1) / 2`` for Hard Tanh). ``E`` is a Lyapunov function for
constant ``u``: ``dE/dt = -sum_i psi'(x_i) x_i'^2 <= 0`` [A, D]. ``W`` is never formed: ``W psi
= X^T (alpha * (X psi / N))``, a ``(B, P) x (P, N)`` product. The optional zeroed diagonal [C]
subtracts ``(sum_mu alpha_mu / N) psi(x)``. ``model.bind(u)`` (or ``bind_saliency(alpha)``)
returns a :class:`BoundIDP` view with ``vector_field``, ``energy``, ``update`` ``W psi(x)``
(whose fixed points are the flow's equilibria) and its closed-form ``jacobian`` ``W diag
psi'(x)``. Closed forms for orthogonal memories (:mod:`hopfield_lab.theory.idp`):
equilibria ``c xi_mu`` with ``c = alpha_mu psi(c)``, stable iff ``psi'(c) max_nu alpha_nu < 1``.

**Classic baseline, :class:`ClassicInputHopfield`** [C]: ``x' = -x + W_0 psi(x) + u(t)``,
``W_0 = (1/N) X^T X`` with zero diagonal by default, energy ``E_0(x) - u^T psi(x)``; the input is
held for its window (``"constant"``, the code's mode 'c') or applied only during the first time
unit of it (``"pulsed"``, mode 'm'); see :class:`InputSchedule`.

**Model 2, :class:`SequentialIDP`** (spec Sec. 2). Fast IDP network with Hard Tanh and
orthogonal memories [A], saliencies set by a slow law. The paper's slow equations are unknown;
the default law is the spec's **[P] reconstruction**::

    fast:  x'     = -x + X^T diag(alpha) X psi(x) / N + sigma_x xi(t)
    slow:  alpha' = eps (-alpha + kappa S |m(x)|),      m(x) = X psi(x) / N

with ``S`` the successor matrix (``S[mu+1, mu] = 1``, open chain; a cycle adds ``S[0, P-1]``),
``|m|`` (default) or ``m^2``; slow time ``s = eps t``. As ``eps -> 0`` it reproduces the map
``Z' = kappa (1 - 1/Z)`` exactly [D]; the law is swappable (``slow_law=``; :class:`FatigueLaw` is
the spec's alternative with the same map on an open chain).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Protocol

import numpy as np
import torch
from torch import Tensor

from hopfield_lab.core.activations import Activation, get_activation
from hopfield_lab.core.dynamics import BoundModel, HopfieldModel, as_batch
from hopfield_lab.errors import (
    ConfigError,
    DivergenceError,
    check_choice,
    check_positive,
    check_range,
)
from hopfield_lab.theory import idp as _theory

__all__ = [
    "INPUT_MODES",
    "SIGN_MODES",
    "BoundIDP",
    "ClassicInputHopfield",
    "FatigueLaw",
    "IDPHopfield",
    "InputSchedule",
    "SequenceRun",
    "SequentialIDP",
    "SlowLaw",
    "SuccessorLaw",
    "check_memories",
    "mixed_inputs",
    "sequence_events",
    "successor_matrix",
]

INPUT_MODES: tuple[str, ...] = ("constant", "pulsed")
"""How an :class:`InputSchedule` applies its inputs: held for the window, or a first pulse."""

SIGN_MODES: tuple[str, ...] = ("abs", "square")
"""How Model 2's slow law reads the overlaps: ``|m|`` (default) or ``m^2``."""

_ORTHO_TOL = 1e-6


# ----------------------------------------------------------------------------- memories
def check_memories(patterns: Any, *, require_orthogonal: bool = False) -> Tensor:
    """Validate IDP memories: a floating ``(P, N)`` tensor of ``+-1`` entries, ``P >= 1``.

    Args:
        patterns: the memories as rows.
        require_orthogonal: also require ``X X^T = N I`` (to ``1e-6 N``).

    Returns:
        ``patterns`` (unchanged).

    Raises:
        ConfigError: naming ``patterns`` and what is wrong (shape, dtype, entries, orthogonality).
    """
    if not isinstance(patterns, Tensor) or patterns.dim() != 2 or patterns.shape[0] < 1:
        shape = tuple(patterns.shape) if isinstance(patterns, Tensor) else type(patterns).__name__
        raise ConfigError(f"patterns must be a (P, N) tensor with P >= 1; got {shape}")
    if not patterns.is_floating_point():
        raise ConfigError(f"patterns must have a floating dtype; got {patterns.dtype}")
    if not bool((patterns.abs() == 1).all()):
        bad = int((patterns.abs() != 1).sum())
        raise ConfigError(
            f"patterns must have entries +-1 (IDP memories); {bad} of {patterns.numel()} are not"
        )
    if require_orthogonal:
        n = patterns.shape[1]
        gram = patterns.double() @ patterns.double().T  # (P, P)
        off = (gram - n * torch.eye(patterns.shape[0], dtype=torch.float64)).abs().max()
        if float(off) > _ORTHO_TOL * n:
            raise ConfigError(
                "patterns must be mutually orthogonal (X X^T = N I; e.g. rows of a Hadamard "
                f"matrix, hadamard_patterns); largest |xi_mu . xi_nu| off the diagonal is "
                f"{float(off):g} for N={n}"
            )
    return patterns


class _PatternNetwork(HopfieldModel):
    """Shared machinery: ``+-1`` memories ``X`` ``(P, N)``, ``psi``, ``W(alpha) psi`` without W."""

    zero_diag: bool

    def __init__(
        self,
        patterns: Tensor,
        activation: Literal["tanh", "hardtanh"],
        gamma: float,
        zero_diag: bool,
        require_orthogonal: bool = False,
    ) -> None:
        super().__init__()
        check_memories(patterns, require_orthogonal=require_orthogonal)
        check_choice("activation", activation, _theory.IDP_ACTIVATIONS)
        check_positive("gamma", gamma)
        if not isinstance(zero_diag, bool):
            raise ConfigError(f"zero_diag must be a boolean; got {zero_diag!r}")
        self.register_buffer("patterns", patterns.clone())
        self.activation_name: Literal["tanh", "hardtanh"] = activation
        self.gamma = float(gamma) if activation == "tanh" else 1.0
        self.act: Activation = get_activation(activation, self.gamma)
        self.zero_diag = zero_diag
        self.state_dim = int(patterns.shape[1])

    patterns: Tensor

    @property
    def n_patterns(self) -> int:
        """``P``."""
        return int(self.patterns.shape[0])

    @property
    def orthogonal(self) -> bool:
        """Whether the memories are mutually orthogonal (``X X^T = N I``)."""
        try:
            check_memories(self.patterns, require_orthogonal=True)
        except ConfigError:
            return False
        return True

    def extra_repr(self) -> str:
        act = f"tanh(gamma={self.gamma:g})" if self.activation_name == "tanh" else "hardtanh"
        return f"P={self.n_patterns}, N={self.state_dim}, psi={act}, zero_diag={self.zero_diag}"

    def psi(self, x: Tensor) -> Tensor:
        """The activation ``psi(x)``, elementwise."""
        return self.act.sigma(x)

    def overlaps(self, x: Tensor) -> Tensor:
        """``m = X psi(x) / N``: ``(B, N) -> (B, P)`` (``(N,) -> (P,)``)."""
        return self.psi(x) @ self.patterns.T / self.state_dim  # (B, P)

    def _alpha(self, alpha: Any, name: str = "alpha") -> Tensor:
        a = torch.as_tensor(alpha, dtype=self.patterns.dtype, device=self.patterns.device)
        if a.dim() not in (1, 2) or a.shape[-1] != self.n_patterns:
            raise ConfigError(
                f"{name} must have shape (P,) or (B, P) with P={self.n_patterns}; "
                f"got {tuple(a.shape)}"
            )
        if not bool(torch.isfinite(a).all()):
            raise ConfigError(f"{name} must be finite")
        return a

    def _drive(self, psi: Tensor, alpha: Tensor) -> Tensor:
        """``W(alpha) psi = X^T (alpha * (X psi / N))`` (minus the diagonal when zeroed)."""
        m = psi @ self.patterns.T / self.state_dim  # (B, P)
        out = (m * alpha) @ self.patterns  # (B, N)
        if self.zero_diag:
            out = out - (alpha.sum(-1, keepdim=True) / self.state_dim) * psi
        return out

    def _quadratic(self, psi: Tensor, alpha: Tensor) -> Tensor:
        """``psi^T W(alpha) psi`` per sample, ``(B,)``."""
        m = psi @ self.patterns.T / self.state_dim  # (B, P)
        q = self.state_dim * (alpha * m * m).sum(-1)
        if self.zero_diag:
            q = q - alpha.sum(-1) / self.state_dim * (psi * psi).sum(-1)
        return q

    def lagrangian_term(self, x: Tensor) -> Tensor:
        """``sum_i G(x_i)`` with ``G(z) = z psi(z) - int_0^z psi``: ``(B, N) -> (B,)``."""
        return (x * self.psi(x)).sum(-1) - self.act.lagrangian(x)

    def _weights(self, alpha: Tensor) -> Tensor:
        """Dense ``W(alpha)``: ``(P,) -> (N, N)`` or ``(B, P) -> (B, N, N)`` (Jacobians only)."""
        X = self.patterns
        W = torch.einsum("...p,pi,pj->...ij", alpha, X, X) / self.state_dim  # (..., N, N)
        if self.zero_diag:
            eye = torch.eye(self.state_dim, dtype=X.dtype, device=X.device)
            W = W - (alpha.sum(-1) / self.state_dim)[..., None, None] * eye
        return W


class BoundIDP(BoundModel):
    """An IDP (or classic) network with its input fixed: ``x' = -x + W(alpha) psi(x) + b``.

    Made by :meth:`IDPHopfield.bind` / :meth:`IDPHopfield.bind_saliency` (``b = 0``) and
    :meth:`ClassicInputHopfield.bind` (``alpha = 1``, ``b = u``). ``alpha`` is ``(P,)`` (one
    input shared by every state: ``batch = 1``) or ``(B, P)`` (one input per state row:
    ``batch = B``); so is ``bias``. States follow the contract's batch rule
    (:class:`~hopfield_lab.core.BoundModel`): ``B`` rows, or ``k B`` rows read as ``k``
    stacked copies of the bound batch (how a flattened trajectory is evaluated).

    Attributes:
        alpha: the saliencies, precomputed once.
        bias: the additive input ``b`` or None.
    """

    def __init__(self, parent: _PatternNetwork, alpha: Tensor, bias: Tensor | None) -> None:
        sizes = {t.shape[0] for t in (alpha, bias) if t is not None and t.dim() == 2}
        if len(sizes) > 1:
            raise ConfigError(f"alpha and bias must have the same batch; got {sorted(sizes)}")
        super().__init__(parent, parent.state_dim, sizes.pop() if sizes else 1)
        self.net = parent
        self.alpha = alpha
        self.bias = bias

    def extra_repr(self) -> str:
        return f"alpha shape={tuple(self.alpha.shape)}, bias={self.bias is not None}"

    def _inputs(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor | None]:
        """States ``(n, N)`` and the saliencies and bias that go with their rows."""
        xb, _ = as_batch(x, self.state_dim)
        alpha = self.rows(self.alpha, xb) if self.alpha.dim() == 2 else self.alpha
        bias = self.bias
        if bias is not None and bias.dim() == 2:
            bias = self.rows(bias, xb)
        return xb, alpha, bias

    def update(self, x: Tensor) -> Tensor:
        """``W(alpha) psi(x) + b``: its fixed points are the flow's equilibria. ``(B, N)``."""
        xb, alpha, bias = self._inputs(x)
        out = self.net._drive(self.net.psi(xb), alpha)
        return out if bias is None else out + bias

    def vector_field(self, t: Tensor | float, x: Tensor) -> Tensor:
        """``x' = -x + W(alpha) psi(x) + b`` (spec Sec. 1). ``(B, N)``."""
        xb, _ = as_batch(x, self.state_dim)
        return self.update(xb) - xb

    def energy(self, x: Tensor) -> Tensor:
        """``E = -1/2 psi^T W psi + sum_i G(x_i) - b^T psi``, ``(B,)``; non-increasing along
        the flow (``dE/dt = -sum_i psi'(x_i) x_i'^2``)."""
        xb, alpha, bias = self._inputs(x)
        psi = self.net.psi(xb)
        e = -0.5 * self.net._quadratic(psi, alpha) + self.net.lagrangian_term(xb)
        if bias is not None:
            e = e - (bias * psi).sum(-1)
        return e

    def energy_grad(self, x: Tensor) -> Tensor:
        """Closed form ``grad E = psi'(x) * (x - W psi(x) - b) = -psi'(x) * x'``."""
        xb, _ = as_batch(x, self.state_dim)
        return self.net.act.derivative(xb) * (xb - self.update(xb))

    def jacobian(self, x: Tensor) -> Tensor:
        """``d update / dx = W(alpha) diag psi'(x)``: ``(B, N, N)`` (the flow's is this minus I)."""
        xb, alpha, _ = self._inputs(x)
        W = self.net._weights(alpha)  # (N, N) or (B, N, N)
        return W * self.net.act.derivative(xb)[:, None, :]  # (B, N, N)

    def overlaps(self, x: Tensor) -> Tensor:
        """``m = X psi(x) / N``, ``(B, P)``."""
        xb, _ = as_batch(x, self.state_dim)
        return self.net.overlaps(xb)


# ----------------------------------------------------------------------------- inputs
@dataclass(frozen=True)
class InputSchedule:
    """A piecewise input ``u(t)``: input ``j`` during ``[boundaries[j], boundaries[j+1])``.

    Attributes:
        inputs: ``(J, N)`` (shared by the batch) or ``(J, B, N)`` (one per sample).
        boundaries: ``J + 1`` strictly increasing times; after the last, the last input stays.
        mode: ``"constant"`` holds input ``j`` over its window (code mode 'c'); ``"pulsed"``
            applies it only during the first ``pulse`` time units (mode 'm'), zero after [C].
        pulse: pulse length (> 0). Default 1.

    Raises:
        ConfigError: wrong shapes, non-increasing boundaries, unknown mode, ``pulse <= 0``.
    """

    inputs: Tensor
    boundaries: tuple[float, ...]
    mode: Literal["constant", "pulsed"] = "constant"
    pulse: float = 1.0

    def __post_init__(self) -> None:
        if not isinstance(self.inputs, Tensor) or self.inputs.dim() not in (2, 3):
            raise ConfigError("inputs must be a (J, N) or (J, B, N) tensor")
        b = tuple(float(v) for v in self.boundaries)
        if len(b) != self.inputs.shape[0] + 1:
            raise ConfigError(
                f"boundaries must have J + 1 = {self.inputs.shape[0] + 1} entries; got {len(b)}"
            )
        if any(not math.isfinite(v) for v in b) or any(q <= p for p, q in itertools.pairwise(b)):
            raise ConfigError(f"boundaries must be finite and strictly increasing; got {b}")
        check_choice("mode", self.mode, INPUT_MODES)
        check_positive("pulse", self.pulse)
        object.__setattr__(self, "boundaries", b)

    @property
    def n_windows(self) -> int:
        return int(self.inputs.shape[0])

    def window(self, t: float) -> int:
        """Index of the window containing ``t`` (clipped to ``[0, J-1]``)."""
        j = 0
        for k in range(1, self.n_windows):
            if t >= self.boundaries[k]:
                j = k
        return j

    def is_on(self, t: float) -> bool:
        """Whether the input is applied at ``t`` (always, in ``"constant"`` mode)."""
        if self.mode == "constant":
            return True
        return t - self.boundaries[self.window(t)] < self.pulse


def mixed_inputs(
    patterns: Tensor,
    targets: Sequence[int],
    *,
    generator: torch.Generator | None = None,
    batch: int | None = None,
    target_range: tuple[float, float] = (2.0, 3.5),
    other_range: tuple[float, float] = (0.8, 1.5),
    previous_range: tuple[float, float] = (0.2, 0.6),
    total: float | None = None,
) -> tuple[Tensor, Tensor]:
    """The mixed inputs of the authors' classification experiment (spec E1, [C]).

    Input ``j`` is ``u_j = sum_l a_{l,j} xi_l`` with ``a_{j,j} ~ U(target_range)`` for its
    target, ``a_{j-1,j} ~ U(previous_range)`` for the previous target, ``a ~ U(other_range)``
    for the others, then rescaled so that ``sum_l a_{l,j} = total`` (default ``sqrt(P N)``).

    Args:
        patterns: memories ``(P, N)``.
        targets: target memory of each input (``J`` indices).
        generator: seeded generator. batch: draw ``B`` independent coefficient sets.
        target_range, other_range, previous_range: uniform ranges. total: column sum.

    Returns:
        ``(inputs, coefficients)``: ``(J, N)`` and ``(J, P)``, or ``(J, B, N)`` and ``(J, B, P)``.

    Raises:
        ConfigError: a target out of range or a bad ``total``.
    """
    P, N = patterns.shape
    for j, t in enumerate(targets):
        if not isinstance(t, int) or not 0 <= t < P:
            raise ConfigError(f"targets[{j}] must be a memory index in [0, {P}); got {t!r}")
    total = math.sqrt(P * N) if total is None else check_positive("total", total)
    shape = (len(targets), batch or 1, P)

    def uniform(lo: float, hi: float) -> Tensor:
        u = torch.rand(shape, generator=generator, dtype=torch.float64)
        return lo + (hi - lo) * u

    a = uniform(*other_range)  # (J, B, P)
    prev = uniform(*previous_range)
    tgt = uniform(*target_range)
    for j, t in enumerate(targets):
        if j > 0 and targets[j - 1] != t:
            a[j, :, targets[j - 1]] = prev[j, :, targets[j - 1]]
        a[j, :, t] = tgt[j, :, t]
    a = a * (total / a.sum(-1, keepdim=True))
    a = a.to(patterns.dtype)
    u = a @ patterns  # (J, B, N)
    if batch is None:
        return u[:, 0], a[:, 0]
    return u, a


# ----------------------------------------------------------------------------- Model 1
class IDPHopfield(_PatternNetwork):
    """The IDP Hopfield network ``x' = -x + W(u) psi(x)`` (spec Sec. 1; see the module).

    Args:
        patterns: memories ``(P, N)`` with ``+-1`` entries (orthogonal for the closed forms).
        activation: ``"tanh"`` (``tanh(gamma z)``) or ``"hardtanh"``. Default ``"tanh"``.
        gamma: gain of tanh (> 0). Default 1 (``psi'(0) = 1``, existence threshold 1 [P]);
            the authors' code uses 10 [C].
        zero_diag: zero the diagonal of ``W(u)`` [C]. Default False.

    Raises:
        ConfigError: bad memories, activation or gain.
    """

    input_driven: ClassVar[bool] = True

    def __init__(
        self,
        patterns: Tensor,
        activation: Literal["tanh", "hardtanh"] = "tanh",
        gamma: float = 1.0,
        *,
        zero_diag: bool = False,
    ) -> None:
        super().__init__(patterns, activation, gamma, zero_diag)

    def saliency(self, u: Tensor) -> Tensor:
        """``alpha_mu(u) = xi_mu^T u / N`` [C]: ``(..., N) -> (..., P)``."""
        if not isinstance(u, Tensor) or u.dim() < 1 or u.shape[-1] != self.state_dim:
            shape = tuple(u.shape) if isinstance(u, Tensor) else type(u).__name__
            raise ConfigError(f"u must be a tensor (..., {self.state_dim}); got {shape}")
        return u.to(self.patterns.dtype) @ self.patterns.T / self.state_dim  # (..., P)

    def bind(self, u: Tensor) -> BoundIDP:
        """Fix the input ``u`` ``(N,)`` or ``(B, N)``: a view with ``W(u)`` precomputed as its
        saliencies."""
        return BoundIDP(self, self._alpha(self.saliency(u), "saliency(u)"), None)

    def bind_saliency(self, alpha: Tensor | Sequence[float]) -> BoundIDP:
        """Fix the saliencies directly: ``alpha`` ``(P,)`` or ``(B, P)``."""
        return BoundIDP(self, self._alpha(alpha), None)

    def drive(self, x: Tensor, alpha: Tensor) -> Tensor:
        """``W(alpha) psi(x)`` for states ``(B, N)`` and saliencies ``(P,)`` or ``(B, P)``."""
        return self._drive(self.psi(x), alpha)

    def schedule_field(self, schedule: InputSchedule) -> Callable[[Tensor | float, Tensor], Tensor]:
        """The time-dependent field ``x' = -x + W(u(t)) psi(x)`` for an input schedule (zero
        input, hence ``W = 0``, where a pulsed schedule is off); saliencies precomputed."""
        alphas = self.saliency(schedule.inputs.to(self.patterns.dtype))  # (J, P) / (J, B, P)

        def field(t: Tensor | float, x: Tensor) -> Tensor:
            tf = float(t)
            if not schedule.is_on(tf):
                return -x
            return self.drive(x, alphas[schedule.window(tf)]) - x

        return field

    # --- closed forms (orthogonal memories, no zeroed diagonal) ------------------------
    def _closed_form_check(self) -> None:
        if self.zero_diag:
            raise ConfigError(
                "the closed forms assume zero_diag=False (a zeroed diagonal shifts every "
                "equilibrium by (sum alpha / N) psi)"
            )
        check_memories(self.patterns, require_orthogonal=True)

    def existence_threshold(self) -> float:
        """``1 / psi'(0)``: a memory has a nonzero equilibrium iff its saliency exceeds it."""
        return _theory.existence_threshold(self.activation_name, self.gamma)

    def equilibrium_amplitude(self, alpha: float | np.ndarray) -> float | np.ndarray:
        """``c`` with ``c = alpha psi(c)`` (0 below the existence threshold)."""
        return _theory.equilibrium_amplitude(alpha, self.activation_name, self.gamma)

    def equilibrium(self, mu: int, alpha: Tensor | Sequence[float]) -> Tensor:
        """The equilibrium ``c_mu xi_mu`` for saliencies ``alpha`` ``(P,)``: ``(N,)``."""
        self._closed_form_check()
        a = self._alpha(alpha)
        if a.dim() != 1:
            raise ConfigError(f"alpha must be (P,) here; got {tuple(a.shape)}")
        if not isinstance(mu, int) or not 0 <= mu < self.n_patterns:
            raise ConfigError(f"mu must be a memory index in [0, {self.n_patterns}); got {mu!r}")
        return float(self.equilibrium_amplitude(float(a[mu]))) * self.patterns[mu]

    def stability_threshold(self, alpha_mu: float) -> float:
        """Largest competing saliency that keeps the memory stable: ``1 / psi'(c_mu)``."""
        return float(_theory.stability_threshold(alpha_mu, self.activation_name, self.gamma))

    def is_stable(self, mu: int, alpha: Tensor | Sequence[float]) -> bool:
        """Whether ``c_mu xi_mu`` exists and ``psi'(c_mu) max_nu alpha_nu < 1`` (spec Sec. 1).

        Raises:
            ConfigError: non-orthogonal memories, ``zero_diag``, bad ``mu`` or ``alpha``.
        """
        self._closed_form_check()
        a = self._alpha(alpha)
        if a.dim() != 1:
            raise ConfigError(f"alpha must be (P,) here; got {tuple(a.shape)}")
        return _theory.is_stable(
            mu, a.detach().cpu().double().numpy(), self.activation_name, self.gamma
        )

    def confusion_is_stable(self, alpha: Tensor | Sequence[float]) -> bool:
        """Whether ``x = 0`` is globally attracting: ``max |alpha| psi'(0) < 1``."""
        self._closed_form_check()
        a = self._alpha(alpha)
        return _theory.confusion_is_stable(
            a.detach().cpu().double().numpy(), self.activation_name, self.gamma
        )

    def well_energy(self, alpha_mu: float) -> float:
        """``E(c_mu xi_mu)``; Hard Tanh: ``N (1 - alpha_mu) / 2``."""
        self._closed_form_check()
        return float(
            _theory.well_energy(alpha_mu, self.state_dim, self.activation_name, self.gamma)
        )


class ClassicInputHopfield(_PatternNetwork):
    """The classic baseline ``x' = -x + W_0 psi(x) + u(t)``, ``W_0 = X^T X / N`` [C].

    Args:
        patterns: memories ``(P, N)`` with ``+-1`` entries.
        activation: ``"tanh"`` or ``"hardtanh"``. Default ``"tanh"``.
        gamma: gain of tanh (> 0). Default 1.
        zero_diag: zero the diagonal of ``W_0`` (the authors' code does). Default True.
    """

    input_driven: ClassVar[bool] = True

    def __init__(
        self,
        patterns: Tensor,
        activation: Literal["tanh", "hardtanh"] = "tanh",
        gamma: float = 1.0,
        *,
        zero_diag: bool = True,
    ) -> None:
        super().__init__(patterns, activation, gamma, zero_diag)
        self.register_buffer(
            "_ones", torch.ones(self.n_patterns, dtype=patterns.dtype, device=patterns.device)
        )

    _ones: Tensor

    def bind(self, u: Tensor) -> BoundIDP:
        """Fix a constant input ``u`` ``(N,)`` or ``(B, N)``."""
        if not isinstance(u, Tensor) or u.dim() not in (1, 2) or u.shape[-1] != self.state_dim:
            raise ConfigError(f"u must be a tensor (N,) or (B, N) with N={self.state_dim}")
        return BoundIDP(self, self._ones, u.to(self.patterns.dtype))

    def schedule_field(self, schedule: InputSchedule) -> Callable[[Tensor | float, Tensor], Tensor]:
        """The field ``x' = -x + W_0 psi(x) + u(t)`` for an input schedule."""
        inputs = schedule.inputs.to(self.patterns.dtype)

        def field(t: Tensor | float, x: Tensor) -> Tensor:
            tf = float(t)
            out = self._drive(self.psi(x), self._ones) - x
            if schedule.is_on(tf):
                out = out + inputs[schedule.window(tf)]
            return out

        return field


# ----------------------------------------------------------------------------- Model 2
class SlowLaw(Protocol):
    """A slow saliency law: ``d alpha / ds`` from the saliencies and the overlaps (slow time).

    Called as ``law(alpha, m)`` with ``alpha`` and ``m`` of shape ``(B, P)``; returns ``(B, P)``.
    """

    def __call__(self, alpha: Tensor, m: Tensor) -> Tensor: ...


def successor_matrix(
    n: int, kind: Literal["chain", "cycle"] = "chain", *, dtype: torch.dtype = torch.float64
) -> Tensor:
    """The ``(P, P)`` successor matrix: ``S[mu+1, mu] = 1`` (open chain); a cycle adds
    ``S[0, P-1] = 1`` (spec Sec. 2)."""
    check_choice("successor", kind, ("chain", "cycle"))
    S = torch.zeros(n, n, dtype=dtype)
    idx = torch.arange(n - 1)
    S[idx + 1, idx] = 1.0
    if kind == "cycle" and n > 1:
        S[0, n - 1] = 1.0
    return S


def _sign(m: Tensor, sign_mode: str) -> Tensor:
    return m.abs() if sign_mode == "abs" else m * m


def _as_kappa(kappa: Any) -> float | Tensor:
    if isinstance(kappa, (int, float)) and not isinstance(kappa, bool):
        check_positive("kappa", kappa)
        return float(kappa)
    k = torch.as_tensor(kappa, dtype=torch.float64)
    if k.dim() != 1 or k.numel() < 1 or not bool(torch.isfinite(k).all()) or bool((k <= 0).any()):
        raise ConfigError(
            f"kappa must be a finite number > 0 or a 1-D sequence of them (one per replica); "
            f"got {kappa!r}"
        )
    return k


class SuccessorLaw:
    """The spec's [P] slow law ``d alpha / ds = -alpha + kappa S g(m)``, ``g = |.|`` or ``(.)^2``.

    Args:
        successor: ``(P, P)`` successor matrix.
        kappa: gain (> 0), or one gain per replica ``(B,)``.
        sign_mode: ``"abs"`` (default) or ``"square"``.
    """

    def __init__(
        self, successor: Tensor, kappa: float | Tensor, sign_mode: Literal["abs", "square"] = "abs"
    ) -> None:
        check_choice("sign_mode", sign_mode, SIGN_MODES)
        self.successor = successor
        self.kappa = _as_kappa(kappa)
        self.sign_mode = sign_mode
        self._ST = successor.T.contiguous()  # (P, P): g(m) @ S^T = (S g(m)^T)^T
        self._kappa_col: Tensor | None = None

    def _gain(self, like: Tensor) -> float | Tensor:
        if isinstance(self.kappa, float):
            return self.kappa
        if self._kappa_col is None or self._kappa_col.dtype != like.dtype:
            self._kappa_col = self.kappa.to(like.dtype).reshape(-1, 1)  # (B, 1)
        return self._kappa_col

    def __call__(self, alpha: Tensor, m: Tensor) -> Tensor:
        drive = _sign(m, self.sign_mode) @ self._ST.to(m.dtype)  # (B, P)
        return self._gain(m) * drive - alpha


class FatigueLaw(SuccessorLaw):
    """The spec's alternative (Sec. 5.1): per-memory fatigue while active plus successor
    charging, ``d alpha / ds = -alpha * g(m) + (kappa - alpha) * S g(m)``.

    On an open chain it gives the same map ``Z' = kappa (1 - 1/Z)`` as :class:`SuccessorLaw`
    (the active memory decays as ``Z e^{-s}``, its successor charges as ``kappa (1 - e^{-s})``);
    inactive memories keep their saliency, so on a cycle the leftover ``a0`` enters the map.
    """

    def __call__(self, alpha: Tensor, m: Tensor) -> Tensor:
        g = _sign(m, self.sign_mode)
        drive = g @ self._ST.to(m.dtype)  # (B, P)
        return (self._gain(m) - alpha) * drive - alpha * g


@dataclass
class SequenceRun:
    """What :meth:`SequentialIDP.simulate` returns.

    Series (torch, recorded every ``record_every`` slow-time units) and per-replica events
    (NumPy, padded with NaN / -1 to the largest number of entries ``K``). For a single run
    (``replicas=None``, scalar ``Z0``, one gain) the batch dimension is dropped everywhere.

    Attributes:
        times: ``(T,)`` slow times ``s = eps t`` of the records.
        overlaps: ``(T, B, P)`` overlaps ``m = X psi(x) / N``.
        saliencies: ``(T, B, P)`` saliencies ``alpha``.
        trajectory: ``(T, B, N)`` states ``x`` (None unless ``record_states``).
        initial_memory: ``(B,)`` memory active at ``s = 0`` (``|m| >= threshold``), -1 if none.
        entry_memories: ``(B, K)`` memory entered at each transition (-1 padding).
        entry_times: ``(B, K)`` slow time at which ``|m_nu|`` crossed the threshold upward
            (interpolated between records).
        entry_saliencies: ``(B, K)`` ``alpha_nu`` at that time: the map's ``Z_1, Z_2, ...``.
        dwell_times: ``(B, K)`` time spent in the memory left at each transition (``log Z_t``
            in the theory).
        n_entries: ``(B,)`` transitions. n_retrieved: ``(B,)`` retrievals, the initial one
            included.
        collapsed: ``(B,)`` whether the run ended in the confusion state (every ``alpha < 1``
            and every ``|m| < threshold`` at the last record; it is absorbing).
        collapse_time: ``(B,)`` for collapsed replicas, the escape of the last retrieved
            memory: the slow time at which its saliency fell below 1 after its entry
            (``sum_t log Z_t`` in the theory; interpolated between records); NaN otherwise.
        threshold: overlap threshold used for retrieval.
        steps: Euler-Maruyama steps taken. stopped_early: every replica collapsed before ``T``.
    """

    times: Tensor
    overlaps: Tensor
    saliencies: Tensor
    trajectory: Tensor | None
    initial_memory: np.ndarray
    entry_memories: np.ndarray
    entry_times: np.ndarray
    entry_saliencies: np.ndarray
    dwell_times: np.ndarray
    n_entries: np.ndarray
    n_retrieved: np.ndarray
    collapsed: np.ndarray
    collapse_time: np.ndarray
    threshold: float
    steps: int
    stopped_early: bool
    params: dict[str, Any] = field(default_factory=dict)


def _interp(lo: np.ndarray, hi: np.ndarray, f: np.ndarray | float) -> np.ndarray:
    return lo + f * (hi - lo)


def sequence_events(
    times: np.ndarray, overlaps: np.ndarray, saliencies: np.ndarray, threshold: float
) -> dict[str, np.ndarray]:
    """Entries, dwell times and collapse from recorded overlaps and saliencies.

    A memory is active while ``|m_mu| >= threshold`` (for orthogonal memories and
    ``threshold > 1/sqrt(2)`` at most one is, by Bessel's inequality). An entry is the first
    record at which a memory other than the last active one becomes active; its time and
    saliency are interpolated linearly at the upward crossing of the threshold.

    Args:
        times: ``(T,)``. overlaps, saliencies: ``(T, B, P)``. threshold: in ``(0, 1)``.

    Returns:
        The event fields of :class:`SequenceRun` (batched).
    """
    B = overlaps.shape[1]
    absm = np.abs(overlaps)
    peak = absm.max(-1)  # (T, B)
    active = np.where(peak >= threshold, absm.argmax(-1), -1)  # (T, B)
    rows: list[list[tuple[int, float, float]]] = []
    for b in range(B):
        events: list[tuple[int, float, float]] = []
        last = int(active[0, b])
        for k in np.nonzero((active[1:, b] >= 0) & (active[1:, b] != active[:-1, b]))[0] + 1:
            nu = int(active[k, b])
            if nu == last:
                continue
            lo, hi = absm[k - 1, b, nu], absm[k, b, nu]
            f = float(np.clip((threshold - lo) / (hi - lo), 0.0, 1.0)) if hi > lo else 1.0
            events.append(
                (
                    nu,
                    float(_interp(times[k - 1], times[k], f)),
                    float(_interp(saliencies[k - 1, b, nu], saliencies[k, b, nu], f)),
                )
            )
            last = nu
        rows.append(events)
    K = max((len(r) for r in rows), default=0)
    mem = np.full((B, K), -1, dtype=np.int64)
    et = np.full((B, K), np.nan)
    es = np.full((B, K), np.nan)
    for b, events in enumerate(rows):
        for i, (nu, t, a) in enumerate(events):
            mem[b, i], et[b, i], es[b, i] = nu, t, a
    initial = active[0].astype(np.int64)
    start = np.where(initial >= 0, float(times[0]), np.nan)[:, None]  # (B, 1)
    dwell = np.diff(np.concatenate([start, et], axis=1), axis=1)  # (B, K)
    n_entries = np.array([len(r) for r in rows], dtype=np.int64)
    collapsed = (saliencies[-1].max(-1) < 1.0) & (peak[-1] < threshold)
    ctime = np.full(B, np.nan)
    for b in (int(i) for i in np.nonzero(collapsed)[0]):
        # the escape of the last retrieved memory: its saliency falls below 1 after its entry
        if rows[b]:
            last_mem, t_in = rows[b][-1][0], rows[b][-1][1]
        elif initial[b] >= 0:
            last_mem, t_in = int(initial[b]), float(times[0])
        else:
            ctime[b] = float(times[0])
            continue
        sal = saliencies[:, b, last_mem]
        after = np.nonzero((times >= t_in) & (sal < 1.0))[0]
        j = int(after[0])
        if j == 0 or sal[j - 1] < 1.0:
            ctime[b] = float(times[j])
            continue
        frac = float((sal[j - 1] - 1.0) / (sal[j - 1] - sal[j]))
        ctime[b] = float(_interp(times[j - 1], times[j], frac))
    return {
        "initial_memory": initial,
        "entry_memories": mem,
        "entry_times": et,
        "entry_saliencies": es,
        "dwell_times": dwell,
        "n_entries": n_entries,
        "n_retrieved": n_entries + (initial >= 0),
        "collapsed": collapsed,
        "collapse_time": ctime,
    }


class SequentialIDP(HopfieldModel):
    """Two-timescale sequential retrieval (spec Sec. 2): fast Hard-Tanh IDP network, slow law.

    The default slow law is the spec's **[P] reconstruction** (the paper's exact slow equations
    are unknown): ``alpha' = eps (-alpha + kappa S |m(x)|)``; pass ``slow_law`` to try another
    (any callable ``(alpha, m) -> d alpha / ds``, e.g. :class:`FatigueLaw`). The joint state is
    ``z = (x, alpha)`` ``(B, N + P)``; :meth:`vector_field` is its drift in fast time (noise acts
    on ``x`` only) and :meth:`simulate` integrates it with Euler-Maruyama, replicas as one batch.

    Args:
        patterns: orthogonal ``+-1`` memories ``(P, N)`` (e.g. ``hadamard_patterns``).
        kappa: gain (> 0), or one per replica ``(B,)`` (then ``simulate`` runs ``B`` replicas).
        eps: time-scale ratio (> 0); slow time ``s = eps t``. Default 0.002.
        successor: ``"chain"`` (default), ``"cycle"`` or a ``(P, P)`` matrix.
        sign_mode: ``"abs"`` (default) or ``"square"``.
        slow_law: replaces the default law; ``successor``, ``sign_mode`` are then unused by the
            dynamics (``kappa`` is still recorded for the theory).
        require_orthogonal: refuse non-orthogonal memories (the theory assumes them). Default
            True.

    Raises:
        ConfigError: naming the parameter (``kappa``, ``eps``, ``patterns``, ``successor``...).
    """

    capability_notes: ClassVar[dict[str, str]] = {
        "energy": (
            "the slow saliency law is not a gradient flow; for frozen saliencies use "
            "model.fast.bind_saliency(alpha).energy(x)"
        ),
        "update": "it is a flow in continuous time; use vector_field (or simulate)",
    }

    def __init__(
        self,
        patterns: Tensor,
        kappa: float | Sequence[float] | Tensor = 5.0,
        eps: float = 0.002,
        *,
        successor: Literal["chain", "cycle"] | Tensor = "chain",
        sign_mode: Literal["abs", "square"] = "abs",
        slow_law: SlowLaw | None = None,
        require_orthogonal: bool = True,
    ) -> None:
        super().__init__()
        check_memories(patterns, require_orthogonal=require_orthogonal)
        self.kappa = _as_kappa(kappa)
        self.eps = float(check_positive("eps", eps))
        check_choice("sign_mode", sign_mode, SIGN_MODES)
        self.fast = IDPHopfield(patterns, "hardtanh")
        P = self.fast.n_patterns
        if isinstance(successor, Tensor):
            if tuple(successor.shape) != (P, P):
                raise ConfigError(
                    f"successor must be a (P, P) = ({P}, {P}) matrix; got {tuple(successor.shape)}"
                )
            if not bool(torch.isfinite(successor).all()):
                raise ConfigError("successor must be finite")
            S = successor.to(patterns.dtype)
            self.successor_kind = "matrix"
        else:
            check_choice("successor", successor, ("chain", "cycle"))
            S = successor_matrix(P, successor, dtype=patterns.dtype)
            self.successor_kind = successor
        self.register_buffer("successor", S)
        self.sign_mode = sign_mode
        self.default_law = slow_law is None
        self.slow_law: SlowLaw = slow_law or SuccessorLaw(S, self.kappa, sign_mode)
        if not callable(self.slow_law):
            raise ConfigError(f"slow_law must be callable (alpha, m) -> rate; got {slow_law!r}")
        self.n_memories = P
        self.n_units = self.fast.state_dim
        self.state_dim = self.n_units + P

    successor: Tensor

    @property
    def patterns(self) -> Tensor:
        """The memories ``(P, N)``."""
        return self.fast.patterns

    @property
    def n_kappa(self) -> int | None:
        """Number of per-replica gains, None for a single gain."""
        return None if isinstance(self.kappa, float) else int(self.kappa.numel())

    def extra_repr(self) -> str:
        k = f"{self.kappa:g}" if isinstance(self.kappa, float) else f"{self.n_kappa} gains"
        return (
            f"P={self.n_memories}, N={self.n_units}, kappa={k}, eps={self.eps:g}, "
            f"successor={self.successor_kind}, sign_mode={self.sign_mode}"
        )

    # --- the joint flow -----------------------------------------------------------------
    def split(self, z: Tensor) -> tuple[Tensor, Tensor]:
        """``z = (x, alpha)`` ``(B, N + P)`` -> ``x`` ``(B, N)``, ``alpha`` ``(B, P)`` (views)."""
        zb, _ = as_batch(z, self.state_dim, name="z")
        return zb[:, : self.n_units], zb[:, self.n_units :]

    def vector_field(self, t: Tensor | float, z: Tensor) -> Tensor:
        """Drift of ``z = (x, alpha)`` in fast time: ``(-x + W(alpha) psi(x), eps law(alpha,
        m))``, ``(B, N + P)`` (noise acts on ``x`` only)."""
        x, alpha = self.split(z)
        psi = self.fast.psi(x)
        m = psi @ self.patterns.T / self.n_units  # (B, P)
        fx = (m * alpha) @ self.patterns - x  # (B, N)
        fa = self.eps * self.slow_law(alpha, m)  # (B, P)
        return torch.cat([fx, fa], dim=1)

    def initial_state(self, Z0: float | Sequence[float] | Tensor, replicas: int = 1) -> Tensor:
        """``z_0 = (Z0 xi_0, (Z0, 0, ..., 0))``: memory 0 at its equilibrium, entered with
        saliency ``Z0``; ``(B, N + P)``."""
        z0 = torch.as_tensor(Z0, dtype=self.patterns.dtype).reshape(-1, 1)  # (B or 1, 1)
        if z0.numel() == 1:
            z0 = z0.expand(replicas, 1)
        if not bool(torch.isfinite(z0).all()):
            raise ConfigError(f"Z0 must be finite; got {Z0!r}")
        x = z0 * self.patterns[0]  # (B, N)
        alpha = torch.zeros(z0.shape[0], self.n_memories, dtype=x.dtype)
        alpha[:, :1] = z0
        return torch.cat([x, alpha], dim=1)

    # --- simulation ---------------------------------------------------------------------
    def simulate(
        self,
        Z0: float | Sequence[float] | Tensor = 2.0,
        T: float = 10.0,
        dt: float = 0.01,
        sigma: float = 1e-3,
        seed: int | None = 0,
        *,
        replicas: int | None = None,
        z0: Tensor | None = None,
        record_every: float = 2e-3,
        record_states: bool = True,
        threshold: float = 0.75,
        stop_when_collapsed: bool = True,
        increments: Tensor | None = None,
        chunk: int = 256,
        noise_dtype: torch.dtype = torch.float32,
    ) -> SequenceRun:
        """Integrate the two-timescale system with Euler-Maruyama, every replica in one batch.

        One step (fast time ``dt``): ``m = X psi(x) / N``;
        ``x <- x + dt (-x + X^T (alpha * m)) + sigma dB``; ``alpha <- alpha + eps dt law(alpha,
        m)``: exactly :func:`~hopfield_lab.solvers.sde.euler_maruyama` on :meth:`vector_field`
        with noise on ``x`` only (a test checks it), fused so that a step costs one ``(B, N) x
        (N, P)`` and one ``(B, P) x (P, N)`` product plus the slow law's ``O(P^2)``.

        Args:
            Z0: initial saliency of memory 0 (state ``Z0 xi_0``), or one per replica ``(B,)``.
            T: duration in **slow** time ``s = eps t`` (the theory's unit: dwell times
                ``log Z``); ``ceil(T / (eps dt))`` steps. Default 10.
            dt: fast time step (> 0). Default 0.01 (spec).
            sigma: noise amplitude on every neuron (>= 0; the theory needs some noise to
                leave the memory subspace). Default 1e-3 (spec).
            seed: seed of the noise generator (None: torch's global RNG). Default 0.
            replicas: number of replicas ``B``; None runs one (or one per ``Z0``/``kappa``
                entry when those are sequences); with None, a scalar ``Z0``, a single gain and
                no ``z0``, the batch dimension is dropped from the result.
            z0: initial joint state ``(B, N + P)`` instead of :meth:`initial_state`.
            record_every: slow time between records (> 0). Default 0.002.
            record_states: keep ``x`` at every record. Default True.
            threshold: overlap above which a memory counts as retrieved, in ``(0, 1)``; keep it
                above ``1/sqrt(2)`` so at most one memory is active. Default 0.75.
            stop_when_collapsed: stop once every replica is in the confusion state (it is
                absorbing). Default True.
            increments: Brownian increments ``(steps, B, N)`` (variance ``dt``) to use instead
                of drawing them (couples runs; e.g. the equivalence test).
            chunk: steps of noise drawn per RNG call. Default 256.
            noise_dtype: dtype of the Gaussian draws, added to the state in its own dtype.
                Default float32: on CPU, float64 normals cost about 5 times as much and dominate
                the step for large batches, while the noise's precision does not matter at
                these amplitudes. Pass the state's dtype for bit-for-bit float64 noise.

        Returns:
            A :class:`SequenceRun`.

        Raises:
            ConfigError: ``T``, ``dt``, ``record_every <= 0``, ``sigma < 0``, inconsistent batch
                sizes, bad ``threshold``.
            DivergenceError: the state left the finite range (``dt`` too large).
        """
        check_positive("T", T)
        check_positive("dt", dt)
        check_range("sigma", sigma, 0.0)
        check_positive("record_every", record_every)
        check_range("threshold", threshold, 0.0, 1.0, low_inclusive=False, high_inclusive=False)
        B = self._batch(Z0, replicas, z0)
        z = self.initial_state(Z0, B) if z0 is None else z0.to(self.patterns.dtype)
        if z.shape != (B, self.state_dim):
            raise ConfigError(f"z0 must have shape ({B}, {self.state_dim}); got {tuple(z.shape)}")
        if not bool(torch.isfinite(z).all()):
            raise ConfigError("z0 must be finite")
        c = self.eps * dt  # slow time per step
        n_steps = max(1, math.ceil(T / c - 1e-9))
        if increments is not None and tuple(increments.shape) != (n_steps, B, self.n_units):
            raise ConfigError(
                f"increments must have shape ({n_steps}, {B}, {self.n_units}); "
                f"got {tuple(increments.shape)}"
            )
        stride = max(1, round(record_every / c))
        gen = None if seed is None else torch.Generator().manual_seed(int(seed))
        X = self.patterns
        XT = (X.T / self.n_units).contiguous()  # (N, P)
        x = z[:, : self.n_units].clone()
        a = z[:, self.n_units :].clone()
        law = self.slow_law
        fused = self.default_law and isinstance(self.kappa, float)
        if fused:
            kST = (self.kappa * self.successor.T).contiguous()  # (P, P)
        noise_amp = sigma * math.sqrt(dt)
        rec_t: list[float] = []
        rec_m: list[Tensor] = []
        rec_a: list[Tensor] = []
        rec_x: list[Tensor] = []
        # preallocated buffers: the loop allocates nothing but the records and noise chunks
        psi = torch.empty_like(x)
        m = x.new_empty(B, self.n_memories)
        ma = torch.empty_like(m)
        g = torch.empty_like(m)
        a_next = torch.empty_like(a)
        noise = x.new_empty(0)
        stopped = False
        k = 0

        def record() -> None:
            rec_t.append(k * c)
            rec_m.append(m.clone())
            rec_a.append(a.clone())
            if record_states:
                rec_x.append(x.clone())

        while True:
            torch.clamp(x, -1.0, 1.0, out=psi)
            torch.mm(psi, XT, out=m)  # (B, P) overlaps
            if k % stride == 0 or k == n_steps:
                record()
                if not (bool(torch.isfinite(x).all()) and bool(torch.isfinite(a).all())):
                    raise DivergenceError(
                        f"SequentialIDP.simulate: the state left the finite range by step {k} "
                        f"(dt={dt:g} too large?)",
                        step=k,
                    )
                if (
                    stop_when_collapsed
                    and k > 0
                    and bool(((a.max(1).values < 1.0) & (m.abs().max(1).values < threshold)).all())
                ):
                    stopped = k < n_steps
                    break
                if k == n_steps:
                    break
            torch.mul(m, a, out=ma)
            if fused:  # alpha + c (-alpha + kappa g(m) S^T)
                torch.abs(m, out=g) if self.sign_mode == "abs" else torch.mul(m, m, out=g)
                torch.addmm(a, g, kST, beta=1.0 - c, alpha=c, out=a_next)
            else:
                torch.add(a, law(a, m), alpha=c, out=a_next)
            x.mul_(1.0 - dt).addmm_(ma, X, alpha=dt)  # x + dt (-x + X^T (alpha * m))
            if increments is not None:
                x.add_(increments[k], alpha=sigma)
            elif noise_amp > 0.0:
                if k % chunk == 0:  # one RNG call per chunk, cast once to the state's dtype
                    noise = torch.randn((chunk, B, self.n_units), generator=gen, dtype=noise_dtype)
                    noise = noise.to(x.dtype).mul_(noise_amp)
                x.add_(noise[k % chunk])
            a, a_next = a_next, a
            k += 1
        times = torch.tensor(rec_t, dtype=torch.float64)
        M = torch.stack(rec_m)  # (T, B, P)
        A = torch.stack(rec_a)  # (T, B, P)
        events = sequence_events(times.numpy(), M.double().numpy(), A.double().numpy(), threshold)
        squeeze = (
            replicas is None
            and z0 is None
            and self.n_kappa is None
            and isinstance(Z0, (int, float))
        )
        traj = torch.stack(rec_x) if record_states else None
        if squeeze:
            M, A = M[:, 0], A[:, 0]
            traj = traj[:, 0] if traj is not None else None
            events = {key: v[0] for key, v in events.items()}
        return SequenceRun(
            times=times,
            overlaps=M,
            saliencies=A,
            trajectory=traj,
            threshold=threshold,
            steps=k,
            stopped_early=stopped,
            params={
                "kappa": self.kappa if isinstance(self.kappa, float) else self.kappa.tolist(),
                "eps": self.eps,
                "dt": dt,
                "sigma": sigma,
                "seed": seed,
                "T": T,
            },
            **events,
        )

    def _batch(self, Z0: Any, replicas: int | None, z0: Tensor | None) -> int:
        sizes = set()
        if replicas is not None:
            if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 1:
                raise ConfigError(f"replicas must be an integer >= 1; got {replicas!r}")
            sizes.add(replicas)
        if self.n_kappa is not None:
            sizes.add(self.n_kappa)
        if z0 is not None:
            if not isinstance(z0, Tensor) or z0.dim() != 2:
                raise ConfigError("z0 must be a (B, N + P) tensor")
            sizes.add(int(z0.shape[0]))
        elif not isinstance(Z0, (int, float)):
            z = torch.as_tensor(Z0)
            if z.dim() > 1:
                raise ConfigError(f"Z0 must be a number or a 1-D sequence; got shape {z.shape}")
            if z.numel() > 1:
                sizes.add(int(z.numel()))
        if len(sizes) > 1:
            raise ConfigError(
                f"replicas, the number of gains kappa and of Z0 values disagree: {sorted(sizes)}"
            )
        return sizes.pop() if sizes else 1

    def orbit(self, Z0: float, n: int | None = None) -> _theory.Orbit:
        """The map's orbit for this model's (single) gain: ``n`` steps (default ``P - 1``)."""
        if not isinstance(self.kappa, float):
            raise ConfigError("orbit needs a single kappa; this model has one per replica")
        return _theory.orbit(Z0, self.kappa, self.n_memories - 1 if n is None else n)
