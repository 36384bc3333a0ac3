"""Bad input, as a new user types it: one line, exit code 2, no traceback, nothing on disk.

Every CLI case runs in-process through :func:`hopfield_lab.cli.main` (fast); a few run as real
subprocesses. Every case with an output directory points ``--out`` at a fresh path and checks
that it is still absent afterwards (the ``--out`` probe and every check run before the run
directory is made). API cases check for :class:`~hopfield_lab.errors.ConfigError` naming the
parameter. The cases of issue 16 are among them (marked ``# issue``). Further: Ctrl-C exits 130
saying what was kept (a real SIGINT), an unexpected error exits 1 with a log, a late user error
removes the run directory it made, and the divergence rules.
"""

from __future__ import annotations

import dataclasses
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from torch import nn

from hopfield_lab.cli import main
from hopfield_lab.errors import ConfigError, DataError, DivergenceError
from hopfield_lab.experiments import EXPERIMENTS, RunContext
from hopfield_lab.experiments.base import (
    apply_overrides,
    check_out_dir,
    get_experiment,
    plan_run,
)
from hopfield_lab.experiments.fields import check_memory, config_from_dict
from hopfield_lab.models import LayeredHopfield, ModernHopfield
from hopfield_lab.models.layered import DEQSettings
from hopfield_lab.solvers import FixedPointOptions, fixed_point, integrate
from hopfield_lab.solvers.sde import euler_maruyama
from hopfield_lab.theory import solve_curie_weiss, solve_mixture
from hopfield_lab.training import TrainConfig, fit, loss_blew_up

SRC = str(Path(__file__).resolve().parents[1] / "src")
NO_CUDA = not torch.cuda.is_available()
BIG = "9" * 400
R = ["run", "retrieval"]

