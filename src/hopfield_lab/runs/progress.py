"""One progress-bar factory for every long loop (grid executors, training)."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

__all__ = ["progress_bar"]


def progress_bar(enabled: bool, *extra: ProgressColumn) -> Progress:
    """A rich progress bar on stderr, shown only when ``enabled`` and stderr is a terminal.

    Args:
        enabled: the caller's progress switch.
        *extra: columns inserted after the count (e.g. a running loss).
    """
    console = Console(stderr=True)
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        *extra,
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=not (enabled and console.is_terminal),
    )
