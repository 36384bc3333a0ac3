"""Tests of hopfield_lab.runs: atomic I/O, run directories, tables, executors and reports."""

from __future__ import annotations

import base64
import importlib.util
import json
import math
import os
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from hopfield_lab.errors import ConfigError, DataError
from hopfield_lab.runs import (
    RunDir,
    Table,
    append_jsonl,
    atomic_torch_save,
    atomic_write_json,
    atomic_write_text,
    build_index,
    build_report,
    cell_filename,
    comparison_table,
    mean_std,
    read_json,
    read_jsonl,
    run_cells,
)
from hopfield_lab.runs import io as runs_io

# ------------------------------------------------------------------------------------ atomic I/O


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def test_atomic_writes_leave_no_temp_files(tmp_path: Path) -> None:
    atomic_write_text(tmp_path / "a.txt", "hello")
    atomic_write_json(tmp_path / "sub" / "b.json", {"x": 1})
    atomic_torch_save(tmp_path / "c.pt", {"w": torch.ones(2)})
    assert (tmp_path / "a.txt").read_text() == "hello"
    assert read_json(tmp_path / "sub" / "b.json") == {"x": 1}
    assert torch.equal(torch.load(tmp_path / "c.pt")["w"], torch.ones(2))
    assert _leftovers(tmp_path) == []
    assert _leftovers(tmp_path / "sub") == []


