"""The finite-step paper's training and robustness evaluation (``training.finite_step``)."""

from __future__ import annotations

import dataclasses
import inspect

import pytest
import torch

from hopfield_lab.analysis import distance_ratio, energy_along
from hopfield_lab.data import NoiseReading
from hopfield_lab.models import FiniteStepHopfield
from hopfield_lab.training import (
    FiniteStepLoss,
    RegSettings,
    evaluate_finite_step,
    perturbation_bound,
    step_jacobian_norms,
    train_finite_step,
)


def test_reg_settings_are_the_loss_keywords() -> None:
    """Every field of RegSettings is a keyword of FiniteStepLoss, with the same default."""
    params = inspect.signature(FiniteStepLoss).parameters
    for f in dataclasses.fields(RegSettings):
        assert params[f.name].default == f.default, f.name


def test_step_jacobian_norms_match_eigvalsh() -> None:
    """|J_T(v_k)|_2 at v_0 .. v_{K-1}: Lanczos within 0.1% of the largest eigenvalue of the
    closed-form J_T (symmetric PSD), in float64."""
    gen = torch.Generator().manual_seed(0)
    model = FiniteStepHopfield(20, 12, activation="tanh", K=4).double()
    x = torch.rand(6, 20, generator=gen, dtype=torch.float64)
    traj = model.trajectory(x).detach()  # (K + 1, B, d)
    norms = step_jacobian_norms(model, traj)
    assert norms.shape == (4, 6)
    exact = torch.stack(
        [torch.linalg.eigvalsh(model.jacobian_T(v).detach())[..., -1] for v in traj[:-1]]
    )  # (K, B)
    torch.testing.assert_close(norms, exact, rtol=1e-3, atol=0.0)


def test_perturbation_bound_is_the_product_of_step_operator_norms() -> None:
    """App. B.1: the closed form equals prod_k |(1 - a) I + a J_T(v_k)|_2 of the exact Jacobians
    of the update, and bounds the observed growth of a small perturbation (float64)."""
    gen = torch.Generator().manual_seed(4)
    model = FiniteStepHopfield(18, 24, activation="tanh", K=5).double()
    x = torch.rand(5, 18, generator=gen, dtype=torch.float64)
    with torch.no_grad():
        traj = model.trajectory(x)  # (K + 1, B, d)
        bound = perturbation_bound(model, step_jacobian_norms(model, traj))
        steps = torch.stack([torch.linalg.matrix_norm(model.jacobian(v), ord=2) for v in traj[:-1]])
    exact = torch.cat([torch.ones(1, 5, dtype=torch.float64), steps.cumprod(0)])  # (K + 1, B)
    torch.testing.assert_close(bound, exact, rtol=1e-3, atol=0.0)
    rho = distance_ratio(model.update, x, eps=1e-7, steps=model.K, generator=gen).detach()
    assert bool((rho <= bound * (1.0 + 1e-3)).all())


def test_evaluate_counts_accuracy_violations_and_energy_rises() -> None:
    """Accuracies are the argmax rates; with sigma = 0 the noisy input is the clean one (clipping
    a [0, 1] image changes nothing); the violation rate is the fraction of steps with
    a > 1 / (1 + |J_T(v_k)|) and the energy never rises (convex Phi, a <= 1)."""
    gen = torch.Generator().manual_seed(1)
    model = FiniteStepHopfield(16, 10, activation="relu", K=3)
    x = torch.rand(50, 16, generator=gen)
    y = torch.randint(0, 10, (50,), generator=gen)
    out = evaluate_finite_step(
        model, x, y, reading=NoiseReading(), noise_sigma=0.0, seed=0, curve_sigmas=(0.0, 0.3)
    )
    with torch.no_grad():
        expected = 100.0 * float((model(x).argmax(1) == y).double().mean())
        traj = model.trajectory(x)
        norms = step_jacobian_norms(model, traj)
        rises = (energy_along(model.energy, traj).diff(dim=0) > 0).any()
    assert out["clean"] == pytest.approx(expected) and out["noisy"] == out["clean"]
    assert out["curve"][0] == out["clean"] and out["noisy_readings"] == {}
    violations = float((model.a > 1.0 / (1.0 + norms)).double().mean())
    assert out["descent_violation_rate"] == pytest.approx(violations)
    assert out["jac_median"] == pytest.approx(float(norms.median()))
    assert out["energy_increase_rate"] == 0.0 and not rises


def test_evaluate_readings_share_one_noise_draw() -> None:
    """The default reading's noisy accuracy reappears among the readings (the same draw)."""
    gen = torch.Generator().manual_seed(2)
    model = FiniteStepHopfield(16, 10, activation="tanh", K=2)
    x, y = torch.rand(40, 16, generator=gen), torch.randint(0, 10, (40,), generator=gen)
    readings = (NoiseReading(clip=True), NoiseReading(clip=False))
    out = evaluate_finite_step(
        model, x, y, reading=readings[0], noise_sigma=0.4, seed=3, readings=readings
    )
    assert out["noisy_readings"][readings[0].name] == out["noisy"]
    assert "curve" not in out


def test_jacq_training_resumes_bit_for_bit(tmp_path) -> None:
    """The estimator's warm starts are checkpointed: a JacQ training stopped after epoch 1 and
    resumed by a new call (a fresh estimator) ends with the parameters of one never stopped."""
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(96, 30, generator=gen)
    y = torch.randint(0, 10, (96,), generator=gen)
    kw = dict(
        activation="relu", method="jacq", K=3, seed=0, x=x, y=y, hidden=16, batch_size=32,
        reg=RegSettings(jacq_lam=1.0, jacq_m=0.1),
    )  # fmt: skip
    ref, hist_ref = train_finite_step(epochs=3, train_dir=tmp_path / "a", **kw)
    train_finite_step(epochs=1, train_dir=tmp_path / "b", **kw)
    resumed, hist = train_finite_step(epochs=3, train_dir=tmp_path / "b", **kw)
    assert hist_ref[-1]["train_penalty"] > 0  # the penalty is active, so the estimator matters
    for (name, p), q in zip(ref.state_dict().items(), resumed.state_dict().values(), strict=True):
        assert torch.equal(p, q), name
    strip = [{k: v for k, v in r.items() if k != "wall_time_s"} for r in hist_ref]
    assert strip == [{k: v for k, v in r.items() if k != "wall_time_s"} for r in hist]
