"""Library code of the lecture notes' chapters 3-4 experiments: prototypes, where retrieval ends,
Prop. 3.4 from numbers and on spheres, attractors of noisy chains, and the report helpers."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from hopfield_lab.analysis import (
    classify_end_states,
    cluster_fixed_points,
    count_distinct,
    dwell_statistics,
    effective_patterns,
    energy_rises,
    label_runs,
    modern_energy_scale,
    quench,
    rise_over_slack,
    sphere_check,
)
from hopfield_lab.data import digit_prototypes, kmeans_prototypes, mnist32, signed_padded
from hopfield_lab.errors import ConfigError
from hopfield_lab.models import HopfieldDenoiser, ModernHopfield, select_beta
from hopfield_lab.models.beta_rule import notes_iteration_beta, prop_3_4_beta
from hopfield_lab.models.modern import beta_condition_gap
from hopfield_lab.runs import RunDir, Table, check_table, descent_checks, records_table
from hopfield_lab.runs.plots import curve_panels, image_grid

F64 = torch.float64


def _signs(gen: torch.Generator, p: int, n: int) -> torch.Tensor:
    return torch.where(torch.rand(p, n, generator=gen) < 0.5, -1.0, 1.0).to(F64)


# ------------------------------------------------------------------------------- prototypes
def test_padding_keeps_the_image_and_maps_to_signed_pixels(gen) -> None:
    x = torch.rand(3, 784, generator=gen)
    padded = mnist32(x)
    assert padded.shape == (3, 1, 32, 32)
    assert torch.equal(padded[:, 0, 2:30, 2:30], x.view(3, 28, 28))
    assert float(padded.sum()) == pytest.approx(float(x.sum()), rel=1e-6)  # the border is 0
    signed, shape = signed_padded(x, (28, 28), 2)
    assert shape == (32, 32) and signed.dtype == F64
    assert torch.allclose(signed.view(3, 1, 32, 32), 2 * padded.double() - 1)


def _three_blobs(gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Two classes, each of three well-separated blobs of sizes 30, 20, 10 in R^4."""
    xs, ys = [], []
    for c in range(2):
        for k, size in enumerate((30, 20, 10)):
            centre = torch.zeros(4, dtype=F64)
            centre[k] = 10.0 * (1 + c)
            xs.append(centre + 0.1 * torch.randn(size, 4, generator=gen, dtype=F64))
            ys.append(torch.full((size,), c))
    return torch.cat(xs), torch.cat(ys)


def test_kmeans_prototypes_find_the_blobs_largest_first(gen) -> None:
    x, y = _three_blobs(gen)
    protos, labels = kmeans_prototypes(x, y, per_class=3, method="kmeans-centroid", seed=0)
    assert labels.tolist() == [0, 0, 0, 1, 1, 1]  # class-major
    for c in range(2):
        for k in range(3):  # ordered by cluster size: blob k first
            expected = x[(y == c)][[0, 30, 50][k] : [30, 50, 60][k]].mean(0)
            assert torch.allclose(protos[3 * c + k], expected, atol=1e-10)
    medoids, _ = kmeans_prototypes(x, y, per_class=3, method="kmeans-medoid", seed=0)
    assert all(bool((x == m).all(1).any()) for m in medoids)  # every medoid is a member
    with pytest.raises(ConfigError, match="fewer than per_class"):
        kmeans_prototypes(x, y, per_class=3, n_per_class=2)


def test_digit_prototypes_are_fixed_points_of_lloyd(gen) -> None:
    y = torch.arange(10).repeat_interleave(20)
    x = torch.randn(200, 6, generator=gen) + 5.0 * torch.nn.functional.one_hot(y % 6, 6)
    centres = digit_prototypes(x, y, per_digit=2, seed=1, iters=50)
    assert centres.shape == (20, 6)
    for d in range(10):  # each centre is the mean of the digit's images nearest to it
        xd, cd = x[y == d], centres[2 * d : 2 * d + 2]
        near = torch.cdist(xd, cd).argmin(1)
        for k in range(2):
            if bool((near == k).any()):
                assert torch.allclose(cd[k], xd[near == k].mean(0), atol=1e-5)


# ---------------------------------------------------------------------- where retrieval ends
def test_effective_patterns_and_the_three_kinds() -> None:
    p = torch.tensor([[1.0, 0, 0, 0], [0.5, 0.5, 0, 0], [0.25] * 4], dtype=F64)
    n_eff = effective_patterns(p)
    assert torch.allclose(n_eff, torch.tensor([1.0, 2.0, 4.0], dtype=F64))
    assert classify_end_states(n_eff, 4, 1.5, 0.75).tolist() == [2, 1, 0]
    with pytest.raises(ConfigError, match="single_threshold"):
        classify_end_states(n_eff, 4, 1.0)