def test_failed_replace_keeps_old_file_and_removes_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "results.json"
    atomic_write_json(target, {"version": "old"})

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk on fire")

    monkeypatch.setattr(runs_io.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk on fire"):
        atomic_write_json(target, {"version": "new"})
    monkeypatch.undo()
    assert read_json(target) == {"version": "old"}
    assert _leftovers(tmp_path) == []


def test_unserializable_value_writes_nothing(tmp_path: Path) -> None:
    target = tmp_path / "x.json"
    with pytest.raises(TypeError, match="object"):
        atomic_write_json(target, {"bad": object()})
    assert not target.exists()
    assert _leftovers(tmp_path) == []


def test_json_converts_numpy_torch_and_non_finite(tmp_path: Path) -> None:
    obj = {
        "np_float": np.float32(0.5),
        "np_int": np.int64(3),
        "tensor": torch.tensor([1.0, 2.0], dtype=torch.float64),
        "scalar_tensor": torch.tensor(7),
        "nan": float("nan"),
        "inf": np.inf,
        "neg_inf": -math.inf,
        "tuple": (1, 2),
        "path": tmp_path / "p",
    }
    path = atomic_write_json(tmp_path / "v.json", obj)
    text = path.read_text()
    json.loads(text)  # strictly valid JSON
    assert "NaN" not in text and "Infinity" not in text
    back = read_json(path)
    assert back["np_float"] == 0.5 and back["np_int"] == 3
    assert back["tensor"] == [1.0, 2.0] and back["scalar_tensor"] == 7
    assert (back["nan"], back["inf"], back["neg_inf"]) == ("nan", "inf", "-inf")
    assert back["tuple"] == [1, 2] and back["path"] == str(tmp_path / "p")
    assert list(back) == list(obj)  # insertion order kept (sort_keys=False)


def test_read_jsonl_ignores_truncated_last_line(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    append_jsonl(path, {"epoch": 1, "loss": 0.5})
    append_jsonl(path, {"epoch": 2, "loss": 0.25})
    with path.open("a") as f:
        f.write('{"epoch": 3, "lo')  # a kill in the middle of a write
    assert read_jsonl(path) == [{"epoch": 1, "loss": 0.5}, {"epoch": 2, "loss": 0.25}]
    # The next append drops the partial record instead of gluing onto it.
    append_jsonl(path, {"epoch": 3, "loss": 0.125})
    assert [r["epoch"] for r in read_jsonl(path)] == [1, 2, 3]


def test_read_jsonl_raises_on_corruption_in_the_middle(tmp_path: Path) -> None:
    path = tmp_path / "m.jsonl"
    path.write_text('{"a": 1}\nnot json\n{"a": 2}\n')
    with pytest.raises(DataError, match="line 2"):
        read_jsonl(path)


# ------------------------------------------------------------------------------------- RunDir


def test_rundir_create_layout_and_results(tmp_path: Path) -> None:
    run = RunDir.create(tmp_path, "exp", "quick", {"beta": 2.0, "dims": (3, 4)})
    for directory in (run.tables_dir, run.figures_dir, run.cells_dir):
        assert directory.is_dir()
    assert not run.checkpoints_dir.exists()  # created by the first checkpoint only
    assert run.path == tmp_path / "exp" / "quick"
    assert run.config_path.name == "config.json" and run.report_path.name == "report.html"
    assert read_json(run.config_path) == {"beta": 2.0, "dims": [3, 4]}
    assert not run.is_complete()
    run.write_results({"accuracy": 0.9}, status="partial")
    assert not run.is_complete()
    run.write_results({"accuracy": 0.95})
    assert run.is_complete()
    results = run.read_results()
    assert results["accuracy"] == 0.95 and results["status"] == "complete"
    assert "timestamp" in results
    # Same config (tuple vs list does not matter): reopened, results kept.
    again = RunDir.create(tmp_path, "exp", "quick", {"beta": 2.0, "dims": [3, 4]})
    assert again.is_complete()


def test_rundir_config_mismatch_and_force(tmp_path: Path) -> None:
    run = RunDir.create(tmp_path, "exp", "r1", {"beta": 2.0})
    run.write_results({"x": 1})
    with pytest.raises(ConfigError, match=r"--name.*--force") as info:
        RunDir.create(tmp_path, "exp", "r1", {"beta": 3.0})
    assert "beta" in str(info.value)
    assert run.is_complete()  # the refused call touched nothing
    fresh = RunDir.create(tmp_path, "exp", "r1", {"beta": 3.0}, force=True)
    assert not fresh.results_path.exists()
    assert read_json(fresh.config_path) == {"beta": 3.0}


@pytest.mark.parametrize("name", ["", "../up", "a/b", ".hidden", 3])
def test_rundir_rejects_unsafe_names(tmp_path: Path, name: object) -> None:
    with pytest.raises(ConfigError, match="name"):
        RunDir.create(tmp_path, "exp", name, {})  # type: ignore[arg-type]


def test_cell_store_and_key_safety(tmp_path: Path) -> None:
    run = RunDir.create(tmp_path, "exp", "grid", {})
    keys = ["seed0", "beta=2.0,seed=1", "a/b", "A/B", "x" * 300]
    for i, key in enumerate(keys):
        assert not run.cell_done(key)
        run.save_cell(key, {"value": i})
        assert run.cell_done(key)
    stems = [cell_filename(k) for k in keys]
    assert len(set(s.lower() for s in stems)) == len(keys)  # distinct even ignoring case
    assert all(len(s) <= 80 and "/" not in s for s in stems)
    assert cell_filename("seed0") == "seed0"
    assert run.load_cell("a/b") == {"value": 2}
    assert run.cells() == {k: {"value": i} for i, k in enumerate(keys)}
    with pytest.raises(DataError, match="no saved result"):
        run.load_cell("missing")


def test_log_metrics_and_save_figure(tmp_path: Path) -> None:
    run = RunDir.create(tmp_path, "exp", "m", {})
    run.log_metrics({"epoch": 1, "loss": np.float64(0.5)})
    assert run.read_metrics() == [{"epoch": 1, "loss": 0.5}]
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    path = run.save_figure(fig, "curve.png")
    assert path == run.figures_dir / "curve.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not plt.fignum_exists(fig.number)  # closed
    assert _leftovers(run.figures_dir) == []


# -------------------------------------------------------------------------------------- tables


def test_table_csv_round_trip(tmp_path: Path) -> None:
    table = Table(
        "results",
        ["name", "n", "value", "missing"],
        [["a", 1, 0.1 + 0.2, None], ["b,c", -7, float("nan"), 2.5e-12]],
        caption="round trip",
    )
    run = RunDir.create(tmp_path, "exp", "t", {})
    csv_path = run.save_table(table)
    assert (run.tables_dir / "results.md").exists()
    back = Table.from_csv(csv_path)
    assert back.name == "results" and back.columns == table.columns
    assert back.caption == "round trip"
    assert back.rows[0] == ["a", 1, 0.1 + 0.2, None]  # exact float, int stays int
    assert isinstance(back.rows[0][1], int)
    assert back.rows[1][0] == "b,c" and back.rows[1][1] == -7
    assert math.isnan(back.rows[1][2]) and back.rows[1][3] == 2.5e-12


def test_comparison_table_gap_and_markdown() -> None:
    table = comparison_table(
        "cmp",
        [
            ("capacity", 0.138, 0.14, 0.002),
            ("error rate", "32%", 0.3, None),
            ("overlap", None, np.float64(0.9), None),
            ("energy", 2, torch.tensor(1.5), 0.25),
        ],
        caption="Table 1 of the paper",
    )
    assert table.columns == ["quantity", "paper", "ours", "±", "gap"]
    assert table.rows[0][4] == pytest.approx(0.14 - 0.138, abs=1e-15)
    assert table.rows[1][4] is None and table.rows[1][1] == "32%"
    assert table.rows[2][4] is None
    assert table.rows[3][4] == -0.5
    md = table.to_markdown()
    lines = md.strip().splitlines()
    assert lines[0] == "Table 1 of the paper"
    assert lines[2] == "| quantity | paper | ours | ± | gap |"
    # one number format per column: ours 0.14 / 0.30 / 0.90 / 1.50, never 0.3 beside 0.14
    assert lines[4] == "| capacity | 0.138 | 0.14 | 0.002 | 0.002 |"
    assert lines[5] == "| error rate | 32% | 0.30 | — | — |"
    assert lines[7] == "| energy | 2 | 1.50 | 0.250 | -0.500 |"
    # a spread below rounding (identical samples) is 0, not 2.8e-17
    tiny = comparison_table("t", [("q", 1.0, 0.5, 2.8e-17), ("r", 1.0, 0.5, 0.01)])
    assert tiny.rows[0][3] == 0.0 and tiny.rows[1][3] == 0.01


def test_table_markdown_fmt_and_validation() -> None:
    table = Table("t", ["x", "y"], [[1 / 3, "a|b"]], fmt="{:.2f}")
    assert "| 0.33 | a\\|b |" in table.to_markdown()
    with pytest.raises(ConfigError, match="row 0"):
        Table("t", ["x", "y"], [[1]])
    with pytest.raises(ConfigError, match="table name"):
        Table("bad name", ["x"])
    with pytest.raises(ConfigError, match="fmt"):
        Table("t", ["x"], fmt="{:.2q}")
    with pytest.raises(ConfigError, match="paper"):
        comparison_table("c", [("q", [1], 1.0, None)])


def test_auto_format_one_pattern_per_column() -> None:
    from hopfield_lab.runs.table import auto_format

    assert auto_format([0.5, 1.25, 2.0]) == "{:.2f}"  # grid values as written
    assert auto_format([0.13790611, 0.5]) == "{:.4f}"  # four significant digits of the smallest
    assert auto_format([6e-15, 0.48]) == "{:.2e}"  # a span beyond [1e-3, 1e5): scientific
    assert auto_format([1.0, 3.0, None, "x"]) == "{:.0f}"
    table = Table("t", ["a", "b"], [[float("nan"), None], [0.25, True]])
    assert table.formatted_rows() == [["—", "—"], ["0.25", "yes"]]  # no 'nan', one dash
    assert Table("t", ["a"], [[1 / 3]], formats={"a": "{:.1f}"}).formatted_rows() == [["0.3"]]
    with pytest.raises(ConfigError, match="formats names column 'b'"):
        Table("t", ["a"], formats={"b": "{:.1f}"})


def test_check_table_margin_sign_is_the_verdict() -> None:
    from hopfield_lab.runs import at_least, at_most, check_table, equals, within

    checks = [
        at_most("rises", 0.2, 0.5),
        at_least("controls", 0, 1, claim="> 0"),
        within("E|m|", 0.70, 0.69, 0.03),
        within("E|m| far", 0.80, 0.69, 0.03),
        equals("unsettled", 0),
        at_most("missing", None, 1.0),
    ]
    table = check_table("c", checks, "caption", headline=True)
    assert table.columns == ["quantity", "claim", "ours", "margin", "holds"] and table.headline
    verdicts = [r[4] for r in table.rows]
    assert verdicts == ["holds", "fails", "holds", "fails", "holds", None]
    margins = [r[3] for r in table.rows]
    assert margins[0] == pytest.approx(0.3) and margins[1] == -1.0
    assert margins[2] == pytest.approx(0.02) and margins[3] == pytest.approx(-0.08)
    assert table.rows[1][1] == "> 0" and table.rows[2][1] == "0.69 ± 0.03"
    assert table.formatted_rows()[5][2:] == ["—", "—", "—"]
    with pytest.raises(ConfigError, match="must be a Check"):
        check_table("c", [("q", 1)])  # type: ignore[list-item]


def test_mean_std() -> None:
    mean, std = mean_std([1.0, 2.0, 3.0, 4.0])
    assert mean == 2.5 and std == pytest.approx(np.std([1, 2, 3, 4], ddof=1))
    assert mean_std(torch.tensor([2.0])) == (2.0, None)
    with pytest.raises(ConfigError, match="at least one"):
        mean_std([])


# ------------------------------------------------------------------------------------ executor


def _square(cell: dict) -> dict:
    return {"y": cell["x"] ** 2}


def test_run_cells_resumes_without_rerunning(tmp_path: Path) -> None:
    run = RunDir.create(tmp_path, "exp", "grid", {})
    calls: list[int] = []

    def fn(cell: dict) -> dict:
        calls.append(cell["x"])
        if cell["x"] == 2 and len(calls) == 3:
            raise RuntimeError("killed")  # the first pass dies on its third cell
        return _square(cell)

    cells = {f"x={x}": {"x": x} for x in range(4)}
    with pytest.raises(RuntimeError, match="killed"):
        run_cells(fn, cells, run, progress=False)
    assert calls == [0, 1, 2]
    assert run.cell_done("x=0") and run.cell_done("x=1") and not run.cell_done("x=2")
    results = run_cells(fn, cells, run, progress=False)
    assert calls == [0, 1, 2, 2, 3]  # done cells were not run again
    assert results == {f"x={x}": {"y": x * x} for x in range(4)}
    assert list(results) == list(cells)
    run_cells(fn, cells, run.path, progress=False)  # all done: fn is not called at all
    assert len(calls) == 5


def test_run_cells_rejects_non_dict_result(tmp_path: Path) -> None:
    run = RunDir.create(tmp_path, "exp", "g", {})
    with pytest.raises(ConfigError, match="must return a dict"):
        run_cells(lambda cell: 1.0, {"a": {}}, run, progress=False)  # type: ignore[arg-type,return-value]


def test_unknown_executor(tmp_path: Path) -> None:
    run = RunDir.create(tmp_path, "exp", "g", {})
    with pytest.raises(ConfigError, match=r"executor must be one of 'local', 'ray'; got 'dask'"):
        run_cells(_square, {"a": {"x": 1}}, run, executor="dask")


@pytest.mark.skipif(importlib.util.find_spec("ray") is not None, reason="ray is installed")
def test_ray_executor_missing_dependency(tmp_path: Path) -> None:
    run = RunDir.create(tmp_path, "exp", "g", {})
    with pytest.raises(ConfigError, match=r"pip install 'hopfield-lab\[cluster\]'"):
        run_cells(_square, {"a": {"x": 1}}, run, executor="ray")


def test_ray_executor_message_even_when_ray_is_installed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # makes `import ray` fail
    run = RunDir.create(tmp_path, "exp", "g", {})
    with pytest.raises(ConfigError, match="executor 'ray' needs the optional dependency"):
        run_cells(_square, {"a": {"x": 1}}, run, executor="ray")


# ------------------------------------------------------------------------------------- reports


def _populated_run(root: Path, name: str, wall: float) -> RunDir:
    run = RunDir.create(root, "hopfield_capacity", name, {"profile": "quick", "N": 100})
    run.save_table(
        comparison_table(
            "capacity",
            [("alpha_c", 0.138, 0.1412, 0.003), ("recall", "32%", 0.31, None)],
            caption="Capacity <script>alert(1)</script> & more",
        )
    )
    run.save_table(Table("extra", ["k", "v"], [["a<b", 12345]]))
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0, 1], [0, 1])
    run.save_figure(fig, "overlap")
    run.log_metrics({"epoch": 1, "loss": 0.5})
    run.log_metrics({"epoch": 2, "loss": 0.25})
    run.write_results({"profile": "quick", "wall_time_s": wall, "alpha_c": 0.1412})
    return run


