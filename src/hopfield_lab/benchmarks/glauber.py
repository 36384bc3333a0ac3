"""Batched sequential / Glauber dynamics of BinaryHopfield vs a per-spin NumPy loop.

The reference is the textbook implementation of asynchronous Hopfield dynamics (as in
teaching libraries): a Python loop over replicas, sweeps and spins, recomputing the chosen
spin's local field ``phi_i = J[i] . s + h_i`` with one NumPy dot product per update (``O(N)``)
and setting ``s_i = sgn(phi_i)`` (``T = 0``) or ``s_i = +1`` with probability
``1 / (1 + exp(-2 phi_i / T))`` (heat-bath Glauber, Lemma 2.1.3 of the notes). Ours,
:meth:`BinaryHopfield.run`, updates one spin of every replica at once and keeps the local
fields up to date incrementally (``O(N)`` per flipped replica).

Problem: a Hebbian network of ``N`` spins (``N`` even) storing ``P = 0.1 N`` patterns rounded to
an odd number, so that no local field is ever exactly zero (each ``phi_i`` is ``1/N`` times a
sum of ``P`` odd integers), and random initial states.

Checks, in the same run:

* ``T = 0``: both implementations are fed the same site orders (drawn from the same seeded
  torch generator as ``run`` draws them) and must end in the same fixed points, replica by
  replica (``agree`` = fraction of replicas with identical final states);
* ``T = 0.5``: both sample the same Markov chain; the mean energy per spin after the sweeps
  must agree within sampling error (``agree`` = ``|E_ours - E_ref| / stderr`` of the
  difference, should be below about 3).

Measured: spin updates per CPU second (``replicas * N * sweeps / CPU time``; for ``T = 0`` the
sweeps ``run`` actually performed before every replica settled), and the ratio ours / NumPy at
each replica count, all contenders interleaved round-robin. ``ours`` is the compiled sweep
(numba) when it is installed; ``ours, fallback`` is the pure NumPy sweep ``run`` uses without
it. Sizes (profile): full ``N = 1000``, 5 Glauber sweeps, ours with 1, 16, 64 and 256
replicas, NumPy with 8, plus the cost per spin update at ``N = 500, 1000, 2000`` (``P = 51``)
and ``P = 25, 51, 101`` (``N = 1000``); quick ``N = 1000``, 3 sweeps, ours with 1, 64 and 256
replicas, NumPy with 4; tiny ``N = 64``, 3 sweeps.
"""

from __future__ import annotations

import contextlib
import math
import os
import statistics
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch

from hopfield_lab.benchmarks.common import (
    DESCRIPTIONS,
    BenchResult,
    Profile,
    Timing,
    bench_profile,
    clock_for,
    register,
    time_fns,
)
from hopfield_lab.data.synthetic import random_patterns
from hopfield_lab.models.binary import BinaryHopfield, BinaryRun

__all__ = ["GLAUBER_T", "numpy_sequential", "sequential_problem"]

GLAUBER_T = 0.5
"""Temperature of the Glauber comparison."""

_SIZES: dict[Profile, dict[str, Any]] = {
    "full": {
        "N": 1000,
        "sweeps": 5,
        "replicas": (1, 16, 64, 256),
        "ref_replicas": 8,
        "t0_replicas": 16,
        "repeat": 5,
    },
    "quick": {
        "N": 1000,
        "sweeps": 3,
        "replicas": (1, 64, 256),
        "ref_replicas": 4,
        "t0_replicas": 4,
        "repeat": 3,
    },
    "tiny": {
        "N": 64,
        "sweeps": 3,
        "replicas": (1, 16),
        "ref_replicas": 4,
        "t0_replicas": 4,
        "repeat": 1,
    },
}
_SCALING: dict[Profile, tuple[tuple[int, int], ...]] = {
    "full": ((500, 51), (1000, 51), (2000, 51), (1000, 25), (1000, 101)),
    "quick": (),
    "tiny": (),
}
"""(N, P) pairs whose cost per spin update is reported (Glauber, T = 0.5, 64 replicas)."""
_SCALING_REPLICAS = 64
NO_NUMBA_ENV_VAR = "HOPFIELD_LAB_NO_NUMBA"


