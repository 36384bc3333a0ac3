"""The command line: one-line errors with exit code 2, JSON output, report rebuild."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import pytest

from hopfield_lab.cli import main
from hopfield_lab.experiments import EXPERIMENTS

TINY = [
    "--set",
    "dataset=digits",
    "--set",
    "n_patterns=60",
    "--set",
    "n_queries=8",
    "--set",
    "betas=0.5",
    "--set",
    "noise_sigmas=0.3",
    "--set",
    "mask_fractions=0.5",
    "--set",
    "solvers=picard",
]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "nope"], "experiment must be one of"),
        (["run", "retrieval", "--profile", "fast"], "profile must be one of 'demo'"),
        (["run", "retrieval", "--set", "beta=3"], "unknown config key 'beta'; valid keys:"),
        (["run", "retrieval", "--set", "tol=abc"], "tol must be a number; got 'abc'"),
        (["run", "retrieval", "--set", "tol=-1"], "tol must be > 0; got -1.0"),
        (["run", "retrieval", "--set", "tol"], "--set expects key=value"),
        (["run", "retrieval", "--executor", "dask"], "executor must be one of 'local', 'ray'"),
        (["run", "retrieval", "--bogus"], "No such option: --bogus"),
        (["report", "/nonexistent/dir"], "does not exist"),
        (["bench", "nope"], "unknown benchmark(s) 'nope'; valid names:"),
        (["config", "retrieval", "--set", "dtype=float16"], "dtype must be one of"),
    ],
)
def test_user_errors_are_one_line_with_exit_2(argv, message, capsys) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_list_and_config_json(capsys) -> None:
    assert main(["list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert any(r["name"] == "retrieval" for r in rows)
    assert main(["config", "retrieval", "--profile", "quick", "--set", "seed=3"]) == 0
    cfg = json.loads(capsys.readouterr().out)
    quick = EXPERIMENTS["retrieval"].profiles["quick"]  # the profile, overridden only in seed
    assert cfg["seed"] == 3 and cfg["profile"] == "quick"
    assert {k: v for k, v in cfg.items() if k not in {"seed", "profile", "experiment"}} == {
        k: list(v) if isinstance(v, tuple) else v
        for k, v in dataclasses.asdict(quick).items()
        if k != "seed"
    }


def test_run_json_then_report_rebuild(tmp_path, capsys) -> None:
    assert main(["run", "retrieval", *TINY, "--out", str(tmp_path), "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["results"]["status"] == "complete" and not payload["skipped"]
    report = tmp_path / "retrieval" / payload["run_dir"].split("/")[-1] / "report.html"
    report.unlink()
    assert main(["report", payload["run_dir"]]) == 0
    assert report.is_file() and "accuracy" in report.read_text()
    capsys.readouterr()
    assert main(["report", str(tmp_path), "--json"]) == 0
    index = json.loads(capsys.readouterr().out)
    assert index["report"].endswith("report.html") and len(index["runs"]) == 1


def test_console_script_exit_code() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "hopfield_lab.cli", "run", "nope"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("error: experiment must be one of")


def test_printed_results_keep_square_brackets(capsys) -> None:
    # row names such as "HAM-DEQ [residual safeguard]" are data, not rich markup
    from hopfield_lab.cli import _print_results

    _print_results({"rows": {"3L HAM-DEQ [residual safeguard]": 1.0}, "[bold]x": 2})
    out = capsys.readouterr().out
    assert "[residual safeguard]" in out and "[bold]x" in out


def test_long_result_values_are_cut_on_screen(capsys) -> None:
    from hopfield_lab.cli import _print_results

    _print_results({"hist": [[0] * 40] * 40, "short": 1.5})
    out = capsys.readouterr().out
    assert len(out) < 2000
    words = " ".join(out.split())  # rich wraps the cell
    assert "(4880 characters; see results.json)" in words and "short 1.5" in words


def test_list_markdown_is_the_registry_table_and_names_are_whole(capsys, monkeypatch) -> None:
    from hopfield_lab.experiments.base import markdown_table

    assert main(["list", "--markdown"]) == 0
    assert capsys.readouterr().out == markdown_table()
    monkeypatch.setenv("COLUMNS", "60")  # a narrow terminal squeezes the other columns only
    from rich.console import Console

    import hopfield_lab.cli as cli

    monkeypatch.setattr(cli, "_out", Console(width=60))
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in EXPERIMENTS:
        assert name in out, name
    assert "…" not in out


def test_report_of_a_root_groups_runs_by_paper(tmp_path, capsys) -> None:
    assert main(["run", "retrieval", *TINY, "--out", str(tmp_path), "--json"]) == 0
    over = ["sizes=8", "temperatures=0.5", "replicas=2", "burn_in=1", "n_samples=2"]
    sets = [x for kv in over for x in ("--set", kv)]
    assert main(["run", "curie-weiss", *sets, "--out", str(tmp_path), "--json"]) == 0
    capsys.readouterr()
    assert main(["report", str(tmp_path)]) == 0
    page = (tmp_path / "report.html").read_text()
    assert page.count("<h2>Continuous Hopfield Networks (lecture notes)</h2>") == 1
    assert page.index("curie-weiss /") < page.index("retrieval /")  # registry order


def test_list_shows_measured_peak_memory_and_register_checks_its_profiles(capsys) -> None:
    from hopfield_lab.errors import ConfigError
    from hopfield_lab.experiments.base import profile_cost, register

    exp = EXPERIMENTS["retrieval"]
    with_memory = dataclasses.replace(exp, memory={"quick": "1.5 GiB"})
    assert profile_cost(with_memory, "quick") == f"{exp.runtime['quick']}, peak 1.5 GiB"
    assert profile_cost(with_memory, "demo") == exp.runtime["demo"]  # not measured: nothing
    bare = dataclasses.replace(exp, runtime={}, memory={})
    assert profile_cost(bare, "paper") == ""
    for e in EXPERIMENTS.values():  # every stated memory belongs to a profile and is shown
        assert set(e.memory) <= {"demo", "quick", "paper"}
    assert main(["list", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert all(rows[n]["memory"] == dict(e.memory) for n, e in EXPERIMENTS.items())
    wrong = dataclasses.replace(exp, name="memory-typo", memory={"quik": "1 GiB"})
    with pytest.raises(ConfigError, match=r"memory of 'memory-typo' names unknown profiles"):
        register(wrong)
    assert "memory-typo" not in EXPERIMENTS
