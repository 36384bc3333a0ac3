"""The ``hopfield-lab`` command line: list, run, config, report, demo, bench, theory.

Exit codes, each with one line on stderr and never a traceback:

* 0: done.
* 2: a user error (unknown experiment, profile or key, a value of the wrong type or out of
  range, sizes the machine's memory cannot hold, an unusable ``--out`` or device, a missing
  data file): ``error: ...`` names the parameter, the value and what is allowed. Every option
  is checked before anything is written, so a refused command leaves nothing on disk.
* 3: the computation diverged: ``error: diverged: ...`` says where (epoch and step, or
  solver step).
* 1: an unexpected error (a bug): one line, and the traceback saved to a log file whose path
  the line gives (``<run dir>/logs/`` for a run, else ``<tmp>/hopfield-lab-logs/``).
* 130: interrupted (Ctrl-C): one line saying what was kept; rerunning resumes.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table as RichTable

from hopfield_lab.errors import DivergenceError, HopfieldLabError, check_device
from hopfield_lab.threads import configure as configure_threads

# typer's usage errors derive from click's ClickException, which recent typer vendors under a
# private module: find the class through a public exception instead of importing it.
ClickException: type[Exception] = next(
    c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException"
)
Abort = typer.Abort

__all__ = ["app", "main"]

app = typer.Typer(
    name="hopfield-lab",
    help="Hopfield-network dynamics: run paper reproductions, rebuild reports, benchmark.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
_out = Console()


class _Interrupted(Exception):
    """Ctrl-C during a command, with what was kept (typer would swallow a KeyboardInterrupt)."""


ProfileOpt = Annotated[str, typer.Option("--profile", "-p", help="demo | quick | paper")]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", "-s", help="Override a config field: key=value (repeatable)."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def _print_json(obj: Any) -> None:
    from hopfield_lab.runs import to_jsonable

    typer.echo(json.dumps(to_jsonable(obj), indent=2, ensure_ascii=False))


@app.command("list")
def list_experiments(
    as_json: JsonOpt = False,
    markdown: Annotated[
        bool, typer.Option("--markdown", help="Print the README's experiment table.")
    ] = False,
) -> None:
    """List the registered experiments: paper figure, expected runtime, measured peak memory."""
    from hopfield_lab.experiments.base import markdown_table, ordered_experiments, profile_cost

    experiments = ordered_experiments()  # importing registers every experiment
    if markdown:
        typer.echo(markdown_table(), nl=False)
        return
    costs = {
        e.name: {p: profile_cost(e, p) for p in ("demo", "quick", "paper")} for e in experiments
    }
    rows: list[dict[str, Any]] = [
        {
            "name": e.name,
            "title": e.title,
            "paper": e.paper,
            "figure": e.figure,
            "runtime": dict(e.runtime),
            "memory": dict(e.memory),
            "claim": e.claim,
            "expected": e.expected,
        }
        for e in experiments
    ]
    if as_json:
        _print_json(rows)
        return
    table = RichTable(title="hopfield-lab experiments")
    width = max(len(r["name"]) for r in rows)
    table.add_column("name", no_wrap=True, min_width=width)  # names are never cut
    for col in ("paper / figure", "demo", "quick", "paper"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(
            r["name"],
            f"{r['paper']}\n{r['figure']}",
            costs[r["name"]]["demo"],
            costs[r["name"]]["quick"],
            costs[r["name"]]["paper"],
        )
    _out.print(table)


@app.command("config")
def show_config(
    experiment: Annotated[str, typer.Argument(help="Experiment name (see `list`).")],
    profile: ProfileOpt = "demo",
    overrides: SetOpt = None,
) -> None:
    """Print the fully resolved config of an experiment as JSON."""
    import dataclasses

    from hopfield_lab.experiments import get_experiment
    from hopfield_lab.experiments.base import resolve_config

    cfg = resolve_config(get_experiment(experiment), profile, overrides or [])
    _print_json({"experiment": experiment, "profile": profile, **dataclasses.asdict(cfg)})


@app.command("run")
def run(
    experiment: Annotated[str, typer.Argument(help="Experiment name (see `list`).")],
    profile: ProfileOpt = "demo",
    overrides: SetOpt = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Root of run directories.")] = Path(
        "runs"
    ),
    name: Annotated[str | None, typer.Option(help="Run directory name.")] = None,
    force: Annotated[
        bool,
        typer.Option(
            help="Delete an existing run of that name (cells, checkpoints) and recompute. "
            "Not needed to redraw: a finished run's report is redrawn on every run or report."
        ),
    ] = False,
    executor: Annotated[str, typer.Option(help="local | ray")] = "local",
    device: Annotated[str, typer.Option(help="cpu | cuda | cuda:N")] = "cpu",
    progress: Annotated[bool, typer.Option(help="Show progress bars.")] = True,
    as_json: JsonOpt = False,
) -> None:
    """Run one experiment (resuming or skipping finished work) and write its report."""
    from hopfield_lab.experiments import RunContext, run_experiment
    from hopfield_lab.experiments.base import plan_run, what_was_kept

    ctx = RunContext(executor=executor, device=device, progress=progress and not as_json)
    plan = plan_run(experiment, profile, overrides or [], out=out, run_name=name, ctx=ctx)
    try:
        outcome = run_experiment(experiment, plan=plan, force=force)
    except KeyboardInterrupt:
        raise _Interrupted(f"interrupted: {what_was_kept(plan.path)}") from None
    payload = {
        "run_dir": str(outcome.run_dir.path),
        "report": str(outcome.run_dir.report_path),
        "skipped": outcome.skipped,
        "results": outcome.results,
    }
    if as_json:
        _print_json(payload)
        return
    if outcome.skipped:
        _out.print(f"[yellow]already complete[/]: {outcome.run_dir.path} (report rebuilt)")
    _print_results(outcome.results)
    _out.print(f"report: {outcome.run_dir.report_path}")


_MAX_VALUE_CHARS = 400
"""Longer result values (histograms, curves) are cut on screen; results.json has them whole."""


def _print_results(results: dict[str, Any]) -> None:
    table = RichTable(show_header=False, box=None)
    for key, value in results.items():
        if key in {"status", "timestamp"}:
            continue
        text = json.dumps(value, ensure_ascii=False) if isinstance(value, dict) else str(value)
        if len(text) > _MAX_VALUE_CHARS:
            text = text[:_MAX_VALUE_CHARS] + f" ... ({len(text)} characters; see results.json)"
        table.add_row(escape(key), escape(text))  # values are data, not rich markup
    _out.print(table)


@app.command("report")
def report(
    directory: Annotated[Path, typer.Argument(help="A run directory, or a root of runs.")],
    as_json: JsonOpt = False,
) -> None:
    """Redraw tables, figures and report.html from the artifacts on disk (no recomputation)."""
    from hopfield_lab.errors import ConfigError, RunLockedError, warn_artifact
    from hopfield_lab.experiments.base import report_run, sort_runs
    from hopfield_lab.runs import build_index

    if not directory.is_dir():
        raise ConfigError(f"directory {str(directory)!r} does not exist or is not a directory")
    if (directory / "config.json").is_file():
        path = report_run(directory)
        runs = [directory]
    else:
        runs = sort_runs([p.parent for p in directory.glob("*/*/config.json")])
        if not runs:
            raise ConfigError(
                f"directory {str(directory)!r} holds no run (no config.json in it or in "
                "<experiment>/<name>/ below it)"
            )
        for r in runs:
            try:
                report_run(r)
            except RunLockedError as exc:  # a run in progress: show it as it is, redraw nothing
                warn_artifact(f"{exc}; its section shows its artifacts as they are")
        path = build_index(directory, runs, title="hopfield-lab runs")
    if as_json:
        _print_json({"report": str(path), "runs": [str(r) for r in runs]})
    else:
        _out.print(f"report: {path} ({len(runs)} run(s))")


@app.command("demo")
def demo(
    out: Annotated[Path, typer.Option("--out", "-o", help="Root of run directories.")] = Path(
        "runs"
    ),
    force: Annotated[bool, typer.Option(help="Recompute finished demo runs.")] = False,
    jobs: Annotated[
        int | None,
        typer.Option(help="Worker processes (default: the usable cores, at most 8)."),
    ] = None,
    progress: Annotated[bool, typer.Option(help="Show progress bars (with --jobs 1).")] = True,
    as_json: JsonOpt = False,
) -> None:
    """Run every experiment's demo profile and write one combined report."""
    from hopfield_lab.experiments.base import check_out_dir, ordered_experiments
    from hopfield_lab.experiments.demo import DemoRun, run_demos
    from hopfield_lab.runs import build_index

    check_out_dir("out", out)
    start = time.perf_counter()
    names = [e.name for e in ordered_experiments()]

    def done(run: DemoRun) -> None:
        if not as_json:
            state = "already complete" if run.skipped else f"{run.seconds:.1f} s"
            _out.print(f"[bold]demo[/]: {run.experiment} ({state})")
            _print_results(run.results)

    try:
        runs = run_demos(
            names, out, force=force, jobs=jobs, progress=progress and not as_json, on_done=done
        )
    except KeyboardInterrupt:
        raise _Interrupted(
            f"interrupted: the demo runs finished so far are kept under {out}; run the same "
            "command again to finish (finished runs are skipped)"
        ) from None
    index = build_index(out, [r.run_dir for r in runs], title="hopfield-lab demo")
    total = round(time.perf_counter() - start, 2)
    if as_json:
        summary = [
            {
                "experiment": r.experiment,
                "seconds": r.seconds,
                "cpu_seconds": r.cpu_seconds,
                "skipped": r.skipped,
                "run_dir": str(r.run_dir),
            }
            for r in runs
        ]
        _print_json({"report": str(index), "seconds": total, "runs": summary})
    else:
        _out.print(f"demo finished in {total:.1f} s; combined report: {index}")