def test_count_distinct_merges_within_the_relative_tolerance() -> None:
    x = torch.tensor([[1.0, 0.0], [1.0, 1e-4], [0.0, 1.0], [0.0, 1.01]], dtype=F64)
    assert count_distinct(x, rtol=1e-3) == 3
    assert count_distinct(x, rtol=0.1) == 2


def test_modern_energy_scale_bounds_the_cancelling_terms(gen) -> None:
    X = 3.0 * torch.randn(12, 8, generator=gen, dtype=F64)
    q = 5.0 * torch.randn(10, 8, generator=gen, dtype=F64)
    for beta in (1e-4, 0.1, 3.0):
        model = ModernHopfield(X, beta=beta)
        res = model.retrieve(q, tol=1e-12, max_iter=50, energy=model.energy)
        scale = modern_energy_scale(model, q, res.energies)
        for xi in (q, res.x):  # |lse| + |xi|^2/2 + ln P / beta + M^2/2 <= scale on the path
            s = beta * xi @ X.T
            lse = torch.logsumexp(s, -1) / beta
            terms = lse.abs() + 0.5 * xi.pow(2).sum(1) + math.log(12) / beta
            assert bool((terms + 0.5 * float(model.max_norm) ** 2 <= 2 * scale).all())
        assert not energy_rises(res.energies, scale).any()  # Prop. 3.2
        assert bool((rise_over_slack(res.energies, scale) <= 1).all())


def test_rise_over_slack_agrees_with_energy_rises() -> None:
    e = torch.tensor([[1.0, 1.0, 1.0], [0.5, 1.0 + 1e-9, 1.0 + 1e-15]], dtype=F64)
    ratio = rise_over_slack(e, scale=1.0)
    rises = energy_rises(e, scale=1.0)[0]
    assert ratio[0] < 0 and ratio[1] > 1 and 0 < ratio[2] < 1
    assert rises.tolist() == (ratio > 1).tolist()


def test_sphere_check_holds_at_the_selected_beta(gen) -> None:
    X = _signs(gen, 6, 64)
    model = ModernHopfield(X, beta=select_beta(X).beta)
    out = sphere_check(model, 5, torch.Generator().manual_seed(0))
    assert out["radius"] == pytest.approx(model.sphere_radius())
    assert out["frac_update_in_sphere"] == out["frac_fixed_point_in_sphere"] == 1.0
    assert out["frac_within_lemma_bound"] == 1.0 and out["max_distance_over_lemma_bound"] <= 1
    for beta in (1e-3, 0.05):  # Lemma 3.3.2 holds at every beta, Prop. 3.4's condition or not
        weak = sphere_check(ModernHopfield(X, beta=beta), 5, torch.Generator().manual_seed(0))
        assert weak["frac_within_lemma_bound"] == 1.0


# ------------------------------------------------------------------ Prop. 3.4 from numbers
def test_prop_3_4_beta_from_numbers_is_select_beta(gen) -> None:
    for p in (5, 30):
        X = _signs(gen, p, 200)
        sel = select_beta(X)
        rule = prop_3_4_beta(p, sel.max_norm, sel.separation_min)
        assert (rule.a, rule.u, rule.beta, rule.beta_minus, rule.radius) == (
            sel.a,
            sel.u,
            sel.beta,
            sel.beta_minus,
            sel.radius,
        )
        gap = beta_condition_gap(rule.beta, sel.separation_min, p, sel.max_norm)
        assert abs(gap) <= 1e-9 * sel.separation_min  # the root: the condition holds with =


def test_the_notes_iteration_converges_to_the_root_and_gives_their_numbers() -> None:
    exact = prop_3_4_beta(30, 31.3933, 37.5255).beta
    text, code = notes_iteration_beta(30, 31.3933, 37.5255)
    assert text == pytest.approx(0.35685, abs=1e-5) and code == pytest.approx(0.06792, abs=1e-5)
    assert abs(notes_iteration_beta(30, 31.3933, 37.5255, 60)[0] - exact) < 1e-14
    with pytest.raises(ConfigError, match="separation_min"):
        prop_3_4_beta(30, 31.0, 0.0)


