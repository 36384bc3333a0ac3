"""Smoke runs of the notes' chapter 4 experiments (DeepHNN, ConvHNN2d denoiser, VHNN jumps)."""

from __future__ import annotations

import json
import math

import pytest

from hopfield_lab.errors import ConfigError
from hopfield_lab.experiments import RunContext, run_experiment
from hopfield_lab.experiments.base import get_experiment, resolve_config
from hopfield_lab.runs import Table

CTX = RunContext(progress=False)


def _rows(table: Table) -> dict[str, list]:
    return {r[0]: r for r in table.rows}


def test_deephnn_smoke_and_resume(tmp_path) -> None:
    overrides = [
        "n_train=600",
        "n_val=200",
        "n_test=300",
        "proto_epochs=2",
        "proto_batch=256",
        "cnn_epochs=2",
        "cnn_decay_epoch=1",
        "cnn_batch=128",
        "augment=true",
    ]
    out = run_experiment("deephnn-mnist", "demo", overrides, out=tmp_path, ctx=CTX)
    rd = out.run_dir
    rows = _rows(Table.from_csv(rd.tables_dir / "deephnn.csv"))
    params = rows["CNN + DeepHNN + reducer: trainable parameters"]
    assert params[1:3] == [56_440, 56_440] and params[-1] == 0
    acc = rows["prototype DeepHNN: test accuracy (%)"]
    assert acc[1] == 32 and acc[-1] == pytest.approx(acc[2] - 32)
    res = json.loads(rd.results_path.read_text())
    assert res["cnn"]["params_match_notes"] is True
    assert res["prototypes"]["params"] == 30_730
    assert rows["CNN + DeepHNN + reducer: augmented test accuracy (%)"][1] == 87
    for part in ("prototypes", "cnn"):
        assert 0 <= res[part]["test_accuracy"] <= 100
        assert 0 <= res[part]["test_accuracy_augmented"] <= 100
        assert math.isfinite(res[part]["test_ce"])
    # the prototype initialisation already classifies far above chance (10 %)
    assert res["prototypes"]["test_accuracy_untrained"] > 30
    for name in ("training_curves", "prototype_patterns", "reducer_weights"):
        assert (rd.figures_dir / f"{name}.png").stat().st_size > 0
    for sub in ("train_prototypes", "train_cnn"):
        assert (rd.path / sub / "checkpoints" / "last.pt").exists()
        assert len((rd.path / sub / "metrics.jsonl").read_text().splitlines()) == 2
    again = run_experiment("deephnn-mnist", "demo", overrides, out=tmp_path, ctx=CTX)
    assert again.skipped and again.results["cnn"]["test_accuracy"] == res["cnn"]["test_accuracy"]


def test_convhnn_denoise_smoke(tmp_path, monkeypatch) -> None:
    overrides = [
        "n_train=256",
        "n_val=64",
        "n_test=64",
        "epochs=1",
        "batch_size=64",
        "eval_noise_stds=0.25,0.6",
    ]
    out = run_experiment("convhnn-denoise", "demo", overrides, out=tmp_path, ctx=CTX)
    rd = out.run_dir
    rows = _rows(Table.from_csv(rd.tables_dir / "convhnn_denoise.csv"))
    assert rows["trainable parameters"][1:3] == [742, 742]
    mse = rows["test MSE, noise variance 1"]
    assert mse[1] == 0.04 and 0 <= mse[2] <= 4
    levels = Table.from_csv(rd.tables_dir / "noise_levels.csv")
    assert [r[0] for r in levels.rows] == [0.25, 0.5, 0.6]
    assert [r[1] for r in levels.rows] == pytest.approx([0.25, 1.0, 1.44])
    # the noisy input's MSE grows with the noise; the blank image's does not depend on it
    assert levels.rows[0][3] < levels.rows[1][3] < levels.rows[2][3]
    assert len({r[4] for r in levels.rows}) == 1
    res = json.loads(rd.results_path.read_text())
    assert res["params_match_notes"] is True and len(res["gain"]) == 9
    for name in ("examples", "stages", "training_curve"):
        assert (rd.figures_dir / f"{name}.png").stat().st_size > 0
    assert (rd.path / "train" / "checkpoints" / "last.pt").exists()
    # the report redraws every table and figure from the saved cell, without training again
    from hopfield_lab.experiments.base import report_run
    from hopfield_lab.experiments.notes import conv_denoise

    tables, figures = sorted(rd.tables_dir.iterdir()), sorted(rd.figures_dir.iterdir())
    for path in tables + figures:
        path.unlink()

    def no_training(cell):
        raise AssertionError("the report trained again")

    monkeypatch.setattr(conv_denoise, "_cell", no_training)
    report_run(rd)
    assert sorted(rd.tables_dir.iterdir()) == tables
    assert sorted(rd.figures_dir.iterdir()) == figures