def test_build_report_is_self_contained_and_escaped(tmp_path: Path) -> None:
    run = _populated_run(tmp_path, "quick", 12.5)
    path = build_report(run.path)
    assert path == run.report_path
    page = path.read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert "hopfield_capacity / quick" in page
    assert "complete" in page and "quick" in page and run.read_results()["timestamp"] in page
    for value in ("alpha_c", "0.138", "0.1412", "0.003", "0.0032", "32%", "0.31", "12345"):
        assert value in page, value
    assert "fff8c5" not in page  # no yellow "gap" highlight
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in page
    assert "a&lt;b" in page
    png = base64.b64encode((run.figures_dir / "overlap.png").read_bytes()).decode()
    assert f"data:image/png;base64,{png}" in page and "overlap.png" in page
    assert "<details>" in page and "&quot;N&quot;: 100" in page
    assert "2 records" in page
    assert "http://" not in page and "https://" not in page  # no external assets
    assert _leftovers(run.path) == []


def test_build_report_of_unfinished_run(tmp_path: Path) -> None:
    run = RunDir.create(tmp_path, "exp", "running", {"a": 1})
    page = build_report(run.path).read_text()
    assert "no results.json yet" in page
    with pytest.raises(DataError, match="does not exist"):
        build_report(tmp_path / "exp" / "nope")


