"""Library code of deq-table2, deq-residuals, retrieval and convhnn-denoise: the
mathematics it states (Theorem 2 and App. E of the DEQ paper, Prop. 3.2 and Lemmas 3.2.1-3.2.2
of the notes, the noise model of the denoiser) and the protocol rules (Table 2's rows, the
grid of training cells, the expansion of shared cells)."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from hopfield_lab.analysis import descent_summary, energy_rises, retrieval_scores
from hopfield_lab.data import center_scale, image_memories
from hopfield_lab.errors import ConfigError
from hopfield_lab.models import ModernHopfield
from hopfield_lab.models.deq_paper import (
    HAM_ORDER,
    TABLE2,
    base_row,
    paper_numbers,
    row_name,
    sync_twin,
)
from hopfield_lab.models.layered import LayeredHopfield
from hopfield_lab.runs import decreasing_checks
from hopfield_lab.training import denoising_mse, pixel_noise
from hopfield_lab.training.deq_paper import (
    energies_by_scheme,
    expand_shared,
    train_cells,
    two_cycle_traces,
)


# ------------------------------------------------------------------------------- DEQ paper
def test_table2_row_rules() -> None:
    assert row_name("HAM-DEQ@residual") == "HAM-DEQ [residual safeguard]"
    assert row_name("HAM-EO") == "HAM-EO"
    assert base_row("HAM-EO-DEQ", 10, 3) == "HAM"
    assert base_row("CHN-EO", 10, 3) == "CHN (3 epochs)"
    assert base_row("CHN-EO", 3, 3) == "CHN (3 epochs)"  # no short stage: the final one
    assert base_row("CHN-DEQ", 10, 0) == "CHN (10 epochs)"
    assert sync_twin("HAM-EO-DEQ", "HAM-EO-DEQ", 10) == "HAM-DEQ"
    assert sync_twin("CHN-EO", "CHN-EO", 10) == "CHN (10 epochs)"
    assert sync_twin("HAM-DEQ", "HAM-DEQ", 10) is None
    assert (
        paper_numbers(3, "CHN")
        == paper_numbers(3, "CHN (4 epochs)")
        == TABLE2[(3, "CHN (10 epochs)")]
    )
    assert paper_numbers(3, "CHN (3 epochs)") == TABLE2[(3, "CHN (3 epochs)")]
    assert paper_numbers(5, "CHN-EO") is None  # the paper ran CHNs at depth 3 only
    assert paper_numbers(3, "HAM-DEQ [residual safeguard]") is None
    # the paper's own numbers obey its claim: HAM_ORDER needs fewer iterations each time
    for depth in (3, 5, 7):
        its = [TABLE2[(depth, m)][0] for m in HAM_ORDER]
        assert its == sorted(its, reverse=True)


class _Grid:
    depths = (3, 5)
    models = ("CHN", "HAM", "HAM-EO", "HAM-EO-DEQ")
    seeds = 2
    epochs = 4
    n_train = 100
    shared_training = True
    train_model = "HAM-EO-DEQ"


def test_train_cells_share_one_ham_per_depth_and_seed() -> None:
    cells = train_cells(_Grid(), short_epochs=2)
    assert sorted(cells) == sorted(
        [f"depth=3,model=CHN,seed={s}" for s in range(2)]
        + [f"depth={d},model=HAM-shared,seed={s}" for d in (3, 5) for s in range(2)]
    )
    shared = cells["depth=5,model=HAM-shared,seed=1"]["spec"]
    assert (shared.model, shared.depth, shared.seed, shared.epochs) == ("HAM-EO-DEQ", 5, 1, 4)
    assert shared.eval_models == ("HAM", "HAM-EO", "HAM-EO-DEQ") and shared.short_epochs == 0
    chn = cells["depth=3,model=CHN,seed=0"]["spec"]
    assert chn.short_epochs == 2 and chn.eval_models == () and chn.n_train == 100
    assert len({c["spec"].train_dir for c in cells.values()}) == len(cells)


def test_expand_shared_gives_each_solver_its_row() -> None:
    metrics = {m: {"iters": float(i)} for i, m in enumerate(("HAM", "HAM-EO-DEQ"))}
    cell = {
        "models": metrics,
        "trained_model": "HAM-EO-DEQ",
        "epoch_time_s": 2.0,
        "history": [{"epoch": 1}],
        "final": metrics["HAM-EO-DEQ"],
    }
    plain = {"final": {"iters": 9.0}, "epoch_time_s": 1.0, "history": []}
    out = expand_shared(
        {"depth=3,model=HAM-shared,seed=0": cell, "depth=3,model=CHN,seed=0": plain}
    )
    assert set(out) == {
        "depth=3,model=HAM,seed=0",
        "depth=3,model=HAM-EO-DEQ,seed=0",
        "depth=3,model=CHN,seed=0",
    }
    assert out["depth=3,model=HAM,seed=0"]["final"] == {"iters": 0.0}
    assert math.isnan(out["depth=3,model=HAM,seed=0"]["epoch_time_s"])
    assert out["depth=3,model=HAM-EO-DEQ,seed=0"]["epoch_time_s"] == 2.0
    assert out["depth=3,model=CHN,seed=0"] is plain


def test_two_cycle_traces_sync_cycles_even_odd_converges() -> None:
    """App. E, problem 1: the synchronous states alternate between two values (a 2-cycle, the
    residual stalls), the even-odd iteration reaches the 1e-12 criterion."""
    out = two_cycle_traces()
    assert not out["sync"]["converged"] and out["even_odd"]["converged"]
    assert min(out["sync"]["residuals"]) > 1e-3  # stalled far from the criterion
    last = out["last_sync_states"]  # (4, state)
    assert last[0] == pytest.approx(last[2]) and last[1] == pytest.approx(last[3])
    assert last[0] != pytest.approx(last[1])


def test_energies_by_scheme_even_odd_never_rises() -> None:
    """Theorem 2: each exact even-odd half step minimises the HAM energy over one group of
    layers, so along even-odd iterations the energy never rises (float64, random HAM)."""
    torch.manual_seed(0)
    model = LayeredHopfield([12, 20, 8, 5], kind="ham").double()
    with torch.no_grad():
        for w in model.weights:
            w.mul_(4.0)  # strong couplings: synchronous updates oscillate
    x = torch.rand(16, 12, dtype=torch.float64)
    e = energies_by_scheme(model, x, 30)
    assert e["sync"].shape == e["even_odd"].shape == (30, 16)
    assert not energy_rises(e["even_odd"]).any()
    assert energy_rises(e["sync"]).any()  # the claim is not vacuous: synchronous steps rise


# ------------------------------------------------------------------------------- notes ch. 3
def test_center_scale_puts_rows_on_the_sphere() -> None:
    x = torch.rand(7, 50, dtype=torch.float64)
    mean = x.mean(0)
    y = center_scale(x, mean)
    assert torch.allclose(y.norm(dim=1), torch.full((7,), math.sqrt(50), dtype=torch.float64))
    # the direction is that of x - mean
    c = x - mean
    assert torch.allclose(y * c.norm(dim=1, keepdim=True) / math.sqrt(50), c)
    assert not center_scale(mean[None], mean).any()  # a row at the mean stays zero


def test_image_memories_draws_distinct_queries() -> None:
    X, idx, mean, shape = image_memories("digits", 40, 10, 3)
    assert X.shape == (40, 64) and X.dtype == torch.float64 and shape == (8, 8)
    assert len(set(idx.tolist())) == 10 and int(idx.max()) < 40
    assert torch.equal(mean, X.mean(0))
    X2, idx2, _, _ = image_memories("digits", 40, 10, 3)
    assert torch.equal(X, X2) and torch.equal(idx, idx2)
    with pytest.raises(ConfigError, match="n_patterns must be <="):
        image_memories("digits", 10**6, 10, 3)


def test_retrieval_scores_and_descent_summary() -> None:
    """At large beta a stored pattern is a fixed point (exact retrieval); along Picard
    trajectories the energy never rises (Prop. 3.2), stays >= 0 (Lemma 3.2.1) and after one
    update is below ln P / beta + M^2 / 2 (Lemma 3.2.2 ii)."""
    gen = torch.Generator().manual_seed(1)
    X = torch.randn(20, 30, generator=gen, dtype=torch.float64)
    model = ModernHopfield(X, beta=2.0)
    idx = torch.arange(5)
    assert retrieval_scores(model, X[idx], idx, 0.05) == {"accuracy": 1.0, "exact": 1.0}
    near = X[idx] + 0.2 * X[idx + 5]  # nearest is still the original, but far from exact
    assert retrieval_scores(model, near, idx, 0.05) == {"accuracy": 1.0, "exact": 0.0}
    assert retrieval_scores(model, X[idx + 5], idx, 0.05)["accuracy"] == 0.0
    q = X[:8] + 0.8 * torch.randn(8, 30, generator=gen, dtype=torch.float64)
    weak = ModernHopfield(X, beta=0.05)  # slow descent through mixtures
    res = weak.retrieve(q, tol=1e-10, max_iter=200, energy=weak.energy, record_residuals=False)
    summary = descent_summary(weak, q, res.energies)
    assert summary["energy_increases"] == 0 and summary["max_rise_over_slack"] <= 1.0
    assert summary["min_energy"] >= 0.0
    assert 0.0 < summary["max_energy_after_one_step_over_bound"] <= 1.0


# ------------------------------------------------------------------------------- notes ch. 4
class _Identity(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


def test_pixel_noise_and_denoising_mse_baselines() -> None:
    """Noise of std s in [0, 1] units is 2 s on the [-1, 1] scale: the identity 'denoiser'
    has MSE (2 s)^2; clamping the noisy input can only help; the blank image's MSE is
    mean (c + 1)^2 exactly."""
    clean = torch.rand(400, 1, 8, 8, generator=torch.Generator().manual_seed(0)) * 2 - 1
    noise = pixel_noise(torch.zeros(20000, 1), 0.3, torch.Generator().manual_seed(1))
    assert float(noise.std()) == pytest.approx(0.6, rel=0.02)
    mse = denoising_mse(_Identity(), clean, 0.3, seed=0, batch=128)
    assert mse["model"] == pytest.approx(4 * 0.3**2, rel=0.03)
    assert mse["noisy_input"] < mse["model"]
    assert mse["blank"] == pytest.approx(float(((clean + 1) ** 2).mean()), rel=1e-6)
    assert denoising_mse(_Identity(), clean, 0.3, seed=0, batch=128) == mse  # seeded noise


# ------------------------------------------------------------------------------- reports
def test_decreasing_checks() -> None:
    checks = decreasing_checks("3L {name}: iterations", {"HAM": 12.0, "HAM-DEQ": 10.0, "EO": 11.0})
    assert [c.quantity for c in checks] == ["3L HAM-DEQ: iterations", "3L EO: iterations"]
    assert [c.claim for c in checks] == ["< HAM (12.00)", "< HAM-DEQ (10.00)"]
    assert [c.holds for c in checks] == [True, False]
    assert checks[0].margin == 2.0 and checks[1].margin == -1.0
    assert decreasing_checks("{name}", {"a": 1.0}) == []
