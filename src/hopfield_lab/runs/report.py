"""Self-contained HTML reports rebuilt purely from a run directory's artifacts.

Nothing is recomputed: the report reads ``about.json``, ``config.json``, ``results.json``,
``metrics.jsonl``, ``tables/*.csv`` (with their ``.meta.json`` captions) and ``figures/*.png``,
so it can be rebuilt at any time, also for a run that is still going or was interrupted. The
HTML has inline CSS, figures embedded as base64 PNGs, no JavaScript and no external assets: one
file to mail around.

A run's section reads top to bottom as a researcher asks: what it reproduces (title, paper,
figure) and under which protocol (``about.json``'s note says when a demo or quick profile is not
the paper's protocol and what to run for it), the headline table (the paper's claim), the
figures, the other tables in the order the report wrote them, then the raw results, metrics and
config. Check tables (``quantity, claim, ours, margin, holds``) colour their verdict.

Reports render what they can: an artifact that cannot be read (not UTF-8, not valid JSON, a
malformed CSV, an unreadable figure) is left out and listed in a "could not read" box at the top
of the run's section, with the reason, instead of failing the whole report. A run whose
``about.json`` records problems of its own (``"problems"``: e.g. its tables could not be redrawn
because a cell is corrupt) lists those too.

``build_index`` puts several runs on one page, grouped by paper (``about.json``'s ``paper``),
with a table of contents and wall times, using the same per-run rendering as ``build_report``.
"""

from __future__ import annotations

import base64
import html
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hopfield_lab.errors import ArtifactError, DataError, warn_artifact
from hopfield_lab.runs.io import atomic_write_text, read_json
from hopfield_lab.runs.rundir import RunDir
from hopfield_lab.runs.table import MISSING, Table, format_cell

__all__ = ["build_index", "build_report", "read_about", "render_run_section"]

_HEADER_KEYS = ("status", "profile", "timestamp", "wall_time_s")

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2rem auto;
       max-width: 72rem; padding: 0 1rem; color: #1d1d1f; line-height: 1.45; }