# (argv, a piece of the message); "{out}" is a fresh path, "{file}" an existing file and
# "{empty}" an existing empty directory, both outside {out}.
CLI_CASES: list[tuple[list[str], str]] = [
    # experiment, profile, --set syntax
    (["run", "nope", "--out", "{out}"], "experiment must be one of"),
    ([*R, "--profile", "fast", "--out", "{out}"], "profile must be one of 'demo'"),
    ([*R, "--set", "beta=3", "--out", "{out}"], "unknown config key 'beta'; valid keys:"),
    ([*R, "--set", "tol", "--out", "{out}"], "--set expects key=value"),
    ([*R, "--set", "=3", "--out", "{out}"], "--set expects key=value"),
    ([*R, "--set", "tol.x=1", "--out", "{out}"], "config key 'tol' has no sub-keys"),
    ([*R, "--set", "retrieval.x=1", "--out", "{out}"], "unknown config key 'retrieval.x'"),
    # numbers
    ([*R, "--set", "tol=abc", "--out", "{out}"], "tol must be a number; got 'abc'"),
    ([*R, "--set", "tol=-1", "--out", "{out}"], "tol must be > 0; got -1.0"),
    ([*R, "--set", "tol=nan", "--out", "{out}"], "tol must be a finite number > 0"),
    ([*R, "--set", "tol=inf", "--out", "{out}"], "tol must be a finite number > 0"),
    ([*R, "--set", "tol=1e999", "--out", "{out}"], "tol must be a finite number > 0"),
    ([*R, "--set", "tol=0", "--out", "{out}"], "tol must be > 0"),
    ([*R, "--set", "seed=-1", "--out", "{out}"], "seed must be in [0, 4294967295]"),
    ([*R, "--set", "seed=4294967296", "--out", "{out}"], "seed must be in [0, 4294967295]"),
    # issue: huge seeds never reach torch
    ([*R, "--set", "seed=99999999999999999999999", "--out", "{out}"], "seed must be"),
    ([*R, "--set", f"seed={BIG}", "--out", "{out}"], "seed must be"),
    ([*R, "--set", "seed=1.5", "--out", "{out}"], "seed must be an integer; got '1.5'"),
    ([*R, "--set", "seed=true", "--out", "{out}"], "seed must be an integer"),
    ([*R, "--set", "n_queries=0", "--out", "{out}"], "n_queries must be >= 1"),
    ([*R, "--set", "n_queries=" + "1" * 30, "--out", "{out}"], "n_queries must be"),
    ([*R, "--set", "n_patterns=1", "--out", "{out}"], "n_patterns must be >= 2"),
    ([*R, "--set", "max_iter=0", "--out", "{out}"], "max_iter must be >= 1"),
    ([*R, "--set", "exact_threshold=-0.1", "--out", "{out}"], "exact_threshold must be > 0"),
    ([*R, "--set", "noise_sigmas=-0.3", "--out", "{out}"], "noise_sigmas must be >= 0"),
    ([*R, "--set", "anderson_window=" + "9" * 18, "--out", "{out}"], "anderson_window="),
    # tuples and Literals
    ([*R, "--set", "betas=", "--out", "{out}"], "betas must be a comma-separated list"),
    ([*R, "--set", "betas=,", "--out", "{out}"], "betas must be a comma-separated list"),
    ([*R, "--set", "betas=1,abc", "--out", "{out}"], "betas must be a number; got 'abc'"),
    ([*R, "--set", "betas=-1", "--out", "{out}"], "betas must be > 0"),
    ([*R, "--set", "mask_fractions=1.0", "--out", "{out}"], "mask_fractions must be in"),
    ([*R, "--set", "solvers=newton", "--out", "{out}"], "solvers must be one of"),
    ([*R, "--set", "dtype=float16", "--out", "{out}"], "dtype must be one of"),
    ([*R, "--set", "dataset=cifar", "--out", "{out}"], "dataset must be one of"),
    ([*R, "--set", "normalize=true", "--out", "{out}"], "normalize must be one of"),
    (["run", "capacity", "--set", "alphas=0.2,0.1", "--out", "{out}"], "alphas must be strictly"),
    (["run", "capacity", "--set", "dtype=int", "--out", "{out}"], "dtype must be one of"),
    (["run", "capacity", "--set", "sizes=5", "--out", "{out}"], "sizes must be >= 10"),
    (["run", "capacity", "--set", "sizes=", "--out", "{out}"], "sizes must be a comma-separated"),
    (["run", "curie-weiss", "--set", "sizes=1", "--out", "{out}"], "sizes must be in [2, 100000]"),
    (["run", "curie-weiss", "--set", "temperatures=0", "--out", "{out}"], "temperatures must be"),
    (["run", "deephnn-mnist", "--set", "cnn_lr=nan", "--out", "{out}"], "cnn_lr must be"),
    # issue: a float that only fails after minutes is refused upfront
    (["run", "vhnn-jumps", "--set", "noise_levels=1e30", "--out", "{out}"], "noise_levels must"),
    (["run", "vhnn-jumps", "--set", "noise_levels=0", "--out", "{out}"], "noise_levels must be"),
    # issue: sizes against the memory they imply
    (["run", "capacity", "--set", "sizes=100000000", "--out", "{out}"], "sizes=100000000 implies"),
    (["run", "capacity", "--set", "pd_n=10000000", "--out", "{out}"], "pd_n=10000000 implies"),
    (["run", "mixture-states", "--set", "sizes=10000000", "--out", "{out}"], "sizes=10000000"),
    (["run", "binary-dynamics", "--set", "n=100000000", "--out", "{out}"], "n=100000000 implies"),
    (["run", "curie-weiss", "--set", "replicas=10" + "0" * 15, "--out", "{out}"], "replicas="),
    # options
    ([*R, "--executor", "dask", "--out", "{out}"], "executor must be one of 'local', 'ray'"),
    ([*R, "--device", "tpu", "--out", "{out}"], "device must be 'cpu', 'cuda' or 'cuda:<index>'"),
    ([*R, "--device", "", "--out", "{out}"], "device must be 'cpu', 'cuda' or 'cuda:<index>'"),
    ([*R, "--device", "CPU", "--out", "{out}"], "device must be"),
    ([*R, "--device", "cuda:x", "--out", "{out}"], "device must be"),
    ([*R, "--device", "cuda:-1", "--out", "{out}"], "device must be"),
    ([*R, "--device", "cuda:", "--out", "{out}"], "device must be"),
    ([*R, "--name", "", "--out", "{out}"], "name must be a non-empty string"),  # issue
    ([*R, "--name", "../x", "--out", "{out}"], "name must be a non-empty string"),
    ([*R, "--name", "a/b", "--out", "{out}"], "name must be"),
    ([*R, "--name", ".hidden", "--out", "{out}"], "name must be"),
    ([*R, "--name", "a b", "--out", "{out}"], "name must be"),
    ([*R, "--name", "x", "--set", "mnist_path=/etc/passwd", "--out", "{out}"], "mnist_path"),
    ([*R, "--set", "mnist_path=/nonexistent/m.npz", "--out", "{out}"], "mnist_path: MNIST"),
    ([*R, "--set", "mnist_path={empty}", "--out", "{out}"], "mnist_path: MNIST directory"),
    (["run", "deq-residuals", "--set", "mnist_path=/etc", "--out", "{out}"], "mnist_path"),
    # issue: --out a file, under a file, under /proc
    ([*R, "--out", "{file}"], "it is a file, not a directory"),
    ([*R, "--out", "{file}/sub"], "its part"),
    ([*R, "--out", "/proc/hopfield-lab-runs"], "cannot create directories in '/proc'"),
    ([*R, "--out", "/proc"], "cannot create directories in '/proc'"),
    # usage
    ([*R, "--bogus", "--out", "{out}"], "No such option: --bogus"),
    (["run", "--out", "{out}"], "Missing argument"),
    ([*R, "--out", "{out}", "--profile"], "requires an argument"),
    (["list", "--bogus"], "No such option"),
    (["nope"], "No such command"),
    # config
    (["config", "nope"], "experiment must be one of"),
    (["config", "retrieval", "--set", "dtype=float16"], "dtype must be one of"),
    (["config", "retrieval", "--profile", "x"], "profile must be one of"),
    (["config", "retrieval", "--set", "seed=-5"], "seed must be in"),
    (["config", "capacity", "--set", "sizes=5"], "sizes must be >= 10"),
    # report
    (["report", "/nonexistent/dir"], "does not exist"),
    (["report", "{file}"], "does not exist or is not a directory"),
    (["report", "{empty}"], "holds no run"),
    # demo, bench
    (["demo", "--out", "{file}"], "it is a file, not a directory"),  # issue
    (["demo", "--out", "/proc/x"], "cannot create directories in '/proc'"),
    (["bench", "nope"], "unknown benchmark(s) 'nope'; valid names:"),
    (["bench", "--device", "tpu"], "device must be"),
    # theory: ranges where the numerics hold
    (["theory", "curie-weiss", "--beta", "0"], "beta must be > 0"),
    (["theory", "curie-weiss", "--beta", "-1"], "beta must be > 0"),
    (["theory", "curie-weiss", "--beta", "nan"], "beta must be finite"),
    (["theory", "curie-weiss", "--beta", "inf"], "beta must be finite"),
    (["theory", "curie-weiss", "--beta", "1e-320"], "beta must be in [1e-12, 1e+12]"),  # issue
    (["theory", "curie-weiss", "--beta", "1e308", "--J", "1e308"], "beta must be in"),  # issue
    (["theory", "curie-weiss", "--beta", "1e300"], "beta must be in [1e-12, 1e+12]"),  # issue
    (["theory", "curie-weiss", "--beta", "1", "--J", "1e308"], "|J| must be <= 1e+12"),
    (["theory", "curie-weiss", "--beta", "1", "--h", "-1e308"], "|h| must be <= 1e+12"),
    (["theory", "curie-weiss", "--beta", "1e12", "--J", "2"], "beta * |J| must be <= 1e+12"),
    (["theory", "curie-weiss", "--beta", "1e6", "--h", "1e7"], "beta * |h| must be"),
    (["theory", "curie-weiss", "--beta", "1", "--J", "nan"], "J must be finite"),
    (["theory", "curie-weiss", "--beta", "abc"], "Invalid value for '--beta'"),
    (["theory", "curie-weiss"], "Missing option '--beta'"),
    (["theory", "hopfield-mixture", "--n", "0", "-T", "0.2"], "n must be an integer in [1, 1000]"),
    (["theory", "hopfield-mixture", "--n", "100000000", "-T", "0.2"], "n must be an integer in"),
    (["theory", "hopfield-mixture", "--n", "3", "-T", "-1"], "temperature must be"),
    (["theory", "hopfield-mixture", "--n", "3", "-T", "nan"], "temperature must be"),
    (["theory", "hopfield-mixture", "--n", "3", "-T", "1e-320"], "temperature must be 0 or"),
    (["theory", "hopfield-mixture", "--n", "3", "-T", "0.2", "-P", "2"], "n_patterns must be >="),
    (["theory", "hopfield-mixture", "--n", "3", "-T", "0.2", "-P", "0"], "n_patterns must be"),
    (["theory", "hopfield-mixture", "--n", "x", "-T", "0.2"], "Invalid value for '--n'"),
    (["theory", "hopfield-mixture", "--n", "1.5", "-T", "0.2"], "Invalid value for '--n'"),
    (["theory", "bogus"], "No such command"),
]
if NO_CUDA:
    CLI_CASES += [
        ([*R, "--device", "cuda", "--out", "{out}"], "CUDA is not available on this machine"),
        ([*R, "--device", "cuda:0", "--out", "{out}"], "CUDA is not available"),
        (["bench", "--device", "cuda"], "CUDA is not available"),
    ]


