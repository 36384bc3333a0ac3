"""Geometry of trajectories and of class manifolds (ODE paper, Sec. 3.1; spec Sec. 3).

The ODE paper measures how straight the flow ``dx/dt = f(t, x)`` carries a state ``x(0)`` to
``x(T)`` and how the classes contract along the way:

* the length ratio (Sec. 3.1) ``s = int_0^T |x'(t)| dt / |x(T) - x(0)|``, which is ``>= 1``,
  exactly 1 on a straight segment traversed once and ``pi / 2`` on a half circle
  (:func:`length_ratio`);
* the curvature (Sec. 3.1) ``kappa = |a - (a.v / |v|^2) v| / |v|^2`` with velocity
  ``v = x' = f(t, x)`` and acceleration ``a = x''``. For a flow, ``x'' = d/dt f(t, x(t)) =
  J_f v + df/dt``; for an autonomous field (every Hopfield flow in the library)
  ``a = J_f(x) v``, one Jacobian-vector product (:func:`curvature`). ``kappa = 1 / R`` on a
  circle of radius ``R`` and 0 on a straight line; it has units of 1/length, so it scales as
  ``1 / c`` when the states are scaled by ``c``;
* the compactness (spec Sec. 3, the numeric proxy of Fig. 1)
  ``rho = mean intra-class distance / mean distance between class centroids``
  (:func:`compactness`); the paper's "sample sets become progressively compressed" reads
  ``rho(T) < rho(0)``.

Inputs. A trajectory is a ``(T+1, B, N)`` tensor of recorded states (row 0 is ``x(0)``) or a
:class:`~hopfield_lab.solvers.SolverResult` recorded with its trajectory (``integrate`` of any
model's ``vector_field``; ``fixed_point(..., record_trajectory=True)`` of any map, whose
frozen rows after convergence add zero length; ``FiniteStepHopfield.trajectory``). A field is
a callable ``field(t, x)`` ``(B, N) -> (B, N)`` or a model with a ``vector_field`` method
(``ModernHopfield``, ``FiniteStepHopfield``, an ODE model, or the ``BoundModel`` view of an
input-driven model). Everything is batched over samples and states; no function loops over
samples.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any, Literal

import torch
from torch import Tensor

from hopfield_lab.analysis._common import as_trajectory, model_method
from hopfield_lab.errors import ConfigError, check_choice, check_int

__all__ = ["Field", "compactness", "curvature", "length_ratio", "speeds"]

#: A vector field ``f(t, x)``: ``(B, N) -> (B, N)``.
Field = Callable[[Tensor | float, Tensor], Tensor]


def _as_field(field: Any) -> Field:
    """``field.vector_field`` for a model, else ``field`` itself if callable.

    A model of the contract must offer ``vector_field``; one that lacks it (a spin model, an
    input-driven model not yet bound) raises its own ``CapabilityError`` here, before any state
    is touched. A duck-typed object with a ``vector_field`` method is used as it is.
    """
    return model_method(field, "vector_field", "field")


def _states_and_times(traj: Any, t: Any, *, min_len: int) -> tuple[Tensor, Tensor | None]:
    """The ``(T+1, B, N)`` trajectory and its ``(T+1,)`` times (``t``, else the result's)."""
    if t is None and not isinstance(traj, Tensor):
        t = getattr(traj, "times", None)
    x = as_trajectory(traj, "traj", min_len=min_len)
    if t is None:
        return x, None
    times = torch.as_tensor(t, dtype=x.dtype, device=x.device)
    if times.dim() != 1 or times.shape[0] != x.shape[0]:
        raise ConfigError(
            f"t must be a 1-D tensor with one time per recorded state ({x.shape[0]}); got "
            f"shape {tuple(times.shape)}"
        )
    if not bool(torch.isfinite(times).all()) or not bool((times[1:] >= times[:-1]).all()):
        raise ConfigError("t must be finite and non-decreasing")
    return x, times


def _eval_field(fn: Field, t: Tensor | float, x: Tensor) -> Tensor:
    v = fn(t, x)
    if not isinstance(v, Tensor) or v.shape != x.shape:
        got = tuple(v.shape) if isinstance(v, Tensor) else type(v).__name__
        raise ConfigError(f"field must map {tuple(x.shape)} states to the same shape; got {got}")
    return v


def speeds(field: Any, traj: Any, t: Tensor | Sequence[float] | None = None) -> Tensor:
    """Speed ``|f(t_k, x_k)|`` at every recorded state.

    Args:
        field: ``f(t, x)`` or a model with ``vector_field``.
        traj: ``(T+1, B, N)`` trajectory (or a ``SolverResult`` with one; its ``times`` are
            used when ``t`` is None).
        t: ``(T+1,)`` times of the rows; None (and no times on ``traj``): the field is taken
            to be autonomous and called with ``t = 0``.

    Returns:
        ``(T+1, B)`` speeds (no gradient).

    Raises:
        ConfigError: for a malformed trajectory, times or field.
    """
    fn = _as_field(field)
    x, times = _states_and_times(traj, t, min_len=1)
    with torch.no_grad():
        if times is None:
            t1, b, n = x.shape
            v = _eval_field(fn, 0.0, x.reshape(t1 * b, n))  # ((T+1) B, N)
            return torch.linalg.vector_norm(v, dim=-1).reshape(t1, b)  # (T+1, B)
        rows = [_eval_field(fn, times[k], x[k]) for k in range(x.shape[0])]  # (B, N) each
        return torch.linalg.vector_norm(torch.stack(rows), dim=-1)  # (T+1, B)


def length_ratio(
    traj: Any,
    t: Tensor | Sequence[float] | None = None,
    *,
    field: Any = None,
) -> Tensor:
    """Length ratio ``s = int |x'| dt / |x(T) - x(0)|`` of each trajectory (ODE paper, Sec. 3.1).

    Two readings of the numerator:

    * polyline (default, no ``field``): ``sum_k |x_{k+1} - x_k|`` over the recorded states,
      as the authors' code does with states saved every ``dt``. A chord never exceeds its arc,
      so this is a lower bound on the arc length (and ``s >= 1`` still holds); for a smooth
      curve sampled every ``h`` the relative error is ``O(h^2)`` (``K`` chords of a half
      circle give ``s = K sin(pi / 2K)``). It is exact for piecewise-linear paths, i.e. for
      the trajectory of a discrete map (``FiniteStepHopfield``, ``fixed_point`` iterates);
    * quadrature (with ``field``): the trapezoid rule on the speeds ``|f(t_k, x_k)|`` at the
      recorded times, ``O(h^2)`` for a smooth speed and exact for a constant one (a circle
      traversed uniformly: ``s = pi / 2`` on a half circle to rounding). Assumes ``traj`` is
      a solution of ``x' = f(t, x)``.

    Degenerate cases: a sample with ``x(T) = x(0)`` gives ``inf`` (if it moved) or ``nan``
    (if it never moved, ``0 / 0``); a diverged sample frozen by the solver counts only the
    path up to its last finite state.

    Args:
        traj: ``(T+1, B, N)`` trajectory, ``T >= 1`` (or a ``SolverResult`` with one).
        t: ``(T+1,)`` non-decreasing times of the rows. Needed for the quadrature form (taken
            from ``traj.times`` when ``traj`` is a ``SolverResult``); only validated by the
            polyline form.
        field: ``f(t, x)`` or a model with ``vector_field``; None (default) for the polyline.

    Returns:
        ``(B,)`` length ratios (no gradient), in the trajectory's dtype.

    Raises:
        ConfigError: for a trajectory of fewer than 2 states, times of the wrong length, or a
            field without times.
    """
    x, times = _states_and_times(traj, t, min_len=2)
    with torch.no_grad():
        if field is None:
            steps = x[1:] - x[:-1]  # (T, B, N)
            length = torch.linalg.vector_norm(steps, dim=-1).sum(dim=0)  # (B,)
        else:
            if times is None:
                raise ConfigError(
                    "length_ratio with a field needs the times t of the recorded states "
                    "(pass t, or a SolverResult with times)"
                )
            sp = speeds(field, x, times)  # (T+1, B)
            dt = (times[1:] - times[:-1]).unsqueeze(1)  # (T, 1)
            length = (0.5 * dt * (sp[1:] + sp[:-1])).sum(dim=0)  # (B,) trapezoid
        chord = torch.linalg.vector_norm(x[-1] - x[0], dim=-1)  # (B,)
        return length / chord


def _jvp(fn: Field, t: Tensor | float, x: Tensor, v: Tensor, ad: str) -> Tensor:
    """``J_f(x) v`` for a batch: forward mode, or two reverse passes (double-backward)."""
    if ad == "forward":
        with warnings.catch_warnings():
            # torch scripts its forward-AD decompositions on first use, with a deprecation
            # warning of its own making (torch 2.13); nothing the caller can act on
            warnings.filterwarnings("ignore", ".*torch.jit.script", DeprecationWarning)
            pair = torch.func.jvp(lambda z: fn(t, z), (x,), (v,))
        return pair[1]
    with torch.enable_grad():
        xg = x.detach().requires_grad_(True)
        out = fn(t, xg)
        w = torch.zeros_like(out, requires_grad=True)
        # J^T w as a function of w (linear), then its gradient along v is J v
        (jt_w,) = torch.autograd.grad(out, xg, w, create_graph=True)
        (a,) = torch.autograd.grad(jt_w, w, v)
    return a


def curvature(
    field: Any,
    traj: Any,
    t: Tensor | Sequence[float] | None = None,
    *,
    chunk_size: int | None = None,
    ad: Literal["forward", "reverse"] = "forward",
) -> Tensor:
    """Curvature ``kappa = |a - (a.v / |v|^2) v| / |v|^2`` at every state (ODE paper, Sec. 3.1).

    ``v = f(t, x)`` and ``a = J_f(x) v``, the acceleration ``x''`` of an **autonomous** flow
    (for a field with explicit time dependence ``x''`` has an extra ``df/dt`` that is not
    included). ``a`` comes from one batched Jacobian-vector product per chunk of states
    (``torch.func.jvp``; no Jacobian matrix is formed), as in the authors' code. For the ODE
    model ``x' = W_s g(x) - x + b`` this is ``a = W_s (g'(x) * v) - v``.

    Reading: the curvature of the flow line through each recorded state, whatever integrator
    produced the states. ``kappa = 1/R`` on a circle of radius ``R``, 0 on a line; it has
    units of 1/length (a trajectory scaled by ``c`` has curvature ``kappa / c``). At a fixed
    point ``v = 0`` and ``kappa`` is ``nan``; close to one it may be large (``kappa <=
    |J_f| / |v|``).

    Args:
        field: ``f(t, x)`` ``(B, N) -> (B, N)``, or a model with ``vector_field``. It must be
            differentiable in ``x`` (forward mode for ``ad="forward"``).
        traj: ``(T+1, B, N)`` trajectory (or a ``SolverResult`` with one), or ``(B, N)``
            states.
        t: ``(T+1,)`` times of the rows (default: ``traj.times`` of a ``SolverResult``); each
            row is then evaluated at its own time. With no times the field is taken as
            autonomous, called with ``t = 0``, and all states are processed together in
            chunks of ``chunk_size``.
        chunk_size: most states per batched call (default: all of a row, or all states when
            there are no times). Bounds memory for long trajectories.
        ad: ``"forward"`` (default, ``torch.func.jvp``) or ``"reverse"`` (the double-backward
            trick, two reverse passes) for fields whose operations lack forward-mode rules
            (e.g. a custom ``autograd.Function`` without ``jvp``).

    Returns:
        ``(T+1, B)`` curvatures for a trajectory, ``(B,)`` for states (no gradient).

    Raises:
        ConfigError: for a malformed trajectory, times, field, chunk size or ``ad``.
    """
    fn = _as_field(field)
    check_choice("ad", ad, ("forward", "reverse"))
    if chunk_size is not None:
        check_int("chunk_size", chunk_size, 1)
    single = isinstance(traj, Tensor) and traj.dim() == 2
    x, times = _states_and_times(traj.unsqueeze(0) if single else traj, t, min_len=1)
    t1, b, n = x.shape

    def kappa(tt: Tensor | float, z: Tensor) -> Tensor:  # (M, N) -> (M,)
        with torch.no_grad():
            v = _eval_field(fn, tt, z)
            a = _jvp(fn, tt, z, v, ad).detach()
            vv = (v * v).sum(dim=-1, keepdim=True)  # (M, 1)
            perp = a - ((a * v).sum(dim=-1, keepdim=True) / vv) * v  # (M, N)
            return torch.linalg.vector_norm(perp, dim=-1) / vv.squeeze(-1)

    if times is None:
        flat = x.reshape(t1 * b, n)  # ((T+1) B, N)
        size = chunk_size or flat.shape[0]
        out = torch.cat([kappa(0.0, flat[i : i + size]) for i in range(0, flat.shape[0], size)])
        out = out.reshape(t1, b)  # (T+1, B)
    else:
        size = chunk_size or b
        out = torch.stack(
            [
                torch.cat([kappa(times[k], x[k, i : i + size]) for i in range(0, b, size)])
                for k in range(t1)
            ]
        )  # (T+1, B)
    return out[0] if single else out


def compactness(x: Tensor, labels: Tensor) -> Tensor:
    """Class compactness ``rho = mean intra-class distance / mean inter-centroid distance``.

    The spec's numeric proxy of the ODE paper's Fig. 1 (Sec. 3.1: "sample sets become
    progressively compressed"). With classes ``c`` of ``n_c`` points and centroids ``m_c``:

    * intra = the mean over classes (each class weighs the same) of the mean Euclidean
      distance over the ``n_c (n_c - 1) / 2`` distinct pairs of the class (classes with one
      point have no pair and are left out of this mean);
    * inter = the mean of ``|m_c - m_c'|`` over the distinct pairs of classes.

    ``rho`` is scale-free (invariant to scaling all states). Distances are computed exactly
    (differences, not the Gram-matrix shortcut, which loses the small distances of states
    near a common attractor to cancellation); memory is ``O((T+1) n_c^2)`` per class.

    Args:
        x: ``(B, N)`` states, or a ``(T+1, B, N)`` trajectory (or a ``SolverResult`` with
            one) for ``rho`` at every recorded time.
        labels: ``(B,)`` integer class labels, at least 2 distinct values, one class with
            at least 2 points.

    Returns:
        A 0-d tensor (states) or ``(T+1,)`` (trajectory), in ``x``'s dtype.

    Raises:
        ConfigError: for mismatched shapes, non-integer labels, fewer than 2 classes or no
            class with 2 points.
    """
    single = isinstance(x, Tensor) and x.dim() == 2
    traj = as_trajectory(x.unsqueeze(0) if single else x, "x", min_len=1)
    if not isinstance(labels, Tensor) or labels.dim() != 1 or labels.shape[0] != traj.shape[1]:
        got = tuple(labels.shape) if isinstance(labels, Tensor) else type(labels).__name__
        raise ConfigError(f"labels must have shape ({traj.shape[1]},) to match x; got {got}")
    if labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool:
        raise ConfigError(f"labels must be an integer tensor; got dtype {labels.dtype}")
    classes, counts = torch.unique(labels, return_counts=True)
    if classes.numel() < 2:
        raise ConfigError(f"compactness needs at least 2 classes; got {classes.numel()}")
    if not bool((counts >= 2).any()):
        raise ConfigError("compactness needs a class with at least 2 points")
    lab = labels.to(traj.device)
    with torch.no_grad():
        intra, cents = [], []
        for c, n_c in zip(classes.tolist(), counts.tolist(), strict=True):  # loop over classes
            xc = traj[:, lab == c]  # (T+1, n_c, N)
            cents.append(xc.mean(dim=1))  # (T+1, N)
            if n_c >= 2:
                d = torch.cdist(xc, xc, compute_mode="donot_use_mm_for_euclid_dist")
                intra.append(d.sum(dim=(1, 2)) / (n_c * (n_c - 1)))  # (T+1,) mean over pairs
        m = torch.stack(cents, dim=1)  # (T+1, C, N)
        k = m.shape[1]
        dc = torch.cdist(m, m, compute_mode="donot_use_mm_for_euclid_dist")  # (T+1, C, C)
        inter = dc.sum(dim=(1, 2)) / (k * (k - 1))  # (T+1,)
        rho = torch.stack(intra).mean(dim=0) / inter  # (T+1,)
    return rho[0] if single else rho
