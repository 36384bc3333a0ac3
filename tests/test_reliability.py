"""Reliability of run directories (issue 16, part 2): what is promised in the README's
"Reliability" section, each promise tested.

* Crash safety: real ``kill -9`` of ``hopfield-lab run`` at chosen points (mid-training, between
  a cell's write and its rename, before ``results.json``'s rename) and at random times; the
  same command re-run finishes with a ``results.json`` equal to an uninterrupted run's, and no
  finished cell or epoch is recomputed (their files and records are left byte for byte).
* Exact resume of every training loop of the library, interrupted after an epoch.
* Disk full (ENOSPC) on a write: one line naming the file; the previous version is intact.
* Concurrency: a second process on the same run directory is refused with one line; a stale
  lock from a dead process is taken over; orphaned temporaries are removed and counted.
* Corrupt or foreign artifacts (config, results, cells, tables, checkpoints, metrics): reported
  with one line naming the file, recomputed where they are recomputable, marked in the report.
"""

from __future__ import annotations

import errno
import json
import os
import random
import signal
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

from hopfield_lab.cli import main
from hopfield_lab.errors import ArtifactError, ArtifactWarning, RunLockedError, StorageError
from hopfield_lab.experiments.base import run_experiment
from hopfield_lab.runs import RunDir, Table, atomic_write_json, read_json, read_jsonl
from hopfield_lab.runs import io as runs_io
from hopfield_lab.runs.lock import LOCK_NAME, lock_owner, run_lock
from hopfield_lab.training import CHECKPOINT_NAME, load_checkpoint
from reliability_fixture import NAME, register_toy

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = Path(__file__).resolve().parent / "reliability_fixture.py"
PYTHONPATH = os.pathsep.join([str(ROOT / "src"), str(ROOT / "tests")])

# finite-step-table1 (a grid of Base and JacQ trainings) shrunk to seconds
TABLE1 = [
    "run",
    "finite-step-table1",
    "--profile",
    "demo",
    "--no-progress",
    "--set",
    "activations=relu",
    "--set",
    "methods=base,jacq",
    "--set",
    "Ks=1,3",
    "--set",
    "seeds=1",
    "--set",
    "tune=false",
    "--set",
    "n_train=256",
    "--set",
    "n_test=100",
    "--set",
    "hidden=16",
    "--set",
    "batch_size=64",
    "--set",
    "noise_curve=0.0,0.2",
    "--set",
    "epochs=3",
]


@pytest.fixture(autouse=True)
def _toy() -> Iterator[None]:
    """The toy experiment is registered for these tests only: the registry tests elsewhere
    (README table, three profiles each) must not see it, whatever order the tests run in."""
    from hopfield_lab.experiments.base import EXPERIMENTS

    register_toy()
    yield
    EXPERIMENTS.pop(NAME, None)


