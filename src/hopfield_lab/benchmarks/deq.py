"""DEQ-paper benchmarks: even-odd vs synchronous wall time, our Anderson vs torchdeq's.

The problem (both benchmarks): the forward equilibrium of a layered HAM
(:class:`~hopfield_lab.models.layered.LayeredHopfield`, the DEQ paper's architectures
784-1990-10 and 784-1280-510-200-10 with the paper's initialisation: Xavier weights times
:data:`WEIGHT_SCALE` (1 for 3 layers, 0.6 for 5), biases N(0, 0.01^2), shifted sigmoid) on a
batch of MNIST test images, from the zero state, to a relative residual of 1e-4 (the paper's
criterion), float32, no gradient. At scale 1 the 5-layer synchronous map 2-cycles (App. E:
64 images, 400 Picard iterations, 51 unconverged, residual stuck at 0.37), which would time
the budget, not a converged solve; at 0.6 every configuration converges and the iteration
counts (sync Picard 63, even-odd 37) are near the paper's trained 5-layer HAM (36, 18).

* ``deq-even-odd-vs-sync``: per depth, the synchronous map (Eq. 6) and the even-odd map
  (Eq. 10), each with Picard and with Anderson (window 4, Tikhonov 1e-10, safeguarded):
  iterations, wall time per converged batched solve, and the ratios sync/even-odd.
* ``deq-anderson-vs-torchdeq``: the same synchronous fixed point solved by our Anderson (with
  the residual safeguard, and with the DEQ paper's proxy rule) and by
  ``torchdeq.solver.anderson_solver`` (window 4, its default ``lam`` 1e-4, and 1e-10).

Sizes: full batch 64 (the paper's batch) and 5 interleaved repeats; quick 3 repeats; tiny
batch 8, 1 repeat, 3 layers only with a narrow hidden layer (784-64-10), 40 iterations at
most.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from hopfield_lab.benchmarks.common import (
    DESCRIPTIONS,
    BenchResult,
    CountedCalls,
    Profile,
    bench_profile,
    clock_for,
    ratio,
    register,
    time_fns,
)
from hopfield_lab.data import load_mnist
from hopfield_lab.models.layered import DEQSettings, LayeredHopfield
from hopfield_lab.solvers import SolverResult, fixed_point, flat_norm

__all__ = ["DEPTHS", "TOL", "WEIGHT_SCALE", "anderson_vs_torchdeq", "even_odd_vs_sync", "problem"]

DEPTHS: dict[int, list[int]] = {3: [784, 1990, 10], 5: [784, 1280, 510, 200, 10]}
_TINY_DEPTHS: dict[int, list[int]] = {3: [784, 64, 10]}
TOL = 1e-4
MAX_ITER = 200
WINDOW = 4
LAM = 1e-10
WEIGHT_SCALE: dict[int, float] = {3: 1.0, 5: 0.6}
_BATCH: dict[Profile, int] = {"full": 64, "quick": 64, "tiny": 8}
_REPEAT: dict[Profile, int] = {"full": 5, "quick": 3, "tiny": 1}


def problem(
    depth: int, batch: int, device: str = "cpu", seed: int = 0, *, tiny: bool = False
) -> tuple[Any, Tensor]:
    """A HAM of the paper's ``depth`` (weights x WEIGHT_SCALE[depth]) and ``batch`` MNIST images
    (``tiny``: narrow hidden layers, for the test suite)."""
    torch.manual_seed(seed)
    model = LayeredHopfield((_TINY_DEPTHS if tiny else DEPTHS)[depth], kind="ham")
    with torch.no_grad():
        for w in model.weights:
            w.mul_(WEIGHT_SCALE[depth])
    x = load_mnist().test.x[:batch]
    return model.to(device).eval(), x.to(device)


def _max_iter(profile: Profile) -> int:
    return 40 if profile == "tiny" else MAX_ITER


def _depths(profile: Profile) -> list[int]:
    return list(_TINY_DEPTHS if profile == "tiny" else DEPTHS)


def _solve(
    model: LayeredHopfield, x: Tensor, scheme: str, method: str, max_iter: int = MAX_ITER
) -> SolverResult:
    st = DEQSettings.of(
        scheme=scheme, method=method, tol=TOL, max_iter=max_iter, window=WINDOW, lam=LAM
    )
    with torch.no_grad():
        return model.solve(x, st, record_residuals=True)


def _solver_call(
    model: LayeredHopfield, x: Tensor, scheme: str, method: str, max_iter: int
) -> Callable[[], SolverResult]:
    return lambda: _solve(model, x, scheme, method, max_iter)


@register(
    "deq-even-odd-vs-sync",
    "even-odd vs synchronous HAM forward solves (3 and 5 layers, Picard and Anderson): "
    "iterations and wall time per converged solve",
)
def even_odd_vs_sync(quick: bool = False, device: str = "cpu") -> BenchResult:
    """Wall time of one converged forward solve, synchronous vs even-odd, measured together.

    Returns:
        BenchResult with one row per (depth, scheme, solver) and ratios
        ``time sync/even-odd`` and ``iters sync/even-odd`` per depth and solver.
    """
    profile = bench_profile(quick)
    batch, repeat = _BATCH[profile], _REPEAT[profile]
    clock = clock_for(device)
    rows: list[dict[str, Any]] = []
    ratios: dict[str, float] = {}
    for depth in _depths(profile):
        model, x = problem(depth, batch, device, tiny=profile == "tiny")
        calls: dict[str, Callable[[], Any]] = {
            f"{u}/{s}": _solver_call(model, x, u, s, _max_iter(profile))
            for u in ("sync", "even_odd")
            for s in ("picard", "anderson")
        }
        timed = time_fns(calls, repeat=repeat, warmup=1, device=device)
        ref = timed["sync/picard"].result
        y_ref = model.readout(ref.x, "sync")
        for name, t in timed.items():
            scheme, solver = name.split("/")
            res: SolverResult = t.result
            y = model.readout(res.x, scheme)
            rows.append(
                {
                    "layers": depth,
                    "scheme": scheme,
                    "solver": solver,
                    "state": int(res.x.shape[1]),
                    "it_mean": float(res.n_steps.double().mean()),
                    "it_max": int(res.n_steps.max()),
                    "not_conv": res.n_not_converged,
                    **t.columns(),
                    "ms_per_iter": 1e3 * t.median(clock) / max(res.nfe, 1),
                    "out_diff": float((flat_norm(y - y_ref) / flat_norm(y_ref)).max()),
                }
            )
        for solver in ("picard", "anderson"):
            s, e = timed[f"sync/{solver}"], timed[f"even_odd/{solver}"]
            ratios[f"time sync/even-odd {depth}L {solver}"] = ratio(s, e, clock)
            ratios[f"iters sync/even-odd {depth}L {solver}"] = float(
                s.result.n_steps.double().mean() / e.result.n_steps.double().mean()
            )
    notes = [
        f"profile {profile}, device {device}, float32, batch {batch} MNIST test images, zero "
        f"initial state; HAM with the paper's layers, Xavier weights x {WEIGHT_SCALE} (per depth)",
        f"stop per sample at |f(s)-s|/|f(s)| < {TOL:g} (max {_max_iter(profile)}); "
        f"anderson: window {WINDOW}, lam {LAM:g}, residual safeguard with the HAM energy as "
        "merit (LayeredHopfield.solve's default). The whole batch is evaluated "
        "until its last sample converges (the input enters through a closure): time follows "
        "it_max",
        "state: DEQ state size (even-odd keeps only the group holding the output); it_*: "
        "per-sample map calls; cpu_ms / wall_ms: median CPU / wall time of one batched solve over "
        f"{repeat} interleaved repeats (after a warm-up); ms_per_iter: time / batched calls; "
        "out_diff: largest relative difference of the output layer to sync/picard",
    ]
    return BenchResult(
        name="deq-even-odd-vs-sync",
        description=DESCRIPTIONS["deq-even-odd-vs-sync"],
        rows=rows,
        ratios=ratios,
        notes=notes,
    )


EQUAL_CALLS = 40
"""Map calls of the equal-work comparison (both solvers iterate the whole batch that often)."""
_NEVER = 1e-30
"""A tolerance no float32 residual reaches: the solvers run their whole budget."""


@register(
    "deq-anderson-vs-torchdeq",
    "our Anderson vs torchdeq.solver.anderson_solver on the synchronous HAM fixed point "
    "(3 and 5 layers): to tolerance, and at equal lam and equal map calls",
)
def anderson_vs_torchdeq(quick: bool = False, device: str = "cpu") -> BenchResult:
    """Our Anderson and torchdeq's on the same HAM fixed point, measured together.

    To tolerance: ours through ``LayeredHopfield.solve`` (the experiments' path: residual
    safeguard with the HAM energy as merit), ours with the DEQ paper's proxy safeguard, and
    torchdeq with lam 1e-4 and 1e-10. Equal work: :data:`EQUAL_CALLS` calls of the map on the
    whole batch, lam 1e-10 for both (ours relative, torchdeq absolute), ours
    ``fixed_point(full_iterations=True)`` with the residual safeguard and without one.

    Returns:
        BenchResult with one row per (depth, mode, solver) and ratios ``time torchdeq/ours``
        and ``nfe torchdeq/ours`` to tolerance (torchdeq's default lam 1e-4) and
        ``equal calls: time ours/torchdeq`` per depth.

    Raises:
        ImportError: if torchdeq is not installed.
    """
    try:
        from torchdeq.solver import anderson_solver
    except ImportError as exc:  # optional peer, installed with --no-deps
        raise ImportError(
            "benchmark 'deq-anderson-vs-torchdeq' needs torchdeq: pip install --no-deps torchdeq"
        ) from exc
    profile = bench_profile(quick)
    batch, repeat = _BATCH[profile], _REPEAT[profile]
    clock = clock_for(device)
    rows: list[dict[str, Any]] = []
    ratios: dict[str, float] = {}
    failed: list[str] = []
    n_max = _max_iter(profile)
    for depth in _depths(profile):
        model, x = problem(depth, batch, device, tiny=profile == "tiny")
        with torch.no_grad():
            view = model.bind(x, "sync")
            f, z0 = view.update, view.initial_state()

        def ours(safeguard: str = "residual", model: Any = model, x: Tensor = x) -> SolverResult:
            st = DEQSettings.of(
                scheme="sync",
                method="anderson",
                tol=TOL,
                max_iter=n_max,
                window=WINDOW,
                lam=LAM,
                safeguard=safeguard,
            )
            with torch.no_grad():
                return model.solve(x, st, record_residuals=False)

        def equal(safeguard: str, f: Any = f, z0: Tensor = z0) -> SolverResult:
            with torch.no_grad():
                return fixed_point(
                    f,
                    z0,
                    method="anderson",
                    tol=_NEVER,
                    max_iter=EQUAL_CALLS,
                    window=WINDOW,
                    lam=LAM,
                    safeguard=safeguard,
                    full_iterations=True,
                    record_residuals=False,
                    on_divergence="flag",
                )

        def theirs(
            lam: float, calls: int = n_max, tol: float = TOL, f: Any = f, z0: Tensor = z0
        ) -> tuple[Tensor, dict, int]:
            counted = CountedCalls(f)
            with torch.no_grad():
                z, _, info = anderson_solver(
                    counted, z0, max_iter=calls, tol=tol, stop_mode="rel", m=WINDOW, lam=lam
                )
            return z, info, counted.calls

        for mode in ("to tol", "equal calls"):
            if mode == "to tol":
                calls: dict[str, Callable[[], Any]] = {
                    "ours": ours,
                    "ours, paper's safeguard": functools.partial(ours, "proxy"),
                    "torchdeq lam=1e-4": functools.partial(theirs, 1e-4),
                }
                extra = ("torchdeq lam=1e-10", functools.partial(theirs, 1e-10))
            else:
                calls = {
                    "ours": functools.partial(equal, "residual"),
                    "ours, no safeguard": functools.partial(equal, "none"),
                }
                extra = ("torchdeq", functools.partial(theirs, LAM, EQUAL_CALLS, _NEVER))
            try:  # torchdeq's absolute lam=1e-10 can leave its bordered system singular
                extra[1]()
                calls[extra[0]] = extra[1]
            except torch.linalg.LinAlgError:
                failed.append(f"{depth}L {mode}")
            timed = time_fns(calls, repeat=repeat, warmup=1, device=device)
            mine: SolverResult = timed["ours"].result
            for name, t in timed.items():
                rejected = None
                if name.startswith("ours"):
                    res: SolverResult = t.result
                    z, nfe = res.x, res.nfe
                    it_mean = float(res.n_steps.double().mean())
                    rejected = res.stats.get("anderson_rejections", 0) / batch
                else:
                    z, info, nfe = t.result
                    it_mean = float(info["nstep"].double().mean())
                with torch.no_grad():
                    fz = f(z)
                rows.append(
                    {
                        "layers": depth,
                        "mode": mode,
                        "solver": name,
                        "it_mean": it_mean if mode == "to tol" else float(nfe),
                        "nfe": nfe,
                        "rejected": rejected,
                        "res_max": float((flat_norm(fz - z) / flat_norm(fz)).max()),
                        "diff_ours": float((flat_norm(z - mine.x) / flat_norm(mine.x)).max()),
                        **t.columns(),
                    }
                )
            if mode == "to tol":
                ours_t = timed["ours"]
                ratios[f"time torchdeq/ours {depth}L"] = ratio(
                    timed["torchdeq lam=1e-4"], ours_t, clock
                )
                ratios[f"nfe torchdeq/ours {depth}L"] = (
                    timed["torchdeq lam=1e-4"].result[2] / mine.nfe
                )
                if "torchdeq lam=1e-10" in timed:
                    ratios[f"time torchdeq(lam=1e-10)/ours {depth}L"] = ratio(
                        timed["torchdeq lam=1e-10"], ours_t, clock
                    )
                ratios[f"time paper-safeguard/residual-safeguard {depth}L"] = ratio(
                    timed["ours, paper's safeguard"], ours_t, clock
                )
            elif "torchdeq" in timed:
                ratios[f"equal calls: time ours/torchdeq {depth}L"] = ratio(
                    timed["ours"], timed["torchdeq"], clock
                )
                ratios[f"equal calls: time ours (no safeguard)/torchdeq {depth}L"] = ratio(
                    timed["ours, no safeguard"], timed["torchdeq"], clock
                )
    notes = [
        f"profile {profile}, device {device}, float32, torch threads {torch.get_num_threads()}; "
        "the synchronous HAM map of deq-even-odd-vs-sync (same weights and images), from the "
        "zero state",
        f"to tol: ours = LayeredHopfield.solve(x, DEQSettings(scheme='sync', method='anderson', "
        f"window={WINDOW}, lam={LAM:g} relative, tol={TOL:g} rel, max_iter={n_max})), the "
        "experiments' path: residual safeguard with the HAM energy as merit, per-sample stop; "
        "'paper's safeguard': the same with safeguard='proxy' (hopdeq's rule); torchdeq: "
        f"anderson_solver(m={WINDOW}, lam absolute, stop_mode='rel', tol={TOL:g}), stops when "
        "the whole batch is below tol",
        f"equal calls: {EQUAL_CALLS} calls of the map on the whole batch by every solver, "
        f"lam {LAM:g}, a tolerance no float32 residual reaches; ours = fixed_point(method="
        "'anderson', full_iterations=True) with the residual safeguard (no merit) and without "
        "one: the ratio is the solvers' own per-iteration cost (same map, same calls)",
        "it_mean: per-sample iterations (ours: calls until convergence; torchdeq: 'nstep' of "
        "its lowest-residual iterate); nfe: batched calls of f; rejected: extrapolations the "
        "safeguard rejected, per sample; res_max: largest relative residual recomputed at the "
        "returned state; diff_ours: largest relative distance to our answer in the same mode; "
        f"cpu_ms / wall_ms: median over {repeat} interleaved rounds after a warm-up round "
        f"(*_min_ms: fastest); ratios: median over rounds of the per-round ratio of {clock} "
        "times",
        "to-tol ratios use torchdeq's default lam=1e-4; lam=1e-10 (ours) is tried as well"
        + (f" but its system was singular for {failed}" if failed else ""),
    ]
    return BenchResult(
        name="deq-anderson-vs-torchdeq",
        description=DESCRIPTIONS["deq-anderson-vs-torchdeq"],
        rows=rows,
        ratios=ratios,
        notes=notes,
    )