def test_build_index_has_toc_and_sections(tmp_path: Path) -> None:
    runs = [_populated_run(tmp_path, "seed0", 12.5), _populated_run(tmp_path, "seed1", 125.0)]
    path = build_index(tmp_path, [r.path for r in runs], title="All <runs>")
    assert path == tmp_path / "report.html"
    page = path.read_text()
    assert "<title>All &lt;runs&gt;</title>" in page
    assert 'href="#run-1"' in page and 'href="#run-2"' in page
    assert 'id="run-1"' in page and 'id="run-2"' in page
    assert "hopfield_capacity / seed0" in page and "hopfield_capacity / seed1" in page
    assert "12.5 s" in page and "2 min 05 s" in page
    assert page.count("data:image/png;base64,") == 2
    assert os.path.getsize(path) > 0


# --------------------------------------------------------------------------------------- plots
def test_figure_context_adds_legend_colorbar_and_wraps_titles(tmp_path: Path) -> None:
    from hopfield_lab.runs.plots import cell_edges, figure, finish, heatmap

    run = RunDir.create(tmp_path, "exp", "p", {})
    long_title = "A title much longer than the panel is wide, " * 3
    fig, axes = plt.subplots(1, 2, figsize=(8, 3), layout="constrained")
    axes[0].plot([0, 1], [0, 1], label="theory")
    axes[0].set_title(long_title)
    mesh = axes[1].pcolormesh(np.arange(3), np.arange(3), np.ones((2, 2)))
    finish(fig)
    assert axes[0].get_legend() is not None and mesh.colorbar is not None
    assert "\n" in axes[0].get_title()
    fig.canvas.draw()
    box = axes[0].title.get_window_extent()
    assert box.x0 >= 0 and box.x1 <= fig.bbox.x1  # the wrapped title fits the figure
    plt.close(fig)
    with figure(run, "map") as (fig, ax):
        heatmap(fig, ax, [0.0, 0.1, 0.3], [1.0, 2.0], np.zeros((2, 3)), label="m")
    assert (run.figures_dir / "map.png").is_file() and not plt.get_fignums()
    assert run.saved_figures == ["map"]
    assert cell_edges([0.0, 0.1, 0.3]).tolist() == pytest.approx([0.0, 0.05, 0.2, 0.4])
    with pytest.raises(ValueError, match="boom"), figure(run, "broken"):
        raise ValueError("boom")
    assert not (run.figures_dir / "broken.png").exists() and not plt.get_fignums()