@app.command("bench")
def bench(
    names: Annotated[
        list[str] | None, typer.Argument(help="Benchmarks to run (default: all).")
    ] = None,
    quick: Annotated[
        bool, typer.Option(help="Smaller sizes (about 1 min of CPU; 2-4 min of wall time, busy).")
    ] = False,
    device: Annotated[str, typer.Option(help="cpu | cuda")] = "cpu",
    threads: Annotated[int, typer.Option(help="torch intra-op threads.")] = 1,
    as_json: JsonOpt = False,
) -> None:
    """Run benchmarks side by side and print ratios (ours vs the obvious alternative)."""
    from hopfield_lab.benchmarks import format_results, run_benchmarks

    check_device("device", device)
    results = run_benchmarks(names or None, quick=quick, device=device, threads=threads)
    if as_json:
        _print_json(results)
    else:
        typer.echo(format_results(results))


# --- theory ----------------------------------------------------------------------------------

theory_app = typer.Typer(
    help="Mean-field theory (notes ch. 2): Curie-Weiss solutions and Hopfield mixture states.",
)
app.add_typer(theory_app, name="theory")


@theory_app.callback(invoke_without_command=True)
def _theory(ctx: typer.Context) -> None:
    """Mean-field theory (notes ch. 2): Curie-Weiss solutions and Hopfield mixture states."""
    if ctx.invoked_subcommand is None:  # bare `theory`: show its help, exit 0
        typer.echo(ctx.get_help())
        raise typer.Exit(0)


