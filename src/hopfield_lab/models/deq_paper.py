"""The DEQ paper's configurations of the layered Hopfield network (Sec. 4, Table 2, App. F).

Each row of Table 2 is a :class:`~hopfield_lab.models.layered.LayeredHopfield` of one kind
(HAM or CHN), solved with one update scheme (synchronous or even-odd) and one solver (Picard
or Anderson), the synchronous CHN damped. App. F and hopdeq's ``sweep.py`` fix the rest:

* layer sizes and Madam learning rates per depth (:data:`ARCHITECTURES`);
* forward ``40 s`` and recurrent-backprop ``8 s`` iterations with
  ``s = (n_layers // 2) / (1 - damping)`` (budgets doubled with damping 0.5); relative
  residual 1e-4; Anderson window 4, Tikhonov 1e-10;
* Anderson's safeguard: hopdeq's rule (:data:`PAPER_SAFEGUARD`, ``"proxy"``: keep the
  extrapolation ``x~`` when ``|g_last - x~| / |x~| < |g_last - x_last| / |x_last|``, else the
  Picard step) produced the paper's numbers; a variant ``"NAME@rule"`` runs NAME's solver with
  another safeguard of :func:`~hopfield_lab.solvers.fixed_point` (``"residual"``: a decaying
  residual bound with history restarts and the HAM energy as merit, see
  :class:`~hopfield_lab.models.layered.DEQSettings`). Our Tikhonov term is relative to the mean
  of ``diag(F F^T)``; hopdeq's 1e-10 is absolute;
* "state updates" count the ``2 x 10`` local iterations of one CHN even-odd iteration
  (Table 2's footnote).

The paper's Table 2 is :data:`TABLE2`; :func:`row_name`, :func:`base_row`, :func:`sync_twin`
and :func:`paper_numbers` name the rows of a reproduction of it and relate them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hopfield_lab.errors import ConfigError, check_choice
from hopfield_lab.models.layered import DEQSettings
from hopfield_lab.solvers.options import SAFEGUARDS

__all__ = [
    "ARCHITECTURES",
    "HAM_ORDER",
    "MODELS",
    "PAPER_SAFEGUARD",
    "TABLE2",
    "ModelSpec",
    "base_row",
    "cost_per_iteration",
    "paper_numbers",
    "row_name",
    "settings_for",
    "split_variant",
    "sync_twin",
]

ARCHITECTURES: dict[int, tuple[list[int], float]] = {
    3: ([784, 1990, 10], 0.01),
    5: ([784, 1280, 510, 200, 10], 0.005),
    7: ([784, 1024, 512, 256, 128, 70, 10], 0.005),
}
"""Depth -> (layer sizes, Madam learning rate), App. F."""

PAPER_SAFEGUARD = "proxy"
"""Anderson safeguard of hopdeq (the paper's code)."""


@dataclass(frozen=True)
class ModelSpec:
    """One configuration of Table 2: Hopfield kind, update scheme, solver, damping."""

    kind: str
    scheme: str
    solver: str
    damping: float


MODELS: dict[str, ModelSpec] = {
    "CHN": ModelSpec("chn", "sync", "picard", 0.5),
    "CHN-DEQ": ModelSpec("chn", "sync", "anderson", 0.5),
    "CHN-EO": ModelSpec("chn", "even_odd", "picard", 0.0),
    "CHN-EO-DEQ": ModelSpec("chn", "even_odd", "anderson", 0.0),
    "HAM": ModelSpec("ham", "sync", "picard", 0.0),
    "HAM-DEQ": ModelSpec("ham", "sync", "anderson", 0.0),
    "HAM-EO": ModelSpec("ham", "even_odd", "picard", 0.0),
    "HAM-EO-DEQ": ModelSpec("ham", "even_odd", "anderson", 0.0),
}
"""Table 2's rows by name."""

HAM_ORDER = ("HAM", "HAM-DEQ", "HAM-EO", "HAM-EO-DEQ")
"""The HAM rows in the paper's order of decreasing iterations."""

# (depth, row) -> (iterations, iterations std, speedup, accuracy %, accuracy std)
TABLE2: dict[tuple[int, str], tuple[float, float, float, float, float]] = {
    (3, "CHN (10 epochs)"): (75.5, 2.1, 0.5, 97.9, 0.1),
    (3, "CHN (3 epochs)"): (39.1, 3.8, 1.0, 97.0, 0.2),
    (3, "CHN-DEQ"): (20.6, 0.2, 1.9, 97.2, 0.3),
    (3, "CHN-EO"): (16.8, 0.5, 0.1, 97.1, 0.1),
    (3, "CHN-EO-DEQ"): (16.2, 1.0, 0.1, 97.1, 0.2),
    (3, "HAM"): (11.9, 0.4, 1.0, 97.9, 0.0),
    (3, "HAM-DEQ"): (9.9, 0.3, 1.2, 97.9, 0.1),
    (3, "HAM-EO"): (8.0, 0.2, 1.5, 97.9, 0.1),
    (3, "HAM-EO-DEQ"): (6.6, 0.2, 1.8, 97.9, 0.1),
    (5, "HAM"): (36.0, 1.8, 1.0, 97.1, 0.1),
    (5, "HAM-DEQ"): (33.0, 0.6, 1.1, 97.1, 0.2),
    (5, "HAM-EO"): (18.3, 0.5, 2.0, 97.1, 0.1),
    (5, "HAM-EO-DEQ"): (17.7, 0.3, 2.0, 97.1, 0.1),
    (7, "HAM"): (67.1, 2.9, 1.0, 95.6, 0.2),
    (7, "HAM-DEQ"): (56.0, 1.4, 1.2, 95.6, 0.1),
    (7, "HAM-EO"): (32.2, 0.8, 2.1, 95.5, 0.2),
    (7, "HAM-EO-DEQ"): (31.0, 1.0, 2.2, 95.5, 0.2),
}
"""The paper's Table 2: ``(depth, row) -> (iterations, its std, speedup, accuracy %, its std)``
over 5 seeds (the CHN rows after 10 and 3 epochs; the paper's CHN-EO was trained for 4 epochs
only: it became unstable in the 5th)."""


def settings_for(model: str, depth: int, tol: float = 1e-4, **extra: Any) -> DEQSettings:
    """The paper's solver settings for ``model`` at ``depth`` layers (App. F, ``sweep.py``).

    Args:
        model: a name of :data:`MODELS`. depth: 3, 5 or 7.
        tol: relative-residual criterion. Default 1e-4 (the paper's).
        **extra: DEQSettings or solver fields to change (e.g. ``safeguard``).

    Returns:
        The settings: scheme, Picard (damped 0.5 for the synchronous CHN) or Anderson, forward
        and backward budgets ``40 s`` and ``8 s``.

    Raises:
        ConfigError: unknown model or depth, or a bad extra field.
    """
    check_choice("model", model, tuple(MODELS))
    check_choice("depth", depth, tuple(ARCHITECTURES))
    spec = MODELS[model]
    scale = int((depth // 2) / (1.0 - spec.damping))
    plain = "damped" if spec.damping > 0 else "picard"
    return DEQSettings.of(
        scheme=spec.scheme,
        method="anderson" if spec.solver == "anderson" else plain,
        damping=spec.damping,
        max_iter=40 * scale,
        backward_max_iter=8 * scale,
        tol=tol,
        **extra,
    )


def split_variant(name: str) -> tuple[str, str | None]:
    """``"HAM-DEQ@residual" -> ("HAM-DEQ", "residual")``; ``"HAM" -> ("HAM", None)``.

    Raises:
        ConfigError: unknown model or safeguard, or a safeguard on a non-Anderson model.
    """
    model, sep, rule = name.partition("@")
    check_choice("model", model, tuple(MODELS))
    if not sep:
        return model, None
    check_choice("safeguard", rule, SAFEGUARDS)
    if MODELS[model].solver != "anderson":
        raise ConfigError(f"model {name!r}: a safeguard variant needs an Anderson model")
    return model, rule


def cost_per_iteration(model: str, inner_iters: int = 10) -> int:
    """State updates per DEQ iteration: ``2 inner_iters`` for the CHN even-odd, else 1."""
    spec = MODELS[split_variant(model)[0]]
    return 2 * inner_iters if (spec.kind == "chn" and spec.scheme == "even_odd") else 1


def row_name(variant: str) -> str:
    """The table row of an evaluated solver: ``"HAM-DEQ@residual" -> "HAM-DEQ [residual
    safeguard]"``; a plain name is its own row."""
    model, _, rule = variant.partition("@")
    return f"{model} [{rule} safeguard]" if rule else model


def base_row(model: str, epochs: int, short_epochs: int) -> str:
    """The row a model's speedup in state updates is measured against (Table 2): ``"HAM"`` for
    a HAM; for a CHN, the CHN after ``short_epochs`` (the paper's ``"CHN (3 epochs)"``), or
    after ``epochs`` when no short stage ran (``short_epochs`` not in ``(0, epochs)``)."""
    if MODELS[split_variant(model)[0]].kind == "ham":
        return "HAM"
    short = 0 < short_epochs < epochs
    return f"CHN ({short_epochs if short else epochs} epochs)"


def sync_twin(row: str, model: str, epochs: int) -> str | None:
    """The synchronous row with the same solver as the even-odd ``row`` of ``model`` (the CHN's
    is its row after ``epochs``); ``None`` for a synchronous model."""
    if MODELS[split_variant(model)[0]].scheme != "even_odd":
        return None
    twin = row.replace("-EO", "")
    return f"CHN ({epochs} epochs)" if twin == "CHN" else twin


def paper_numbers(depth: int, row: str) -> tuple[float, float, float, float, float] | None:
    """The paper's numbers of a row (:data:`TABLE2`); ``None`` for rows the paper lacks. A CHN
    row ``"CHN"`` or ``"CHN (N epochs)"`` reads the paper's 10-epoch CHN unless ``N = 3``."""
    chn = row == "CHN" or (row.startswith("CHN (") and "3 epochs" not in row)
    return TABLE2.get((depth, "CHN (10 epochs)" if chn else row))
