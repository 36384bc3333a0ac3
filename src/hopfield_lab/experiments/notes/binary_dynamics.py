"""Sequential vs parallel dynamics of the binary Hopfield network (lecture notes, ch. 2.1).

Command::

    hopfield-lab run binary-dynamics --profile demo     # ~9 s CPU time (~20 s wall, loaded)
    hopfield-lab run binary-dynamics --profile quick    # ~50 s CPU time
    hopfield-lab run binary-dynamics --profile paper    # N = 1000, ~15 min on 2 CPU cores

Setting. Hebbian networks (Def. 2.1.4, ``J_ii = 0``, ``h = 0``) storing ``P = alpha N`` random
unbiased patterns, for every load ``alpha`` in ``loads`` and ``n_networks`` pattern sets each;
``n_replicas`` uniformly random initial states per network.

Measured:

* Lemma 2.1.1 (energy never rises under sequential dynamics, for ``J`` symmetric with
  ``J_ii >= 0``), two ways: (a) after every single-spin update, on a network of
  ``check_n`` spins, with the energy recomputed from scratch in float64 (``check_sweeps * N``
  updates per replica); (b) per sweep along full runs of :meth:`BinaryHopfield.run` with
  ``N = n`` until every replica reaches a fixed point. A rise counts when it exceeds
  ``1e-9 (1 + |L|)``. Two controls show that the check can fail when the lemma's hypotheses
  do not hold: an asymmetric ``J`` (Gaussian, zero diagonal) and the Hebbian ``J`` with a
  negative diagonal ``J_ii = -1``; both must show rises.
* Parallel dynamics ``s <- sgn(J s)``: the fraction of replicas ending in a fixed point, in a
  2-cycle (``s(t+1) = s(t-1) != s(t)``) or still moving after ``n_sweeps``, against the load.
  For symmetric ``J`` the two-step function ``E2(t) = -s(t).J s(t-1) - h.(s(t) + s(t-1))``
  never rises under parallel dynamics (a classical fact, Goles et al. 1985, not in the notes),
  and it is constant on a 2-cycle; the number of rises is counted. The energy ``L`` itself may
  go up and down along a 2-cycle.
* An explicit 2-cycle: the first one found on a small network (``example_n`` spins), printed
  with its states and energy sequence (table ``two_cycle_example``).

The notes give no numbers here beyond "energy never rises" (0 rises); the comparison table
holds those predictions. Sequential dynamics never cycles (0 replicas unsettled after
``n_sweeps``, for enough sweeps).

Measured (quick profile, N = 500): 0 rises in 1,474,560 single-spin updates and in 176,896
sweeps; 0 rises of E2 in 347,392 parallel steps; the controls rise 92,598 (asymmetric J) and
226,134 (J_ii = -1) times. Fraction of random starts ending in a 2-cycle under parallel
dynamics: 0.006 at alpha = 0.02, 0.17 at 0.05, 0.39 at 0.1, 0.40 at 0.14, 0.56 at 0.3, 0.82
at 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import torch
from torch import Tensor

from hopfield_lab.data.synthetic import random_patterns
from hopfield_lab.errors import ConfigError, check_int, check_range
from hopfield_lab.experiments.base import Experiment, RunContext, register
from hopfield_lab.models.binary import BinaryHopfield
from hopfield_lab.runs import RunDir, Table, comparison_table, run_cells

__all__ = ["BinaryDynamicsConfig", "run"]

F64 = torch.float64


@dataclass(frozen=True)
class BinaryDynamicsConfig:
    """Config of the binary-dynamics experiment (see the module docstring).

    Attributes:
        n: spins ``N`` of the networks of the per-sweep and parallel runs.
        loads: loads ``alpha = P/N`` (``P = max(1, round(alpha N))``).
        n_networks: pattern sets per load.
        n_replicas: random initial states per network.
        n_sweeps: maximum sweeps (sequential) and parallel steps.
        check_n: spins of the networks of the per-update energy check.
        check_sweeps: sweeps of single-spin updates in the per-update check.
        example_n: spins of the small network where a 2-cycle example is searched.
        seed: seeds everything.
    """

    n: int = 200
    loads: tuple[float, ...] = (0.02, 0.05, 0.1, 0.14, 0.2, 0.3, 0.5, 1.0)
    n_networks: int = 3
    n_replicas: int = 64
    n_sweeps: int = 100
    check_n: int = 60
    check_sweeps: int = 3
    example_n: int = 12
    seed: int = 0

    def __post_init__(self) -> None:
        check_int("n", self.n, 2)
        if not self.loads:
            raise ConfigError("loads must not be empty")
        for a in self.loads:
            check_range("loads", a, 0.0, 10.0, low_inclusive=False)
        check_int("n_networks", self.n_networks, 1)
        check_int("n_replicas", self.n_replicas, 1)
        check_int("n_sweeps", self.n_sweeps, 1)
        check_int("check_n", self.check_n, 2)
        check_int("check_sweeps", self.check_sweeps, 1)
        check_int("example_n", self.example_n, 2, 24)
        check_int("seed", self.seed, 0)


def _n_patterns(alpha: float, n: int) -> int:
    return max(1, round(alpha * n))


def _rise_tol(E: Tensor) -> Tensor:
    return 1e-9 * (1.0 + E.abs())


def _per_update_rises(model: BinaryHopfield, S: Tensor, sweeps: int, gen: torch.Generator) -> int:
    """Energy rises over ``sweeps * N`` single-spin updates, energy recomputed each time."""
    N = S.shape[1]
    E = model.energy(S)
    rises = 0
    for _ in range(sweeps):
        order = torch.rand(S.shape, generator=gen).argsort(1)  # (R, N) random order per replica
        for k in range(N):
            S = model.update_sites(S, order[:, k])
            E_new = model.energy(S)
            rises += int((E_new > E + _rise_tol(E)).sum())
            E = E_new
    return rises


def _two_step_energy(model: BinaryHopfield, traj: Tensor) -> Tensor:
    """``E2(t) = -s(t).J s(t-1) - h.(s(t) + s(t-1))`` for t >= 1, shape ``(T - 1, R)``."""
    cur, prev = traj[1:], traj[:-1]  # (T-1, R, N)
    return -((cur @ model.J) * prev).sum(-1) - (cur + prev) @ model.h


def _cell(cell: dict[str, Any]) -> dict[str, Any]:
    cfg = cell["config"]
    alpha = float(cell["alpha"])
    gen = torch.Generator().manual_seed(cfg["seed"] * 7919 + int(cell["index"]))
    n, R = cfg["n"], cfg["n_replicas"]
    out: dict[str, Any] = {
        "alpha": alpha,
        "P": _n_patterns(alpha, n),
        "per_update_checks": 0,
        "per_update_rises": 0,
        "per_sweep_checks": 0,
        "per_sweep_rises": 0,
        "seq_unsettled": 0,
        "seq_sweeps": [],
        "par_fixed": 0,
        "par_cycle2": 0,
        "par_unsettled": 0,
        "par_steps": [],
        "par_e2_checks": 0,
        "par_e2_rises": 0,
        "par_e2_cycle_changes": 0,
        "par_energy_changes_on_cycles": 0,
        "control_asym_rises": 0,
        "control_negdiag_rises": 0,
        "mean_energy_curve": None,
    }
    curves = []
    for _ in range(cfg["n_networks"]):
        # (a) per-update check on a small network, and the two controls
        Pc = _n_patterns(alpha, cfg["check_n"])
        xi_c = random_patterns(Pc, cfg["check_n"], generator=gen, dtype=F64)
        m_c = BinaryHopfield.hebbian(xi_c)
        S0 = random_patterns(R, cfg["check_n"], generator=gen, dtype=F64)
        out["per_update_rises"] += _per_update_rises(m_c, S0, cfg["check_sweeps"], gen)
        out["per_update_checks"] += R * cfg["check_sweeps"] * cfg["check_n"]
        A = torch.randn(cfg["check_n"], cfg["check_n"], generator=gen, dtype=F64)
        A.fill_diagonal_(0.0)
        out["control_asym_rises"] += _per_update_rises(BinaryHopfield(A), S0, 1, gen)
        Jneg = m_c.J.clone()
        Jneg.fill_diagonal_(-1.0)
        out["control_negdiag_rises"] += _per_update_rises(BinaryHopfield(Jneg), S0, 1, gen)

        # (b) per-sweep check with the fast sequential dynamics, until fixed points
        xi = random_patterns(out["P"], n, generator=gen, dtype=F64)
        model = BinaryHopfield.hebbian(xi)
        S0 = random_patterns(R, n, generator=gen, dtype=F64)
        seq = model.run(S0, n_sweeps=cfg["n_sweeps"], generator=gen, record_every=1)
        dE = seq.energies.diff(dim=0)  # (T-1, R)
        out["per_sweep_rises"] += int((dE > _rise_tol(seq.energies[:-1])).sum())
        out["per_sweep_checks"] += dE.numel()
        out["seq_unsettled"] += int((seq.settled_sweep < 0).sum())
        out["seq_sweeps"] += seq.settled_sweep.tolist()
        curves.append(seq.energies.mean(1) / n)

        # (c) parallel dynamics from the same starts
        par = model.run(S0, dynamics="parallel", n_sweeps=cfg["n_sweeps"], record_every=1)
        out["par_fixed"] += int((par.converged & ~par.cycle2).sum())
        out["par_cycle2"] += int(par.cycle2.sum())
        out["par_unsettled"] += int((par.settled_sweep < 0).sum())
        out["par_steps"] += par.settled_sweep.tolist()
        traj = par.trajectory  # (T, R, N)
        if traj is not None and traj.shape[0] >= 2:
            e2 = _two_step_energy(model, traj)  # (T-1, R)
            if e2.shape[0] >= 2:
                d2 = e2.diff(dim=0)
                out["par_e2_rises"] += int((d2 > _rise_tol(e2[:-1])).sum())
                out["par_e2_checks"] += d2.numel()
            cyc = par.cycle2
            if cyc.any():
                last = e2[-2:, cyc]  # E2 on the last two steps of cycling replicas
                out["par_e2_cycle_changes"] += int(
                    ((last[-1] - last[0]).abs() > _rise_tol(last[0])).sum()
                )
                E_cyc = par.energies[-2:, cyc]
                out["par_energy_changes_on_cycles"] += int(
                    ((E_cyc[1] - E_cyc[0]).abs() > _rise_tol(E_cyc[0])).sum()
                )
    width = max(len(c) for c in curves)
    padded = [torch.cat([c, c[-1:].expand(width - len(c))]) for c in curves]
    out["mean_energy_curve"] = torch.stack(padded).mean(0).tolist()
    return out


def _find_two_cycle(cfg: BinaryDynamicsConfig) -> dict[str, Any]:
    """Search small Hebbian networks (P = 2, 3, ...) for a 2-cycle of parallel dynamics."""
    gen = torch.Generator().manual_seed(cfg.seed + 101)
    n = cfg.example_n
    for attempt in range(200):
        P = 2 + attempt % 3
        xi = random_patterns(P, n, generator=gen, dtype=F64)
        model = BinaryHopfield.hebbian(xi)
        S0 = random_patterns(64, n, generator=gen, dtype=F64)
        par = model.run(S0, dynamics="parallel", n_sweeps=50, record_every=1)
        if not par.cycle2.any():
            continue
        k = int(par.cycle2.nonzero()[0])
        steps = int(par.settled_sweep[k]) + 2
        if par.trajectory is None:
            raise RuntimeError("BinaryHopfield.run returned no trajectory despite record_every")
        traj = par.trajectory[: steps + 1, k]  # (steps + 1, N)
        e2 = _two_step_energy(model, traj[:, None, :])[:, 0]
        seq = model.run(S0[k : k + 1], n_sweeps=50, generator=gen)
        return {
            "sequential_final": seq.states[0].tolist(),
            "sequential_energy": float(seq.energies[-1, 0]),
            "sequential_fixed": bool(seq.converged[0]),
            "attempt": attempt,
            "P": P,
            "patterns": xi.tolist(),
            "states": traj.tolist(),
            "energies": model.energy(traj).tolist(),
            "two_step": [None, *e2.tolist()],
            "overlaps": (traj @ xi.T / n).tolist(),
        }
    return {}


def _spins(s: list[float]) -> str:
    return "".join("+" if v > 0 else "-" for v in s)


def run(config: BinaryDynamicsConfig, run_dir: RunDir, ctx: RunContext) -> dict[str, Any]:
    """One resumable cell per load, then the 2-cycle example, tables and figures."""
    cfg = {k: getattr(config, k) for k in config.__dataclass_fields__}
    cells = {
        f"alpha={a:g}": {"alpha": a, "index": i, "config": cfg} for i, a in enumerate(config.loads)
    }
    results = [
        r
        for r in run_cells(
            _cell, cells, run_dir, executor=ctx.executor, progress=ctx.progress
        ).values()
    ]
    example = _find_two_cycle(config)

    n_tot = config.n_networks * config.n_replicas
    loads = Table(
        "dynamics_vs_load",
        [
            "alpha",
            "P",
            "seq. rises per update",
            "seq. rises per sweep",
            "seq. mean sweeps to fixed point",
            "seq. unsettled",
            "par. fixed point",
            "par. 2-cycle",
            "par. unsettled",
            "par. E2 rises",
        ],
        caption=f"N = {config.n}, {config.n_networks} Hebbian networks x {config.n_replicas} "
        "random starts per load. Rises are energy increases larger than 1e-9 (1 + |L|); the "
        f"per-update check uses N = {config.check_n}. Parallel columns are fractions of the "
        f"{n_tot} starts after at most {config.n_sweeps} steps; E2 is the two-step Lyapunov "
        "function of parallel dynamics.",
    )
    for r in results:
        settled = [s for s in r["seq_sweeps"] if s >= 0]
        loads.add_row(
            r["alpha"],
            r["P"],
            r["per_update_rises"],
            r["per_sweep_rises"],
            sum(settled) / max(1, len(settled)),
            r["seq_unsettled"],
            r["par_fixed"] / n_tot,
            r["par_cycle2"] / n_tot,
            r["par_unsettled"] / n_tot,
            r["par_e2_rises"],
        )
    run_dir.save_table(loads)

    tot = {k: sum(r[k] for r in results) for k in results[0] if isinstance(results[0][k], int)}
    theory = comparison_table(
        "theory",
        [
            (
                f"energy rises in {tot['per_update_checks']} single-spin updates "
                "(Lemma 2.1.1, symmetric J, J_ii = 0)",
                0,
                tot["per_update_rises"],
                None,
            ),
            (
                f"energy rises in {tot['per_sweep_checks']} sequential sweeps (Lemma 2.1.1)",
                0,
                tot["per_sweep_rises"],
                None,
            ),
            ("sequential runs without a fixed point", 0, tot["seq_unsettled"], None),
            (
                f"two-step E2 rises in {tot['par_e2_checks']} parallel steps (Goles et al.)",
                0,
                tot["par_e2_rises"],
                None,
            ),
            ("E2 changes along detected 2-cycles", 0, tot["par_e2_cycle_changes"], None),
            (
                "control: rises with asymmetric J (Lemma fails)",
                "> 0",
                tot["control_asym_rises"],
                None,
            ),
            (
                "control: rises with J_ii = -1 (Lemma fails)",
                "> 0",
                tot["control_negdiag_rises"],
                None,
            ),
        ],
        caption="The notes' predictions (paper) against counts over every load and network. "
        "The controls break a hypothesis of Lemma 2.1.1 and must show rises, so that the zero "
        "counts above are not an artefact of the check.",
    )
    run_dir.save_table(theory)

    if example:
        ex = Table(
            "two_cycle_example",
            ["t", "state s(t)", "L(s(t))", "E2(t)", "overlaps m_mu"],
            caption=f"Parallel dynamics on a Hebbian network with N = {config.example_n}, "
            f"P = {example['P']} (patterns: "
            + ", ".join(_spins(p) for p in example["patterns"])
            + "). The last two states repeat forever: a 2-cycle. The last row is where "
            "sequential dynamics from the same s(0) stops.",
        )
        for t, (s, e, e2, m) in enumerate(
            zip(
                example["states"],
                example["energies"],
                example["two_step"],
                example["overlaps"],
                strict=True,
            )
        ):
            ex.add_row(t, _spins(s), e, e2, " ".join(f"{v:+.2f}" for v in m))
        xi_ex = torch.tensor(example["patterns"], dtype=F64)
        s_seq = torch.tensor(example["sequential_final"], dtype=F64)
        ex.add_row(
            "sequential, from s(0)",
            _spins(example["sequential_final"])
            + (" (fixed point)" if example["sequential_fixed"] else " (not settled)"),
            example["sequential_energy"],
            None,
            " ".join(f"{v:+.2f}" for v in (xi_ex @ s_seq / config.example_n).tolist()),
        )
        run_dir.save_table(ex)

    _figures(config, results, run_dir)
    return {
        "energy_rises_per_update": tot["per_update_rises"],
        "energy_rises_per_sweep": tot["per_sweep_rises"],
        "parallel_e2_rises": tot["par_e2_rises"],
        "control_asym_rises": tot["control_asym_rises"],
        "control_negdiag_rises": tot["control_negdiag_rises"],
        "cycle2_rate": {f"{r['alpha']:g}": r["par_cycle2"] / n_tot for r in results},
        "two_cycle_example_found": bool(example),
    }


def _figures(config: BinaryDynamicsConfig, results: list[dict], run_dir: RunDir) -> None:
    n_tot = config.n_networks * config.n_replicas
    alphas = [r["alpha"] for r in results]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(alphas, [r["par_cycle2"] / n_tot for r in results], "o-", label="2-cycle")
    ax.plot(alphas, [r["par_fixed"] / n_tot for r in results], "s-", label="fixed point")
    ax.plot(alphas, [r["par_unsettled"] / n_tot for r in results], "^-", label="unsettled")
    ax.axvline(0.138, color="0.6", ls="--", lw=1, label="alpha_c = 0.138")
    ax.set(
        xscale="log",
        xlabel="load alpha = P/N",
        ylabel="fraction of random starts",
        ylim=(-0.02, 1.02),
        title=f"Parallel dynamics, N = {config.n}",
    )
    ax.legend(fontsize=8)
    fig.tight_layout()
    run_dir.save_figure(fig, "parallel_outcomes_vs_load")

    fig, ax = plt.subplots(figsize=(6, 4))
    for r in results:
        curve = r["mean_energy_curve"]
        ax.plot(range(len(curve)), curve, "o-", ms=3, label=f"alpha = {r['alpha']:g}")
    ax.set(
        xlabel="sweep",
        ylabel="mean energy per spin L/N",
        title="Sequential dynamics: energy never rises (Lemma 2.1.1)",
    )
    ax.legend(fontsize=7)
    fig.tight_layout()
    run_dir.save_figure(fig, "sequential_energy")
    plt.close("all")


register(
    Experiment(
        name="binary-dynamics",
        title="Binary Hopfield: energy descent of sequential dynamics, 2-cycles of parallel",
        paper="continuous-hopfield-networks-notes, ch. 2.1",
        figure="Def. 2.1.2, Lemma 2.1.1 (no figure; predictions only)",
        config_cls=BinaryDynamicsConfig,
        profiles={
            "demo": BinaryDynamicsConfig(),
            "quick": BinaryDynamicsConfig(
                n=500,
                loads=(0.01, 0.02, 0.05, 0.08, 0.1, 0.12, 0.14, 0.17, 0.2, 0.3, 0.5, 1.0),
                n_networks=4,
                n_replicas=128,
                check_n=80,
            ),
            "paper": BinaryDynamicsConfig(
                n=1000,
                loads=(0.01, 0.02, 0.05, 0.08, 0.1, 0.12, 0.14, 0.17, 0.2, 0.3, 0.5, 1.0),
                n_networks=10,
                n_replicas=256,
                n_sweeps=200,
                check_n=100,
            ),
        },
        runtime={
            "demo": "~20 s (2 CPU cores)",
            "quick": "~2 min (2 CPU cores)",
            "paper": "~15 min (2 CPU cores)",
        },
        run=run,
    )
)
