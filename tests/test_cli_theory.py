"""``hopfield-lab theory``: Curie-Weiss and Hopfield-mixture solutions, JSON output, bad input."""

from __future__ import annotations

import json
import math

import pytest

from hopfield_lab.cli import main


def test_curie_weiss_json_three_roots(capsys) -> None:
    assert main(["theory", "curie-weiss", "--beta", "2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    ms = [r["m"] for r in out["roots"]]
    assert len(ms) == 3 and ms[1] == 0.0 and ms[0] == pytest.approx(-ms[2])
    assert all(abs(m - math.tanh(2 * m)) < 1e-12 for m in ms)
    assert [r["stable"] for r in out["roots"]] == [True, False, True]
    assert out["degenerate"] and out["magnetization"] == ms[2]
    assert out["temperature"] == 0.5 and out["critical_temperature"] == 1.0


def test_curie_weiss_field_and_table(capsys) -> None:
    assert main(["theory", "curie-weiss", "--beta", "0.5", "--J", "1", "--h", "0.1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    (root,) = out["roots"]
    assert root["m"] == pytest.approx(math.tanh(0.5 * (root["m"] + 0.1)), abs=1e-14)
    assert root["m"] > 0 and out["magnetization"] == root["m"]
    assert main(["theory", "curie-weiss", "--beta", "3"]) == 0
    text = capsys.readouterr().out
    assert "Curie-Weiss" in text and "stable" in text and "T_c = 1" in text


def test_hopfield_mixture_json(capsys) -> None:
    assert main(["theory", "hopfield-mixture", "--n", "3", "--temperature", "0.3", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["exists"] and out["stable"] and out["n"] == 3
    assert 0.4 < out["critical_temperature"] < 0.5 and out["unstable_direction"] == "anti"
    m = out["overlap"]
    # m_3 = E[z tanh(m z / T)] / 3 with z in {+-3 (1/8 each), +-1 (3/8 each)}
    rhs = (3 * math.tanh(3 * m / 0.3) * 2 / 8 + math.tanh(m / 0.3) * 6 / 8) / 3
    assert m == pytest.approx(rhs, abs=1e-14)
    assert main(["theory", "hopfield-mixture", "--n", "3", "-T", "0.5", "--json"]) == 0
    assert not json.loads(capsys.readouterr().out)["stable"]  # above T_3
    assert main(["theory", "hopfield-mixture", "--n", "2", "-T", "0.1", "--json"]) == 0
    even = json.loads(capsys.readouterr().out)
    assert not even["stable"] and even["critical_temperature"] == 0.0


def test_hopfield_mixture_table(capsys) -> None:
    assert main(["theory", "hopfield-mixture", "--n", "1", "-T", "0.5", "--no-threshold"]) == 0
    text = capsys.readouterr().out
    assert "overlap m_n" in text and "stable (local minimum)" in text and "antisym" not in text


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["theory", "curie-weiss", "--beta", "-1"], "beta must be > 0"),
        (["theory", "curie-weiss", "--beta", "0"], "beta must be > 0"),
        (["theory", "curie-weiss", "--beta", "nan"], "beta must be finite"),
        (["theory", "curie-weiss", "--beta", "1", "--h", "inf"], "h must be finite"),
        (["theory", "curie-weiss"], "Missing option '--beta'"),
        (
            ["theory", "hopfield-mixture", "--n", "0", "-T", "0.2"],
            "n must be an integer in [1, 1000]",
        ),
        (["theory", "hopfield-mixture", "--n", "3", "-T", "-0.2"], "temperature must be a finite"),
        (["theory", "hopfield-mixture", "--n", "3", "-T", "nan"], "temperature must be a finite"),
        (["theory", "hopfield-mixture", "--n", "3", "-T", "0.2", "-P", "2"], "n_patterns must be"),
        (["theory", "hopfield-mixture", "--n", "x", "-T", "0.2"], "Invalid value for '--n'"),
    ],
)
def test_theory_bad_input_is_one_line_exit_2(argv, message, capsys) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_bare_theory_prints_help(capsys) -> None:
    assert main(["theory"]) == 0
    out = capsys.readouterr().out
    assert "curie-weiss" in out and "hopfield-mixture" in out