h1 { font-size: 1.6rem; border-bottom: 2px solid #ddd; padding-bottom: .3rem; }
h2 { font-size: 1.3rem; margin-top: 2.2rem; }
h3 { font-size: 1.1rem; margin-top: 1.6rem; }
.meta { color: #555; font-size: .95rem; }
.status-complete { color: #1a7f37; font-weight: 600; }
.status-other { color: #b35900; font-weight: 600; }
table { border-collapse: collapse; margin: .6rem 0 1.2rem; font-size: .92rem; }
caption { caption-side: top; text-align: left; color: #444; padding-bottom: .3rem; }
p.caption { color: #444; max-width: 60rem; margin: 1rem 0 .3rem; font-size: .92rem; }
th, td { border: 1px solid #d0d7de; padding: .25rem .6rem; text-align: left; }
th { background: #f6f8fa; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.holds { color: #1a7f37; font-weight: 600; }
td.fails { color: #cf222e; font-weight: 600; background: #ffebe9; }
table.headline { border: 2px solid #57606a; }
.note { background: #f6f8fa; border-left: 4px solid #0969da; padding: .5rem .8rem;
        margin: .6rem 0 1rem; font-size: .95rem; }
.note.demo { border-left-color: #bf8700; }
.unreadable { background: #ffebe9; border-left: 4px solid #cf222e; padding: .5rem .8rem;
              margin: .6rem 0 1rem; font-size: .95rem; }
figure { display: inline-block; margin: .5rem 1rem 1rem 0; vertical-align: top; }
figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { font-size: .85rem; color: #555; text-align: center; }
pre { background: #f6f8fa; padding: .8rem; overflow-x: auto; font-size: .85rem; }
details { margin: .6rem 0; }
summary { cursor: pointer; color: #0550ae; }
section.run { margin-bottom: 3rem; }
""".strip()


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _format_seconds(seconds: Any) -> str:
    try:
        total = float(seconds)
    except (TypeError, ValueError):
        return str(seconds)
    if total < 60:
        return f"{total:.1f} s"
    minutes, secs = divmod(round(total), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _read_optional_json(path: Path) -> Any:
    return read_json(path) if path.exists() else None


def _tolerant(problems: list[str], read: Any, *args: Any) -> Any:
    """``read(*args)``, or None after adding the reason to ``problems`` if it cannot be read."""
    try:
        return read(*args)
    except (ArtifactError, DataError, OSError) as err:
        problems.append(str(err))
        return None


def _render_problems(problems: list[str]) -> str:
    if not problems:
        return ""
    items = "".join(f"<li>{_e(p)}</li>" for p in problems)
    return (
        '<div class="unreadable"><strong>Could not read (left out of this report):</strong>'
        f"<ul>{items}</ul></div>"
    )


def _render_table(table: Table) -> str:
    verdict_col = table.columns.index("holds") if "holds" in table.columns else None
    head = "".join(f"<th>{_e(c)}</th>" for c in table.columns)
    body = []
    for row, shown in zip(table.rows, table.formatted_rows(), strict=True):
        cells = []
        for i, (value, text) in enumerate(zip(row, shown, strict=True)):
            classes = ["num"] if _is_number(value) else []
            if i == verdict_col and value in ("holds", "fails"):
                classes.append(str(value))
            attr = f' class="{" ".join(classes)}"' if classes else ""
            cells.append(f"<td{attr}>{_e(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    caption = f'<p class="caption">{_e(table.caption)}</p>' if table.caption else ""
    cls = ' class="headline"' if table.headline else ""
    return (
        f'<div class="table">{caption}<table id="table-{_e(table.name)}"{cls}>'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"
    )


def _render_key_values(record: dict[str, Any], caption: str = "") -> str:
    rows = []
    for key, value in record.items():
        cls = ' class="num"' if _is_number(value) else ""
        shown = format_cell(value) if value is None or _is_number(value) else value
        if isinstance(shown, (dict, list)):
            shown = json.dumps(shown)
        rows.append(f"<tr><th>{_e(key)}</th><td{cls}>{_e(shown)}</td></tr>")
    cap = f"<caption>{_e(caption)}</caption>" if caption else ""
    return f"<table>{cap}<tbody>{''.join(rows)}</tbody></table>"


def _render_header(results: dict[str, Any] | None, config: dict[str, Any] | None) -> str:
    parts = []
    if results is None:
        parts.append('status: <span class="status-other">no results.json yet</span>')
    else:
        status = results.get("status", "unknown")
        cls = "status-complete" if status == "complete" else "status-other"
        parts.append(f'status: <span class="{cls}">{_e(status)}</span>')
    profile = (results or {}).get("profile", (config or {}).get("profile"))
    if profile is not None:
        parts.append(f"profile: {_e(profile)}")
    if results and results.get("timestamp") is not None:
        parts.append(f"timestamp: {_e(results['timestamp'])}")
    if results and results.get("wall_time_s") is not None:
        parts.append(f"wall time: {_e(_format_seconds(results['wall_time_s']))}")
    return '<p class="meta">' + " &middot; ".join(parts) + "</p>"


def _pretty_json(obj: Any) -> str:
    return json.dumps(obj, indent=2, ensure_ascii=False)


def read_about(run_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """The run's ``about.json`` (title, paper, profile note, artifact order), or ``{}``.

    Raises:
        ArtifactError: if the file exists but is unreadable or does not hold a JSON object.
    """
    path = RunDir(run_dir).about_path
    return read_json(path, expect=dict) if path.exists() else {}


def _ordered(names: list[str], order: Any) -> list[str]:
    """``names`` in the order given by ``order`` (a list), the others after it, sorted."""
    first = [n for n in order if n in names] if isinstance(order, list) else []
    return first + sorted(n for n in names if n not in first)


def render_run_section(
    run_dir: str | os.PathLike[str], *, anchor: str = "run", heading_level: int = 1
) -> str:
    """Render one run directory as an HTML ``<section>`` (the body of its report).

    Args:
        run_dir: the run directory ``<root>/<experiment>/<name>/``.
        anchor: the section's HTML id (used by the index's table of contents). Default "run".
        heading_level: level of the run's title heading, 1 or 2; sub-headings go one deeper.
            Default 1.

    Returns:
        The HTML fragment, every text escaped; artifacts that cannot be read are listed in a
        "could not read" box instead.

    Raises:
        DataError: if ``run_dir`` is not a directory.
    """
    run = RunDir(run_dir)
    if not run.path.is_dir():
        raise DataError(f"run directory {run.path} does not exist")
    h, sub = f"h{heading_level}", f"h{heading_level + 1}"
    problems: list[str] = []
    config = _tolerant(problems, lambda: run.read_config() if run.config_path.exists() else None)
    results = _tolerant(problems, lambda: run.read_results() if run.results_path.exists() else None)
    about = _tolerant(problems, read_about, run.path) or {}
    recorded = about.get("problems")
    recorded = [str(p) for p in recorded] if isinstance(recorded, list) else []

    out = [f'<section class="run" id="{_e(anchor)}">']
    title = about.get("title")
    heading = f"{run.experiment} / {run.name}"
    out.append(f"<{h}>{_e(heading)}" + (f": {_e(title)}" if title else "") + f"</{h}>")
    source = [str(about[k]) for k in ("paper_title", "section", "figure") if about.get(k)]
    if source:
        out.append(f'<p class="meta">reproduces: {_e(" · ".join(source))}</p>')
    out.append(_render_header(results, config))
    if about.get("note"):
        kind = "note" if about.get("profile") == "paper" else "note demo"
        out.append(f'<div class="{kind}">{_e(about["note"])}</div>')
    problems_at = len(out)  # the box goes here, once every artifact has been tried

    table_names = [p.stem for p in run.tables_dir.glob("*.csv")] if run.tables_dir.is_dir() else []
    loaded = [_tolerant(problems, Table.from_csv, run.tables_dir / f"{n}.csv") for n in table_names]
    by_name = {t.name: t for t in loaded if t is not None}
    order = _ordered(list(by_name), about.get("tables"))
    headline = [by_name[n] for n in order if by_name[n].headline]
    others = [by_name[n] for n in order if not by_name[n].headline]
    if headline:
        out.append(f"<{sub}>Headline</{sub}>")
        out += [_render_table(t) for t in headline]

    figure_names = (
        [p.stem for p in run.figures_dir.glob("*.png")] if run.figures_dir.is_dir() else []
    )
    figures = []
    for name in _ordered(figure_names, about.get("figures")):
        path = run.figures_dir / f"{name}.png"
        data = _tolerant(problems, _read_png, path)
        if data is not None:
            figures.append(
                f'<figure><img src="data:image/png;base64,{data}" alt="{_e(path.name)}">'
                f"<figcaption>{_e(path.name)}</figcaption></figure>"
            )
    if figures:
        out.append(f"<{sub}>Figures</{sub}>")
        out += figures
    if others:
        out.append(f"<{sub}>Tables</{sub}>")
        out += [_render_table(t) for t in others]

    if results:
        scalars = {
            k: v
            for k, v in results.items()
            if k not in _HEADER_KEYS and (v is None or isinstance(v, (str, int, float, bool)))
        }
        if scalars:
            out.append(f"<{sub}>Results</{sub}>")
            out.append(_render_key_values(scalars))
        out.append(
            "<details><summary>results.json</summary>"
            f"<pre>{_e(_pretty_json(results))}</pre></details>"
        )

    records = _tolerant(problems, run.read_metrics) if run.metrics_path.exists() else None
    if records is not None:
        out.append(f"<{sub}>Metrics</{sub}>")
        noun = "record" if len(records) == 1 else "records"
        out.append(f'<p class="meta">metrics.jsonl: {len(records)} {noun}</p>')
        if records and isinstance(records[-1], dict):
            out.append(_render_key_values(records[-1], caption="last record"))

    if config is not None:
        out.append(
            "<details><summary>Resolved config (config.json)</summary>"
            f"<pre>{_e(_pretty_json(config))}</pre></details>"
        )
    for problem in problems:
        warn_artifact(f"{problem}; marked as unreadable in the report")
    out.insert(problems_at, _render_problems(recorded + problems))
    out.append("</section>")
    return "\n".join(out)


_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _read_png(path: Path) -> str:
    """The PNG file as base64; ArtifactError if it cannot be read or is not a PNG."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise ArtifactError(f"cannot read {path}: {err.strerror or err}", path=path) from err
    if not data.startswith(_PNG_MAGIC):
        raise ArtifactError(f"{path} is not a PNG image", path=path)
    return base64.b64encode(data).decode("ascii")


def _page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)}</title>\n<style>\n{_CSS}\n</style>\n</head>\n<body>\n"
        f"{body}\n</body>\n</html>\n"
    )


def build_report(run_dir: str | os.PathLike[str]) -> Path:
    """Rebuild ``report.html`` of one run from its artifacts on disk.

    Args:
        run_dir: the run directory ``<root>/<experiment>/<name>/``.

    Returns:
        The path of the written ``report.html`` (written atomically).

    Raises:
        DataError: if ``run_dir`` is not a directory (unreadable artifacts are marked in the
            report instead).
    """
    run = RunDir(run_dir)
    section = render_run_section(run.path, anchor="run", heading_level=1)
    page = _page(f"{run.experiment} / {run.name}", section)
    return atomic_write_text(run.report_path, page)


def build_index(
    root: str | os.PathLike[str], run_dirs: Sequence[str | os.PathLike[str]], title: str
) -> Path:
    """Write ``<root>/report.html`` with the reports of several runs on one page.

    Runs are grouped by paper (``about.json``'s ``paper_title``; runs without one under
    "Other runs"), groups in order of first appearance, runs in the given order within a
    group. The page starts with a table of contents (run, what it reproduces, status, wall time
    from ``results.json``'s ``"wall_time_s"``), followed by one section per run rendered
    exactly as in ``build_report``.

    Args:
        root: where ``report.html`` is written (e.g. the runs root).
        run_dirs: the run directories, in the order they should appear within their paper.
        title: the page title.

    Returns:
        The path of the written ``report.html`` (written atomically).

    Raises:
        DataError: if a run directory does not exist (unreadable artifacts are marked in the
            run's section instead).
    """
    groups: dict[str, list[RunDir]] = {}
    for run_dir in run_dirs:
        run = RunDir(run_dir)
        about = _tolerant([], read_about, run.path) or {}
        paper = str(about.get("paper_title") or "Other runs")
        groups.setdefault(paper, []).append(run)
    toc, sections = [], []
    total_wall = 0.0
    count = 0
    for paper, runs in groups.items():
        rows = []
        sections.append(f"<h2>{_e(paper)}</h2>")
        for run in runs:
            count += 1
            anchor = f"run-{count}"
            sections.append(render_run_section(run.path, anchor=anchor, heading_level=3))
            unread: list[str] = []
            results = _tolerant(unread, _read_optional_json, run.results_path)
            results = results if isinstance(results, dict) else {}
            about = _tolerant([], read_about, run.path) or {}
            status = results.get(
                "status", "unreadable results.json" if unread else "no results.json yet"
            )
            wall = results.get("wall_time_s")
            if isinstance(wall, (int, float)) and not isinstance(wall, bool):
                total_wall += float(wall)
            wall_text = _format_seconds(wall) if wall is not None else MISSING
            what = about.get("figure") or MISSING
            rows.append(
                f'<tr><td><a href="#{anchor}">{_e(run.experiment)} / {_e(run.name)}</a></td>'
                f"<td>{_e(what)}</td><td>{_e(status)}</td>"
                f'<td class="num">{_e(wall_text)}</td></tr>'
            )
        toc.append(
            f"<table><caption>{_e(paper)}</caption><thead><tr><th>run</th><th>reproduces</th>"
            f"<th>status</th><th>wall time</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
        )
    body = [f"<h1>{_e(title)}</h1>", f'<p class="meta">{count} runs']
    if total_wall > 0:
        body[-1] += f" &middot; total wall time {_e(_format_seconds(total_wall))}"
    body[-1] += "</p>"
    body += ["<h2>Contents</h2>", *toc, *sections]
    return atomic_write_text(Path(root) / "report.html", _page(title, "\n".join(body)))