def _fmt(value: float) -> str:
    return f"{value:.10g}"


@theory_app.command("curie-weiss")
def theory_curie_weiss(
    beta: Annotated[float, typer.Option("--beta", help="Inverse temperature beta = 1/T (> 0).")],
    J: Annotated[float, typer.Option("--J", help="Coupling J (T_c = J).")] = 1.0,
    h: Annotated[float, typer.Option("--h", help="External field h.")] = 0.0,
    as_json: JsonOpt = False,
) -> None:
    """Solve m = tanh(beta (J m + h)): every root, its free energy f(m) and stability."""
    from hopfield_lab.theory import solve_curie_weiss

    sol = solve_curie_weiss(beta, J, h)
    if as_json:
        _print_json(sol.as_dict())
        return
    table = RichTable(
        title=f"Curie-Weiss, beta = {beta:g} (T = {sol.temperature:.6g}), J = {J:g}, h = {h:g}"
    )
    for col in ("m", "f(m)", "f''(m)", "stable", "equilibrium"):
        table.add_column(col, justify="right")
    for m, f, c, st in zip(sol.roots, sol.free_energies, sol.curvatures, sol.stable, strict=True):
        eq = m == sol.magnetization or (sol.degenerate and f <= sol.free_energy + 1e-13)
        table.add_row(_fmt(m), _fmt(f), _fmt(c), "yes" if st else "no", "*" if eq else "")
    _out.print(table)
    phase = "ordered (T < T_c)" if sol.temperature < sol.critical_temperature else "disordered"
    _out.print(
        f"T_c = {sol.critical_temperature:g}; {phase}; susceptibility dm/dh = "
        f"{_fmt(sol.susceptibility)}" + ("; two degenerate minima +-m*" if sol.degenerate else "")
    )