def test_vhnn_jumps_smoke(tmp_path) -> None:
    overrides = [
        "noise_levels=0.01,2.0",
        "steps=60",
        "starts=0,21",
        "random_starts=1",
        "seeds=1",
        "quench_steps=100",
    ]
    out = run_experiment("vhnn-jumps", "demo", overrides, out=tmp_path, ctx=CTX)
    rd = out.run_dir
    res = json.loads(rd.results_path.read_text())
    sel = res["beta_selection"]
    assert sel["M"] == pytest.approx(32.0)  # binarised 32 x 32 patterns
    assert res["betas"]["notes"] == 0.063
    assert res["betas"]["matched"] * sel["delta_min"] == pytest.approx(0.063 * 37.5255)
    for key, s in res["per_setting"].items():
        assert s["jumps"] == sum(map(sum, res["transitions"][key]))
        assert s["censored"] == 3  # one unfinished stay per chain
    # almost no noise at the notes' beta: every chain stays in its start's attractor
    quiet = res["per_setting"]["notes,eta=0.01"]
    assert quiet["jumps"] == 0
    assert quiet["notes_starts_visited_1pct"] == 2  # patterns 0 and 21 are distinct attractors
    dwell = Table.from_csv(rd.tables_dir / "dwell_times.csv")
    assert len(dwell.rows) == 4  # 2 beta modes x 2 noise levels
    att = Table.from_csv(rd.tables_dir / "attractors.csv")
    starts = {r[1] for r in att.rows if r[4] > 0}  # occupied at notes, eta = 0.01
    assert {0, 21} <= starts
    for r in att.rows:
        assert 0 < r[3] <= 1  # max p*
    assert sum(r[4] for r in att.rows) == pytest.approx(1.0)
    assert len(list(rd.tables_dir.glob("transitions_*.csv"))) == 4
    for name in ("traces_notes", "traces_matched", "transitions", "noise_dependence"):
        assert (rd.figures_dir / f"{name}.png").stat().st_size > 0


@pytest.mark.parametrize(
    ("name", "override", "match"),
    [
        ("deephnn-mnist", "parts=foo", "parts"),
        ("deephnn-mnist", "proto_beta=0", "proto_beta"),
        ("convhnn-denoise", "noise_std=-1", "noise_std"),
        ("convhnn-denoise", "epochs=0", "epochs"),
        ("vhnn-jumps", "beta_modes=foo", "beta_modes"),
        ("vhnn-jumps", "starts=30", "starts"),
    ],
)
def test_configs_validate(name: str, override: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        resolve_config(get_experiment(name), "demo", [override])


def test_profiles_match_the_notes_settings() -> None:
    deep = get_experiment("deephnn-mnist").profiles["paper"]
    assert (deep.proto_epochs, deep.proto_batch, deep.proto_beta) == (40, 16_384, 0.07)
    assert deep.augment is True
    assert (deep.cnn_epochs, deep.cnn_decay_epoch, deep.cnn_batch, deep.cnn_lr) == (
        30,
        15,
        2_048,
        0.01,
    )
    den = get_experiment("convhnn-denoise").profiles["paper"]
    assert (den.epochs, den.batch_size, den.lr, den.noise_std, den.n_train) == (
        20,
        512,
        0.01,
        0.5,
        0,
    )
    vh = get_experiment("vhnn-jumps").profiles["paper"]
    assert (vh.beta, vh.starts, vh.per_digit) == (0.063, (0, 21, 27), 3)
    assert 0.3 in vh.noise_levels


def test_notes_augment_is_a_seeded_random_affine_transform() -> None:
    import torch

    from hopfield_lab.data.augment import notes_augment

    x = torch.zeros(4, 1, 32, 32)
    x[:, :, 8:24, 14:18] = 1.0  # a vertical bar
    a = notes_augment(x, torch.Generator().manual_seed(0))
    b = notes_augment(x, torch.Generator().manual_seed(0))
    assert torch.equal(a, b) and a.shape == x.shape
    assert float(a.min()) >= 0 and float(a.max()) <= 1
    assert not torch.equal(a, x)
    # a small transform: the bar keeps most of its mass near where it was
    assert float((a * x).sum() / x.sum()) > 0.5


def test_vhnn_jumps_matched_beta_needs_distinct_patterns() -> None:
    """``matched`` scales beta by 1 / Delta_min: with two equal patterns (Delta_min = 0) it is
    skipped beside ``notes`` and, alone, refused with a clear error (no division by zero)."""
    from hopfield_lab.errors import ConfigError
    from hopfield_lab.experiments.notes import vhnn_jumps

    both = vhnn_jumps.VHNNJumpsConfig(beta_modes=("notes", "matched"))
    assert vhnn_jumps._betas(both, 0.0) == {"notes": both.beta}
    assert vhnn_jumps._betas(both, 2.0)["matched"] == pytest.approx(both.beta * 37.5255 / 2.0)
    with pytest.raises(ConfigError, match="Delta_min > 0"):
        vhnn_jumps._betas(vhnn_jumps.VHNNJumpsConfig(beta_modes=("matched",)), 0.0)
