"""The command line's thread policy (hopfield_lab.threads)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from hopfield_lab import threads
from hopfield_lab.errors import ConfigError


@pytest.fixture(autouse=True)
def _restore_threads() -> Iterator[None]:
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_default_is_one_thread_exported_to_children() -> None:
    env: dict[str, str] = {}
    policy = threads.configure(env)
    assert policy == threads.ThreadPolicy(threads=1, source="default", wait_policy="PASSIVE")
    assert torch.get_num_threads() == 1
    assert env == {"OMP_NUM_THREADS": "1", "OMP_WAIT_POLICY": "PASSIVE"}


def test_user_settings_are_honoured() -> None:
    env = {"OMP_NUM_THREADS": "2", "OMP_WAIT_POLICY": "ACTIVE"}
    policy = threads.configure(env)
    assert (policy.threads, policy.source, policy.wait_policy) == (2, "OMP_NUM_THREADS", "ACTIVE")
    assert torch.get_num_threads() == 2 and env["OMP_NUM_THREADS"] == "2"
    env = {threads.THREADS_ENV_VAR: "2"}
    policy = threads.configure(env)
    assert (policy.threads, policy.source) == (2, threads.THREADS_ENV_VAR)
    assert env["OMP_NUM_THREADS"] == "2" and env["OMP_WAIT_POLICY"] == "PASSIVE"
    with pytest.raises(ConfigError, match="HOPFIELD_LAB_THREADS must be a positive integer"):
        threads.configure({threads.THREADS_ENV_VAR: "many"})
    with pytest.raises(ConfigError, match="HOPFIELD_LAB_THREADS"):
        threads.configure({threads.THREADS_ENV_VAR: "0"})


def test_the_early_wait_policy_applies_to_the_command_line_only() -> None:
    assert threads.is_cli_process(["/venv/bin/python", "/venv/bin/hopfield-lab", "demo"])
    assert threads.is_cli_process(["/venv/bin/hopfield-lab", "bench"])
    assert threads.is_cli_process(["python", "-m", "hopfield_lab.cli", "run", "x"])
    assert not threads.is_cli_process(["python", "-c", "import hopfield_lab"])
    assert not threads.is_cli_process(["python", "-m", "pytest", "hopfield-lab"])
    env: dict[str, str] = {}
    assert not threads.early_environment(env, ["python", "script.py"]) and env == {}
    assert threads.early_environment(env, ["python", "-m", "hopfield_lab.cli"])
    assert env == {"OMP_WAIT_POLICY": "PASSIVE"}
    env = {"OMP_WAIT_POLICY": "ACTIVE"}
    threads.early_environment(env, ["hopfield-lab"])
    assert env == {"OMP_WAIT_POLICY": "ACTIVE"}


@pytest.mark.slow  # two fresh interpreters importing torch
def test_the_command_line_sets_the_wait_policy_before_openmp_loads() -> None:
    """``OMP_DISPLAY_ENV`` makes the OpenMP runtime print its settings when it loads (with
    torch): in ``python -m hopfield_lab.cli`` the wait policy is already passive (GNU OpenMP:
    no spinning, GOMP_SPINCOUNT 0), in a plain ``import hopfield_lab`` it is untouched."""
    src = str(Path(__file__).resolve().parents[1] / "src")
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    env.update(PYTHONPATH=src, OMP_DISPLAY_ENV="VERBOSE")

    def shown(args: list[str]) -> str:
        run = subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env)
        return run.stdout + run.stderr

    cli = shown(["-m", "hopfield_lab.cli", "theory", "curie-weiss", "--beta", "2"])
    if "GOMP_SPINCOUNT" not in cli:
        pytest.skip("the OpenMP runtime is not GNU OpenMP (no GOMP_SPINCOUNT to read)")
    assert "GOMP_SPINCOUNT = '0'" in cli
    assert "GOMP_SPINCOUNT = '0'" not in shown(["-c", "import hopfield_lab"])