@theory_app.command("hopfield-mixture")
def theory_hopfield_mixture(
    n: Annotated[int, typer.Option("--n", help="Number of mixed patterns (1 = pure state).")],
    temperature: Annotated[float, typer.Option("--temperature", "-T", help="T >= 0.")],
    patterns: Annotated[
        int | None,
        typer.Option("--patterns", "-P", help="Stored patterns P >= n (default: P > n)."),
    ] = None,
    threshold: Annotated[
        bool, typer.Option(help="Also compute the stability temperature T_n (root finding).")
    ] = True,
    as_json: JsonOpt = False,
) -> None:
    """Symmetric n-mixture m = m_n (1..1, 0..0): overlap, free energy, Hessian stability."""
    from hopfield_lab.theory import mixture_critical_temperature, solve_mixture

    state = solve_mixture(n, temperature, patterns)
    payload = state.as_dict()
    if threshold:
        th = mixture_critical_temperature(n, include_uninvolved=patterns is None or patterns > n)
        payload["critical_temperature"] = th.critical_temperature
        payload["unstable_direction"] = th.unstable_direction
    if as_json:
        _print_json(payload)
        return
    table = RichTable(title=f"Hopfield {n}-mixture at T = {temperature:g} (low load)")
    table.add_column("quantity")
    table.add_column("value", justify="right")
    table.add_row("overlap m_n", _fmt(state.overlap))
    table.add_row("exists (m_n > 0)", "yes" if state.exists else "no (T >= 1)")
    table.add_row("free energy f_n", _fmt(state.free_energy))
    for key, label in (("sym", "symmetric"), ("anti", "involved, antisym."), ("out", "uninvolved")):
        mult = state.multiplicities[key]
        if key == "anti" and n == 1:
            continue
        if key == "out" and mult == 0:
            continue
        times = "P - n" if mult is None else str(mult)
        table.add_row(f"eigenvalue {label} (x{times})", _fmt(state.eigenvalues[key]))
    table.add_row("stable (local minimum)", "yes" if state.stable else "no")
    if threshold:
        table.add_row("stable below T_n", _fmt(payload["critical_temperature"]))
    _out.print(table)


def _log_unexpected(exc: BaseException, argv: list[str]) -> Path | None:
    """Save the traceback of an unexpected error; return the log's path (None if unwritable).

    The log goes to ``<run dir>/logs/`` when the error happened inside a run (the run marks
    the exception), else to ``<tmp>/hopfield-lab-logs/``.
    """
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    stamp = time.strftime("%Y%m%d-%H%M%S")
    places = []
    run_dir = getattr(exc, "hopfield_lab_run_dir", None)
    if isinstance(run_dir, str) and Path(run_dir).is_dir():
        places.append(Path(run_dir) / "logs")
    places.append(Path(tempfile.gettempdir()) / "hopfield-lab-logs")
    for place in places:
        try:
            place.mkdir(parents=True, exist_ok=True)
            path = place / f"error-{stamp}-{os.getpid()}.log"
            path.write_text(f"hopfield-lab {' '.join(argv)}\n\n{text}", encoding="utf-8")
            return path
        except OSError:
            continue
    return None


def _one_line(text: str, limit: int = 300) -> str:
    """The first line of ``text``, cut to ``limit`` characters."""
    lines = text.strip().splitlines()
    first = lines[0] if lines else ""
    return first if len(first) <= limit else first[: limit - 3] + "..."


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the app; every outcome is one line on stderr and an exit code.

    Returns:
        0 done, 2 user error, 3 divergence, 1 unexpected error (traceback in a log file),
        130 interrupted.
    """
    configure_threads()  # one intra-op thread unless OMP_NUM_THREADS / HOPFIELD_LAB_THREADS
    command = typer.main.get_command(app)
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        argv = ["--help"]
    try:
        code = command.main(args=argv, prog_name="hopfield-lab", standalone_mode=False)
    except DivergenceError as exc:
        typer.echo(f"error: diverged: {_one_line(str(exc), 600)}", err=True)
        return 3
    except HopfieldLabError as exc:
        typer.echo(f"error: {_one_line(str(exc), 600)}", err=True)
        return 2
    except ClickException as exc:
        message = exc.format_message()  # type: ignore[attr-defined]
        typer.echo(f"error: {_one_line(message, 600)}", err=True)
        return 2
    except _Interrupted as exc:
        typer.echo(str(exc), err=True)
        return 130
    except (Abort, KeyboardInterrupt):
        typer.echo("interrupted: stopped before the command finished", err=True)
        return 130
    except Exception as exc:
        log = _log_unexpected(exc, argv)
        where = f"the traceback is in {log}" if log else "no log could be written"
        typer.echo(
            f"error: unexpected {type(exc).__name__}: {_one_line(str(exc), 300)} ({where}; "
            "please report it)",
            err=True,
        )
        return 1
    if isinstance(code, int) and not isinstance(code, bool) and code != 0:
        if code == 130:  # typer turns Ctrl-C outside a run into Exit(130)
            typer.echo("interrupted: stopped before the command finished", err=True)
        return code
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