@pytest.fixture
def places(tmp_path: Path) -> dict[str, Path]:
    file = tmp_path / "a-file"
    file.write_text("not a directory\n")
    empty = tmp_path / "empty"
    empty.mkdir()
    return {"out": tmp_path / "out", "file": file, "empty": empty}


def _fill(argv: list[str], places: dict[str, Path]) -> list[str]:
    return [a.format(**{k: str(v) for k, v in places.items()}) for a in argv]


def _assert_one_line(err: str, message: str) -> None:
    assert err.startswith("error: "), err
    assert message in err, err
    assert err.count("\n") == 1 and "Traceback" not in err, err


def _assert_untouched(places: dict[str, Path]) -> None:
    assert not places["out"].exists(), sorted(places["out"].rglob("*"))
    assert places["file"].read_text() == "not a directory\n"
    assert not any(places["empty"].iterdir())


def _ids(cases: list[tuple[list[str], str]]) -> list[str]:
    return [f"{i}:{' '.join(argv)[:50]}" for i, (argv, _) in enumerate(cases)]


@pytest.mark.parametrize(("argv", "message"), CLI_CASES, ids=_ids(CLI_CASES))
def test_cli_bad_input(argv, message, places, capsys) -> None:
    assert main(_fill(argv, places)) == 2
    captured = capsys.readouterr()
    _assert_one_line(captured.err, message)
    _assert_untouched(places)


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root writes anyway")
def test_cli_out_read_only(places, capsys) -> None:
    ro = places["empty"]
    ro.chmod(0o555)
    try:
        assert main([*R, "--out", str(ro / "runs")]) == 2
        _assert_one_line(capsys.readouterr().err, "cannot create directories in")
    finally:
        ro.chmod(0o755)