def test_remove_unsaved_keeps_what_this_report_wrote(tmp_path: Path) -> None:
    old = RunDir.create(tmp_path, "exp", "r", {})
    old.save_table(Table("stale.v1", ["a"], [[1]]))
    old.save_table(Table("kept", ["a"], [[1]]))
    fig, _ = plt.subplots()
    old.save_figure(fig, "stale_fig")
    new = RunDir(old.path)  # a fresh report: remembers only what it saves
    new.save_table(Table("kept", ["a"], [[2]]))
    removed = new.remove_unsaved()
    assert removed == [
        "figures/stale_fig.png",
        "tables/stale.v1.csv",
        "tables/stale.v1.md",
        "tables/stale.v1.meta.json",
    ]
    assert sorted(p.name for p in new.tables_dir.iterdir()) == [
        "kept.csv",
        "kept.md",
        "kept.meta.json",
    ]


def test_report_puts_headline_first_and_index_groups_by_paper(tmp_path: Path) -> None:
    runs = []
    for experiment, paper in (("a", "Paper One"), ("b", "Paper Two"), ("c", "Paper One")):
        run = RunDir.create(tmp_path, experiment, "demo", {})
        run.save_table(Table("aaa_detail", ["x"], [[1]]))
        run.save_table(Table("zzz_claim", ["x"], [[2]], headline=True))
        run.write_results({"profile": "demo"})
        atomic_write_json(
            run.about_path,
            {"paper_title": paper, "title": f"exp {experiment}", "profile": "demo",
             "note": "Demo profile: not the paper's protocol.", "tables": ["aaa_detail"]},
        )  # fmt: skip
        runs.append(run)
    page = build_report(runs[0].path).read_text()
    assert page.index("table-zzz_claim") < page.index("table-aaa_detail")  # headline first
    assert "Demo profile: not the paper&#x27;s protocol." in page
    index = build_index(tmp_path, [r.path for r in runs], title="all").read_text()
    one, two = index.index("<h2>Paper One</h2>"), index.index("<h2>Paper Two</h2>")
    assert one < index.index("a / demo: exp a") < index.index("c / demo: exp c") < two


