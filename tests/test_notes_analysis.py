"""Analysis and training code of the notes' experiments: parallel dynamics and 2-cycles, chain
attractors, retrieval-batch statistics and the classifier's training and metrics."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from hopfield_lab.analysis.attractors import chain_attractors, cluster_fixed_points, quench
from hopfield_lab.analysis.glauber import two_step_energy
from hopfield_lab.analysis.parallel_dynamics import find_two_cycle, parallel_outcomes
from hopfield_lab.errors import ConfigError
from hopfield_lab.models.binary import BinaryHopfield
from hopfield_lab.training.classification import evaluate_classifier

F64 = torch.float64


def _spins(gen: torch.Generator, rows: int, n: int) -> torch.Tensor:
    return torch.randint(0, 2, (rows, n), generator=gen).to(F64) * 2 - 1


def test_parallel_outcomes_partition_the_replicas_and_e2_never_rises(gen) -> None:
    model = BinaryHopfield.hebbian(_spins(gen, 8, 40))  # load 0.2: many 2-cycles
    par = model.run(_spins(gen, 64, 40), dynamics="parallel", n_sweeps=60, record_every=1)
    scale = 0.5 * float(model.J.abs().sum())
    out = parallel_outcomes(model, par, scale)
    assert out["fixed"] + out["cycle2"] + out["unsettled"] == 64
    assert out["cycle2"] > 0  # the checks below are not vacuous
    assert out["e2_checks"] == (par.trajectory.shape[0] - 2) * 64
    assert out["e2_rises"] == 0 and out["e2_cycle_changes"] == 0  # symmetric J (Goles et al.)
    # E2 recomputed by hand on one 2-cycling replica: equal on its last two steps
    k = int(par.cycle2.nonzero()[0])
    s = par.trajectory[:, k]  # (T, N)
    e2 = [float(-s[t] @ model.J @ s[t - 1]) for t in (len(s) - 2, len(s) - 1)]
    assert e2[0] == pytest.approx(e2[1], abs=1e-9)
    with pytest.raises(ConfigError, match="parallel"):
        parallel_outcomes(model, model.run(_spins(gen, 4, 40), n_sweeps=5), scale)


def test_parallel_outcomes_sees_e2_rise_with_asymmetric_couplings(gen) -> None:
    A = torch.randn(30, 30, generator=gen, dtype=F64).fill_diagonal_(0.0)
    model = BinaryHopfield(A)
    par = model.run(_spins(gen, 64, 30), dynamics="parallel", n_sweeps=40, record_every=1)
    assert parallel_outcomes(model, par, 0.5 * float(A.abs().sum()))["e2_rises"] > 0


def test_find_two_cycle_returns_a_true_cycle(gen) -> None:
    cyc = find_two_cycle(12, torch.Generator().manual_seed(101))
    assert cyc is not None
    traj = cyc.trajectory  # (T + 1, N): the parallel map from start
    assert torch.equal(traj[0], cyc.start)
    for t in range(len(traj) - 1):
        assert torch.equal(traj[t + 1], cyc.model.update(traj[t : t + 1])[0])
    assert torch.equal(traj[-1], traj[-3]) and not torch.equal(traj[-1], traj[-2])
    e2 = two_step_energy(cyc.model.J, cyc.model.h, traj[:, None, :])[:, 0]
    assert torch.equal(e2, cyc.two_step)
    assert bool((e2.diff() <= 1e-9).all())  # E2 never rises (symmetric J)
    assert len(cyc.patterns) == 2 + cyc.attempt % 3


def test_chain_attractors_of_a_noiseless_chain_are_its_fixed_points(gen) -> None:
    X = _spins(gen, 5, 64)
    beta = 0.2

    def step(xi: torch.Tensor) -> torch.Tensor:  # the noiseless update X^T softmax(beta X xi)
        return torch.softmax(beta * xi @ X.T, dim=-1) @ X

    out = chain_attractors(step, X, beta, X.clone(), 30, 10, 300, 0.05)
    assert out.labels.shape == (5, 20) and out.unconverged == 0.0
    # patterns this far apart are their own attractors: five distinct, one per chain, kept
    assert len(out.centres) == 5 and (out.labels == out.labels[:, :1]).all()
    probs, _ = quench(beta * X @ X.T, beta * X @ X.T, 300)
    labels = cluster_fixed_points(probs, 0.05, list(out.centres))
    assert torch.equal(labels, out.labels[:, 0])
    with pytest.raises(ConfigError, match="burn_in"):
        chain_attractors(step, X, beta, X, 5, 5, 10, 0.05)


def test_evaluate_classifier_matches_direct_metrics(gen) -> None:
    model = nn.Linear(6, 3).double()
    x, y = torch.randn(50, 6, generator=gen, dtype=F64), torch.randint(0, 3, (50,), generator=gen)
    model.train()
    acc, ce = evaluate_classifier(model, x, y, batch=7)
    logits = model(x).detach()
    assert acc == pytest.approx(100.0 * float((logits.argmax(1) == y).double().mean()))
    assert ce == pytest.approx(float(F.cross_entropy(logits, y)), rel=1e-12)
    assert model.training  # mode restored
    with pytest.raises(ConfigError):
        evaluate_classifier(model, x, y[:-1])


def test_end_state_statistics_small_and_large_beta(gen) -> None:
    from hopfield_lab.analysis.retrieval_stats import end_state_statistics
    from hopfield_lab.models import ModernHopfield

    X = _spins(gen, 6, 50)
    src = torch.arange(12) % 6
    q = X[src] + 0.3 * torch.randn(12, 50, generator=gen, dtype=F64)
    kw = {"single_threshold": 1.5, "global_fraction": 0.5, "tol": 1e-10, "max_iter": 2000}
    # beta m_max^2 < 1: a contraction (Prop. 3.3), every query at the one global average
    small, x, e = end_state_statistics(ModernHopfield(X, beta=1e-3), q, src, **kw)
    assert small["frac_global"] == 1.0 and small["distinct_fixed_points"] == 1
    assert torch.allclose(x, X.mean(0).expand_as(x), atol=1e-2)  # the mean, to O(beta)
    # large beta: each query back at its own pattern, the energy never rising (Prop. 3.2)
    large, x, e = end_state_statistics(ModernHopfield(X, beta=1.0), q, src, **kw)
    assert large["frac_single_own"] == 1.0 and large["distinct_fixed_points"] == 6
    assert torch.allclose(x, X[src], atol=1e-6)
    assert large["energy_increases"] == 0 and large["max_rise_over_slack"] <= 1
    assert e.shape[1] == 12 and large["min_energy"] == pytest.approx(float(e.min()))
    fractions = sum(large[f"frac_{k}"] for k in ("global", "metastable", "single"))
    assert fractions == pytest.approx(1.0)


def test_classification_statistics_counts_the_right_labels(gen) -> None:
    from hopfield_lab.analysis.retrieval_stats import classification_statistics
    from hopfield_lab.models import ModernHopfield

    X = _spins(gen, 4, 40)
    labels = torch.tensor([0, 1, 2, 3])
    q = X[torch.tensor([0, 1, 2, 3, 0, 1])]
    truth = torch.tensor([0, 1, 2, 3, 3, 3])  # the last two are wrong on purpose
    out = classification_statistics(ModernHopfield(X, beta=1.0), q, truth, labels, 1e-10, 500)
    assert out["accuracy"] == pytest.approx(4 / 6)
    assert out["mean_effective_patterns"] == pytest.approx(1.0, abs=1e-6)
    assert out["frac_in_some_sphere"] == 1.0 and out["not_converged"] == 0


class _Reg(nn.Linear):
    """A linear classifier whose regulariser is the mean absolute weight."""

    def regulariser(self) -> torch.Tensor:
        return self.weight.abs().mean()


def test_train_classifier_learns_and_records_the_weighted_regulariser(gen) -> None:
    from hopfield_lab.training import TrainConfig
    from hopfield_lab.training.classification import train_classifier

    x = torch.randn(256, 4, generator=gen)
    y = (x[:, 0] > 0).long()  # linearly separable
    torch.manual_seed(0)
    model = _Reg(4, 2)
    before, _ = evaluate_classifier(model, x, y)
    out = train_classifier(
        model,
        (x, y),
        TrainConfig(6, 32, 0, progress=False),
        lr=0.05,
        decay_epoch=3,
        reg=0.01,
        val=(x, y),
    )
    hist = out.history
    assert len(hist) == 6 and hist[-1]["train_ce"] < hist[0]["train_ce"]
    assert hist[-1]["val_accuracy"] > max(90.0, before)
    # the last epoch's regulariser, weighted, is about reg * mean |W| of the final weights
    assert hist[-1]["train_reg"] == pytest.approx(
        0.01 * float(model.regulariser().detach()), rel=0.2
    )
    with pytest.raises(ConfigError, match="lr"):
        train_classifier(model, (x, y), TrainConfig(1, 32, 0, progress=False), lr=0.0)
