"""Jacobian norms along trajectories, their quantiles, and the descent condition of Eq. 8.

Finite-step paper, Sec. 3.1 and App. B.2: along a trajectory ``v_0, ..., v_K`` of the
residual step ``v <- (1 - a) v + a T(v)`` (Eq. 4) the energy is locally ``L_k``-smooth with

    L_k = 1 + |J_T(v_k)|_2,

and monotone descent ``E(v_{k+1}) <= E(v_k)`` (Eq. 5) is guaranteed when ``a <= 1 / L_k``
(Eq. 8). :func:`jacobian_norms` measures ``|J_T(v_k)|`` at the states where the steps are
taken, :func:`smoothness_constants` turns them into ``L_k``, :func:`descent_violations` counts
the steps where ``a > 1 / L_k`` and :func:`quantiles` summarises the upper tail that the
Jacobian quantile regulariser (Eq. 9) penalises.

Which Jacobian? A model's ``jacobian(x)`` ``(B, N) -> (B, N, N)``, which the model contract
defines as ``d update / dx`` (closed form where the model has one, autograd otherwise); a
model without one (``±1`` spins, an unbound input-driven model) raises its
``CapabilityError`` instead of an autograd zero. For a plain map ``x -> T(x)``, the Jacobian
of that map by autograd (:func:`autograd_jacobian`). Eq. 8 is about ``J_T`` of the undamped
map, while the Jacobian of a damped update ``(1 - a) I + a T`` is ``(1 - a) I + a J_T``
(``FiniteStepHopfield.jacobian``): :func:`jacobian_norms` takes the step size ``a`` to
recover ``J_T`` (:func:`undamped`), or takes ``model.jacobian_T`` directly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal, TypedDict

import torch
from torch import Tensor

from hopfield_lab.analysis._common import as_trajectory, model_method, speaks_contract
from hopfield_lab.analysis.spectra import top_singular_value
from hopfield_lab.errors import ConfigError, check_choice, check_range

__all__ = [
    "NORM_KINDS",
    "DescentViolations",
    "JacobianFn",
    "autograd_jacobian",
    "batch_jacobian",
    "descent_violations",
    "jacobian_norms",
    "quantiles",
    "resolve_jacobian",
    "smoothness_constants",
    "undamped",
]

#: A batched Jacobian function ``(B, N) -> (B, N, N)``.
JacobianFn = Callable[[Tensor], Tensor]
NormKind = Literal["spectral", "frobenius"]
NORM_KINDS = ("spectral", "frobenius")


def autograd_jacobian(update: Callable[[Tensor], Tensor]) -> JacobianFn:
    """Jacobian of a batch-first map by autograd: ``x (B, N) -> J (B, N, N)``.

    ``J[b] = d update(x)[b] / d x[b]``, computed per sample as
    ``torch.func.vmap(torch.func.jacrev(f))`` where ``f(v) = update(v[None])[0]``, so samples
    never mix even for a map that couples rows. If ``update`` cannot run under ``vmap``
    (in-place ops on captured tensors, ``.item()``, data-dependent Python control flow) it falls
    back to a Python loop of ``torch.autograd.functional.jacobian`` over the samples.

    Cost: ``jacrev`` runs ``N`` vector-Jacobian products (batched by ``vmap``), about ``N``
    times the cost of one update and ``O(B N^2)`` memory, against one ``(B, N, N)`` product
    for a typical closed form; the loop fallback is ``B`` times slower still. Prefer a model's
    closed-form ``jacobian`` when there is one. The result stays differentiable with respect
    to parameters captured by ``update`` (when grad mode is on).

    Args:
        update: a map ``(B, N) -> (B, N)`` (e.g. ``model.update``).

    Returns:
        A function ``x (B, N) -> (B, N, N)``.
    """
    if not callable(update):
        raise ConfigError(f"update must be callable; got {type(update).__name__}")

    def single(v: Tensor) -> Tensor:
        return update(v.unsqueeze(0)).squeeze(0)  # (N,) -> (N,)

    batched = torch.func.vmap(torch.func.jacrev(single))

    def jacobian(x: Tensor) -> Tensor:
        try:
            return batched(x)  # (B, N, N)
        except (RuntimeError, NotImplementedError):
            create = torch.is_grad_enabled()
            rows = [torch.autograd.functional.jacobian(single, xi, create_graph=create) for xi in x]
            return torch.stack(rows)  # (B, N, N)

    return jacobian


def batch_jacobian(update: Callable[[Tensor], Tensor]) -> JacobianFn:
    """Jacobian of a batch map whose rows are independent, without single-row calls.

    ``J[b] = d update(x)[b] / d x[b]`` from ``N`` vector-Jacobian products with the basis
    vectors ``e_i`` applied to every row at once (batched by ``is_grads_batched``; a loop of
    ``N`` backward passes where that cannot run): row ``i`` of every ``J[b]`` is the gradient
    of ``sum_b update(x)[b, i]``, which is exact when row ``b`` of the output depends on row
    ``b`` of the input only. Unlike :func:`autograd_jacobian` it never evaluates the map on one
    row, so it serves maps bound to per-sample inputs (a bound model, see
    :class:`~hopfield_lab.core.BoundModel`). Differentiable in the map's parameters when grad
    mode is on.

    Args:
        update: a row-independent map ``(B, N) -> (B, M)``.

    Returns:
        A function ``x (B, N) -> (B, M, N)``.
    """
    if not callable(update):
        raise ConfigError(f"update must be callable; got {type(update).__name__}")

    def jacobian(x: Tensor) -> Tensor:
        create = torch.is_grad_enabled()
        with torch.enable_grad():
            xg = x.detach().requires_grad_(True)
            out = update(xg)  # (B, M)
            m = out.shape[1]
            basis = torch.eye(m, dtype=out.dtype, device=out.device)  # (M, M)
            basis = basis.unsqueeze(1).expand(m, *out.shape)  # (M, B, M): e_i on every row
            try:
                (g,) = torch.autograd.grad(
                    out, xg, basis, is_grads_batched=True, create_graph=create
                )
            except (RuntimeError, NotImplementedError):
                g = torch.stack(
                    [
                        torch.autograd.grad(
                            out, xg, basis[i], retain_graph=True, create_graph=create
                        )[0]
                        for i in range(m)
                    ]
                )
        return g.transpose(0, 1)  # (M, B, N) -> (B, M, N)

    return jacobian


def resolve_jacobian(model_or_fn: Any, probe: Tensor | None = None) -> JacobianFn:
    """Turn a model or a function into a batched Jacobian function ``(B, N) -> (B, N, N)``.

    Rules, in order:

    1. a model that declares its capabilities (:class:`~hopfield_lab.core.HopfieldModel`):
       its ``jacobian`` (``d update / dx``; a closed form, or autograd inside the model) when
       it offers one, else its ``CapabilityError`` (a non-differentiable model such as
       ``BinaryHopfield``, an unbound input-driven model): never autograd through ``sign``;
    2. a duck-typed object with a callable ``jacobian``: that;
    3. a duck-typed object with a callable ``update``: :func:`autograd_jacobian` of it;
    4. a plain callable: evaluated once on ``probe`` ``(B, N)``; if it returns ``(B, N, N)`` it
       is taken as a Jacobian function, if it returns ``(B, N)`` as the map whose Jacobian
       autograd computes. A bound method of a model that declares ``differentiable = False``
       (e.g. ``binary.update``) is refused like rule 1.

    Args:
        model_or_fn: a model, a Jacobian function or a map.
        probe: ``(B, N)`` states for rule 4 (required for a plain callable).

    Returns:
        The Jacobian function.

    Raises:
        CapabilityError: for a model without a Jacobian (rules 1 and 4).
        ConfigError: when ``model_or_fn`` fits none of the rules.
    """
    if speaks_contract(model_or_fn):
        return model_method(model_or_fn, "jacobian", "model_or_fn")
    jac = getattr(model_or_fn, "jacobian", None)
    if callable(jac):
        return jac
    upd = getattr(model_or_fn, "update", None)
    if callable(upd):
        return autograd_jacobian(upd)
    if not callable(model_or_fn):
        raise ConfigError(
            "model_or_fn must have a jacobian(x) or update(x) method, or be a callable map or "
            f"Jacobian function; got {type(model_or_fn).__name__}"
        )
    owner = getattr(model_or_fn, "__self__", None)
    if owner is not None and speaks_contract(owner) and not getattr(owner, "differentiable", True):
        raise owner.missing("jacobian")
    if probe is None:
        raise ConfigError("probe states are needed to tell a map from a Jacobian function")
    with torch.no_grad():
        out = model_or_fn(probe)
    b, n = probe.shape
    if isinstance(out, Tensor) and tuple(out.shape) == (b, n, n):
        return model_or_fn
    if isinstance(out, Tensor) and tuple(out.shape) == (b, n):
        return autograd_jacobian(model_or_fn)
    got = tuple(out.shape) if isinstance(out, Tensor) else type(out).__name__
    raise ConfigError(
        f"model_or_fn must map (B, N) states to a (B, N) update or a (B, N, N) Jacobian; "
        f"got {got} for input {(b, n)}"
    )


def undamped(jac: Tensor, a: float) -> Tensor:
    """``J_T = (J - (1 - a) I) / a`` from the Jacobian ``J`` of a damped update
    ``v -> (1 - a) v + a T(v)`` (App. B.1 read backwards): ``(B, N, N) -> (B, N, N)``.

    Raises:
        ConfigError: for ``a`` outside ``(0, 1]``.
    """
    check_range("a", a, 0.0, 1.0, low_inclusive=False)
    if a == 1.0:
        return jac
    eye = torch.eye(jac.shape[-1], dtype=jac.dtype, device=jac.device)
    return (jac - (1.0 - a) * eye) / a


def _matrix_norms(jac: Tensor, kind: str, symmetric: bool | None) -> Tensor:
    if kind == "spectral":
        return top_singular_value(jac, symmetric=symmetric)  # (B,)
    return torch.linalg.matrix_norm(jac, ord="fro")  # (B,)


def jacobian_norms(
    model_or_fn: Any,
    traj: Tensor,
    *,
    kind: NormKind = "spectral",
    include_last: bool = False,
    symmetric: bool | None = None,
    a: float = 1.0,
) -> Tensor:
    """Norms of the Jacobian at the states of a trajectory (``|J_T(v_k)|`` of Eq. 7).

    The Jacobian is the source's (a model's ``jacobian``, ``d update / dx``; see
    :func:`resolve_jacobian`), evaluated one step at a time (memory ``O(B N^2)``, not
    ``O(T B N^2)``). The finite-step paper's ``J_T`` is the Jacobian of the *undamped* map:
    for a model whose update is ``(1 - a) v + a T(v)`` pass its step size ``a`` (the norms
    are then of ``(J - (1 - a) I) / a = J_T``, :func:`undamped`), or pass
    ``model.jacobian_T`` itself with ``a = 1``.

    Args:
        model_or_fn: a model, or a plain map / Jacobian function; see :func:`resolve_jacobian`.
        traj: ``(T+1, B, N)`` states ``v_0..v_T`` (or a ``SolverResult`` with a trajectory).
        kind: ``"spectral"`` (default, ``|J|_2``, the norm of Eqs. 7-9) or ``"frobenius"``
            (``|J|_F``, the JacF baseline; an upper bound of ``|J|_2``).
        include_last: also evaluate at ``v_T`` (default False: only ``v_0..v_{T-1}``, the
            states from which the ``T`` steps are taken, as in Eq. 8).
        symmetric: for ``kind="spectral"``, see :func:`~hopfield_lab.analysis.top_singular_value`
            (default: detect per step).
        a: step size of the damped update whose Jacobian the source gives, in ``(0, 1]``;
            default 1 (the norms of the source's Jacobian itself).

    Returns:
        ``(T, B)`` norms (``(T+1, B)`` with ``include_last``).

    Raises:
        ConfigError: for an unknown ``kind``, ``a`` outside ``(0, 1]``, a malformed
            trajectory or Jacobian.
        CapabilityError: for a model without a Jacobian (spins, an unbound input-driven model).
    """
    check_choice("kind", kind, NORM_KINDS)
    check_range("a", a, 0.0, 1.0, low_inclusive=False)
    traj = as_trajectory(traj, min_len=1 if include_last else 2)
    states = traj if include_last else traj[:-1]
    jac_fn = resolve_jacobian(model_or_fn, states[0])
    b, n = traj.shape[1], traj.shape[2]
    rows = []
    for v in states:
        jac = jac_fn(v)
        if not isinstance(jac, Tensor) or tuple(jac.shape) != (b, n, n):
            got = tuple(jac.shape) if isinstance(jac, Tensor) else type(jac).__name__
            raise ConfigError(f"the Jacobian must have shape {(b, n, n)}; got {got}")
        rows.append(_matrix_norms(undamped(jac, a), kind, symmetric))
    return torch.stack(rows)  # (T, B)


def _quantile_sorted(sorted_vals: Tensor, q: float) -> Tensor:
    """Linear-interpolation quantile along dim 0 of an ascending-sorted tensor."""
    n = sorted_vals.shape[0]
    pos = q * (n - 1)
    lo = int(pos)
    hi = min(lo + 1, n - 1)
    frac = pos - lo
    if frac == 0.0:
        return sorted_vals[lo]
    return torch.lerp(sorted_vals[lo], sorted_vals[hi], frac)


def quantiles(
    norms: Tensor, qs: Sequence[float] | Tensor = (0.5, 0.9, 0.99), *, dim: int | None = None
) -> Tensor:
    """Empirical quantiles of Jacobian norms (the ``J_q`` of Eq. 9), linear interpolation.

    Unlike ``torch.quantile`` there is no size limit. Non-finite norms are kept: ``+inf`` and
    ``NaN`` (diverged states) sort to the top and show in the upper quantiles.

    Args:
        norms: norms of any shape, e.g. ``(T, B)`` from :func:`jacobian_norms`.
        qs: quantile levels in ``[0, 1]`` (a sequence or a 1-D tensor). Default
            ``(0.5, 0.9, 0.99)``.
        dim: the dimension to reduce; ``None`` (default) pools every entry.

    Returns:
        ``(len(qs),)`` when pooling, else ``(len(qs), *rest)`` with ``dim`` removed (e.g.
        ``dim=1`` on ``(T, B)`` gives per-step quantiles ``(len(qs), T)``).

    Raises:
        ConfigError: for an empty input, a level outside ``[0, 1]`` or a bad ``dim``.
    """
    if not isinstance(norms, Tensor) or not norms.is_floating_point():
        got = norms.dtype if isinstance(norms, Tensor) else type(norms).__name__
        raise ConfigError(f"norms must be a floating-point tensor; got {got}")
    if isinstance(qs, Tensor):
        qs = qs.detach().reshape(-1).tolist()
    levels = [float(check_range("qs", q, 0.0, 1.0)) for q in qs]
    if not levels:
        raise ConfigError("qs must hold at least one level in [0, 1]; got none")
    if dim is None:
        flat = norms.reshape(-1)
    else:
        if not isinstance(dim, int) or not -norms.dim() <= dim < norms.dim():
            raise ConfigError(
                f"dim must be None or an axis of a {norms.dim()}-D tensor; got {dim!r}"
            )
        flat = norms.movedim(dim, 0)
    if flat.shape[0] == 0:
        raise ConfigError("norms must not be empty along the reduced dimension")
    sorted_vals = torch.sort(flat, dim=0).values
    return torch.stack([_quantile_sorted(sorted_vals, q) for q in levels])


def smoothness_constants(norms: Tensor) -> Tensor:
    """Local smoothness constants ``L_k = 1 + |J_T(v_k)|_2`` (App. B.2; Sec. 3.1).

    Args:
        norms: spectral norms of any shape, e.g. ``(T, B)``.

    Returns:
        ``L`` with the shape of ``norms``.
    """
    if not isinstance(norms, Tensor):
        raise ConfigError(f"norms must be a torch.Tensor; got {type(norms).__name__}")
    return 1.0 + norms


class DescentViolations(TypedDict):
    """Result of :func:`descent_violations`.

    Keys:
        rate: fraction of all (step, sample) pairs with ``a > 1 / L_k``.
        per_step: ``(T,)`` fraction of samples violating at each step.
        any: fraction of samples (trajectories) with at least one violation.
        mask: ``(T, B)`` bool, True where the condition is violated.
    """

    rate: float
    per_step: Tensor
    any: float
    mask: Tensor


def descent_violations(norms: Tensor, a: float) -> DescentViolations:
    """Where the step size exceeds the descent bound: ``a > 1 / (1 + |J_T(v_k)|_2)`` (Eq. 8).

    Eq. 8 is sufficient, not necessary: a violation means the guarantee of monotone descent
    is lost at that step, not that the energy rises there (compare with
    :func:`~hopfield_lab.analysis.energy_increase_rate`). A non-finite norm counts as a
    violation.

    Args:
        norms: ``(T, B)`` spectral norms of ``J_T`` of the undamped map at ``v_0..v_{T-1}``
            (from :func:`jacobian_norms`), or ``(B,)`` for a single batch of states (``T = 1``).
        a: step size of the residual update, in ``(0, 1]``.

    Returns:
        A :class:`DescentViolations` dict: ``rate``, ``per_step`` ``(T,)``, ``any``,
        ``mask`` ``(T, B)``.

    Raises:
        ConfigError: for ``a`` outside ``(0, 1]`` or ``norms`` that is not 1-D or 2-D.
    """
    check_range("a", a, 0.0, 1.0, low_inclusive=False)
    if not isinstance(norms, Tensor) or norms.dim() not in (1, 2) or norms.numel() == 0:
        got = tuple(norms.shape) if isinstance(norms, Tensor) else type(norms).__name__
        raise ConfigError(f"norms must be a non-empty (T, B) or (B,) tensor; got {got}")
    if norms.dim() == 1:
        norms = norms.unsqueeze(0)
    bound = 1.0 / smoothness_constants(norms.detach())  # (T, B) = 1 / L_k
    mask = ~(a <= bound)  # NaN or inf norms count as violations
    frac = mask.to(norms.dtype)  # (T, B)
    return DescentViolations(
        rate=float(frac.mean()),
        per_step=frac.mean(dim=1),  # (T,)
        any=float(mask.any(dim=0).to(norms.dtype).mean()),
        mask=mask,
    )
