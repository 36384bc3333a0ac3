"""Tests of hopfield_lab.training: convergence, exact resume, divergence, config validation."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import Tensor, nn

from hopfield_lab.errors import ConfigError, DivergenceError
from hopfield_lab.runs import RunDir, read_jsonl
from hopfield_lab.training import CHECKPOINT_NAME, TrainConfig, TrainResult, fit

N_SAMPLES, DIM = 200, 4  # 200 / 32 -> 7 steps per epoch, the last one smaller


@pytest.fixture
def data() -> tuple[Tensor, Tensor]:
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(N_SAMPLES, DIM, generator=gen, dtype=torch.float64)
    w = torch.tensor([[1.5], [-2.0], [0.5], [3.0]], dtype=torch.float64)
    y = x @ w + 0.7 + 0.01 * torch.randn(N_SAMPLES, 1, generator=gen, dtype=torch.float64)
    return x, y


def _model(init_seed: int) -> nn.Module:
    torch.manual_seed(init_seed)
    return nn.Linear(DIM, 1, dtype=torch.float64)


def _mse(model: nn.Module, batch: tuple[Tensor, ...]) -> Tensor:
    x, y = batch
    return ((model(x) - y) ** 2).mean()


def _noisy_mse(model: nn.Module, batch: tuple[Tensor, ...]) -> tuple[Tensor, dict[str, Tensor]]:
    """Input-noise augmentation: draws from the global torch RNG, so resume must restore it."""
    x, y = batch
    pred = model(x + 0.05 * torch.randn_like(x))
    return ((pred - y) ** 2).mean(), {"mae": (pred - y).abs().mean().detach()}


def _eval(model: nn.Module) -> dict[str, float]:
    return {"weight_norm": float(model.weight.detach().norm())}


def _train(
    data: tuple[Tensor, Tensor],
    run_dir: Path | None,
    epochs: int,
    *,
    init_seed: int = 1,
    loss_fn=_noisy_mse,
    seed: int = 7,
) -> tuple[nn.Module, TrainResult]:
    """A fresh model, optimizer and scheduler, as a new process would build them."""
    model = _model(init_seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.7)
    config = TrainConfig(epochs=epochs, batch_size=32, seed=seed, max_grad_norm=5.0, progress=False)
    result = fit(
        model,
        optimizer,
        loss_fn,
        data,
        config,
        run_dir=run_dir,
        scheduler=scheduler,
        eval_fn=_eval,
    )
    return model, result


def _same_params(a: nn.Module, b: nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def _without_time(records: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "wall_time_s"} for r in records]


# ------------------------------------------------------------------------------------ training


def test_linear_regression_converges(data: tuple[Tensor, Tensor]) -> None:
    model = _model(0)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    config = TrainConfig(epochs=8, batch_size=20, seed=0, progress=False)
    result = fit(model, optimizer, _mse, data, config)
    losses = [r["train_loss"] for r in result.history]
    assert result.epochs_run == 8 and result.resumed_from is None
    assert [r["epoch"] for r in result.history] == list(range(1, 9))
    assert losses[-1] < losses[0] / 10
    assert _mse(model, data).item() < 1e-3
    assert torch.allclose(model.bias, torch.tensor([0.7], dtype=torch.float64), atol=0.01)


def test_records_hold_extras_eval_and_lr(data: tuple[Tensor, Tensor], tmp_path: Path) -> None:
    _, result = _train(data, tmp_path / "run", epochs=2)
    first = result.history[0]
    assert set(first) == {
        "epoch",
        "step",
        "train_loss",
        "train_mae",
        "weight_norm",
        "lr",
        "wall_time_s",
    }
    assert first["step"] == 7 and result.history[1]["step"] == 14
    assert first["lr"] == 0.05 and result.history[1]["lr"] == pytest.approx(0.035)


# -------------------------------------------------------------------------------------- resume


def test_resume_after_kill_between_epochs_is_exact(
    data: tuple[Tensor, Tensor], tmp_path: Path
) -> None:
    model_a, result_a = _train(data, tmp_path / "A", epochs=3)

    run_b = tmp_path / "B"
    _, first = _train(data, run_b, epochs=2)
    assert first.epochs_run == 2
    model_b, result_b = _train(data, run_b, epochs=3, init_seed=99)  # a new process resumes

    assert result_b.resumed_from == 2 and result_b.epochs_run == 1
    assert _same_params(model_a, model_b)
    metrics = read_jsonl(RunDir(run_b).metrics_path)
    assert [r["epoch"] for r in metrics] == [1, 2, 3]
    assert _without_time(metrics) == _without_time(read_jsonl(RunDir(tmp_path / "A").metrics_path))
    assert _without_time(result_b.history) == _without_time(result_a.history)

    # Everything done: a further call trains nothing and leaves the model at epoch 3.
    model_c, result_c = _train(data, run_b, epochs=3, init_seed=5)
    assert result_c.epochs_run == 0 and result_c.resumed_from == 3
    assert _same_params(model_a, model_c)
    assert [r["epoch"] for r in read_jsonl(RunDir(run_b).metrics_path)] == [1, 2, 3]


def test_resume_after_kill_mid_epoch_is_exact(data: tuple[Tensor, Tensor], tmp_path: Path) -> None:
    model_a, _ = _train(data, tmp_path / "A", epochs=3)

    calls = {"n": 0}

    def dies_at_step_12(model: nn.Module, batch: tuple[Tensor, ...]):
        calls["n"] += 1
        if calls["n"] == 12:  # epoch 2, step 5 of 7
            raise KeyboardInterrupt("killed")
        return _noisy_mse(model, batch)

    run_b = tmp_path / "B"
    with pytest.raises(KeyboardInterrupt):
        _train(data, run_b, epochs=3, loss_fn=dies_at_step_12)
    ckpt = torch.load(RunDir(run_b).checkpoints_dir / CHECKPOINT_NAME, weights_only=False)
    assert ckpt["epoch"] == 1
    # A metrics line written for an epoch the checkpoint does not have (a kill between the two
    # writes, or a stale file) is dropped on resume.
    RunDir(run_b).log_metrics({"epoch": 2, "train_loss": -1.0})

    model_b, result_b = _train(data, run_b, epochs=3, init_seed=42)
    assert result_b.resumed_from == 1 and result_b.epochs_run == 2
    assert _same_params(model_a, model_b)
    metrics = read_jsonl(RunDir(run_b).metrics_path)
    assert [r["epoch"] for r in metrics] == [1, 2, 3]
    assert all(r["train_loss"] > 0 for r in metrics)


def test_resume_refuses_a_different_seed(data: tuple[Tensor, Tensor], tmp_path: Path) -> None:
    _train(data, tmp_path / "run", epochs=1)
    with pytest.raises(ConfigError, match=r"seed=7.*seed=8"):
        _train(data, tmp_path / "run", epochs=2, seed=8)


def test_shuffle_order_does_not_depend_on_history(data: tuple[Tensor, Tensor]) -> None:
    seen: list[list[float]] = []

    def record_order(model: nn.Module, batch: tuple[Tensor, ...]) -> Tensor:
        seen.append(batch[1].flatten().tolist())
        return _mse(model, batch)

    config = TrainConfig(epochs=2, batch_size=50, seed=3, progress=False)
    model = _model(0)
    fit(model, torch.optim.SGD(model.parameters(), lr=0.0), record_order, data, config)
    assert seen[:4] != seen[4:]  # a new order each epoch
    epoch2 = seen[4:]
    seen.clear()
    torch.manual_seed(1234)  # global RNG state does not matter either
    config3 = TrainConfig(epochs=3, batch_size=50, seed=3, progress=False)
    fit(model, torch.optim.SGD(model.parameters(), lr=0.0), record_order, data, config3)
    assert seen[4:8] == epoch2


# ---------------------------------------------------------------------------------- divergence


def test_divergence_stops_and_keeps_last_good_checkpoint(
    data: tuple[Tensor, Tensor], tmp_path: Path
) -> None:
    model = _model(0)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    # Epoch 1 trains normally; from epoch 2 on the learning rate is absurd.
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda e: 1.0 if e < 1 else 1e60)
    config = TrainConfig(epochs=4, batch_size=32, seed=0, progress=False)
    run = RunDir(tmp_path / "run")
    with pytest.raises(DivergenceError, match=r"epoch 2, step \d+") as info:
        fit(model, optimizer, _mse, data, config, run_dir=run, scheduler=scheduler)
    message = str(info.value)
    assert "smaller learning rate" in message and "checkpoint of epoch 1" in message
    assert 7 < info.value.step <= 14
    assert f"step {info.value.step} " in message

    ckpt = torch.load(run.checkpoints_dir / CHECKPOINT_NAME, weights_only=False)
    assert ckpt["epoch"] == 1
    restored = _model(5)
    restored.load_state_dict(ckpt["model"])
    assert all(torch.isfinite(p).all() for p in restored.parameters())
    assert [r["epoch"] for r in read_jsonl(run.metrics_path)] == [1]


def test_divergence_without_run_dir(data: tuple[Tensor, Tensor]) -> None:
    def nan_loss(model: nn.Module, batch: tuple[Tensor, ...]) -> Tensor:
        return _mse(model, batch) * float("nan")

    model = _model(0)
    config = TrainConfig(epochs=1, batch_size=32, progress=False)
    with pytest.raises(DivergenceError, match=r"epoch 1, step 1 .*loss = nan") as info:
        fit(model, torch.optim.SGD(model.parameters(), lr=0.1), nan_loss, data, config)
    assert info.value.step == 1


# ------------------------------------------------------------------------------------- config


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"epochs": 0}, "epochs"),
        ({"epochs": 2.5}, "epochs"),
        ({"batch_size": -1}, "batch_size"),
        ({"seed": -3}, "seed"),
        ({"log_every": 0}, "log_every"),
        ({"max_grad_norm": 0.0}, "max_grad_norm"),
        ({"device": "tpu"}, "device"),
        ({"progress": "yes"}, "progress"),
    ],
)
def test_bad_config_names_the_field(kwargs: dict, field: str) -> None:
    with pytest.raises(ConfigError, match=field):
        TrainConfig(**kwargs)


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_cuda_without_cuda_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="CUDA is not available"):
        TrainConfig(device="cuda")


def test_bad_fit_arguments(data: tuple[Tensor, Tensor]) -> None:
    model = _model(0)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    config = TrainConfig(epochs=1, progress=False)
    x, y = data
    with pytest.raises(ConfigError, match="first dimension"):
        fit(model, opt, _mse, (x, y[:10]), config)
    with pytest.raises(ConfigError, match="scalar tensor"):
        fit(model, opt, lambda m, b: m(b[0]), data, config)
    with pytest.raises(ConfigError, match="TrainConfig"):
        fit(model, opt, _mse, data, {"epochs": 1})  # type: ignore[arg-type]


# ------------------------------------------------------------------------- state of the loss


class _RunningMean:
    """Loss-side state carried across steps: an exponential mean of the batch losses that
    scales the loss, so a resume that forgets it trains differently."""

    def __init__(self) -> None:
        self.value = torch.zeros((), dtype=torch.float64)
        self.loads = 0

    def state_dict(self) -> dict:
        return {"value": self.value.clone()}

    def load_state_dict(self, state: dict) -> None:
        self.value = state["value"].clone()
        self.loads += 1


def _train_stateful(
    data: tuple[Tensor, Tensor], run_dir: Path, epochs: int, tracker: _RunningMean, **kw
) -> nn.Module:
    model = _model(1)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)

    def loss_fn(m: nn.Module, batch: tuple[Tensor, ...]) -> Tensor:
        loss = _mse(m, batch)
        tracker.value = 0.9 * tracker.value + 0.1 * loss.detach()
        return loss * (1.0 + tracker.value)

    config = TrainConfig(epochs=epochs, batch_size=32, seed=3, progress=False)
    fit(model, optimizer, loss_fn, data, config, run_dir=run_dir, **kw)
    return model


def test_resume_restores_the_state_of_the_loss(data: tuple[Tensor, Tensor], tmp_path: Path) -> None:
    ref = _RunningMean()
    model_a = _train_stateful(data, tmp_path / "A", 3, ref, state={"mean": ref})
    run_b = tmp_path / "B"
    first = _RunningMean()
    _train_stateful(data, run_b, 2, first, state={"mean": first})
    resumed = _RunningMean()  # a new process: fresh state, restored from the checkpoint
    model_b = _train_stateful(data, run_b, 3, resumed, state={"mean": resumed})
    assert resumed.loads == 1 and torch.equal(resumed.value, ref.value)
    assert _same_params(model_a, model_b)
    # without the state, the resumed run trains differently: the test can fail
    forgot = _RunningMean()
    run_d = tmp_path / "C"
    first_d = _RunningMean()
    _train_stateful(data, run_d, 2, first_d, state={"mean": first_d})
    model_d = _train_stateful(data, run_d, 3, forgot, state=None)
    assert not _same_params(model_a, model_d)


def test_resume_refuses_a_checkpoint_without_the_state(
    data: tuple[Tensor, Tensor], tmp_path: Path
) -> None:
    _train_stateful(data, tmp_path / "run", 1, _RunningMean())
    with pytest.raises(ConfigError, match="holds no state for 'mean'"):
        t = _RunningMean()
        _train_stateful(data, tmp_path / "run", 2, t, state={"mean": t})
    with pytest.raises(ConfigError, match=r"state\['x'\] must have state_dict"):
        _train_stateful(data, tmp_path / "other", 1, _RunningMean(), state={"x": object()})


@pytest.mark.parametrize("penalty", ["base", "jacf", "lip", "jacq"])
def test_finite_step_loss_is_the_trajectory_objective(penalty: str) -> None:
    """FiniteStepLoss (one forward pass giving sigma'(M v_k)) equals cross-entropy on v_K plus
    the penalty at the states v_0 .. v_{K-1} recomputed from the trajectory (float64; JacQ
    against exact norms: ReLU's estimator refines every state, and its first, cold call runs
    N = 16 Lanczos steps, exact in 16 dimensions)."""
    import torch.nn.functional as F

    from hopfield_lab.models import FiniteStepHopfield
    from hopfield_lab.regularizers import (
        jacf_penalty,
        jacobian_spectral_norm,
        jacq_penalty,
        lip_penalty,
    )
    from hopfield_lab.training import FiniteStepLoss

    torch.manual_seed(0)
    model = FiniteStepHopfield(30, 16, activation="relu", K=3).double()
    x, y = torch.rand(20, 30, dtype=torch.float64), torch.randint(0, 10, (20,))
    loss_fn = FiniteStepLoss(penalty, activation="relu", jacq_m=0.0, jacf_lam=0.1, lip_lam=0.1)
    loss, info = loss_fn(model, (x, y))
    traj = model.trajectory(x)  # (K + 1, B, d)
    ds = model.dsigma(traj[:-1].reshape(-1, 30))  # (K B, N)
    pen = {
        "base": torch.zeros((), dtype=torch.float64),
        "jacf": jacf_penalty(model.M, ds, lam=0.1),
        "lip": lip_penalty(model.M, lam=0.1),
        "jacq": jacq_penalty(jacobian_spectral_norm(model.M, ds), q=0.9, m=0.0, lam=1.0),
    }[penalty]
    ce = F.cross_entropy(model.classifier(traj[-1]), y)
    assert float(loss.detach()) == pytest.approx(float((ce + pen).detach()), rel=1e-6)
    assert info["ce"] == pytest.approx(float(ce.detach()), rel=1e-12)
    assert (loss_fn.state is None) == (penalty != "jacq")


def test_finite_step_loss_refuses_another_model_or_activation() -> None:
    from hopfield_lab.models import FiniteStepHopfield
    from hopfield_lab.training import FiniteStepLoss

    x, y = torch.rand(4, 8), torch.zeros(4, dtype=torch.long)
    with pytest.raises(ConfigError, match="activation 'tanh'"):
        FiniteStepLoss("jacq")(FiniteStepHopfield(8, 4, activation="relu"), (x, y))
    with pytest.raises(ConfigError, match="FiniteStepHopfield"):
        FiniteStepLoss()(torch.nn.Linear(8, 10), (x, y))
    with pytest.raises(ConfigError, match="penalty"):
        FiniteStepLoss("jacobian")