def test_records_table_names_each_column_once(tmp_path: Path) -> None:
    from hopfield_lab.runs import records_table
    from hopfield_lab.runs.table import MISSING

    records = [{"n": 1, "m": 0.5, "ok": True}, {"n": 2, "m": 0.25, "ok": False}]
    columns = {"N": "n", "m": "m", "2m": lambda r: 2 * r["m"], "stable": "ok"}
    table = records_table("t", records, columns, "a caption", formats={"m": "{:.3f}"})
    assert table.columns == ["N", "m", "2m", "stable"] and table.caption == "a caption"
    assert table.rows == [[1, 0.5, 1.0, True], [2, 0.25, 0.5, False]]
    assert table.formatted_rows()[1] == ["2", "0.250", "0.5", "no"]
    assert records_table("t", records, {"x": "missing"}).formatted_rows()[0] == [MISSING]


def test_grouped_bars_and_comparison_formats(tmp_path: Path) -> None:
    from hopfield_lab.runs import comparison_table
    from hopfield_lab.runs.plots import figure, grouped_bars

    run = RunDir.create(tmp_path, "exp", "b", {})
    with figure(run, "bars") as (_, ax):
        grouped_bars(ax, ["a", "b", "c"], {"x": [1, 2, 3], "y": [3, 2, 1]}, errors={"x": [0.1] * 3})
        bars = sorted(p.get_x() + p.get_width() / 2 for p in ax.patches)
        assert bars == pytest.approx([-0.2, 0.2, 0.8, 1.2, 1.8, 2.2])  # two bars per label
        assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c"]
    assert run.saved_figures == ["bars"]
    table = comparison_table("c", [("q", 1.0, 1.0000001, None)], formats={"ours": "{:.7f}"})
    assert table.formatted_rows()[0][2] == "1.0000001"