# ------------------------------------------------------------------ attractors of a chain
def test_quench_reaches_fixed_points_of_the_logit_update(gen) -> None:
    X = _signs(gen, 5, 40)
    beta = 0.2
    A = beta * X @ X.T
    logits = beta * (X[:3] + 2.0 * torch.randn(3, 40, generator=gen, dtype=F64)) @ X.T
    probs, resid = quench(logits, A, 300)
    assert bool((resid < 1e-10).all())
    fixed = torch.log(probs) - torch.log(probs).mean(1, keepdim=True)
    again = probs @ A
    assert torch.allclose(fixed, again - again.mean(1, keepdim=True), atol=1e-8)
    assert probs.argmax(1).tolist() == [0, 1, 2]  # each start returns to its own pattern


def test_cluster_fixed_points_extends_the_centres_in_order() -> None:
    p = torch.tensor([[1.0, 0.0], [0.99, 0.01], [0.0, 1.0], [0.5, 0.5]], dtype=F64)
    centres: list[torch.Tensor] = [torch.tensor([0.0, 1.0], dtype=F64)]
    assert cluster_fixed_points(p, 0.05, centres).tolist() == [1, 1, 0, 2]
    assert len(centres) == 3 and torch.equal(centres[2], p[3])


def test_runs_dwell_times_and_transitions_by_hand() -> None:
    seq = np.array([0, 0, 1, 1, 1, 0, 2, 2])
    assert label_runs(seq) == [(0, 2, True), (1, 3, True), (0, 1, True), (2, 2, False)]
    st = dwell_statistics([seq, np.array([2, 2, 2])], 3)
    assert st["transitions"].tolist() == [[0, 1, 1], [1, 0, 0], [0, 0, 0]]
    assert st["jumps"] == 3 and st["jump_rate"] == pytest.approx(1000 * 3 / 11)
    assert st["dwell_list"] == [2, 3, 1] and st["censored"] == 2
    assert st["mean_dwell"] == 2.0 and st["median_dwell"] == 2.0 and st["max_dwell"] == 3
    assert st["occupation"].tolist() == pytest.approx([3 / 11, 3 / 11, 5 / 11])
    assert st["n_visited"] == 3
    empty = dwell_statistics([np.array([1, 1])], 2)
    assert math.isnan(empty["mean_dwell"]) and empty["max_dwell"] == 0


# --------------------------------------------------------------------------- the networks
def test_denoiser_clamp_passes_gradients_straight_through() -> None:
    net = HopfieldDenoiser()
    with torch.no_grad():
        net.gain.fill_(50.0)  # pushes the read-out far outside [-1, 1]
    x = torch.zeros(1, 1, 32, 32, requires_grad=True)
    out = net(x)
    assert bool((out.abs() <= 1).all()) and bool((out.abs() == 1).any())
    out.sum().backward()
    assert net.gain.grad is not None and float(net.gain.grad.abs().sum()) > 0


# ------------------------------------------------------------------------- report helpers
def test_records_table_and_descent_checks(tmp_path) -> None:
    records = [{"beta": 0.1, "n": 3}, {"beta": 1.0}]
    table = records_table("t", records, {"beta": "beta", "n": "n", "2n": lambda r: 2 * r["beta"]})
    assert table.columns == ["beta", "n", "2n"] and table.rows == [[0.1, 3, 0.2], [1.0, None, 2.0]]
    checks = descent_checks("runs", 0, 1200, 0.25, "Prop. 3.2")
    rows = check_table("c", checks).rows
    assert rows[0][:3] == ["runs with an energy rise, of 1,200 (Prop. 3.2)", "= 0", 0]
    assert rows[0][4] == rows[1][4] == "holds" and rows[1][3] == pytest.approx(0.75)
    assert check_table("c", descent_checks("runs", 2, 10, 1.5, "x")).rows[1][4] == "fails"
    rd = RunDir.create(tmp_path, "exp", "run", {"a": 1})
    rd.save_table(table)
    assert Table.from_csv(rd.tables_dir / "t.csv").rows == table.rows


def test_image_grid_and_curve_panels_save_figures(tmp_path) -> None:
    rd = RunDir.create(tmp_path, "exp", "run", {"a": 1})
    image_grid(rd, "grid", [[np.zeros(4), None], [np.ones((2, 2))]], shape=(2, 2), title="t")
    curve_panels(rd, "curves", [("a", [[3, 2, 1], [2, 1]]), ("b", [])], xlabel="k", ylabel="E")
    assert (rd.figures_dir / "grid.png").stat().st_size > 0
    assert (rd.figures_dir / "curves.png").stat().st_size > 0
    with pytest.raises(ConfigError, match="need a shape"):
        image_grid(rd, "bad", [[np.zeros(4)]])
