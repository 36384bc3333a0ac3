"""Modern Hopfield networks as ODEs, trained through the flow (Bogakovskaya, Fanaskov, Oseledets,
"Dynamics of modern Hopfield networks"; spec ``dynamics-of-modern-hopfield-networks-spec.md``).

The state ``x`` in ``R^N`` follows (paper Eq. 1 / App. A Eq. 4a)::

    dx/dt = W_s g(x) - x + b,        W_s = (W + W^T) / 2,        g = grad L

with a trainable raw ``W`` (``N x N``, init ``N(0, 1) / sqrt(N)``, so ``W_s`` has spectral radius
about ``sqrt 2`` [derived]) symmetrised in every evaluation, and a trainable bias ``b`` (init 0)
[code]. Activations and their Lagrangians (Eq. 4b; from :mod:`hopfield_lab.core.activations`):

=========  ==============================  =========================================
name       g(x)                            L(x) (summed over components)
=========  ==============================  =========================================
relu       max(x, 0)                       relu(x)^2 / 2
tanh       tanh(x)                         log cosh(x)   (stable; the code's overflows)
sigmoid    sigmoid(x)                      softplus(x)
softplus   log(1 + e^x)                    -Li2(-e^x)    (Eq. 16)
gelu       x Phi_N(x)   (exact erf)        ((x^2 - 1) Phi_N + x phi_N) / 2, not convex
=========  ==============================  =========================================

Eq. 17, the paper's "stable" softplus forms, has two typos [derived]: ``g(x <= 0)`` must be
``log(1 + e^x)`` (it prints ``log(1 + e^{-x})``) and ``L(x > 0)`` lacks ``+ pi^2 / 6`` (as printed
it jumps by ``pi^2/6`` at 0). We use the library's dilogarithm Lagrangian, continuous with the
exact gradient ``softplus``. The authors' GELU is jax's tanh approximation [code]; ours is the
exact erf form (they differ by at most about ``5e-4``, ``tests/test_models_ode.py`` checks the
bound).

Energy (Eq. 4d; App. A) and its gradient (Eq. 8), with ``Hess L = diag g'(x)`` for these
separable Lagrangians::

    E(x)      = (x - b)^T g(x) - L(x) - g(x)^T W_s g(x) / 2
    dE/dx     = diag g'(x) (x - W_s g(x) - b)                      (Eq. 8)
    dE/dt     = -x'^T diag g'(x) x'  <= 0                          (Eq. 10)

The code writes ``g^T (W + W^T) g / 4``, the same number. ``dE/dt <= 0`` holds for the convex
Lagrangians (relu, tanh, sigmoid, softplus); ReLU's energy is unbounded below. GELU's Lagrangian
is not convex (``g`` is not monotone), so ``E`` is no Lyapunov function: a GELU model withdraws
``energy`` (its capability list says so).

The model contract (:mod:`hopfield_lab.core.dynamics`): ``vector_field(t, x)`` is the flow,
``update(x) = W_s g(x) + b`` the map whose fixed points are the flow's equilibria (``x' = update
- x``), ``jacobian(x) = d update / dx = W_s diag g'(x)`` in closed form, ``energy`` where ``L`` is
convex. So ``integrate``, ``fixed_point``, ``rollout``, ``energy_along`` and the Jacobian
diagnostics apply unchanged.

Classification [code]: ``x(0)`` is the flattened image (pixels in [0, 1]), with
``n_label_units`` zeros appended (0 by default, as in the authors' code; the paper's text
suggests label units); the class is ``argmax x(T)[-10:]`` (with no label units: pixels 774-783).
Losses: ``ce_last10`` (mean cross-entropy of ``x(T)[-10:]``, the code's) or ``mse_pm1``
(``|x(T)[-10:] - v|^2`` with ``v = +1`` at the class and ``-1`` elsewhere, the paper's Sec. 2).
The solve used in training is :meth:`HopfieldODE.forward` with a :class:`FlowOptions`: Euler or
RK4 with fixed step ``dt``, or Dopri5 with ``rtol = atol = 1e-5`` and *first* step ``dt`` (the
code's diffrax setting: there ``dt`` is only ``dt0``), backprop through the solver's steps or the
adjoint. The rectifier states grow without bound, so the solve disables ``integrate``'s norm
limit (NaN / Inf are still caught).

Rectifiers (Sec. 3.2, App. D). For ReLU ``|x| -> inf`` while ``y = x / |x|`` converges. With
``z = 1 / |x|``, ReLU's positive homogeneity gives the exact flow (Eq. 2)::

    y' = (I - y y^T) (W_s relu(y) - y + b z),        z' = -y^T (W_s relu(y) - y + b z) z

on which ``|y| = 1`` is invariant [derived] (:meth:`HopfieldODE.normalised_field`). Softplus is
not homogeneous, but ``z softplus(y / z) = relu(y) + z log(1 + e^{-|y|/z})`` gives the same flow
exactly [derived], which matters: trained rectifier states grow like ``e^{lambda t}`` with
``lambda`` up to ~55 (measured), so ``x`` itself overflows float64 before ``t = 10``. The
sphere energy [code, with
``W_s`` for the code's raw ``W``] ``E_s(y) = |relu y|^2 / 2 - relu(y)^T W_s relu(y) / 2`` has rate
``dE_s/dt = (y - W_s g)^T diag(y > 0) (I - y y^T) W_s g`` along Eq. 2 at ``z = 0`` on the sphere
(:meth:`HopfieldODE.sphere_energy_rate`); a diagnostic only, it has no sign [paper].

Trained models are saved with :func:`hopfield_lab.models.classifiers.save_trained` and loaded
with :func:`~hopfield_lab.models.classifiers.load_trained` (``<run_dir>/models/<name>.pt``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from hopfield_lab.core.activations import Activation, get_activation
from hopfield_lab.core.dynamics import HopfieldModel, as_batch
from hopfield_lab.errors import ConfigError, check_choice, check_int, check_positive
from hopfield_lab.solvers.ode import integrate
from hopfield_lab.solvers.result import SolverResult

__all__ = [
    "LOSSES",
    "N_CLASSES",
    "ODE_ACTIVATIONS",
    "ODE_SOLVERS",
    "FlowOptions",
    "HopfieldODE",
    "classification_loss",
]

ODE_ACTIVATIONS: tuple[str, ...] = ("relu", "gelu", "tanh", "sigmoid", "softplus")
"""The paper's five activations (Tables 4-8)."""
ODE_SOLVERS: tuple[str, ...] = ("dopri5", "euler", "rk4")
"""Solvers of the training solve: adaptive Dopri5 (first step ``dt``) or fixed step ``dt``."""
LOSSES: tuple[str, ...] = ("ce_last10", "mse_pm1")
"""``ce_last10``: cross-entropy of the last 10 components [code]; ``mse_pm1``: the paper's
squared error to +-1 targets (Sec. 2)."""
N_CLASSES = 10