# each costs a fresh interpreter (a `run` imports every experiment: 10-15 s on a loaded
# machine): the theory case in the default suite, the others marked slow; the Ctrl-C test
# below is a real subprocess too
SUBPROCESS_CASES = [
    (["theory", "hopfield-mixture", "--n", "100000000", "-T", "0.1"], "n must be"),
    ([*R, "--set", f"seed={BIG}", "--out", "{out}"], "seed must be"),
    (["run", "capacity", "--set", "sizes=100000000", "--out", "{out}"], "implies about"),
    ([*R, "--out", "{file}"], "it is a file"),
]
_SLOW_SUBPROCESS = {1, 2, 3}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        pytest.param(*case, marks=pytest.mark.slow) if i in _SLOW_SUBPROCESS else case
        for i, case in enumerate(SUBPROCESS_CASES)
    ],
    ids=_ids(SUBPROCESS_CASES),
)
def test_cli_bad_input_subprocess(argv, message, places) -> None:
    env = {**os.environ, "PYTHONPATH": SRC, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "hopfield_lab.cli", *_fill(argv, places)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    _assert_one_line(proc.stderr, message)
    assert proc.stdout == ""
    _assert_untouched(places)


# ---------------------------------------------------------------------------------- the API
def _x() -> torch.Tensor:
    return torch.ones(2, 3, dtype=torch.float64)


def _f(t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return -x


def _step(x: torch.Tensor) -> torch.Tensor:
    return 0.5 * x + 1.0


_X = torch.randn(5, 8)
_NAN = torch.full((2, 6), math.nan)


def _retrieval_cls() -> type:
    return get_experiment("retrieval").config_cls


API_CASES = [
    (lambda: FixedPointOptions(method="newton"), "method"),
    (lambda: FixedPointOptions(tol=0), "tol"),
    (lambda: FixedPointOptions(tol=math.nan), "tol"),
    (lambda: FixedPointOptions(max_iter=0), "max_iter"),
    (lambda: FixedPointOptions(max_iter=10**400), "max_iter"),
    (lambda: FixedPointOptions(method="damped", damping=1.0), "damping"),
    (lambda: FixedPointOptions(method="picard", damping=0.5), "damping"),
    (lambda: FixedPointOptions(window=0), "window"),
    (lambda: FixedPointOptions(safeguard="x"), "safeguard"),
    (lambda: FixedPointOptions(merit=3), "merit"),
    (lambda: FixedPointOptions(full_iterations="yes"), "full_iterations"),
    (lambda: FixedPointOptions().replace(bogus=1), "bogus"),
    (lambda: fixed_point(_step, [1.0, 2.0]), "x0"),
    (lambda: fixed_point(_step, _NAN), "x0"),
    (lambda: fixed_point(3, _x()), "f must be a callable"),
    (lambda: fixed_point(_step, _x(), max_norm="a"), "max_norm"),
    (lambda: fixed_point(_step, _x(), on_divergence="ignore"), "on_divergence"),
    (lambda: fixed_point(_step, _x(), record_residuals="yes"), "record_residuals"),
    (lambda: fixed_point(_step, _x(), energy=torch.ones(2)), "energy"),
    (lambda: integrate(_f, _x(), [0.0, 1.0], method="rk45"), "method"),
    (lambda: integrate(_f, _x(), [0.0, 1.0], step_size=0), "step_size"),
    (lambda: integrate(_f, _x(), [0.0, 1.0], method="euler", step_size=1e-320), "step_size"),
    (lambda: integrate(_f, _x(), [1.0, 0.0]), "t must be finite and strictly increasing"),
    (lambda: integrate(_f, _x(), "t"), "t must be a 1-D sequence"),
    (lambda: integrate(_f, _x(), [0.0, 1.0], rtol=-1), "rtol"),
    (lambda: integrate(_f, _x(), [0.0, 1.0], energy=3), "energy"),
    (lambda: integrate(_f, _x(), [0.0, 1.0], options=[1]), "options"),
    (lambda: integrate(_f, _x(), [0.0, 1.0], adjoint="no"), "adjoint"),
    (lambda: integrate(_f, _x(), [0.0, 1.0], max_norm=torch.ones(2)), "max_norm"),
    (lambda: integrate(_f, _NAN, [0.0, 1.0]), "x0 must be finite"),
    (lambda: euler_maruyama(_f, _x(), [0.0, 1.0], sigma=0.1, dt=0), "dt"),
    (lambda: euler_maruyama(_f, _x(), [0.0, 1.0], sigma=0.1, dt=1e-320), "dt"),
    (lambda: euler_maruyama(_f, _x(), [0.0, 1.0], sigma=-1, dt=0.1), "sigma"),
    (lambda: euler_maruyama(_f, _x(), [0.0, 1.0], sigma=math.nan, dt=0.1), "sigma"),
    (lambda: euler_maruyama(_f, _x(), [0.0, 1.0], sigma=0.1, dt=0.1, chunk=0), "chunk"),
    (lambda: euler_maruyama(_f, _x(), [0.0, 1.0], sigma=0.1, dt=0.1, generator=3), "generator"),
    (lambda: euler_maruyama(_f, _x(), [0.0, 1.0], sigma=0.1, dt=0.1, record=1), "record"),
    (
        lambda: euler_maruyama(_f, _x(), [0.0, 1.0], sigma=0.1, dt=0.5, increments=torch.ones(3)),
        "increments",
    ),
    (lambda: TrainConfig(epochs=0), "epochs"),
    (lambda: TrainConfig(seed=-1), "seed"),
    (lambda: TrainConfig(device="tpu"), "device"),
    (lambda: TrainConfig(batch_size=10**30), "batch_size"),
    (lambda: TrainConfig(max_grad_norm=0), "max_grad_norm"),
    (lambda: ModernHopfield(torch.randn(8)), "patterns"),
    (lambda: ModernHopfield(_X, beta="a"), "beta"),
    (lambda: ModernHopfield(_X).update(torch.randn(3, 7)), "x must have shape"),
    (lambda: ModernHopfield(_X).update(torch.randn(3, 8, dtype=torch.float64)), "dtype"),
    (lambda: LayeredHopfield([6, -5, 3]), "layers"),
    (lambda: LayeredHopfield([6, 5, 3])(_NAN), "x must be finite"),
    (lambda: LayeredHopfield([6, 5, 3])(torch.randn(4, 7)), "x must have shape"),
    (lambda: LayeredHopfield([6, 5, 3])(torch.randn(4, 6, dtype=torch.float64)), "dtype"),
    (lambda: DEQSettings(scheme="x"), "scheme"),
    (lambda: solve_curie_weiss(1e-320), "beta"),
    (lambda: solve_curie_weiss(1.0, J=1e308), "J"),
    (lambda: solve_curie_weiss(math.nan), "beta"),
    (lambda: solve_curie_weiss(1.0, h=10**400), "h"),
    (lambda: solve_mixture(10**8, 0.1), "n must be"),
    (lambda: solve_mixture(3, 1e-320), "temperature"),
    (lambda: plan_run("capacity", overrides=["sizes=100000000"]), "sizes"),
    (lambda: plan_run("retrieval", ctx=RunContext(device="tpu")), "device"),
    (lambda: plan_run("retrieval", ctx=RunContext(executor="dask")), "executor"),
    (lambda: plan_run("retrieval", run_name=""), "name"),
    (lambda: plan_run("retrieval", overrides=["mnist_path=/etc/passwd"]), "mnist_path"),
    (lambda: plan_run("retrieval", out="/proc/x"), "out"),
    (lambda: check_out_dir("out", ""), "out"),
    (lambda: apply_overrides(_retrieval_cls()(), ["seed=-1"]), "seed"),
    (lambda: config_from_dict(_retrieval_cls(), {"tol": "x"}), "tol"),
    (lambda: config_from_dict(_retrieval_cls(), {"seed": 10**30}), "seed"),
    (lambda: config_from_dict(_retrieval_cls(), {"betas": [1, "a"]}), "betas[1]"),
    (lambda: config_from_dict(_retrieval_cls(), [1]), "a config must be a JSON object"),
    (
        lambda: config_from_dict(get_experiment("finite-step-energy").config_cls, {"pair": 3}),
        "pair",
    ),
]


@pytest.mark.parametrize(("call", "name"), API_CASES, ids=[str(i) for i in range(len(API_CASES))])
def test_api_bad_input(call, name) -> None:
    with pytest.raises(ConfigError) as info:
        call()
    message = str(info.value)
    assert name in message and "\n" not in message


def test_at_least_100_cases() -> None:
    assert len(CLI_CASES) + len(SUBPROCESS_CASES) + len(API_CASES) >= 100
    assert len(CLI_CASES) >= 100  # the CLI alone


def test_memory_check_names_the_field() -> None:
    config = get_experiment("capacity").profiles["demo"]
    check_memory(config)  # the demo fits
    with pytest.raises(ConfigError, match=r"sizes=.* implies about .* of memory"):
        check_memory(config, limit=1000.0)


# ------------------------------------------------------- late user errors, crashes, Ctrl-C
def _with_run(monkeypatch, name: str, run) -> str:
    exp = get_experiment(name)
    monkeypatch.setitem(EXPERIMENTS, name, dataclasses.replace(exp, run=run))
    return name


@pytest.mark.parametrize(
    "error",
    [
        DataError("the data file is truncated"),
        ConfigError("a late user error"),
        RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 6e15"),
        MemoryError(),
    ],
    ids=["data", "config", "torch-oom", "memory"],
)
def test_late_user_error_removes_the_run_it_created(error, tmp_path, monkeypatch, capsys) -> None:
    def run(config, run_dir, ctx):
        (run_dir.cells_dir / "half.json").write_text("{}")
        raise error

    name = _with_run(monkeypatch, "curie-weiss", run)
    out = tmp_path / "runs"
    assert main(["run", name, "--out", str(out), "--name", "x", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not out.exists()  # the run directory and the parents it made are gone: the
    # corrected command is not refused as a clash with a half-made run


def test_late_user_error_keeps_an_existing_run(tmp_path, monkeypatch, capsys) -> None:
    calls = []

    def run(config, run_dir, ctx):
        calls.append(1)
        (run_dir.cells_dir / "finished.json").write_text("{}")
        if len(calls) == 2:
            raise DataError("second attempt fails")
        raise KeyboardInterrupt

    name = _with_run(monkeypatch, "curie-weiss", run)
    argv = ["run", name, "--out", str(tmp_path), "--name", "x", "--no-progress"]
    assert main(argv) == 130
    assert "1 finished cell(s) are kept in" in capsys.readouterr().err
    assert main(argv) == 2  # a user error on resume: finished work stays
    assert (tmp_path / name / "x" / "cells" / "finished.json").is_file()


def test_unexpected_error_is_one_line_with_a_log(tmp_path, monkeypatch, capsys) -> None:
    def run(config, run_dir, ctx):
        raise ZeroDivisionError("a bug")

    name = _with_run(monkeypatch, "curie-weiss", run)
    assert main(["run", name, "--out", str(tmp_path), "--name", "x", "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: unexpected ZeroDivisionError: a bug") and err.count("\n") == 1
    log = Path(err.split("the traceback is in ")[1].split(";")[0])
    assert log.parent == tmp_path / name / "x" / "logs"
    assert "Traceback" in log.read_text() and "ZeroDivisionError: a bug" in log.read_text()


def test_unexpected_error_outside_a_run_logs_to_tmp(monkeypatch, capsys) -> None:
    import hopfield_lab.theory as theory

    def boom(*args, **kwargs):
        raise KeyError("broken")

    monkeypatch.setattr(theory, "solve_curie_weiss", boom)
    assert main(["theory", "curie-weiss", "--beta", "2"]) == 1
    err = capsys.readouterr().err
    assert "unexpected KeyError" in err and err.count("\n") == 1
    log = Path(err.split("the traceback is in ")[1].split(";")[0])
    assert log.is_file() and "KeyError: 'broken'" in log.read_text()
    log.unlink()


def test_ctrl_c_exits_130_saying_what_was_kept(tmp_path) -> None:
    """A real SIGINT to a real run: exit 130, one line naming the kept cells, and a rerun
    resumes from them."""
    out = tmp_path / "runs"
    argv = [sys.executable, "-m", "hopfield_lab.cli", "run", "curie-weiss", "--out", str(out)]
    argv += ["--name", "x", "--no-progress", "--set", "sizes=16,32,64,128,256,512,1024,2048"]
    argv += ["--set", "n_samples=400", "--set", "temperatures=0.9,1.1"]
    env = {**os.environ, "PYTHONPATH": SRC, "OMP_NUM_THREADS": "1"}
    # a shell's background job inherits SIGINT ignored, and Python keeps an ignored SIGINT:
    # give the child the default disposition so that it installs its KeyboardInterrupt handler
    proc = subprocess.Popen(
        argv,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    cells = out / "curie-weiss" / "x" / "cells"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if cells.is_dir() and any(cells.glob("*.json")):
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err.startswith("interrupted: ") and err.count("\n") == 1, err
    assert "finished cell(s) are kept in" in err and "resume" in err
    assert "Traceback" not in err


def test_ctrl_c_before_a_run_exits_130(monkeypatch, capsys) -> None:
    import hopfield_lab.experiments.base as base

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(base, "plan_run", interrupted)
    assert main(["run", "curie-weiss"]) == 130
    assert capsys.readouterr().err.startswith("interrupted:")


# ------------------------------------------------------------------------------ divergence
def test_loss_blow_up_rule() -> None:
    assert loss_blew_up(math.nan, 1.0) and loss_blew_up(math.inf, None)
    assert loss_blew_up(2.4e6, 2.3) and not loss_blew_up(2.2e6, 2.3)
    assert not loss_blew_up(1e-3, 1e-9)  # a converged loss that wobbles is not a blow-up
    assert not loss_blew_up(9e5, 0.0) and loss_blew_up(-2e6, 1.0)
    assert not loss_blew_up(1e30, None)


def test_fit_stops_on_a_finite_blow_up(tmp_path) -> None:
    torch.manual_seed(0)
    model = nn.Linear(4, 1, bias=False).double()
    x = torch.randn(64, 4, dtype=torch.float64)
    y = torch.randn(64, 1, dtype=torch.float64)
    opt = torch.optim.SGD(model.parameters(), lr=1e3)  # explodes, but stays finite for a while

    def loss_fn(m, batch):
        return ((m(batch[0]) - batch[1]) ** 2).mean()

    cfg = TrainConfig(epochs=3, batch_size=8, progress=False)
    with pytest.raises(DivergenceError, match=r"epoch 1, step \d+ .*over 1e\+06 x its start"):
        fit(model, opt, loss_fn, (x, y), cfg, run_dir=tmp_path)


def test_fit_does_not_flag_ordinary_training() -> None:
    torch.manual_seed(0)
    model = nn.Linear(4, 1).double()
    x = torch.randn(64, 4, dtype=torch.float64)
    y = x @ torch.ones(4, 1, dtype=torch.float64)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)

    def loss_fn(m, batch):
        return ((m(batch[0]) - batch[1]) ** 2).mean()

    result = fit(model, opt, loss_fn, (x, y), TrainConfig(epochs=30, batch_size=16, progress=False))
    assert result.history[-1]["train_loss"] < 1e-6 * result.history[0]["train_loss"]


def test_ode_and_sde_report_a_blow_up_with_the_step() -> None:
    x0 = torch.ones(3, 2, dtype=torch.float64)

    def blow(t, x):  # x' = x^2 leaves every bound at t = 1
        return x * x

    with pytest.raises(DivergenceError, match="first at step") as info:
        integrate(blow, x0, [0.0, 2.0], method="euler", step_size=0.01)
    assert 95 <= info.value.step <= 110 and info.value.samples == (0, 1, 2)
    flagged = integrate(blow, x0, [0.0, 2.0], method="rk4", step_size=0.01, on_divergence="flag")
    assert bool(flagged.diverged.all()) and bool(torch.isfinite(flagged.x).all())
    with pytest.raises(DivergenceError) as sde:
        euler_maruyama(blow, x0, [0.0, 2.0], sigma=0.01, dt=0.01, chunk=8)
    assert 95 <= sde.value.step <= 120


def test_growing_rectifier_flow_is_not_flagged() -> None:
    """Legitimate growth (x' = x, e^t) is not divergence without a max_norm."""
    x0 = torch.ones(2, 2, dtype=torch.float64)
    res = integrate(lambda t, x: x, x0, [0.0, 30.0], method="rk4", step_size=0.1, max_norm=None)
    assert not bool(res.diverged.any())
    assert torch.allclose(res.x, x0 * math.exp(30.0), rtol=1e-4)  # RK4's error at h = 0.1


def test_layered_forward_never_turns_divergence_into_logits() -> None:
    torch.manual_seed(0)
    model = LayeredHopfield([6, 5, 3])
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(1e30)
    with pytest.raises(DivergenceError, match="LayeredHopfield.forward"):
        model(torch.randn(4, 6))
