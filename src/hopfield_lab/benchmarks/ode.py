"""ODE benchmark: our fixed-step Euler and RK4 vs ``torchdiffeq.odeint`` with the same steps.

Two flows, integrated over ``t in [0, 2]`` with step ``h = 0.05`` (40 steps):

* ``hopfield``: the modern Hopfield gradient flow ``dx/dt = X^T softmax(beta X x) - x``
  (:meth:`~hopfield_lab.models.ModernHopfield.vector_field`, ``beta = 0.1``) with MNIST
  patterns, started from noisy stored patterns; gradients are taken w.r.t. the patterns ``X``.
  ``beta = 0.1`` keeps ``h |J|`` small, so both fourth-order methods resolve the flow; at
  ``beta = 1`` the Jacobian ``beta X^T (diag p - p p^T) X`` reaches tens where the softmax
  switches, ``h = 0.05`` is too coarse, and the two RK4 variants differ by about 1e-4 in the
  state and 1e-2 in the gradient (each about as far from a fine-step reference);
* ``tanh``: ``dx/dt = -x + W tanh(x) + b`` with ``W`` Gaussian of gain 1 (``W_ij ~ N(0, 1/N)``),
  ``b ~ N(0, 0.01)``, ``x0 ~ N(0, I)``; gradients w.r.t. ``W``.

Both libraries backpropagate through the unrolled steps (no adjoint). torchdiffeq's ``"rk4"``
is Kutta's 3/8 rule (``rk4_alt_step_func``), ours is the classical RK4: both are order 4 with
the same four evaluations per step, so their final states differ by the difference of their
truncation errors, not only by rounding; Euler is the same method in both.

Sizes: full ``P = 200, B = 128`` and ``N = 512, B = 128``; quick ``P = 200, B = 64`` and
``N = 256, B = 64``; tiny ``P = 50, B = 16`` and ``N = 64, B = 16``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from hopfield_lab.benchmarks.common import (
    DESCRIPTIONS,
    BenchResult,
    Profile,
    bench_profile,
    clock_for,
    ratio,
    register,
    time_fns,
)
from hopfield_lab.data import gaussian_noise, load_mnist
from hopfield_lab.models import ModernHopfield
from hopfield_lab.solvers import integrate

__all__ = ["HOPFIELD_BETA", "METHODS", "STEP_SIZE", "T_END", "euler_rk4_vs_torchdiffeq"]

METHODS = ("euler", "rk4")
STEP_SIZE = 0.05
T_END = 2.0
HOPFIELD_BETA = 0.1
SIGMA = 0.3
MODES = ("forward", "forward+backward")

_HOPFIELD_SIZES: dict[Profile, tuple[int, int]] = {
    "full": (200, 128),
    "quick": (200, 64),
    "tiny": (50, 16),
}
_TANH_SIZES: dict[Profile, tuple[int, int]] = {
    "full": (512, 128),
    "quick": (256, 64),
    "tiny": (64, 16),
}
_REPEAT: dict[Profile, int] = {"full": 7, "quick": 5, "tiny": 1}

VectorField = Callable[[Tensor, Tensor], Tensor]


def _hopfield_flow(profile: Profile, device: str, seed: int) -> tuple[VectorField, Tensor, Tensor]:
    """Modern Hopfield gradient flow; returns ``(f, x0 (B, 784), patterns parameter (P, 784))``."""
    n_patterns, batch = _HOPFIELD_SIZES[profile]
    gen = torch.Generator().manual_seed(seed)
    patterns = load_mnist().train.x[:n_patterns]  # (P, 784)
    sources = torch.randperm(n_patterns, generator=gen)[:batch]
    x0 = gaussian_noise(patterns[sources], SIGMA, generator=gen).to(device)  # (B, 784)
    model = ModernHopfield(patterns.to(device), HOPFIELD_BETA, trainable=True)
    return model.vector_field, x0, model.patterns


def _tanh_flow(profile: Profile, device: str, seed: int) -> tuple[VectorField, Tensor, Tensor]:
    """``dx/dt = -x + W tanh(x) + b``; returns ``(f, x0 (B, N), W (N, N) requiring grad)``."""
    n, batch = _TANH_SIZES[profile]
    gen = torch.Generator().manual_seed(seed)
    w = (torch.randn(n, n, generator=gen) / n**0.5).to(device).requires_grad_(True)
    b = (0.1 * torch.randn(n, generator=gen)).to(device)
    x0 = torch.randn(batch, n, generator=gen).to(device)

    def f(t: Tensor, x: Tensor) -> Tensor:
        return -x + torch.tanh(x) @ w.T + b  # (B, N)

    return f, x0, w


def _runner(
    lib: str, method: str, mode: str, f: VectorField, x0: Tensor, param: Tensor, t: Tensor
) -> Callable[[], tuple[Tensor, Tensor | None]]:
    """A call integrating with ``lib`` and returning ``(final state, gradient or None)``."""
    if lib == "ours":

        def final() -> Tensor:
            return integrate(f, x0, t, method=method, step_size=STEP_SIZE, record=False).x

    else:
        from torchdiffeq import odeint

        def final() -> Tensor:
            return odeint(f, x0, t, method=method, options={"step_size": STEP_SIZE})[-1]

    def run() -> tuple[Tensor, Tensor | None]:
        if mode == "forward":
            with torch.no_grad():
                return final(), None
        x = final()
        loss = x.pow(2).sum()
        (grad,) = torch.autograd.grad(loss, param)
        return x.detach(), grad

    return run


def _max_rel(a: Tensor, b: Tensor) -> float:
    """``max |a - b| / max |b|``."""
    return float((a - b).abs().max() / b.abs().max().clamp_min(1e-30))


@register(
    "euler-rk4-vs-torchdiffeq",
    "our integrate(euler|rk4) vs torchdiffeq.odeint with the same fixed step, forward and "
    "forward+backward, on the Hopfield gradient flow and a tanh network flow",
)
def euler_rk4_vs_torchdiffeq(quick: bool = False, device: str = "cpu") -> BenchResult:
    """Time and agreement of our fixed-step integrators and torchdiffeq's on two flows.

    For each flow, method (``euler``, ``rk4``) and mode (``forward`` under ``no_grad``;
    ``forward+backward``: loss ``sum x(T)^2`` and its gradient w.r.t. the patterns or ``W``),
    our ``integrate(f, x0, [0, 2], method, step_size=0.05, record=False)`` and
    ``torchdiffeq.odeint(f, x0, [0, 2], method, options={"step_size": 0.05})`` are timed
    interleaved and their final states and gradients compared.

    Args:
        quick: quick sizes. Default False.
        device: torch device. Default "cpu".

    Returns:
        BenchResult with one row per (flow, method, mode) and ratios
        ``time torchdiffeq/ours <flow> <method> <mode>``.
    """
    profile = bench_profile(quick)
    repeat = _REPEAT[profile]
    clock = clock_for(device)
    t = torch.tensor([0.0, T_END], device=device)
    flows = {"hopfield": _hopfield_flow(profile, device, 0), "tanh": _tanh_flow(profile, device, 0)}
    rows: list[dict[str, Any]] = []
    ratios: dict[str, float] = {}
    for flow, (f, x0, param) in flows.items():
        for method in METHODS:
            for mode in MODES:
                timed = time_fns(
                    {lib: _runner(lib, method, mode, f, x0, param, t) for lib in ("ours", "tdq")},
                    repeat=repeat,
                    warmup=1,
                    device=device,
                )
                x_o, g_o = timed["ours"].result
                x_t, g_t = timed["tdq"].result
                t_o, t_t = timed["ours"].median(clock), timed["tdq"].median(clock)
                grad_rel = None
                if g_o is not None and g_t is not None:
                    grad_rel = float((g_o - g_t).norm() / g_t.norm().clamp_min(1e-30))
                rows.append(
                    {
                        "flow": flow,
                        "method": method,
                        "mode": mode,
                        "ours_ms": 1e3 * t_o,
                        "tdq_ms": 1e3 * t_t,
                        "ours_wall_ms": 1e3 * timed["ours"].median("wall"),
                        "tdq_wall_ms": 1e3 * timed["tdq"].median("wall"),
                        "tdq/ours": ratio(timed["tdq"], timed["ours"], clock),
                        "x_maxdiff": float((x_o - x_t).abs().max()),
                        "x_rel": _max_rel(x_o, x_t),
                        "grad_rel": grad_rel,
                    }
                )
                ratios[f"time torchdiffeq/ours {flow} {method} {mode}"] = rows[-1]["tdq/ours"]
    hop_p, hop_b = _HOPFIELD_SIZES[profile]
    tanh_n, tanh_b = _TANH_SIZES[profile]
    notes = [
        f"profile {profile}, device {device}, float32; t in [0, {T_END:g}], step {STEP_SIZE:g} "
        f"({round(T_END / STEP_SIZE)} steps) in both libraries",
        f"hopfield: ModernHopfield.vector_field, beta={HOPFIELD_BETA:g}, P={hop_p} MNIST "
        f"patterns (trainable), B={hop_b} stored patterns + Gaussian noise sigma={SIGMA}; "
        "gradient w.r.t. the patterns",
        f"tanh: dx/dt = -x + W tanh(x) + b, N={tanh_n}, B={tanh_b}, W_ij ~ N(0, 1/N), "
        "b ~ N(0, 0.1^2), x0 ~ N(0, I); gradient w.r.t. W",
        "forward: no_grad; forward+backward: loss = sum x(T)^2, torch.autograd.grad through the "
        "unrolled steps (no adjoint) in both",
        f"ours_ms / tdq_ms: median {clock} time over {repeat} interleaved rounds after a warm-up "
        "round (*_wall_ms: wall time); tdq/ours and the ratios: median over rounds of the "
        "per-round ratio; ours checks every step for divergence (NaN/Inf, norm > 1e8), "
        "torchdiffeq does not",
        "x_maxdiff: max |x_ours(T) - x_tdq(T)|; x_rel: that over max |x_tdq(T)|; grad_rel: "
        "|g_ours - g_tdq| / |g_tdq| (Frobenius)",
        "torchdiffeq's 'rk4' is Kutta's 3/8 rule, ours the classical RK4 (both order 4): their "
        "rk4 difference is a truncation-error difference O(h^4), not rounding; Euler matches "
        "to rounding",
    ]
    return BenchResult(
        name="euler-rk4-vs-torchdiffeq",
        description=DESCRIPTIONS["euler-rk4-vs-torchdiffeq"],
        rows=rows,
        ratios=ratios,
        notes=notes,
    )