@dataclass(frozen=True)
class FlowOptions:
    """How the flow is solved from ``t = 0`` to ``T`` (one dataclass, validated on construction).

    Attributes:
        T: integration time ``t_train`` (> 0). Default 1.
        solver: ``"dopri5"`` (adaptive, first step ``dt``, the authors' diffrax setting),
            ``"euler"`` or ``"rk4"`` (fixed step ``dt``; ``ceil(T / dt)`` equal steps).
            Default ``"dopri5"``.
        dt: step (fixed-step solvers) or first step (Dopri5); ``0 < dt <= T``. Default 0.1.
        rtol, atol: Dopri5's tolerances (> 0). Default 1e-5 each (the code's PID controller;
            torchdiffeq's is an I controller, and it shares one step across the batch where
            diffrax under vmap gives each sample its own).
        adjoint: gradients by the adjoint ODE (torchdiffeq ``odeint_adjoint``) instead of backprop
            through the steps. Default False (the code's setting).
        max_steps: Dopri5's step budget (diffrax ``max_steps``); exceeding it raises
            ``DivergenceError``. Default 4096.

    Raises:
        ConfigError: a value out of range (one line naming it).
    """

    T: float = 1.0
    solver: str = "dopri5"
    dt: float = 0.1
    rtol: float = 1e-5
    atol: float = 1e-5
    adjoint: bool = False
    max_steps: int = 4096

    def __post_init__(self) -> None:
        check_positive("T", self.T)
        check_choice("solver", self.solver, ODE_SOLVERS)
        check_positive("dt", self.dt)
        if self.dt > self.T:
            raise ConfigError(f"dt must be <= T (T={self.T!r}); got dt={self.dt!r}")
        check_positive("rtol", self.rtol)
        check_positive("atol", self.atol)
        if not isinstance(self.adjoint, bool):
            raise ConfigError(f"adjoint must be True or False; got {self.adjoint!r}")
        check_int("max_steps", self.max_steps, 1)

    @property
    def n_steps(self) -> int:
        """Steps of a fixed-step solve, ``ceil(T / dt)`` (Dopri5: its first-step count)."""
        return max(1, math.ceil(self.T / self.dt - 1e-9))