def sequential_problem(
    n: int, seed: int = 0, n_patterns: int | None = None, replicas: int = 512
) -> tuple[BinaryHopfield, torch.Tensor]:
    """A tie-free Hebbian network (``N`` even, ``P`` odd, default ~ 0.1 N) and random states.

    Returns:
        ``(model, states (replicas, N))`` in float64.
    """
    gen = torch.Generator().manual_seed(seed)
    P = (max(1, round(0.1 * n)) if n_patterns is None else n_patterns) | 1  # odd
    xi = random_patterns(P, n, generator=gen, dtype=torch.float64)
    states = random_patterns(replicas, n, generator=gen, dtype=torch.float64)
    return BinaryHopfield.hebbian(xi), states


def numpy_sequential(
    J: np.ndarray,
    h: np.ndarray,
    s0: np.ndarray,
    orders: np.ndarray,
    temperature: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Per-spin reference loop: replica by replica, sweep by sweep, spin by spin.

    Args:
        J: couplings ``(N, N)``. h: field ``(N,)``.
        s0: initial ±1 states ``(R, N)``.
        orders: site orders ``(sweeps, R, N)``.
        temperature: ``T >= 0`` (0: ``sgn``, zero field keeps the spin).
        rng: NumPy generator for the heat-bath draws.

    Returns:
        Final states ``(R, N)``.
    """
    s = s0.copy()
    for r in range(s.shape[0]):
        x = s[r]
        for t in range(orders.shape[0]):
            for i in orders[t, r]:
                phi = J[i] @ x + h[i]
                if temperature == 0.0:
                    if phi > 0:
                        x[i] = 1.0
                    elif phi < 0:
                        x[i] = -1.0
                else:
                    p_plus = 1.0 / (1.0 + math.exp(-2.0 * phi / temperature))
                    x[i] = 1.0 if rng.random() < p_plus else -1.0
    return s


def _orders(model: BinaryHopfield, R: int, sweeps: int, seed: int) -> torch.Tensor:
    """The site orders ``run`` draws at ``T = 0`` from ``manual_seed(seed)``: ``(sweeps, R, N)``."""
    g = torch.Generator().manual_seed(seed)
    return torch.stack([model.draw_sites(R, generator=g) for _ in range(sweeps)])


@contextlib.contextmanager
def _without_numba() -> Iterator[None]:
    """Run ``BinaryHopfield`` sweeps on the NumPy fallback (as without numba installed)."""
    before = os.environ.get(NO_NUMBA_ENV_VAR)
    os.environ[NO_NUMBA_ENV_VAR] = "1"
    try:
        yield
    finally:
        if before is None:
            del os.environ[NO_NUMBA_ENV_VAR]
        else:
            os.environ[NO_NUMBA_ENV_VAR] = before


def _glauber(
    model: BinaryHopfield, S0: torch.Tensor, sweeps: int, device: str, fallback: bool = False
) -> Callable[[], BinaryRun]:
    def run() -> BinaryRun:
        gen = torch.Generator(device=device).manual_seed(3)
        with _without_numba() if fallback else contextlib.nullcontext():
            return model.run(
                S0, dynamics="glauber", temperature=GLAUBER_T, n_sweeps=sweeps, generator=gen
            )

    return run


def _rate_ratio(ours: Timing, ref: Timing, upd_ours: int, upd_ref: int, clock: str) -> float:
    """Median over rounds of (updates/s ours) / (updates/s reference)."""
    a, b = ours.seconds(clock), ref.seconds(clock)  # type: ignore[arg-type]
    return statistics.median(
        (upd_ours / max(x, 1e-12)) / (upd_ref / max(y, 1e-12)) for x, y in zip(a, b, strict=True)
    )


@register(
    "glauber-vs-numpy",
    "Batched sequential/Glauber dynamics of BinaryHopfield (compiled sweeps, NumPy fallback) "
    "vs a per-spin NumPy loop",
)
def glauber_vs_numpy(quick: bool, device: str) -> BenchResult:
    """Spin updates per CPU second of ours and of the NumPy loop, with validity checks."""
    profile = bench_profile(quick)
    size = _SIZES[profile]
    N, sweeps, R_ref, R_t0 = size["N"], size["sweeps"], size["ref_replicas"], size["t0_replicas"]
    repeat = size["repeat"]
    clock = clock_for(device)
    model, S_all = sequential_problem(N)
    model = model.to(device)
    J = model.J.cpu().numpy()
    h = model.h.cpu().numpy()
    rows: list[dict[str, Any]] = []
    ratios: dict[str, float] = {}

    def row(impl: str, T: float, R: int, n_sweeps: int, t: Timing | None, **extra: Any) -> None:
        upd = R * N * n_sweeps
        rows.append(
            {
                "impl": impl,
                "T": T,
                "N": N,
                "P": model_p,
                "replicas": R,
                "sweeps": n_sweeps,
                "cpu_ms": None if t is None else 1e3 * t.median("cpu"),
                "wall_ms": None if t is None else 1e3 * t.median("wall"),
                "updates_per_cpu_s": None if t is None else upd / t.median("cpu"),
                "agree": extra.get("agree"),
                "mean_E_per_spin": extra.get("energy"),
            }
        )

    model_p = max(1, round(0.1 * N)) | 1

    # T = 0: the same site orders give the same fixed points
    S0 = S_all[:R_t0].to(device)
    ours0 = model.run(S0, n_sweeps=200, generator=torch.Generator(device=device).manual_seed(1))
    done = max(1, ours0.n_sweeps)
    orders = _orders(model, R_t0, done, seed=1).cpu().numpy()
    S0_np = S0.cpu().numpy()
    timed0 = time_fns(
        {
            "ours": lambda: model.run(
                S0, n_sweeps=200, generator=torch.Generator(device=device).manual_seed(1)
            ),
            "numpy loop": lambda: numpy_sequential(
                J, h, S0_np, orders, 0.0, np.random.default_rng(0)
            ),
        },
        repeat=1 if profile == "tiny" else 2,
        warmup=1,
        device=device,
    )
    ref0 = timed0["numpy loop"].result
    agree = float((ours0.states.cpu().numpy() == ref0).all(1).mean())
    e_ref0 = float(model.energy(torch.as_tensor(ref0, device=device)).mean()) / N
    row(
        "ours",
        0.0,
        R_t0,
        done,
        timed0["ours"],
        agree=agree,
        energy=float(ours0.energies[-1].mean()) / N,
    )
    row("numpy loop", 0.0, R_t0, done, timed0["numpy loop"], agree=agree, energy=e_ref0)
    ratios[f"updates/s ours/numpy T=0 R={R_t0}"] = _rate_ratio(
        timed0["ours"], timed0["numpy loop"], 1, 1, clock
    )

    # Glauber T > 0: throughput at several replica counts, all contenders interleaved
    ref_orders = _orders(model, R_ref, sweeps, seed=2).cpu().numpy()
    S_ref = S_all[:R_ref].numpy()
    calls: dict[str, Callable[[], Any]] = {
        "numpy loop": lambda: numpy_sequential(
            J, h, S_ref, ref_orders, GLAUBER_T, np.random.default_rng(2)
        )
    }
    for R in size["replicas"]:
        calls[f"ours R={R}"] = _glauber(model, S_all[:R].to(device), sweeps, device)
    R_max = max(size["replicas"])
    if device == "cpu":
        calls[f"ours, fallback R={R_max}"] = _glauber(
            model, S_all[:R_max].to(device), sweeps, device, fallback=True
        )
    timed = time_fns(calls, repeat=repeat, warmup=1, device=device)
    ref_t = timed["numpy loop"]
    E_ref = model.energy(torch.as_tensor(ref_t.result, device=device)).cpu().double() / N
    row("numpy loop", GLAUBER_T, R_ref, sweeps, ref_t, energy=float(E_ref.mean()))
    for name, t in timed.items():
        if name == "numpy loop":
            continue
        R = int(name.rsplit("=", 1)[1])
        res: BinaryRun = t.result
        E = res.energies[-1].cpu().double() / N
        agree_z = None
        if R > 1 and R_ref > 1:
            se = math.sqrt(float(E.var()) / R + float(E_ref.var()) / R_ref)
            agree_z = abs(float(E.mean()) - float(E_ref.mean())) / max(se, 1e-12)
        impl = name.rsplit(" R=", 1)[0]
        row(impl, GLAUBER_T, R, sweeps, t, agree=agree_z, energy=float(E.mean()))
        key = "ours/numpy" if impl == "ours" else "fallback/numpy"
        ratios[f"updates/s {key} glauber N={N} R={R}"] = _rate_ratio(
            t, ref_t, R * N * sweeps, R_ref * N * sweeps, clock
        )

    # cost per spin update against N (at fixed P) and against P (at fixed N)
    scaling = _scaling(_SCALING[profile], device, repeat, clock)
    for (n, p), seconds in scaling.items():
        rows.append(
            {
                **dict.fromkeys(rows[0]),
                "impl": "ours (scaling)",
                "T": GLAUBER_T,
                "N": n,
                "P": p,
                "replicas": _SCALING_REPLICAS,
                "sweeps": 2,
                "updates_per_cpu_s": 1.0 / seconds,
            }
        )
    if scaling:
        ratios["time/update N=2000/N=500 at P=51 (constant: linear in N)"] = (
            scaling[(2000, 51)] / scaling[(500, 51)]
        )
        ratios["time/update P=101/P=25 at N=1000 (linear in P: 4)"] = (
            scaling[(1000, 101)] / scaling[(1000, 25)]
        )
    notes = [
        f"profile {profile}, device {device}, float64, torch threads "
        f"{torch.get_num_threads()}. Hebbian network N={N}, P={model_p} (odd: no zero local "
        "field), random initial states.",
        "updates_per_cpu_s = replicas * N * sweeps / cpu time; cpu_ms/wall_ms: median process "
        f"CPU / wall time of one run over {repeat} interleaved rounds after a warm-up round "
        f"(the compiled kernels are built then); ratios: median over rounds of the per-round "
        f"ratio of update rates ({clock} time).",
        f"T=0 rows: ours ran until every replica settled ({done} sweeps), the NumPy loop ran "
        "the same sweeps with the same site orders (BinaryHopfield.draw_sites from the same "
        "seed); agree = fraction of replicas with identical final states (must be 1).",
        f"T={GLAUBER_T} rows: agree = |mean E/N ours - mean E/N numpy| / stderr (same chain, "
        "independent randomness; below ~3 expected). The NumPy loop's rate does not depend on "
        "the number of replicas (it loops over them); ours amortises the per-sweep overhead "
        "(random numbers, field refresh, Python calls) over all replicas. 'ours, fallback' "
        f"is run() with {NO_NUMBA_ENV_VAR}=1, the NumPy sweep used without numba.",
    ]
    if scaling:
        notes.append(
            f"scaling rows: Glauber at T={GLAUBER_T}, {_SCALING_REPLICAS} replicas, 2 sweeps "
            "from random states; updates_per_cpu_s at each (N, P); ratios of the time per "
            "update: constant in N (so a sweep is linear in N), at most linear in P"
        )
    return BenchResult(
        name="glauber-vs-numpy",
        description=DESCRIPTIONS["glauber-vs-numpy"],
        rows=rows,
        ratios=ratios,
        notes=notes,
    )


def _scaling(
    pairs: tuple[tuple[int, int], ...], device: str, repeat: int, clock: str
) -> dict[tuple[int, int], float]:
    """CPU seconds per spin update of a Glauber run for each ``(N, P)``."""
    calls: dict[str, Callable[[], Any]] = {}
    for n, p in pairs:
        model, S = sequential_problem(n, seed=1, n_patterns=p, replicas=_SCALING_REPLICAS)
        calls[f"{n},{p}"] = _glauber(model.to(device), S.to(device), 2, device)
    if not calls:
        return {}
    timed = time_fns(calls, repeat=repeat, warmup=1, device=device)
    return {
        (n, p): timed[f"{n},{p}"].median(clock) / (2 * n * _SCALING_REPLICAS)  # type: ignore[arg-type]
        for n, p in pairs
    }