def _env(**extra: str) -> dict[str, str]:
    hooks = (runs_io.KILL_BEFORE_RENAME_ENV, runs_io.KILL_AFTER_RENAME_ENV)
    env = {k: v for k, v in os.environ.items() if k not in hooks}
    env.update(PYTHONPATH=PYTHONPATH, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", **extra)
    return env


def _cli(
    args: list[str], *, kill_at: str = "", kill_after: str = "", timeout: float = 240
) -> subprocess.CompletedProcess:
    """``hopfield-lab <args>`` in a fresh process (the toy experiment registered too), killed
    before (``kill_at``) or after (``kill_after``) the rename of the chosen atomic write."""
    hooks = {runs_io.KILL_BEFORE_RENAME_ENV: kill_at, runs_io.KILL_AFTER_RENAME_ENV: kill_after}
    env = _env(**{k: v for k, v in hooks.items() if v})
    return subprocess.run(
        [sys.executable, str(FIXTURE), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )


_CLOCK_KEYS = ("time", "ms_per_", "s_per_")


def _untimed(obj: Any) -> Any:
    """``obj`` without its wall-clock entries (timestamps, wall times, epoch and solve times:
    keys containing ``time``, ``ms_per_``, ``s_per_``), which differ between any two runs."""
    if isinstance(obj, dict):
        return {k: _untimed(v) for k, v in obj.items() if not any(c in k for c in _CLOCK_KEYS)}
    if isinstance(obj, list):
        return [_untimed(v) for v in obj]
    return obj


def _files(run: Path, pattern: str) -> dict[str, tuple[int, int, bytes]]:
    """``{relative path: (inode, mtime_ns, bytes)}``: an atomic rewrite changes the inode."""
    out = {}
    for path in sorted(run.glob(pattern)):
        st = path.stat()
        out[str(path.relative_to(run))] = (st.st_ino, st.st_mtime_ns, path.read_bytes())
    return out


def _checkpoint_histories(run: Path) -> dict[str, list[dict[str, Any]]]:
    return {
        str(p.relative_to(run)): load_checkpoint(p)["history"]
        for p in sorted(run.glob(f"train/*/checkpoints/{CHECKPOINT_NAME}"))
    }


def _assert_kept(before: dict[str, list[dict[str, Any]]], run: Path) -> None:
    """Every epoch a checkpoint held before a re-run is still there, the very same record
    (its wall time included: a recomputed epoch would have another)."""
    after = _checkpoint_histories(run)
    for name, history in before.items():
        assert after[name][: len(history)] == history, f"{name}: a finished epoch was redone"


def _run_dir(out: Path, experiment: str) -> Path:
    (run,) = (out / experiment).iterdir()
    return run


def _one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


# --------------------------------------------------------------------------- crash safety


def test_sigkill_at_chosen_points_then_rerun_equals_uninterrupted_run(tmp_path: Path) -> None:
    """finite-step-table1 (Base and JacQ trainings as grid cells), killed with SIGKILL three
    times: mid-training (just after a JacQ cell's epoch-2 checkpoint is renamed, before its
    metrics line), between a cell's write and its rename, and before results.json's rename.
    The same command re-run each time; the last run's results.json, cells and per-epoch
    losses equal an uninterrupted run's, no finished cell file is rewritten, no finished epoch
    recomputed, every epoch logged exactly once; each re-run takes over the dead run's lock
    and removes its orphaned temporary, saying so in one-line warnings."""
    ref = _cli([*TABLE1, "--out", str(tmp_path / "ref")])
    assert ref.returncode == 0, ref.stderr
    ref_run = _run_dir(tmp_path / "ref", "finite-step-table1")

    out = tmp_path / "killed"
    args = [*TABLE1, "--out", str(out)]
    # cells run base K=1, base K=3, jacq K=1, jacq K=3, three epochs each: checkpoint 8 is
    # jacq K=1's epoch 2
    first = _cli(args, kill_after=f"{CHECKPOINT_NAME}@8")
    assert first.returncode == -signal.SIGKILL, first.stderr
    run = _run_dir(out, "finite-step-table1")
    assert len(list((run / "cells").glob("*.json"))) == 2 and (run / LOCK_NAME).exists()
    (jacq1,) = run.glob("train/act-relu-method-jacq-k-1-*")
    assert load_checkpoint(jacq1 / "checkpoints" / CHECKPOINT_NAME)["epoch"] == 2
    assert [m["epoch"] for m in read_jsonl(jacq1 / "metrics.jsonl")] == [1]
    cells, epochs = _files(run, "cells/*.json"), _checkpoint_histories(run)

    second = _cli(args, kill_at="act-*.json@2")  # jacq K=1 resumes; jacq K=3's cell dies
    assert second.returncode == -signal.SIGKILL, second.stderr
    assert "warning: took over the stale lock" in second.stderr
    assert all(line.startswith("warning: ") for line in second.stderr.splitlines())
    assert _files(run, "cells/*.json").items() >= cells.items()  # untouched
    assert len(list((run / "cells").glob("*.json"))) == 3
    assert len(list((run / "cells").glob(".act-*.json.*.tmp"))) == 1  # the killed write
    _assert_kept(epochs, run)
    cells, epochs = _files(run, "cells/*.json"), _checkpoint_histories(run)

    third = _cli(args, kill_at="results.json@1")
    assert third.returncode == -signal.SIGKILL, third.stderr
    assert "warning: removed 1 orphaned temporary file" in third.stderr
    assert _files(run, "cells/*.json").items() >= cells.items()
    _assert_kept(epochs, run)
    cells, epochs = _files(run, "cells/*.json"), _checkpoint_histories(run)
    assert len(cells) == 4 and not (run / "results.json").exists()

    last = _cli(args)
    assert last.returncode == 0, last.stderr
    assert _files(run, "cells/*.json") == cells  # nothing recomputed
    _assert_kept(epochs, run)
    assert not list(run.rglob("*.tmp")) and not list(run.rglob(LOCK_NAME))

    assert _untimed(read_json(run / "results.json")) == _untimed(
        read_json(ref_run / "results.json")
    )
    assert {k: _untimed(read_json(run / k)) for k in _files(run, "cells/*.json")} == {
        k: _untimed(read_json(ref_run / k)) for k in _files(ref_run, "cells/*.json")
    }
    for train in sorted((run / "train").iterdir()):
        metrics = read_jsonl(train / "metrics.jsonl")
        assert [m["epoch"] for m in metrics] == [1, 2, 3]
        assert metrics == load_checkpoint(train / "checkpoints" / CHECKPOINT_NAME)["history"]
        reference = read_jsonl(ref_run / "train" / train.name / "metrics.jsonl")
        assert _untimed(metrics) == _untimed(reference)  # losses bit for bit


@pytest.mark.slow
def test_sigkill_at_random_times_then_rerun_equals_uninterrupted_run(tmp_path: Path) -> None:
    """The same at five random moments (seeded), on more epochs: after each kill the same
    command is re-run, until one finishes; its results equal an uninterrupted run's."""
    args = [*TABLE1, "--set", "epochs=6"]
    ref = _cli([*args, "--out", str(tmp_path / "ref")])
    assert ref.returncode == 0, ref.stderr
    ref_run = _run_dir(tmp_path / "ref", "finite-step-table1")
    rng = random.Random(16)
    out = tmp_path / "killed"
    kills = 0
    for _ in range(12):
        before = _checkpoint_histories(_run_dir(out, "finite-step-table1")) if out.exists() else {}
        cells = _files(_run_dir(out, "finite-step-table1"), "cells/*.json") if out.exists() else {}
        proc = subprocess.Popen(
            [sys.executable, str(FIXTURE), *args, "--out", str(out)],
            env=_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        if kills < 5:
            time.sleep(rng.uniform(3.0, 12.0))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
        _, stderr = proc.communicate(timeout=300)
        if out.exists():
            run = _run_dir(out, "finite-step-table1")
            _assert_kept(before, run)
            assert _files(run, "cells/*.json").items() >= cells.items()
        if proc.returncode == 0:
            break
        assert proc.returncode == -signal.SIGKILL, stderr
    assert proc.returncode == 0 and kills >= 1
    run = _run_dir(out, "finite-step-table1")
    assert _untimed(read_json(run / "results.json")) == _untimed(
        read_json(ref_run / "results.json")
    )
    for train in sorted((run / "train").iterdir()):
        metrics = read_jsonl(train / "metrics.jsonl")
        assert [m["epoch"] for m in metrics] == list(range(1, 7))
        reference = read_jsonl(ref_run / "train" / train.name / "metrics.jsonl")
        assert _untimed(metrics) == _untimed(reference)


@pytest.mark.slow
def test_sigkill_between_checkpoint_and_metrics_line(tmp_path: Path) -> None:
    """A kill just after a checkpoint's rename, before its metrics line is appended, leaves
    metrics.jsonl one epoch behind the checkpoint; the re-run takes the missing record from the
    checkpoint (not recomputing the epoch) and logs every epoch exactly once."""
    out = tmp_path / "runs"
    args = ["run", NAME, "--out", str(out), "--no-progress"]
    first = _cli(args, kill_after=f"{CHECKPOINT_NAME}@2")
    assert first.returncode == -signal.SIGKILL, first.stderr
    train = out / NAME / "demo" / "train" / "seed-0"
    assert [m["epoch"] for m in read_jsonl(train / "metrics.jsonl")] == [1]
    saved = load_checkpoint(train / "checkpoints" / CHECKPOINT_NAME)["history"]
    assert [h["epoch"] for h in saved] == [1, 2]
    second = _cli(args)
    assert second.returncode == 0, second.stderr
    metrics = read_jsonl(train / "metrics.jsonl")
    assert [m["epoch"] for m in metrics] == [1, 2, 3] and metrics[:2] == saved
    for seed in (1, 2):
        metrics = read_jsonl(out / NAME / "demo" / "train" / f"seed-{seed}" / "metrics.jsonl")
        assert [m["epoch"] for m in metrics] == [1, 2, 3]


# --------------------------------------------------------------------------- exact resume


class _Interrupt(BaseException):
    """Stands for a kill: raised instead of the n-th checkpoint write."""


def _interrupt_at_checkpoint(monkeypatch: pytest.MonkeyPatch, n: int) -> None:
    import hopfield_lab.training.loop as loop

    calls = {"n": 0}
    save = loop.atomic_torch_save

    def counting(path: Any, obj: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == n:
            raise _Interrupt
        return save(path, obj)

    monkeypatch.setattr(loop, "atomic_torch_save", counting)


# every training loop of the library, through its experiment, shrunk to seconds
TRAININGS = {
    "toy": (NAME, []),
    "finite-step-jacq": (
        "finite-step-table1",
        [
            *("methods=jacq", "Ks=3", "n_train=256", "n_test=100", "hidden=16", "epochs=2"),
            *("tune=false", "noise_curve=0.0", "batch_size=64"),
        ],
    ),
    "deephnn": (
        "deephnn-mnist",
        [
            *("n_train=256", "n_val=64", "n_test=64", "proto_epochs=2", "cnn_epochs=2"),
            *("cnn_decay_epoch=1", "proto_batch=128", "cnn_batch=128"),
        ],
    ),
    "convhnn": (
        "convhnn-denoise",
        ["n_train=128", "n_val=32", "n_test=32", "epochs=2", "batch_size=64"],
    ),
    "deq": ("deq-table2", ["epochs=2", "n_train=128", "n_test=64", "n_timing=1"]),
}


FAST_TRAININGS: tuple[str, ...] = ()  # the SIGKILL test covers fit with Base and JacQ


@pytest.mark.parametrize(
    "name",
    [n if n in FAST_TRAININGS else pytest.param(n, marks=pytest.mark.slow) for n in TRAININGS],
)
def test_every_training_resumes_bit_for_bit(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each experiment's training loop, interrupted when its second checkpoint is about to be
    written (the re-run resumes from epoch 1 of its first training), then re-run: the results
    equal an uninterrupted run's exactly (timings aside)."""
    experiment, overrides = TRAININGS[name]
    ref = run_experiment(experiment, "demo", overrides, out=tmp_path / "ref")
    with monkeypatch.context() as patch:
        _interrupt_at_checkpoint(patch, 2)
        with pytest.raises(_Interrupt):
            run_experiment(experiment, "demo", overrides, out=tmp_path / "resumed")
    resumed = run_experiment(experiment, "demo", overrides, out=tmp_path / "resumed")
    assert not resumed.skipped
    assert _untimed(resumed.results) == _untimed(ref.results)


@pytest.mark.slow
@pytest.mark.parametrize("which", ["hopfield-ode", "mlp"])
def test_mhn_trainings_resume_bit_for_bit(
    which: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ODE paper's trainings (a HopfieldODE through an Euler flow, and the MLP baseline),
    interrupted before their second checkpoint and re-run, end with the same parameters and
    history as uninterrupted ones."""
    from hopfield_lab.experiments.mhn._common import (
        ModelSpec,
        TrainSettings,
        train_hopfield,
        train_mlp,
    )

    settings = TrainSettings(solver="euler", n_val_epoch=64, batch_size=64)
    spec = ModelSpec("A_relu_T1", "relu", 1.0, 0.25, epochs=2, n_train=128)

    def train(path: Path) -> tuple[torch.nn.Module, dict[str, Any]]:
        if which == "mlp":
            return train_mlp(2, settings, n_train=128, seed=3, run_path=path)
        return train_hopfield(spec, settings, seed=3, run_path=path)

    model, record = train(tmp_path / "ref")
    with monkeypatch.context() as patch:
        _interrupt_at_checkpoint(patch, 2)
        with pytest.raises(_Interrupt):
            train(tmp_path / "resumed")
    resumed, resumed_record = train(tmp_path / "resumed")
    assert _untimed(resumed_record) == _untimed(record)
    for (k, a), (_, b) in zip(
        model.state_dict().items(), resumed.state_dict().items(), strict=True
    ):
        assert torch.equal(a, b), k


# --------------------------------------------------------------------------- disk full


def _enospc_on(monkeypatch: pytest.MonkeyPatch, name_part: str) -> None:
    """Make fsync of a temporary whose name contains ``name_part`` fail with ENOSPC."""
    real = os.fsync

    def fsync(fd: int) -> None:
        target = os.readlink(f"/proc/self/fd/{fd}") if os.path.exists("/proc/self/fd") else ""
        if name_part in Path(target).name and target.endswith(".tmp"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(fd)

    monkeypatch.setattr(runs_io.os, "fsync", fsync)


def test_enospc_leaves_the_previous_artifact_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = atomic_write_json(tmp_path / "results.json", {"v": 1})
    _enospc_on(monkeypatch, "results.json")
    with pytest.raises(StorageError, match="No space left on device") as info:
        atomic_write_json(path, {"v": 2})
    assert isinstance(info.value, OSError) and info.value.errno == errno.ENOSPC
    assert "the previous results.json is left intact" in str(info.value)
    assert read_json(path) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]  # no temporary left


def test_enospc_in_a_run_is_one_line_and_the_rerun_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "runs"
    args = ["run", NAME, "--out", str(out), "--no-progress"]
    with monkeypatch.context() as patch:
        _enospc_on(patch, "seed-1-")  # the second cell's file
        assert main(args) == 2
    line = _one_line(capsys.readouterr().err)
    assert line.startswith("error: could not write ") and "seed-1-" in line
    assert "No space left on device" in line and "re-run the same command" in line
    run = out / NAME / "demo"
    kept = _files(run, "cells/*.json")
    assert len(kept) == 1 and not list(run.rglob("*.tmp"))
    assert main(args) == 0
    assert _files(run, "cells/*.json").items() >= kept.items()  # cell 0 not recomputed


# --------------------------------------------------------------------------- concurrency


def test_second_process_on_the_same_run_directory_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two real processes (a child running the command, and this test process running the
    same command): while the first holds the lock, the second exits 2 with one line naming
    the owner's pid and host and writes nothing; the first finishes alone and every epoch is
    logged once."""
    out = tmp_path / "runs"
    hold = tmp_path / "hold"
    hold.touch()
    args = ["run", NAME, "--out", str(out), "--no-progress", "--set", f"hold={hold}"]
    first = subprocess.Popen(
        [sys.executable, str(FIXTURE), *args],
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lock: Path | None = None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        found = list(out.glob(f"{NAME}/*/{LOCK_NAME}")) if out.exists() else []
        if found and (lock_owner(found[0].parent) or {}).get("pid") == first.pid:
            lock = found[0]
            break
        assert first.poll() is None, first.communicate()
        time.sleep(0.05)
    assert lock is not None
    before = sorted(p.relative_to(lock.parent) for p in lock.parent.rglob("*"))
    capsys.readouterr()
    assert main(args) == 2
    line = _one_line(capsys.readouterr().err)
    assert f"in use by pid {first.pid} on host" in line and str(lock.parent) in line
    assert first.poll() is None, "the first run ended before the second was refused"
    after = sorted(p.relative_to(lock.parent) for p in lock.parent.rglob("*"))
    assert set(after) >= set(before)  # the second process deleted nothing
    hold.unlink()
    _, stderr = first.communicate(timeout=240)
    assert first.returncode == 0, stderr
    for seed in range(3):
        metrics = read_jsonl(lock.parent / "train" / f"seed-{seed}" / "metrics.jsonl")
        assert [m["epoch"] for m in metrics] == [1, 2, 3]
    assert not lock.exists()


def test_stale_lock_is_taken_over_and_orphans_removed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    run = tmp_path / "runs" / NAME / "demo"
    run.mkdir(parents=True)
    owner = {"pid": dead.pid, "host": os.uname().nodename, "started": "then", "command": "x"}
    (run / LOCK_NAME).write_text(json.dumps(owner))
    (run / "cells").mkdir()
    (run / "cells" / ".seed-0-abc.json.k2j4.tmp").write_bytes(b"{half")
    (run / ".results.json.zz.tmp").write_bytes(b"")
    with pytest.warns(ArtifactWarning) as record:
        assert main(["run", NAME, "--out", str(tmp_path / "runs"), "--no-progress"]) == 0
    messages = [str(w.message) for w in record]
    assert any(f"stale lock of {run} left by pid {dead.pid}" in m for m in messages)
    assert any("removed 2 orphaned temporary files" in m for m in messages)
    assert not list(run.rglob("*.tmp")) and not (run / LOCK_NAME).exists()


def test_lock_is_reentrant_and_exclusive_across_open_files(tmp_path: Path) -> None:
    with run_lock(tmp_path / "r") as lock:
        owner = lock_owner(tmp_path / "r")
        assert owner is not None and owner["pid"] == os.getpid()
        with run_lock(tmp_path / "r"):  # the same process: re-entrant
            pass
        assert lock.exists()
    assert not lock.exists()


@pytest.mark.slow
def test_lock_refuses_while_another_process_holds_it(tmp_path: Path) -> None:
    code = (
        "import sys, time; sys.path.insert(0, sys.argv[2]);"
        "from hopfield_lab.runs.lock import run_lock\n"
        "with run_lock(sys.argv[1]):\n    print('held', flush=True); time.sleep(60)"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code, str(tmp_path / "r"), str(ROOT / "src")],
        stdout=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with (
            pytest.raises(RunLockedError, match=f"in use by pid {holder.pid} on host"),
            run_lock(tmp_path / "r"),
        ):
            pass
    finally:
        holder.kill()
        holder.wait()
    with (
        pytest.warns(ArtifactWarning, match=f"stale lock .* pid {holder.pid}"),
        run_lock(tmp_path / "r"),
    ):
        pass


# --------------------------------------------------------------------------- corrupt artifacts


def _toy_run(out: Path) -> Path:
    assert main(["run", NAME, "--out", str(out), "--no-progress"]) == 0
    return out / NAME / "demo"


@pytest.mark.parametrize(
    "content",
    [b'{"experiment": "toy-grid", ', b"\xff\xfe\x00garbage", b"[1, 2]", b""],
    ids=["truncated", "not-utf8", "foreign", "empty"],
)
def test_corrupt_config_is_one_line_exit_2(
    content: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = _toy_run(tmp_path / "runs")
    capsys.readouterr()
    (run / "config.json").write_bytes(content)
    assert main(["run", NAME, "--out", str(tmp_path / "runs"), "--no-progress"]) == 2
    line = _one_line(capsys.readouterr().err)
    assert line.startswith("error: ") and str(run / "config.json") in line and "--force" in line
    assert main(["run", NAME, "--out", str(tmp_path / "runs"), "--force", "--no-progress"]) == 0


@pytest.mark.parametrize(
    "content", [b'{"key": "seed=1", "res', b"\x80\x81", b'{"key": "seed=2", "result": {}}']
)
def test_corrupt_or_foreign_cell_is_recomputed_after_a_warning(
    content: bytes, tmp_path: Path
) -> None:
    run = _toy_run(tmp_path / "runs")
    reference = read_json(run / "results.json")
    (run / "results.json").unlink()  # an unfinished run
    cells = sorted((run / "cells").glob("*.json"))
    cells[1].write_bytes(content)
    untouched = _files(run, "cells/*.json")
    untouched.pop(str(cells[1].relative_to(run)))
    with pytest.warns(ArtifactWarning, match=f"{cells[1].name}.*moved aside.*recomputed"):
        assert main(["run", NAME, "--out", str(tmp_path / "runs"), "--no-progress"]) == 0
    assert _files(run, "cells/*.json").items() >= untouched.items()
    assert (run / "cells" / f"{cells[1].name}.corrupt").read_bytes() == content
    assert _untimed(read_json(run / "results.json")) == _untimed(reference)


def test_corrupt_results_json_is_not_believed(tmp_path: Path) -> None:
    run = _toy_run(tmp_path / "runs")
    reference = read_json(run / "results.json")
    cells = _files(run, "cells/*.json")
    (run / "results.json").write_text('{"status": "complete", "mean_fi')
    with pytest.warns(ArtifactWarning, match="results.json is not valid JSON.*unfinished"):
        assert main(["run", NAME, "--out", str(tmp_path / "runs"), "--no-progress"]) == 0
    assert _files(run, "cells/*.json") == cells  # finished cells kept
    assert _untimed(read_json(run / "results.json")) == _untimed(reference)


@pytest.mark.parametrize("damage", ["truncated", "foreign", "wrong-shapes"])
def test_corrupt_checkpoint_restarts_training_after_a_warning(damage: str, tmp_path: Path) -> None:
    run = _toy_run(tmp_path / "runs")
    reference = read_json(run / "results.json")
    ckpt = run / "train" / "seed-2" / "checkpoints" / CHECKPOINT_NAME
    if damage == "truncated":
        ckpt.write_bytes(ckpt.read_bytes()[:300])
    elif damage == "foreign":
        torch.save({"weights": torch.zeros(3)}, ckpt)
    else:
        state = torch.load(ckpt, weights_only=False)
        state["model"] = {"weight": torch.zeros(7, 7), "bias": torch.zeros(7)}
        torch.save(state, ckpt)
    (run / "results.json").unlink()
    next((run / "cells").glob("seed-2-*.json")).unlink()
    with pytest.warns(ArtifactWarning, match=r"last\.pt.*moved aside.*restarts from epoch 1"):
        assert main(["run", NAME, "--out", str(tmp_path / "runs"), "--no-progress"]) == 0
    assert (ckpt.parent / f"{CHECKPOINT_NAME}.corrupt").exists()
    assert load_checkpoint(ckpt)["epoch"] == 3
    assert _untimed(read_json(run / "results.json")) == _untimed(reference)


def test_corrupt_metrics_line_is_rewritten_from_the_checkpoint(tmp_path: Path) -> None:
    run = _toy_run(tmp_path / "runs")
    train = run / "train" / "seed-0"
    good = read_jsonl(train / "metrics.jsonl")
    lines = (train / "metrics.jsonl").read_text().splitlines()
    (train / "metrics.jsonl").write_text("\n".join([lines[0], "{oops", *lines[1:]]) + "\n")
    (run / "results.json").unlink()
    next((run / "cells").glob("seed-0-*.json")).unlink()
    with pytest.warns(ArtifactWarning, match="metrics.jsonl, line 2, is not valid JSON"):
        assert main(["run", NAME, "--out", str(tmp_path / "runs"), "--no-progress"]) == 0
    assert read_jsonl(train / "metrics.jsonl") == good


def test_report_marks_an_unreadable_table_and_renders_the_rest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A table file that is not UTF-8 and a figure that is not a PNG, in a run the report cannot
    redraw (no results.json yet): ``report`` writes report.html with the other artifacts, lists
    both files as unreadable, and warns once about each, naming it."""
    run = _toy_run(tmp_path / "runs")
    (run / "results.json").unlink()
    (run / "tables" / "losses.csv").write_bytes(b"seed,final loss\n0,\xff\xfe\n")
    RunDir(run).save_table(Table("extra", ["a"], [[1.5]]))
    (run / "figures" / "broken.png").write_bytes(b"not a png")
    capsys.readouterr()
    with pytest.warns(ArtifactWarning) as record:
        assert main(["report", str(run)]) == 0
    assert [str(w.message).split("; ")[0] for w in record] == [
        f"{run / 'tables' / 'losses.csv'} is not a UTF-8 text file (byte 18 is 0xff)",
        f"{run / 'figures' / 'broken.png'} is not a PNG image",
    ]
    assert "Traceback" not in capsys.readouterr().err
    html = (run / "report.html").read_text()
    assert "Could not read" in html and "losses.csv is not a UTF-8 text file" in html
    assert 'id="table-extra"' in html  # the readable table is still there


def test_report_with_a_corrupt_cell_keeps_the_old_tables_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = _toy_run(tmp_path / "runs")
    cell = sorted((run / "cells").glob("*.json"))[0]
    cell.write_bytes(b"\x00\x01 not json")
    capsys.readouterr()
    with pytest.warns(ArtifactWarning, match=f"{cell.name} is not valid JSON.*drawn before"):
        assert main(["report", str(run)]) == 0
    assert "Traceback" not in capsys.readouterr().err
    html = (run / "report.html").read_text()
    assert "tables and figures not redrawn" in html and 'id="table-losses"' in html
    assert read_json(run / "about.json")["problems"]


def test_report_of_artifacts_in_another_layout_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A readable cell that lacks a key this version's report reads (a run made by another
    version): one line naming the run, the key and the rerun command, exit 2, nothing removed."""
    run = _toy_run(tmp_path / "runs")
    cell = sorted((run / "cells").glob("*.json"))[0]
    stored = read_json(cell)
    del stored["result"]["losses"]
    atomic_write_json(cell, stored)
    tables = _files(run, "tables/*")
    capsys.readouterr()
    assert main(["report", str(run)]) == 2
    line = _one_line(capsys.readouterr().err)
    assert line.startswith(f"error: {run}: ") and "'losses'" in line
    assert f"hopfield-lab run {NAME} --profile demo --name demo --force" in line
    assert _files(run, "tables/*") == tables


def test_report_marks_corrupt_results_and_metrics(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = _toy_run(tmp_path / "runs")
    (run / "metrics.jsonl").write_text('{"a": 1}\n{bad\n{"b": 2}\n')
    (run / "results.json").write_bytes(b"\xff")
    capsys.readouterr()
    with pytest.warns(ArtifactWarning):
        assert main(["report", str(run)]) == 0
    html = (run / "report.html").read_text()
    for name in ("metrics.jsonl", "results.json"):
        assert name in html.split("Could not read")[1].split("</div>")[0]
    assert "Traceback" not in capsys.readouterr().err


def test_artifact_warnings_print_as_one_line() -> None:
    """What the CLI shows for an ArtifactWarning: ``warning: <message>``, one line, no source
    location (other warnings keep Python's format)."""
    assert (
        warnings.formatwarning("cells/x.json is bad", ArtifactWarning, "rundir.py", 7)
        == "warning: cells/x.json is bad\n"
    )
    assert "rundir.py:7" in warnings.formatwarning("x", UserWarning, "rundir.py", 7)


def test_readers_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "x.json"
    bad.write_bytes(b"\xc3\x28")
    with pytest.raises(ArtifactError, match="x.json is not a UTF-8 text file") as info:
        read_json(bad)
    assert info.value.path == str(bad)
    bad.write_text("[1]")
    with pytest.raises(ArtifactError, match="holds a JSON list, expected a JSON object"):
        read_json(bad, expect=dict)
    lines = tmp_path / "m.jsonl"
    lines.write_text('{"a": 1}\n{nope\n{"a": 2}\n')
    with pytest.raises(ArtifactError, match="m.jsonl, line 2"):
        read_jsonl(lines)
    lines.write_text('{"a": 1}\n{"a": 2')  # a cut last line is what a kill leaves: dropped
    assert read_jsonl(lines) == [{"a": 1}]
    csv = tmp_path / "t.csv"
    csv.write_text("a,b\n1\n")
    with pytest.raises(ArtifactError, match="t.csv, line 2, has 1 fields"):
        Table.from_csv(csv)
    ckpt = tmp_path / "last.pt"
    ckpt.write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(ArtifactError, match="checkpoint .*last.pt cannot be read"):
        load_checkpoint(ckpt)