def classification_loss(logits: Tensor, labels: Tensor, loss: str = "ce_last10") -> Tensor:
    """The training loss on the readout ``x(T)[-10:]`` (Sec. 2 / the code), a scalar.

    Args:
        logits: ``(B, 10)`` readout.
        labels: ``(B,)`` class indices in 0..9.
        loss: ``"ce_last10"`` (mean cross-entropy, [code]) or ``"mse_pm1"`` (mean over the batch
            of ``|logits - v|^2``, ``v = 2 onehot - 1``, [paper]). Default ``"ce_last10"``.

    Raises:
        ConfigError: unknown loss.
    """
    check_choice("loss", loss, LOSSES)
    if loss == "ce_last10":
        return F.cross_entropy(logits, labels)
    target = 2.0 * F.one_hot(labels, logits.shape[-1]).to(logits.dtype) - 1.0  # (B, 10)
    return ((logits - target) ** 2).sum(dim=-1).mean()


class HopfieldODE(HopfieldModel):
    """``x' = W_s g(x) - x + b`` with ``W_s = (W + W^T) / 2`` (paper Eq. 1, App. A; module doc).

    Args:
        N: input dimension (784 for MNIST), >= 1.
        activation: one of :data:`ODE_ACTIVATIONS` (or an elementwise
            :class:`~hopfield_lab.core.activations.Activation`). Default ``"tanh"``.
        n_label_units: zeros appended to the input (``state_dim = N + n_label_units``), >= 0.
            Default 0 (the authors' code).
        generator: seeds ``W``'s initialisation ``N(0, 1) / sqrt(state_dim)``. Default None
            (torch's global generator).
        dtype: parameter dtype. Default float32.

    Attributes:
        W: ``(D, D)`` raw weights (trainable), ``D = state_dim``. b: ``(D,)`` bias (trainable).
        activation: the :class:`Activation` ``g`` with its Lagrangian ``L``.

    Raises:
        ConfigError: unknown activation, ``N < 1``, ``n_label_units < 0``, or a
            non-elementwise activation.
    """

    capability_notes: ClassVar[Mapping[str, str]] = {
        "energy": "its Lagrangian is not convex (GELU is not monotone), so E of Eq. 4d is no "
        "Lyapunov function; use vector_field, update or the trajectory itself",
    }

    def __init__(
        self,
        N: int,
        activation: str | Activation = "tanh",
        *,
        n_label_units: int = 0,
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__()
        check_int("N", N, 1)
        check_int("n_label_units", n_label_units, 0)
        if isinstance(activation, str):
            check_choice("activation", activation, ODE_ACTIVATIONS)
        self.activation = get_activation(activation)
        if not self.activation.elementwise:
            raise ConfigError(
                f"activation must be elementwise (one of {', '.join(ODE_ACTIVATIONS)}); "
                f"got {self.activation.name!r}"
            )
        self.n_inputs = int(N)
        self.n_label_units = int(n_label_units)
        self.state_dim = self.n_inputs + self.n_label_units
        D = self.state_dim
        if D < N_CLASSES:
            raise ConfigError(
                f"N + n_label_units must be >= {N_CLASSES} (the readout is the last 10 "
                f"components); got {D}"
            )
        w = torch.randn(D, D, generator=generator, dtype=dtype) / math.sqrt(D)
        self.W = nn.Parameter(w)
        self.b = nn.Parameter(torch.zeros(D, dtype=dtype))

    def extra_repr(self) -> str:
        return (
            f"N={self.n_inputs}, activation={self.activation.name!r}, "
            f"n_label_units={self.n_label_units}"
        )

    def init_args(self) -> dict[str, Any]:
        """The constructor arguments (JSON-ready), to rebuild the model from a state dict."""
        return {
            "N": self.n_inputs,
            "activation": self.activation.name,
            "n_label_units": self.n_label_units,
        }

    # ------------------------------------------------------------------------ capabilities
    def capabilities(self) -> frozenset[str]:
        """All four capabilities, less ``energy`` for a non-convex Lagrangian (GELU)."""
        caps = super().capabilities()
        return caps if self.activation.convex_lagrangian else caps - {"energy"}

    @property
    def W_s(self) -> Tensor:
        """The symmetric weights ``(W + W^T) / 2``, ``(D, D)``.

        Without a graph to build (autograd off, or ``W`` frozen) the matrix is cached until
        ``W`` changes (its version counter, storage or dtype), so diagnostics that call
        :meth:`vector_field` thousands of times do not re-symmetrise ``W`` each time.
        """
        W = self.W
        if torch.is_grad_enabled() and W.requires_grad:
            return 0.5 * (W + W.T)
        key = (W._version, W.data_ptr(), W.dtype, W.device)
        if getattr(self, "_ws_key", None) != key:
            self._ws_cache = (0.5 * (W + W.T)).detach()
            self._ws_key = key
        return self._ws_cache

    def _states(self, x: Tensor) -> tuple[Tensor, bool]:
        return as_batch(x, self.state_dim)

    # ------------------------------------------------------------------------- the contract
    def vector_field(self, t: Tensor | float, x: Tensor) -> Tensor:
        """``x' = W_s g(x) - x + b`` (Eq. 1), ``(B, D)``."""
        return self.activation(x) @ self.W_s + self.b - x  # (B, D); W_s symmetric

    def update(self, x: Tensor) -> Tensor:
        """``W_s g(x) + b``: the map whose fixed points are the flow's equilibria, ``(B, D)``."""
        return self.activation(x) @ self.W_s + self.b

    def jacobian(self, x: Tensor) -> Tensor:
        """``d update / dx = W_s diag g'(x)`` (closed form), ``(B, D, D)``; the field's
        Jacobian is this minus the identity."""
        xb, _ = self._states(x)
        gp = self.activation.derivative(xb)  # (B, D)
        return self.W_s.unsqueeze(0) * gp.unsqueeze(1)  # (B, D, D): [b, i, j] = W_s[i,j] g'_j

    def field_jvp(self, x: Tensor, v: Tensor) -> Tensor:
        """``(dF/dx) v = W_s (g'(x) * v) - v`` without forming the Jacobian, ``(B, D)`` (the
        acceleration ``x'' = (dF/dx) x'`` of the curvature analysis)."""
        return (self.activation.derivative(x) * v) @ self.W_s - v

    def energy(self, x: Tensor) -> Tensor:
        """``E = (x - b)^T g - L - g^T W_s g / 2`` (Eq. 4d), ``(B,)``.

        Raises:
            CapabilityError: for GELU (non-convex Lagrangian).
        """
        if not self.activation.convex_lagrangian:
            raise self.missing("energy")
        g = self.activation(x)
        quad = ((g @ self.W_s) * g).sum(dim=-1)  # (B,)
        return ((x - self.b) * g).sum(dim=-1) - self.activation.lagrangian(x) - 0.5 * quad

    def energy_grad(self, x: Tensor) -> Tensor:
        """``dE/dx = diag g'(x) (x - W_s g(x) - b) = -g'(x) * x'`` (Eq. 8), ``(B, D)``.

        Raises:
            CapabilityError: for GELU.
        """
        if not self.activation.convex_lagrangian:
            raise self.missing("energy")
        return -self.activation.derivative(x) * self.vector_field(0.0, x)

    def energy_rate(self, x: Tensor) -> Tensor:
        """``dE/dt = -x'^T diag g'(x) x' <= 0`` along the flow (Eq. 10), ``(B,)``.

        Raises:
            CapabilityError: for GELU.
        """
        if not self.activation.convex_lagrangian:
            raise self.missing("energy")
        v = self.vector_field(0.0, x)
        return -(self.activation.derivative(x) * v * v).sum(dim=-1)

    # ------------------------------------------------------------------------ classification
    def initial_state(self, images: Tensor, input_scale: float = 1.0) -> Tensor:
        """``x(0)``: flattened images times ``input_scale`` with the label zeros appended.

        Args:
            images: ``(B, N)`` (or ``(B, 28, 28)``-like, flattened) in [0, 1].
            input_scale: 1 (training [code]) or 255 (the notebooks' analyses fed raw pixels).
                Default 1.

        Returns:
            ``(B, D)``.
        """
        check_positive("input_scale", input_scale)
        x = images.reshape(images.shape[0], -1).to(self.W.dtype) * input_scale  # (B, N)
        if x.shape[1] != self.n_inputs:
            raise ConfigError(f"images must have {self.n_inputs} pixels; got {x.shape[1]}")
        if self.n_label_units:
            x = F.pad(x, (0, self.n_label_units))  # (B, D)
        return x

    @staticmethod
    def logits(x: Tensor) -> Tensor:
        """The readout ``x[..., -10:]`` [code]."""
        return x[..., -N_CLASSES:]

    def solve(
        self,
        x0: Tensor,
        options: FlowOptions | None = None,
        *,
        times: Tensor | None = None,
        record: bool = False,
        **changes: Any,
    ) -> SolverResult:
        """Integrate the flow from ``x0`` with ``options`` (``**changes`` replace its fields).

        Args:
            x0: ``(B, D)`` initial states.
            options: the solve; default ``FlowOptions()``.
            times: output times (increasing, from 0); default ``(0, T)``.
            record: keep the trajectory at ``times``.
            **changes: fields of :class:`FlowOptions` to replace, e.g. ``T=5, solver="rk4"``.

        Returns:
            The :class:`SolverResult` (``x`` the state at the last time; ``nfe``).

        Raises:
            ConfigError: bad options. DivergenceError: NaN / Inf, or Dopri5 over budget.
        """
        opts = dataclasses.replace(options or FlowOptions(), **changes)
        t = torch.tensor([0.0, opts.T]) if times is None else times
        W_s = self.W_s
        field = self.vector_field

        if not opts.adjoint:  # symmetrise once per solve (backprop reaches W through W_s)

            def field(t: Tensor | float, x: Tensor) -> Tensor:
                return self.activation(x) @ W_s + self.b - x  # (B, D)

        common: dict[str, Any] = {
            "record": record,
            "max_norm": None,  # rectifier states grow without bound; NaN/Inf still caught
            "adjoint": opts.adjoint,
            "adjoint_params": tuple(self.parameters()) if opts.adjoint else None,
        }
        if opts.solver == "dopri5":
            return integrate(
                field,
                x0,
                t,
                method="dopri5",
                rtol=opts.rtol,
                atol=opts.atol,
                options={"first_step": opts.dt, "max_num_steps": opts.max_steps},
                **common,
            )
        return integrate(field, x0, t, method=opts.solver, step_size=opts.dt, **common)

    def forward(self, x0: Tensor, options: FlowOptions | None = None, **changes: Any) -> Tensor:  # type: ignore[override]
        """``x(T)`` from ``x0`` (the training solve; differentiable), ``(B, D)``."""
        return self.solve(x0, options, **changes).x

    def classify(
        self, images: Tensor, options: FlowOptions | None = None, **changes: Any
    ) -> Tensor:
        """Logits ``x(T)[-10:]`` of images ``(B, N)``: ``(B, 10)``."""
        return self.logits(self.forward(self.initial_state(images), options, **changes))

    def loss(
        self,
        images: Tensor,
        labels: Tensor,
        options: FlowOptions | None = None,
        loss: str = "ce_last10",
        **changes: Any,
    ) -> Tensor:
        """The training loss of a batch: solve to ``T``, read out, :func:`classification_loss`."""
        return classification_loss(self.classify(images, options, **changes), labels, loss)

    # ------------------------------------------------------------------ flow-map sensitivity
    def flow_jacobian_norm(
        self, x0: Tensor, options: FlowOptions | None = None, *, iters: int = 30, **changes: Any
    ) -> Tensor:
        """``|d x(T) / d x0|_2`` per sample by power iteration on ``J^T J`` (autograd through the
        solve), ``(B,)``; a lower bound that converges to the spectral norm.

        Grönwall with the log-norm ``mu(W_s diag g' - I) <= |W_s|_2 sup g' - 1`` bounds it by
        ``exp((|W_s|_2 sup g' - 1) T)`` (:meth:`contraction_bound`): for sigmoid at init
        (``sup g' = 1/4``, ``|W_s| ~ 1.41``) that is ``e^{-0.65 T}`` [spec Sec. 2], so ``x(T)``
        barely depends on the input at long ``T``.
        """
        check_int("iters", iters, 1)
        x0 = x0.detach()
        gen = torch.Generator().manual_seed(0)
        v = torch.randn(x0.shape, generator=gen, dtype=x0.dtype).to(x0.device)
        v = v / v.norm(dim=1, keepdim=True)
        sigma = torch.zeros(x0.shape[0], dtype=x0.dtype, device=x0.device)
        with torch.enable_grad():
            x = x0.clone().requires_grad_(True)
            y = self.solve(x, options, **changes).x
            u = torch.zeros_like(y, requires_grad=True)
            (jtu,) = torch.autograd.grad(y, x, u, create_graph=True)  # J^T u, linear in u
            for _ in range(iters):
                (jv,) = torch.autograd.grad(jtu, u, v, retain_graph=True)  # J v
                (jtjv,) = torch.autograd.grad(y, x, jv, retain_graph=True)  # J^T J v
                sigma = jv.norm(dim=1)
                v = jtjv / jtjv.norm(dim=1, keepdim=True).clamp_min(1e-300)
        return sigma.detach()

    def contraction_bound(self, T: float) -> float:
        """``exp((|W_s|_2 sup g' - 1) T)``, the Grönwall bound on ``|d x(T) / d x0|_2``
        (``inf`` where ``g'`` is unbounded; ``sup g'`` = 1 relu/tanh/softplus, 1/4 sigmoid,
        about 1.13 gelu)."""
        check_positive("T", T)
        sup = {"relu": 1.0, "tanh": 1.0, "softplus": 1.0, "sigmoid": 0.25}.get(self.activation.name)
        if sup is None:  # gelu: max of Phi(x) + x phi(x), at x = sqrt 2
            r2 = math.sqrt(2.0)
            sup = 0.5 * (1 + math.erf(1.0)) + r2 * math.exp(-1.0) / math.sqrt(2 * math.pi)
        return math.exp((self.spectral_norm() * sup - 1.0) * T)

    def spectral_norm(self) -> float:
        """``|W_s|_2``, the largest ``|eigenvalue|`` of the symmetric ``W_s`` (float64)."""
        with torch.no_grad():
            return float(torch.linalg.eigvalsh(self.W_s.double()).abs().max())

    # --------------------------------------------------------------- rectifiers (Eq. 2)
    def _require_relu(self, what: str) -> None:
        if self.activation.name != "relu":
            raise ConfigError(
                f"{what} is defined for ReLU only (Sec. 3.2); this model uses "
                f"{self.activation.name!r}"
            )

    @staticmethod
    def normalise(x: Tensor) -> Tensor:
        """``(y, z) = (x / |x|, 1 / |x|)`` as one ``(B, D + 1)`` state (Eq. 2's variables)."""
        r = x.norm(dim=-1, keepdim=True)  # (B, 1)
        return torch.cat([x / r, 1.0 / r], dim=-1)  # (B, D+1)

    @staticmethod
    def denormalise(yz: Tensor) -> Tensor:
        """``x = y / z`` from a ``(B, D + 1)`` state, ``(B, D)``."""
        return yz[..., :-1] / yz[..., -1:]

    def _scaled_activation(self, y: Tensor, z: Tensor) -> Tensor:
        """``z g(y / z)`` without forming ``y / z``: ``relu(y)`` for ReLU (homogeneity) and
        ``relu(y) + z log(1 + e^{-|y| / z})`` for softplus (tends to ``relu(y)`` as ``z -> 0``)."""
        if self.activation.name == "relu":
            return torch.relu(y)
        if self.activation.name == "softplus":
            tail = torch.log1p(torch.exp(-y.abs() / z.clamp_min(torch.finfo(z.dtype).tiny)))
            return torch.relu(y) + z * tail
        raise ConfigError(
            "the normalised flow (Eq. 2) is for the rectifiers relu and softplus, whose states "
            f"grow without bound; this model uses {self.activation.name!r}: integrate "
            "vector_field"
        )

    def normalised_field(self, t: Tensor | float, yz: Tensor) -> Tensor:
        """The flow of ``(y, z) = (x / |x|, 1 / |x|)``, ``(B, D + 1)`` states (Eq. 2, App. D)::

            y' = (I - y y^T) u,    z' = -(y^T u) z,    u = z f(y / z) = W_s z g(y / z) - y + b z

        For ReLU ``z g(y / z) = relu(y)``: the paper's Eq. 2. For softplus (no homogeneity)
        ``z g(y / z) = relu(y) + z log(1 + e^{-|y| / z})`` makes the same flow exact [derived],
        so ``y`` can be followed where ``x`` itself overflows. ``|y| = 1`` is invariant.

        Raises:
            ConfigError: the activation is not relu or softplus.
        """
        y, z = yz[..., :-1], yz[..., -1:]
        u = self._scaled_activation(y, z) @ self.W_s - y + self.b * z  # (B, D)
        yu = (y * u).sum(dim=-1, keepdim=True)  # (B, 1)
        return torch.cat([u - y * yu, -yu * z], dim=-1)  # (B, D+1)

    def sphere_energy(self, y: Tensor) -> Tensor:
        """``E_s(y) = |relu y|^2 / 2 - relu(y)^T W_s relu(y) / 2`` (the code's sphere energy,
        with ``W_s``), ``(B,)``."""
        self._require_relu("the sphere energy")
        g = torch.relu(y)
        return 0.5 * (g * g).sum(dim=-1) - 0.5 * ((g @ self.W_s) * g).sum(dim=-1)

    def sphere_energy_rate(self, y: Tensor) -> Tensor:
        """``dE_s/dt = (y - W_s g)^T diag(y > 0) (I - y y^T) W_s g``, ``g = relu(y)``: the rate of
        :meth:`sphere_energy` along Eq. 2 at ``z = 0`` for ``|y| = 1`` [code], ``(B,)``."""
        self._require_relu("the sphere energy")
        g = torch.relu(y)
        wg = g @ self.W_s  # (B, D)
        proj = wg - y * (y * wg).sum(dim=-1, keepdim=True)  # (I - y y^T) W_s g
        return ((y - wg) * (y > 0).to(y.dtype) * proj).sum(dim=-1)
