"""Finite-step perturbation growth: the distance ratio of Eq. 10 and the bound of App. B.1.

Two nearby starts ``v_0^(1) = x0`` and ``v_0^(2) = x0 + eps u`` (``u`` a unit direction) are
run through the same map. The distance ratio (finite-step paper, Sec. 5.2, Eq. 10)

    rho_k = |v_k^(1) - v_k^(2)|_2 / |v_0^(1) - v_0^(2)|_2

measures the cumulative amplification. Linearising the residual step
``v <- (1 - a) v + a T(v)`` (Eq. 4) around the reference trajectory gives
``delta_{k+1} = ((1 - a) I + a J_T(v_k)) delta_k`` and hence (App. B.1)

    rho_k <= B_k := prod_{j<k} |(1 - a) I + a J_T(v_j)|_2,     B_0 = 1.

The bound is exact for a linear map and holds to first order in ``eps`` otherwise: the
remainder of the linearisation is relative ``O(eps max_j rho_j)`` (the curvature of ``T``
times the size ``eps rho_j`` the perturbation reaches), so where the bound is tight (a
direction aligned with the top singular vectors, or ``N = 1``) the observed ratio can exceed
it by that much; with random directions in ``N > 1`` it is rarely tight.
:func:`check_product_bound` therefore compares with a relative tolerance. Choose ``eps`` small
but well above rounding, e.g. ``1e-4`` to ``1e-6`` in float64: the difference of two states
carries an absolute rounding error of about ``machine-eps * |v_k|``, i.e. a relative error
``machine-eps * |v_k| / (eps rho_k)`` that grows as ``eps`` or ``rho_k`` shrinks (float32
leaves little room: prefer float64 for this check).

About ``a`` and the Jacobian: a model's ``jacobian`` is the Jacobian of its update (the model
contract), i.e. the factor ``(1 - a) I + a J_T`` itself, so a model is passed with ``a = 1``
(the default). A function giving ``J_T`` of the *undamped* map ``T`` (e.g.
``FiniteStepHopfield.jacobian_T``) is passed with the step size ``a`` of the update.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypedDict

import torch
from torch import Tensor

from hopfield_lab.analysis._common import as_states, as_trajectory, speaks_contract
from hopfield_lab.analysis.jacobian_stats import resolve_jacobian
from hopfield_lab.analysis.spectra import top_singular_value
from hopfield_lab.analysis.trajectories import rollout
from hopfield_lab.errors import ConfigError, check_int, check_positive, check_range

__all__ = [
    "ProductBoundCheck",
    "check_product_bound",
    "distance_ratio",
    "product_bound",
]


def _unit_directions(
    x0: Tensor,
    n_directions: int,
    generator: torch.Generator | None,
    directions: Tensor | None,
) -> tuple[Tensor, bool]:
    """Unit directions ``(B, n_dir, N)`` and whether the direction axis is kept in outputs."""
    b, n = x0.shape
    if directions is None:
        check_int("n_directions", n_directions, 1)
        device = generator.device if generator is not None else x0.device
        u = torch.randn(b, n_directions, n, generator=generator, dtype=x0.dtype, device=device)
        u = u.to(x0.device)
        keep = n_directions > 1
    else:
        if not isinstance(directions, Tensor) or directions.dim() not in (2, 3):
            got = tuple(directions.shape) if isinstance(directions, Tensor) else directions
            raise ConfigError(f"directions must be (B, N) or (B, n_dir, N); got {got!r}")
        keep = directions.dim() == 3
        u = directions if keep else directions.unsqueeze(1)
        if u.shape[0] != b or u.shape[2] != n:
            raise ConfigError(
                f"directions must have shape ({b}, {n}) or ({b}, n_dir, {n}) to match x0; got "
                f"{tuple(directions.shape)}"
            )
        u = u.to(dtype=x0.dtype, device=x0.device)
    norm = torch.linalg.vector_norm(u, dim=-1, keepdim=True)  # (B, n_dir, 1)
    if not bool((norm > 0).all()) or not bool(torch.isfinite(norm).all()):
        raise ConfigError("directions must be finite and non-zero")
    return u / norm, keep


def _pair_rollout(
    update: Callable[[Tensor], Tensor],
    x0: Tensor,
    eps: float,
    steps: int,
    n_directions: int,
    generator: torch.Generator | None,
    directions: Tensor | None,
) -> tuple[Tensor, Tensor, bool]:
    """Reference trajectory ``(T+1, B, N)``, ratios ``(T+1, B, n_dir)`` and the keep flag."""
    check_positive("eps", eps)
    check_int("steps", steps, 1)
    x0 = as_states(x0, "x0")
    b, n = x0.shape
    u, keep = _unit_directions(x0, n_directions, generator, directions)
    k = u.shape[1]
    starts = x0.unsqueeze(1) + eps * u  # (B, n_dir, N)
    # direction-major rows: 1 + n_dir stacked copies of the batch (what a bound model reads)
    batch = torch.cat([x0, starts.transpose(0, 1).reshape(k * b, n)])  # (B + n_dir B, N)
    traj = rollout(update, batch, steps)  # (T+1, B + n_dir B, N)
    ref = traj[:, :b]  # (T+1, B, N)
    pert = traj[:, b:].reshape(steps + 1, k, b, n).transpose(1, 2)  # (T+1, B, n_dir, N)
    dist = torch.linalg.vector_norm(pert - ref.unsqueeze(2), dim=-1)  # (T+1, B, n_dir)
    return ref, dist / dist[0], keep  # the actual |delta_0|, not eps: rounding-consistent


def distance_ratio(
    update: Callable[[Tensor], Tensor],
    x0: Tensor,
    *,
    eps: float,
    steps: int,
    n_directions: int = 1,
    generator: torch.Generator | None = None,
    directions: Tensor | None = None,
) -> Tensor:
    """Distance ratio ``rho_k = |v_k^(1) - v_k^(2)| / |v_0^(1) - v_0^(2)|`` (Eq. 10).

    Both trajectories go through ``update`` in one batch of ``(1 + n_dir) B`` rows, stacked
    copies of the batch (rows of the map must not interact, as for any batch-first model; a
    bound model reads the copies with its inputs). The denominator is the actual
    ``|v_0^(1) - v_0^(2)|`` (``eps`` up to rounding), so ``rho_0 = 1`` exactly. Differentiable.

    Args:
        update: the map ``(B, N) -> (B, N)`` (or a model with ``update``).
        x0: ``(B, N)`` reference starts ``v_0^(1)``.
        eps: perturbation size (> 0); the second start is ``x0 + eps u``.
        steps: number of updates ``K >= 1``.
        n_directions: random unit directions per sample (>= 1). Default 1.
        generator: random generator for the directions (standard normal, normalised per
            sample). Default: the global one.
        directions: explicit ``(B, N)`` or ``(B, n_dir, N)`` directions instead (normalised
            here); ``n_directions`` and ``generator`` are then ignored.

    Returns:
        ``(steps + 1, B)`` ratios for a single direction, ``(steps + 1, B, n_dir)`` for
        ``n_directions > 1`` or 3-D ``directions``.

    Raises:
        ConfigError: for ``eps <= 0``, ``steps < 1``, ``n_directions < 1`` or malformed
            states or directions.
    """
    _, rho, keep = _pair_rollout(update, x0, eps, steps, n_directions, generator, directions)
    return rho if keep else rho.squeeze(2)


def product_bound(
    jacobian_fn: Any, traj: Tensor, a: float = 1.0, *, symmetric: bool | None = None
) -> Tensor:
    """Cumulative bound ``B_k = prod_{j<k} |(1 - a) I + a J_T(v_j)|_2`` (App. B.1).

    Each factor is the spectral norm of the Jacobian of the update at ``v_j``. Give either a
    model (its ``jacobian`` is ``d update / dx`` already: ``a = 1``) or ``J_T`` of the
    undamped map with the step size ``a`` of the update (``model.jacobian_T`` and
    ``model.a`` for a finite-step model). Spectral norms via
    :func:`~hopfield_lab.analysis.top_singular_value` (``eigvalsh`` when the Jacobians are
    symmetric, ``matrix_norm(ord=2)`` otherwise), one step at a time.

    Args:
        jacobian_fn: a model, or a function ``(B, N) -> (B, N, N)``: ``J_T`` of the undamped
            map when ``a < 1``; a plain map is differentiated by autograd (see
            :func:`~hopfield_lab.analysis.resolve_jacobian`).
        traj: ``(T+1, B, N)`` reference trajectory ``v_0..v_T`` (or a ``SolverResult`` with a
            trajectory); ``v_T`` is not used.
        a: step size of the residual update (Eq. 4), in ``(0, 1]``. Default 1 (the
            Jacobian given is that of the full update); must be 1 for a model.
        symmetric: whether the Jacobians are symmetric; default: detect per step.

    Returns:
        ``(T+1, B)`` bounds, ``B_0 = 1``, non-decreasing where every factor is >= 1.

    Raises:
        ConfigError: for ``a`` outside ``(0, 1]``, ``a != 1`` with a model (its Jacobian is
            already the update's: damping twice would be wrong), or a malformed trajectory
            or Jacobian.
        CapabilityError: for a model without a Jacobian.
    """
    check_range("a", a, 0.0, 1.0, low_inclusive=False)
    if a != 1.0 and speaks_contract(jacobian_fn):
        raise ConfigError(
            f"a must be 1 for a model: {type(jacobian_fn).__name__}.jacobian is already "
            f"d update / dx; got a={a!r} (pass model.jacobian_T with its step size instead)"
        )
    traj = as_trajectory(traj)
    _, b, n = traj.shape
    jac_fn = resolve_jacobian(jacobian_fn, traj[0])
    eye = torch.eye(n, dtype=traj.dtype, device=traj.device)  # (N, N)
    factors = []
    for v in traj[:-1]:
        jac = jac_fn(v)
        if not isinstance(jac, Tensor) or tuple(jac.shape) != (b, n, n):
            got = tuple(jac.shape) if isinstance(jac, Tensor) else type(jac).__name__
            raise ConfigError(f"jacobian_fn must return shape {(b, n, n)}; got {got}")
        step_op = jac if a == 1.0 else (1.0 - a) * eye + a * jac  # (B, N, N) linearised step
        factors.append(top_singular_value(step_op, symmetric=symmetric))  # (B,)
    ones = torch.ones(1, b, dtype=traj.dtype, device=traj.device)
    return torch.cat([ones, torch.cumprod(torch.stack(factors), dim=0)])  # (T+1, B)


class ProductBoundCheck(TypedDict):
    """Result of :func:`check_product_bound`.

    Keys:
        fraction: fraction of samples whose ratios stay below the bound at every step (and
            for every direction), up to the tolerance.
        holds: ``(B,)`` bool, per sample.
        bound: ``(T+1, B)`` product bound ``B_k``.
        rho: ``(T+1, B)`` (or ``(T+1, B, n_dir)``) observed distance ratios.
        max_ratio: ``(B,)`` largest ``rho_k / B_k`` over the steps ``k >= 1`` and the
            directions (<= 1 where the bound holds exactly; ``rho_0 = B_0 = 1``).
    """

    fraction: float
    holds: Tensor
    bound: Tensor
    rho: Tensor
    max_ratio: Tensor


def check_product_bound(
    update: Callable[[Tensor], Tensor],
    jacobian_fn: Any,
    x0: Tensor,
    *,
    a: float = 1.0,
    eps: float,
    steps: int,
    n_directions: int = 1,
    generator: torch.Generator | None = None,
    directions: Tensor | None = None,
    rtol: float = 1e-6,
) -> ProductBoundCheck:
    """Check ``rho_k <= B_k`` (Eq. 10 against App. B.1) along the reference trajectories.

    Runs :func:`distance_ratio` from ``x0`` and :func:`product_bound` on the reference
    trajectory, under ``torch.no_grad()``. A sample passes when
    ``rho_k <= (1 + rtol) B_k`` for every step and direction. The bound is exact only to first
    order in ``eps`` (see the module notes): for a nonlinear map keep ``eps`` small (e.g.
    ``1e-4`` or below in float64) so that the linearisation error, relative
    ``O(eps max_k rho_k)``, stays below ``rtol`` where the bound is tight.

    Args:
        update: the map being run, ``v -> (1 - a) v + a T(v)`` (or a model with ``update``).
        jacobian_fn: a model (``a = 1``), or ``J_T`` of the undamped map ``T`` with the step
            size ``a`` (see :func:`product_bound`).
        x0: ``(B, N)`` reference starts.
        a: step size in ``(0, 1]`` of ``update`` that ``jacobian_fn`` needs. Default 1.
        eps, steps, n_directions, generator, directions: as in :func:`distance_ratio`.
        rtol: relative tolerance (>= 0). Default ``1e-6``.

    Returns:
        A :class:`ProductBoundCheck` dict: ``fraction``, ``holds`` ``(B,)``, ``bound``
        ``(T+1, B)``, ``rho``, ``max_ratio`` ``(B,)``.

    Raises:
        ConfigError: for any invalid argument (named in the message).
    """
    check_range("a", a, 0.0, 1.0, low_inclusive=False)
    check_range("rtol", rtol, 0.0)
    with torch.no_grad():
        ref, rho, keep = _pair_rollout(update, x0, eps, steps, n_directions, generator, directions)
        bound = product_bound(jacobian_fn, ref, a)  # (T+1, B)
    ratio = (rho[1:] / bound[1:].unsqueeze(2)).amax(dim=(0, 2))  # (B,)
    holds = (rho <= (1.0 + rtol) * bound.unsqueeze(2)).all(dim=2).all(dim=0)  # (B,)
    return ProductBoundCheck(
        fraction=float(holds.to(bound.dtype).mean()),
        holds=holds,
        bound=bound,
        rho=rho if keep else rho.squeeze(2),
        max_ratio=ratio,
    )
