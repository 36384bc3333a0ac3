"""Jacobian-penalty benchmark: one training step of the finite-step model with each penalty.

Problem: :class:`~hopfield_lab.models.FiniteStepHopfield` with ``d = 784``, tanh, ``K = 3``,
``a = 0.5`` (App. E) on MNIST training images, batch ``B``. One step = forward (``K`` descent
steps and the classifier on ``v_K``), cross-entropy plus a penalty, backward, Adam step
(lr 1e-3). Every contender starts from the same initial model and cycles through the same
``n_batches`` batches, so consecutive steps see different inputs, as in training.

Penalties are taken at the ``K B`` trajectory states ``v_0, ..., v_{K-1}`` (the states where
the descent condition of Eq. 7-8 is asked, pooled for the quantile), with ``sigma'(M v_k)``
from :meth:`~hopfield_lab.models.FiniteStepHopfield.logits_and_dsigma` (no extra product):

* ``base``: cross-entropy only;
* ``jacq-exact``: JacQ (Eq. 9) with ``jacobian_spectral_norm(method="exact")`` (batched
  ``eigvalsh`` of ``k x k``, ``k = min(N, d)``);
* ``jacq-fast``: JacQ with :class:`~hopfield_lab.regularizers.SpectralNormEstimator` (Lanczos
  from each state's Ritz vector in a subspace learnt over the previous steps), every state;
* ``jacq-tail``: the same estimator with ``tail=0.25``: full estimates (and gradients) only on
  the quarter of the states with the largest ``|J|_F``, the closed-form lower bound
  ``|J|_F^2 / tr J`` elsewhere (what the ``q = 0.9`` quantile needs);
* ``jacq-fast-v0``: the same at the ``B`` input states ``v_0 = x`` only (Eq. 9 read as one
  state per sample);
* ``jacf``: mean squared Frobenius norm of ``J_T`` in closed form;
* ``lip``: ``|M|_2^2``;
* ``naive``: JacQ with per-state ``torch.func.jacrev`` of ``T`` (vmapped) and
  ``torch.linalg.matrix_norm(ord=2)`` of the ``d x d`` Jacobian, timed on a sub-batch and
  scaled linearly to ``B`` (see the notes).

Sizes: full and quick ``B = 128, N = 128`` (naive on 8 samples; full repeats more); tiny
``B = 16, N = 32`` (naive on 1 sample).
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
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
from hopfield_lab.data import load_mnist
from hopfield_lab.models import FiniteStepHopfield
from hopfield_lab.regularizers import (
    SpectralNormEstimator,
    jacf_penalty,
    jacobian_spectral_norm,
    jacq_penalty,
    lip_penalty,
)

__all__ = ["JACF_LAM", "JACQ", "LIP_LAM", "LR", "STEPS_K", "STEP_A", "TAIL", "jacq_step"]

STEPS_K = 3
STEP_A = 0.5
JACQ = {"q": 0.9, "m": 0.5, "lam": 1.0}
"""JacQ hyperparameters; ``m = 0.5`` is below ``|J_T|`` at init (about 0.95), so the penalty
and its gradient are active from the first step."""
JACF_LAM = 1e-3
LIP_LAM = 0.1
LR = 1e-3
TAIL = 0.25
"""Fraction of the states the ``jacq-tail`` estimator refines (2.5 times ``1 - q``)."""

# profile -> (batch B, hidden N, naive sub-batch, number of distinct batches)
_SIZES: dict[Profile, tuple[int, int, int, int]] = {
    "full": (128, 128, 8, 4),
    "quick": (128, 128, 8, 4),
    "tiny": (16, 32, 1, 2),
}
# profile -> (repeats of the cheap steps, of jacq-exact, of the naive sub-batch step)
_REPEAT: dict[Profile, tuple[int, int, int]] = {
    "full": (15, 3, 3),
    "quick": (5, 2, 2),
    "tiny": (1, 1, 1),
}

Penalty = Callable[[FiniteStepHopfield, Tensor, Tensor], Tensor]


def _naive_norms(model: FiniteStepHopfield, V: Tensor) -> Tensor:
    """``|J_T(v)|_2`` per state by autograd: vmapped ``jacrev`` of ``T``, then an SVD norm."""

    def t_one(v: Tensor) -> Tensor:
        return model.T(v.unsqueeze(0)).squeeze(0)  # (d,) -> (d,)

    jac = torch.func.vmap(torch.func.jacrev(t_one))(V)  # (S, d, d)
    return torch.linalg.matrix_norm(jac, ord=2)  # (S,)


def _penalties(
    fast: SpectralNormEstimator, tail: SpectralNormEstimator, fast_v0: SpectralNormEstimator
) -> dict[str, Penalty | None]:
    """Penalties ``(model, x (B, d), dsigma (K, B, N)) -> scalar``."""

    def flat(ds: Tensor) -> Tensor:
        return ds.reshape(-1, ds.shape[-1])  # (K B, N): states v_0..v_{K-1}

    def jacq_exact(model: FiniteStepHopfield, x: Tensor, ds: Tensor) -> Tensor:
        return jacq_penalty(jacobian_spectral_norm(model.M, flat(ds)), **JACQ)

    def jacq_fast(model: FiniteStepHopfield, x: Tensor, ds: Tensor) -> Tensor:
        return jacq_penalty(fast(model.M, flat(ds)), **JACQ)

    def jacq_tail(model: FiniteStepHopfield, x: Tensor, ds: Tensor) -> Tensor:
        return jacq_penalty(tail(model.M, flat(ds)), **JACQ)

    def jacq_fast_v0(model: FiniteStepHopfield, x: Tensor, ds: Tensor) -> Tensor:
        return jacq_penalty(fast_v0(model.M, ds[0]), **JACQ)  # (B, N) at v_0 = x

    def jacf(model: FiniteStepHopfield, x: Tensor, ds: Tensor) -> Tensor:
        return jacf_penalty(model.M, flat(ds), lam=JACF_LAM)

    def lip(model: FiniteStepHopfield, x: Tensor, ds: Tensor) -> Tensor:
        return lip_penalty(model.M, lam=LIP_LAM)

    def naive(model: FiniteStepHopfield, x: Tensor, ds: Tensor) -> Tensor:
        V = model.trajectory(x)[:-1].reshape(-1, model.state_dim)  # (K B, d)
        return jacq_penalty(_naive_norms(model, V), **JACQ)

    return {
        "base": None,
        "jacq-exact": jacq_exact,
        "jacq-fast": jacq_fast,
        "jacq-tail": jacq_tail,
        "jacq-fast-v0": jacq_fast_v0,
        "jacf": jacf,
        "lip": lip,
        "naive": naive,
    }


def _make_step(
    model: FiniteStepHopfield, batches: list[tuple[Tensor, Tensor]], penalty: Penalty | None
) -> Callable[[], Tensor]:
    """A closure doing one training step on the next batch of the cycle."""
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    cycle = itertools.cycle(batches)

    def step() -> Tensor:
        x, y = next(cycle)
        if penalty is None:
            loss = F.cross_entropy(model(x), y)
        else:
            logits, ds = model.logits_and_dsigma(x)  # (B, C), (K, B, N)
            loss = F.cross_entropy(logits, y) + penalty(model, x, ds)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.detach()

    return step


def _rel(est: Tensor, exact: Tensor) -> Tensor:
    return ((est.double() - exact.double()) / exact.double()).abs()


def _accuracy(
    model: FiniteStepHopfield, estimator: SpectralNormEstimator, dsigma: Tensor
) -> dict[str, float]:
    """Errors of the (warm) estimator on the states it estimates fully, of a cold start with
    the same iterations, and of J_q."""
    with torch.no_grad():
        exact = jacobian_spectral_norm(model.M, dsigma)
        warm = estimator(model.M, dsigma)
        rows = estimator.last_refined
        rows = torch.arange(len(exact)) if rows is None else rows
        cold = jacobian_spectral_norm(model.M, dsigma, method="lanczos", iters=estimator.warm_iters)
        q = JACQ["q"]
        return {
            "max": float(_rel(warm[rows], exact[rows]).max()),
            "mean": float(_rel(warm[rows], exact[rows]).mean()),
            "cold_max": float(_rel(cold, exact).max()),
            "cold_mean": float(_rel(cold, exact).mean()),
            "quantile": float(_rel(torch.quantile(warm, q), torch.quantile(exact, q))),
        }


@register(
    "jacq-step",
    "one training step (K=3 tanh, MNIST, B=128) with JacQ via exact eigvalsh, a warm-started "
    "Lanczos estimator and per-state autograd Jacobians, vs Base, JacF and Lip",
)
def jacq_step(quick: bool = False, device: str = "cpu") -> BenchResult:
    """Time one training step per penalty and check the fast spectral norms against exact.

    Args:
        quick: quick profile (fewer repeats). Default False.
        device: torch device. Default "cpu".

    Returns:
        BenchResult with one row per contender (``step_ms``, ``x_base``, the fast estimator's
        relative errors) and ratios ``<contender>/base``, ``naive/jacq-fast`` and
        ``jacq-exact/jacq-fast``.
    """
    profile = bench_profile(quick)
    batch, hidden, sub, n_batches = _SIZES[profile]
    repeat, exact_repeat, naive_repeat = _REPEAT[profile]
    data = load_mnist().train
    x_all = data.x[: batch * (n_batches + 1)].to(device)
    y_all = data.y[: batch * (n_batches + 1)].to(device)
    batches = [
        (x_all[i * batch : (i + 1) * batch], y_all[i * batch : (i + 1) * batch])
        for i in range(n_batches)
    ]
    held_out = x_all[n_batches * batch :]  # (B, d), for the accuracy check
    sub_batches = [(x[:sub], y[:sub]) for x, y in batches]
    torch.manual_seed(0)
    init = FiniteStepHopfield(784, hidden, activation="tanh", a=STEP_A, K=STEPS_K).to(device)
    fast, fast_v0 = SpectralNormEstimator("lanczos"), SpectralNormEstimator("lanczos")
    tail = SpectralNormEstimator("lanczos", tail=TAIL)
    penalties = _penalties(fast, tail, fast_v0)
    models = {name: copy.deepcopy(init) for name in penalties}

    def steps(names: list[str], which: list[tuple[Tensor, Tensor]]) -> dict[str, Any]:
        return {n: _make_step(models[n], which, penalties[n]) for n in names}

    cheap = ["base", "jacq-fast", "jacq-tail", "jacq-fast-v0", "jacf", "lip"]
    timed = time_fns(steps(cheap, batches), repeat=repeat, warmup=1, device=device)
    timed.update(time_fns(steps(["jacq-exact"], batches), repeat=exact_repeat, device=device))
    # the naive route and Base on the same sub-batch, scaled to B below
    models["base-sub"] = copy.deepcopy(init)
    penalties["base-sub"] = None
    sub_timed = time_fns(
        steps(["naive", "base-sub"], sub_batches), repeat=naive_repeat, device=device
    )
    scale = batch / sub
    clock = clock_for(device)
    t = {n: timed[n].median(clock) for n in [*cheap, "jacq-exact"]}
    t_naive_sub, t_base_sub = sub_timed["naive"].median(clock), sub_timed["base-sub"].median(clock)
    t["naive"] = t["base"] + scale * max(t_naive_sub - t_base_sub, 0.0)

    # accuracy on a held-out batch, each estimator on the model it has been training
    n_steps = fast.calls
    m_fast, m_tail, m_v0 = models["jacq-fast"], models["jacq-tail"], models["jacq-fast-v0"]
    with torch.no_grad():
        ds_fast = m_fast.logits_and_dsigma(held_out)[1]  # (K, B, N)
        ds_tail = m_tail.logits_and_dsigma(held_out)[1]  # (K, B, N)
        ds_v0 = m_v0.logits_and_dsigma(held_out)[1][0]  # (B, N)
    acc = {
        "jacq-fast": _accuracy(m_fast, fast, ds_fast.reshape(-1, hidden)),
        "jacq-tail": _accuracy(m_tail, tail, ds_tail.reshape(-1, hidden)),
        "jacq-fast-v0": _accuracy(m_v0, fast_v0, ds_v0),
    }
    with torch.no_grad():  # the naive norms are the exact ones (a consistency check)
        v_sub = m_fast.trajectory(held_out[:sub])[:-1].reshape(-1, 784)  # (K sub, d)
        naive_check = _naive_norms(m_fast, v_sub)
        naive_err = float(_rel(naive_check, m_fast.jacobian_T_norm(v_sub)).max())

    order = ["base", "jacq-exact", "jacq-fast", "jacq-tail", "jacq-fast-v0", "jacf", "lip", "naive"]
    rows: list[dict[str, Any]] = []
    for name in order:
        err = acc.get(name)
        states = batch if name in ("base", "jacq-fast-v0", "lip") else STEPS_K * batch
        rows.append(
            {
                "penalty": name,
                "states": None if name in ("base", "lip") else states,
                "step_ms": 1e3 * t[name],
                "x_base": t[name] / t["base"],
                "timed_on": f"{sub}->{batch}" if name == "naive" else str(batch),
                "err_max": err["max"] if err else (naive_err if name == "naive" else None),
                "err_mean": err["mean"] if err else None,
                "jq_err": err["quantile"] if err else None,
            }
        )
    ratios = {f"{n}/base": t[n] / t["base"] for n in order if n != "base"}
    for n in cheap[1:]:  # timed in the same rounds as base: median of per-round ratios
        ratios[f"{n}/base"] = ratio(timed[n], timed["base"], clock)
    ratios["naive/jacq-fast"] = t["naive"] / t["jacq-fast"]
    ratios["naive/jacq-tail"] = t["naive"] / t["jacq-tail"]
    ratios["jacq-exact/jacq-fast"] = t["jacq-exact"] / t["jacq-fast"]
    cold = acc["jacq-fast"]
    notes = [
        f"profile {profile}, device {device}, float32; FiniteStepHopfield(d=784, N={hidden}, "
        f"tanh, K={STEPS_K}, a={STEP_A}), MNIST training images, B={batch}, {n_batches} "
        f"batches cycled; Adam lr={LR}; every contender starts from the same initial model",
        f"states: where the penalty is taken; K*B={STEPS_K * batch} = the trajectory states "
        "v_0..v_(K-1) pooled, B = the inputs v_0 only (jacq-fast-v0); sigma'(M v_k) shared "
        f"with the forward pass. JacQ q={JACQ['q']}, m={JACQ['m']}, lam={JACQ['lam']} (m "
        f"below |J_T| at init, so it is active from the first step); JacF lam={JACF_LAM}; "
        f"Lip lam={LIP_LAM}",
        f"step_ms: median {clock} time of one full training step (forward, loss, backward, Adam) "
        f"over {repeat} interleaved repeats after one warm-up round ({exact_repeat} repeats "
        "for jacq-exact); x_base: step_ms / base step_ms",
        f"jacq-fast(-v0): SpectralNormEstimator('lanczos'): {fast.warm_iters} Lanczos steps "
        f"from each state's Ritz vector in a {fast.subspace}-dim subspace tracked over the "
        f"steps ({fast.iters} from a random start at the first step); value = Rayleigh "
        f"quotient of J at the final vector, gradient by Hellmann-Feynman. jacq-tail: the "
        f"same with tail={TAIL}: the {TAIL:.0%} of states with the largest |J|_F estimated "
        "so, the others get the lower bound |J|_F^2 / tr J (no gradient)",
        f"naive: vmap(jacrev(T)) per state + matrix_norm(ord=2) (SVD of d x d), timed on "
        f"{sub} samples ({STEPS_K * sub} states) over {naive_repeat} repeats and scaled "
        f"linearly: base_step({batch}) + ({batch}/{sub}) * (naive_step({sub}) - "
        f"base_step({sub})); raw naive_step({sub}) = {1e3 * t_naive_sub:.1f} ms, "
        f"base_step({sub}) = {1e3 * t_base_sub:.1f} ms",
        f"err_max/err_mean: |fast - exact| / exact over the states of a held-out batch that "
        f"the estimator estimates (jacq-tail: its tail), on the model each contender trained, "
        f"warm estimator after {n_steps} steps; jq_err: "
        f"the same for the {JACQ['q']}-quantile J_q. jacq-fast from a cold (random) start "
        f"with the same iterations: max {cold['cold_max']:.2e}, mean {cold['cold_mean']:.2e}. "
        f"err_max (naive): autograd norms vs exact on {STEPS_K * sub} states (a consistency "
        "check)",
    ]
    return BenchResult(
        name="jacq-step",
        description=DESCRIPTIONS["jacq-step"],
        rows=rows,
        ratios=ratios,
        notes=notes,
    )
