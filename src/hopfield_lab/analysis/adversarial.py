"""Adversarial perturbations and the graph of neighbouring basins (ODE paper, Sec. 3.3, App. F).

The attack of Eq. 3, projected gradient ascent on the loss in the ``l_inf`` ball of radius
``eps``::

    u^n     = delta^(n-1) + alpha_n grad_delta L(M(x + delta^(n-1)), y)
    delta^n = eps u^n / max(eps, |u^n|_inf),          delta^0 = 0,   n = 1..N

i.e. a raw-gradient step followed by a global rescale back into the ball (not Madry's
sign-of-gradient step with coordinate-wise clipping). The paper gives neither ``alpha``,
``N``, ``delta^0`` nor the success definition; the spec's choices (Sec. 3, "PGD, eq. 3") are
the defaults here:

* ``delta^0 = 0``; ``alpha_n = (eps / 4) / |grad L|_inf`` per sample, so each step moves at
  most ``eps / 4`` in every coordinate whatever the gradient's scale ("scale_free");
  ``alpha_mode="raw"`` takes a fixed ``alpha`` instead;
* ``L`` is the training loss (cross-entropy on the logits, or the paper's squared error to
  ``+-1`` targets); no clipping to the pixel range (optional);
* success of a sample = it was classified correctly without the perturbation and is
  misclassified at ``x + delta^N``; the success rate is over the clean-correct samples
  (:func:`success_rate`).

The result ``delta^N`` is the last iterate (Eq. 3's ``delta^N``), not the best one seen.
Reading of the projection: a direction is kept and only its length changes, so for a
linear model every iterate is a multiple of ``w`` and the attack converges to
``eps w / |w|_inf``, not to the ``l_inf``-optimal ``eps sign(w)``: Eq. 3 is weaker than
sign-PGD, which the spec notes may explain the MLP's plateau in Table 9.

The basin graph (Figs. 5 and 10): a directed edge ``M -> N`` when an attack turns a sample
of class ``M`` (classified ``M``) into a prediction ``N``; :func:`basin_graph` counts the
flips on each edge, ``|E|`` and the mean out-degree ``|E| / |V|`` (``|V|`` = the number of
classes), and :func:`draw_basin_graph` draws it with matplotlib.

Any model works: a callable ``x (B, ...) -> logits (B, C)`` that is differentiable in its
input: an ``nn.Module`` classifier, a finite-step model's ``forward``, a layered model's
equilibrium readout (gradients by its implicit backward), or an ODE model whose forward
integrates (the gradient flows back through the solver's steps). It must treat samples
independently (call ``model.eval()`` for dropout or batch norm); adaptive ODE solvers that
share one step size across the batch couple samples only through that step size.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor

from hopfield_lab.errors import (
    ConfigError,
    DivergenceError,
    check_choice,
    check_int,
    check_positive,
    check_range,
)

__all__ = [
    "ALPHA_MODES",
    "LOSSES",
    "BasinGraph",
    "PGDResult",
    "basin_graph",
    "draw_basin_graph",
    "pgd_attack",
    "success_rate",
]

ALPHA_MODES = ("scale_free", "raw")

#: A per-sample loss ``(logits (B, C), y (B,)) -> (B,)``.
LossFn = Callable[[Tensor, Tensor], Tensor]


def _cross_entropy(logits: Tensor, y: Tensor) -> Tensor:
    return F.cross_entropy(logits, y, reduction="none")


def _mse_pm1(logits: Tensor, y: Tensor) -> Tensor:
    target = torch.full_like(logits, -1.0)
    target.scatter_(1, y.unsqueeze(1), 1.0)  # +1 at the class, -1 elsewhere (paper, Sec. 2)
    return ((logits - target) ** 2).sum(dim=1)


LOSSES: dict[str, LossFn] = {"ce": _cross_entropy, "mse_pm1": _mse_pm1}
"""Named losses: ``"ce"`` (cross-entropy; the authors' code) and ``"mse_pm1"`` (the paper's
``|v~ - v|^2`` with ``v = +1`` at the class and ``-1`` elsewhere, Sec. 2)."""


@dataclass(frozen=True)
class PGDResult:
    """The outcome of :func:`pgd_attack`, per sample.

    Attributes:
        x_adv: ``(B, ...)`` perturbed inputs ``x + delta^N``.
        delta: ``(B, ...)`` the perturbation, ``|delta|_inf <= eps``.
        y: ``(B,)`` true labels.
        clean_pred: ``(B,)`` predictions on ``x``.
        adv_pred: ``(B,)`` predictions on ``x_adv``.
        clean_loss: ``(B,)`` loss on ``x``.
        adv_loss: ``(B,)`` loss on ``x_adv``.
        n_classes: ``C``, the number of logits.
        eps: the radius; steps: ``N``; alpha_mode: ``"scale_free"`` or ``"raw"``.
    """

    x_adv: Tensor
    delta: Tensor
    y: Tensor
    clean_pred: Tensor
    adv_pred: Tensor
    clean_loss: Tensor
    adv_loss: Tensor
    n_classes: int
    eps: float
    steps: int
    alpha_mode: str

    @property
    def clean_correct(self) -> Tensor:
        """``(B,)`` bool: classified correctly without the perturbation."""
        return self.clean_pred == self.y

    @property
    def success(self) -> Tensor:
        """``(B,)`` bool: clean-correct and misclassified after the attack."""
        return self.clean_correct & (self.adv_pred != self.y)

    @property
    def success_rate(self) -> float:
        """Successes over clean-correct samples (``nan`` when none is clean-correct)."""
        return success_rate(self)

    @property
    def clean_accuracy(self) -> float:
        """Fraction of samples classified correctly without the perturbation."""
        return float(self.clean_correct.double().mean())


def _per_sample_inf(t: Tensor) -> Tensor:
    """``|t_b|_inf`` of each sample, shaped ``(B, 1, ..., 1)`` to broadcast against ``t``."""
    flat = t.reshape(t.shape[0], -1).abs().amax(dim=1)  # (B,)
    return flat.reshape(-1, *([1] * (t.dim() - 1)))


def _logits(model: Callable[[Tensor], Tensor], x: Tensor, b: int) -> Tensor:
    out = model(x)
    if not isinstance(out, Tensor) or out.dim() != 2 or out.shape[0] != b:
        got = tuple(out.shape) if isinstance(out, Tensor) else type(out).__name__
        raise ConfigError(f"model must map {b} inputs to logits of shape ({b}, C); got {got}")
    return out


def _attack(
    model: Callable[[Tensor], Tensor],
    x: Tensor,
    y: Tensor,
    eps: float,
    steps: int,
    alpha_mode: str,
    alpha: float,
    loss_fn: LossFn,
    clip: tuple[float, float] | None,
) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor, int]:
    """One batch: ``(delta, clean_logits, adv_logits, clean_loss, adv_loss, C)``."""
    b = x.shape[0]
    x = x.detach()
    with torch.no_grad():
        clean = _logits(model, x, b)
    if int(y.min()) < 0 or int(y.max()) >= clean.shape[1]:
        raise ConfigError(
            f"y must hold labels in [0, {clean.shape[1]}) for a model with "
            f"{clean.shape[1]} logits; got labels from {int(y.min())} to {int(y.max())}"
        )
    tiny = torch.finfo(x.dtype).tiny
    delta = torch.zeros_like(x)  # delta^0 = 0
    if eps > 0:
        for n in range(steps):
            with torch.enable_grad():
                d = delta.clone().requires_grad_(True)
                per = loss_fn(_logits(model, x + d, b), y)
                if not isinstance(per, Tensor) or per.shape != (b,):
                    got = tuple(per.shape) if isinstance(per, Tensor) else type(per).__name__
                    raise ConfigError(f"loss must return per-sample losses ({b},); got {got}")
                (g,) = torch.autograd.grad(per.sum(), d)  # rows are the per-sample gradients
            bad = ~torch.isfinite(g.reshape(b, -1)).all(dim=1)
            if bool(bad.any()):
                raise DivergenceError(
                    f"pgd_attack: non-finite loss gradient at step {n} for "
                    f"{int(bad.sum())} of {b} samples",
                    step=n,
                    samples=torch.nonzero(bad).flatten().tolist(),
                )
            if alpha_mode == "scale_free":
                gmax = _per_sample_inf(g)
                a = torch.where(gmax > 0, alpha * eps / gmax.clamp_min(tiny), 0.0)
            else:
                a = torch.full_like(_per_sample_inf(g), alpha)
            u = delta + a * g  # Eq. 3
            delta = eps * u / torch.clamp(_per_sample_inf(u), min=eps)  # back into the ball
            if clip is not None:
                delta = torch.clamp(x + delta, clip[0], clip[1]) - x
    with torch.no_grad():
        adv = _logits(model, x + delta, b)
        return delta, clean, adv, loss_fn(clean, y), loss_fn(adv, y), clean.shape[1]


def pgd_attack(
    model: Callable[[Tensor], Tensor],
    x: Tensor,
    y: Tensor,
    eps: float,
    steps: int = 40,
    *,
    alpha_mode: Literal["scale_free", "raw"] = "scale_free",
    step_fraction: float = 0.25,
    alpha: float | None = None,
    loss: str | LossFn = "ce",
    clip: tuple[float, float] | None = None,
    batch_size: int | None = None,
) -> PGDResult:
    """The ``l_inf`` attack of Eq. 3 (ODE paper, Sec. 3.3), batched, through any model.

    ``u = delta + alpha_n grad_delta L(model(x + delta), y)``, then
    ``delta <- eps u / max(eps, |u|_inf)`` per sample, from ``delta = 0``, ``steps`` times
    (see the module docstring for the reading and the defaults' source).

    Args:
        model: a callable ``x (B, ...) -> logits (B, C)``, differentiable in ``x`` (an
            ``nn.Module`` or a function wrapping an ODE integration; see the module
            docstring). Its parameters receive no gradient.
        x: ``(B, ...)`` clean inputs (float).
        y: ``(B,)`` integer labels in ``[0, C)``.
        eps: the ``l_inf`` radius, >= 0 (``eps = 0`` returns the clean inputs). In the
            inputs' units: the spec's ``eps`` values are for pixels in ``[0, 1]``.
        steps: ``N >= 1`` iterations. Default 40 (the spec; its quick profile uses 20).
        alpha_mode: ``"scale_free"`` (default): ``alpha_n = step_fraction * eps /
            |grad L|_inf`` per sample and step (0 where the gradient vanishes); ``"raw"``: the
            constant ``alpha``.
        step_fraction: the scale-free step as a fraction of ``eps``, > 0. Default 0.25.
        alpha: the raw step (> 0), required for and only allowed with ``alpha_mode="raw"``.
        loss: ``"ce"`` (default), ``"mse_pm1"`` (see :data:`LOSSES`) or a callable
            ``(logits, y) -> (B,)`` per-sample losses.
        clip: ``(low, high)`` to keep ``x + delta`` in a box (e.g. ``(0, 1)``; this only
            shrinks ``|delta|``, so the ball still holds when ``x`` is in the box). Default
            None (the spec: no clipping).
        batch_size: attack at most this many samples at once (memory of the backward pass
            through an ODE); default all.

    Returns:
        A :class:`PGDResult` with ``x_adv``, ``delta``, predictions, losses, and the
        per-sample ``success``.

    Raises:
        ConfigError: for ``eps < 0``, ``steps < 1``, a bad step setting or loss, labels that
            do not match ``x``, or a model that does not return ``(B, C)`` logits.
        DivergenceError: when the loss gradient is not finite (the model diverged).
    """
    check_range("eps", eps, 0.0)
    check_int("steps", steps, 1)
    check_choice("alpha_mode", alpha_mode, ALPHA_MODES)
    check_positive("step_fraction", step_fraction)
    if alpha_mode == "raw":
        if alpha is None:
            raise ConfigError("alpha_mode='raw' needs alpha, the fixed step (> 0)")
        check_positive("alpha", alpha)
        step = float(alpha)
    else:
        if alpha is not None:
            raise ConfigError(
                f"alpha={alpha!r} is only used with alpha_mode='raw'; the scale-free step is "
                "set by step_fraction"
            )
        step = float(step_fraction)
    if isinstance(loss, str):
        check_choice("loss", loss, tuple(LOSSES))
        loss_fn = LOSSES[loss]
    elif callable(loss):
        loss_fn = loss
    else:
        raise ConfigError(f"loss must be one of {', '.join(LOSSES)} or a callable; got {loss!r}")
    if clip is not None:
        lo, hi = clip
        check_range("clip[0]", lo)
        check_range("clip[1]", hi, lo)
        clip = (float(lo), float(hi))
    if not callable(model):
        raise ConfigError(f"model must be callable x -> logits; got {type(model).__name__}")
    if not isinstance(x, Tensor) or x.dim() < 2 or not x.is_floating_point():
        raise ConfigError(
            "x must be a floating-point tensor of shape (B, ...); got "
            + (f"shape {tuple(x.shape)}" if isinstance(x, Tensor) else type(x).__name__)
        )
    if not isinstance(y, Tensor) or y.shape != (x.shape[0],):
        got = tuple(y.shape) if isinstance(y, Tensor) else type(y).__name__
        raise ConfigError(f"y must have shape ({x.shape[0]},) to match x; got {got}")
    if y.is_floating_point() or y.is_complex() or y.dtype == torch.bool:
        raise ConfigError(f"y must be an integer tensor of labels; got dtype {y.dtype}")
    size = x.shape[0] if batch_size is None else check_int("batch_size", batch_size, 1)
    y = y.to(device=x.device, dtype=torch.long)
    parts = [
        _attack(
            model, x[i : i + size], y[i : i + size], eps, steps, alpha_mode, step, loss_fn, clip
        )
        for i in range(0, x.shape[0], size)  # chunks of samples, each batched
    ]
    delta = torch.cat([p[0] for p in parts])
    clean = torch.cat([p[1] for p in parts])
    adv = torch.cat([p[2] for p in parts])
    return PGDResult(
        x_adv=(x.detach() + delta).detach(),
        delta=delta.detach(),
        y=y,
        clean_pred=clean.argmax(dim=1),
        adv_pred=adv.argmax(dim=1),
        clean_loss=torch.cat([p[3] for p in parts]).detach(),
        adv_loss=torch.cat([p[4] for p in parts]).detach(),
        n_classes=int(parts[0][5]),
        eps=float(eps),
        steps=steps,
        alpha_mode=alpha_mode,
    )


def _as_bool(t: Any, name: str, b: int | None = None) -> Tensor:
    if not isinstance(t, Tensor) or t.dim() != 1 or (b is not None and t.shape[0] != b):
        want = "(B,)" if b is None else f"({b},)"
        got = tuple(t.shape) if isinstance(t, Tensor) else type(t).__name__
        raise ConfigError(f"{name} must be a 1-D tensor of shape {want}; got {got}")
    return t.to(torch.bool)


def success_rate(result: PGDResult | Tensor, clean_correct: Tensor | None = None) -> float:
    """Attack success rate over the clean-correct samples (the spec's definition, Table 9).

    ``#(clean-correct and misclassified after the attack) / #(clean-correct)``; samples the
    model already got wrong count in neither.

    Args:
        result: a :class:`PGDResult`, or a ``(B,)`` bool tensor of "misclassified after the
            attack".
        clean_correct: ``(B,)`` bool, required with a tensor (and not allowed with a result).

    Returns:
        The rate in ``[0, 1]``; ``nan`` when no sample is clean-correct.

    Raises:
        ConfigError: for missing or mismatched inputs.
    """
    if isinstance(result, PGDResult):
        if clean_correct is not None:
            raise ConfigError("clean_correct is taken from the PGDResult; do not pass it")
        ok, fooled = result.clean_correct, result.adv_pred != result.y
    else:
        fooled = _as_bool(result, "result")
        if clean_correct is None:
            raise ConfigError("success_rate of a tensor needs clean_correct (B,) bool")
        ok = _as_bool(clean_correct, "clean_correct", fooled.shape[0])
    n_ok = int(ok.sum())
    return math.nan if n_ok == 0 else int((ok & fooled).sum()) / n_ok


@dataclass(frozen=True)
class BasinGraph:
    """The directed graph of neighbouring basins (ODE paper, Figs. 5 and 10).

    Attributes:
        counts: ``(C, C)`` long; ``counts[M, N]`` = samples of class ``M`` that an attack
            turned into ``N`` (zero diagonal).
    """

    counts: Tensor

    @property
    def n_classes(self) -> int:
        """``|V|``, the number of classes (nodes)."""
        return int(self.counts.shape[0])

    @property
    def edges(self) -> list[tuple[int, int, int]]:
        """``(M, N, count)`` for every edge, ordered by ``M`` then ``N``."""
        idx = torch.nonzero(self.counts > 0).tolist()
        return [(m, n, int(self.counts[m, n])) for m, n in idx]

    @property
    def n_edges(self) -> int:
        """``|E|``."""
        return int((self.counts > 0).sum())

    @property
    def out_degree(self) -> Tensor:
        """``(C,)`` number of distinct targets of each class."""
        return (self.counts > 0).sum(dim=1)

    @property
    def mean_out_degree(self) -> float:
        """``|E| / |V|`` (every class counts as a node, flipped or not)."""
        return self.n_edges / self.n_classes

    @property
    def n_flips(self) -> int:
        """Total flips over all edges."""
        return int(self.counts.sum())

    def to_networkx(self) -> Any:
        """A ``networkx.DiGraph`` with ``weight`` = count on each edge (needs networkx)."""
        try:
            import networkx as nx
        except ImportError as err:  # pragma: no cover - depends on the environment
            raise ConfigError("to_networkx needs networkx (pip install networkx)") from err
        g = nx.DiGraph()
        g.add_nodes_from(range(self.n_classes))
        g.add_weighted_edges_from(self.edges)
        return g


def basin_graph(
    source: PGDResult | Tensor,
    target: Tensor | None = None,
    *,
    valid: Tensor | None = None,
    n_classes: int | None = None,
) -> BasinGraph:
    """Count the flips ``M -> N`` of an attack (ODE paper, Sec. 3.3, Figs. 5 and 10).

    An edge ``M -> N`` is present when some sample of class ``M`` is classified ``N != M``
    after the attack; only valid samples count (for a :class:`PGDResult`: the clean-correct
    ones, so ``M`` is both the true and the clean predicted class).

    Args:
        source: a :class:`PGDResult`, or ``(B,)`` integer classes before the attack.
        target: ``(B,)`` integer classes after the attack (with a tensor ``source`` only).
        valid: ``(B,)`` bool, the samples to count (default: all; with a result, its
            clean-correct mask).
        n_classes: ``|V|`` (default: the result's ``C``, else ``max label + 1``).

    Returns:
        A :class:`BasinGraph`.

    Raises:
        ConfigError: for mismatched shapes, negative labels or labels ``>= n_classes``.
    """
    if isinstance(source, PGDResult):
        if target is not None:
            raise ConfigError("target is taken from the PGDResult; do not pass it")
        src, dst = source.y, source.adv_pred
        ok = source.clean_correct if valid is None else _as_bool(valid, "valid", src.shape[0])
        c = source.n_classes if n_classes is None else n_classes
    else:
        if target is None:
            raise ConfigError("basin_graph of a tensor needs target, the classes after the attack")
        for name, t in (("source", source), ("target", target)):
            if not isinstance(t, Tensor) or t.dim() != 1 or t.is_floating_point():
                raise ConfigError(f"{name} must be a 1-D integer tensor")
        if target.shape != source.shape:
            raise ConfigError(
                f"target must have shape {tuple(source.shape)} like source; got "
                f"{tuple(target.shape)}"
            )
        src, dst = source.long(), target.long()
        b = src.shape[0]
        ok = torch.ones(b, dtype=torch.bool) if valid is None else _as_bool(valid, "valid", b)
        top = max(int(src.max()), int(dst.max())) + 1 if b else 1
        c = top if n_classes is None else n_classes
    check_int("n_classes", c, 1)
    src, dst, ok = src.cpu(), dst.cpu(), ok.cpu()
    both = torch.cat([src, dst])
    if both.numel() and (int(both.min()) < 0 or int(both.max()) >= c):
        raise ConfigError(f"labels must lie in [0, {c}) (n_classes = {c})")
    flip = ok & (src != dst)
    counts = torch.zeros(c * c, dtype=torch.long)
    counts.index_add_(0, src[flip] * c + dst[flip], torch.ones(int(flip.sum()), dtype=torch.long))
    return BasinGraph(counts.reshape(c, c))  # (C, C)


def draw_basin_graph(
    graph: BasinGraph,
    ax: Any = None,
    *,
    title: str | None = None,
    labels: list[str] | None = None,
) -> Any:
    """Draw a :class:`BasinGraph` with matplotlib: classes on a circle, one arrow per edge.

    Arrow width grows with ``log(1 + count)``; each arrow carries its count; opposite edges
    ``M -> N`` and ``N -> M`` bend to different sides. The title (default) states ``|E|`` and
    the mean out-degree.

    Args:
        graph: the graph.
        ax: a matplotlib ``Axes`` (default: a new figure's).
        title: the title; default ``"|E| = ..., mean out-degree = ..."``.
        labels: node labels (default ``"0" .. "C-1"``).

    Returns:
        The ``Axes``.

    Raises:
        ConfigError: when ``labels`` does not have one entry per class.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Circle, FancyArrowPatch

    c = graph.n_classes
    names = [str(i) for i in range(c)] if labels is None else list(labels)
    if len(names) != c:
        raise ConfigError(f"labels must have {c} entries (one per class); got {len(names)}")
    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 4.5))
    angle = torch.pi / 2 - 2 * torch.pi * torch.arange(c, dtype=torch.float64) / c
    pos = torch.stack([torch.cos(angle), torch.sin(angle)], dim=1).tolist()  # (C, 2)
    r_node = 0.09
    for i, (px, py) in enumerate(pos):
        ax.add_patch(Circle((px, py), r_node, facecolor="#dde6f0", edgecolor="#33475b", zorder=3))
        ax.text(px, py, names[i], ha="center", va="center", fontsize=10, zorder=4)
    rad = 0.18
    for m, n, k in graph.edges:
        (x1, y1), (x2, y2) = pos[m], pos[n]
        arrow = FancyArrowPatch(
            (x1, y1),
            (x2, y2),
            connectionstyle=f"arc3,rad={rad}",
            arrowstyle="-|>",
            mutation_scale=10,
            linewidth=0.6 + 0.8 * math.log1p(k),
            color="#b03a2e",
            alpha=0.75,
            shrinkA=11,
            shrinkB=11,
            zorder=2,
        )
        ax.add_patch(arrow)
        # midpoint of matplotlib's arc3 Bezier: the chord's midpoint + rad / 2 * (dy, -dx)
        mx = (x1 + x2) / 2 + 0.5 * rad * (y2 - y1)
        my = (y1 + y2) / 2 - 0.5 * rad * (x2 - x1)
        ax.text(mx, my, str(k), fontsize=7, ha="center", va="center", color="#5b2c20")
    ax.set_xlim(-1.25, 1.25)
    ax.set_ylim(-1.25, 1.25)
    ax.set_aspect("equal")
    ax.axis("off")
    default = f"|E| = {graph.n_edges}, mean out-degree = {graph.mean_out_degree:.2f}"
    ax.set_title(default if title is None else title, fontsize=10)
    return ax
