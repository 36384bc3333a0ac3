"""Statistics of a batch of modern Hopfield retrievals (notes ch. 3-4, Figs. 3.1-3.2, Sec. 4.4).

Every query runs the update ``xi <- X^T softmax(beta X xi)`` (Eq. 3.5) to a fixed point
``xi*`` (:meth:`~hopfield_lab.models.ModernHopfield.retrieve`); the softmax ``p =
softmax(beta X xi*)`` then says where it ended (:mod:`hopfield_lab.analysis.retrieval`):

* :func:`end_state_statistics`: the fractions of global-average, metastable and single-pattern
  end states (and of queries back at their own pattern), the quartiles of ``n_eff``, the
  distinct fixed points, and Prop. 3.2 (the energy never rises) and Lemma 3.2.1 (``E >= 0``)
  along every trajectory (:func:`~hopfield_lab.analysis.retrieval.descent_summary`);
* :func:`classification_statistics`: queries classified by the label of the pattern with the
  largest weight ``argmax_i p_i``, with ``n_eff`` and the fraction of fixed points inside some
  sphere ``S_i`` of Prop. 3.4.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor

from hopfield_lab.analysis.retrieval import (
    classify_end_states,
    count_distinct,
    descent_summary,
    effective_patterns,
)
from hopfield_lab.models.modern import ModernHopfield

__all__ = ["classification_statistics", "end_state_statistics"]

#: Short names of :data:`~hopfield_lab.analysis.retrieval.END_STATE_KINDS`, in code order.
_KEYS = ("global", "metastable", "single")


def end_state_statistics(
    model: ModernHopfield,
    queries: Tensor,
    sources: Tensor,
    *,
    single_threshold: float,
    global_fraction: float,
    tol: float,
    max_iter: int,
) -> tuple[dict[str, Any], Tensor, Tensor]:
    """Run every query to its fixed point (Picard, energy recorded) and say where it ended.

    Args:
        model: the network (its ``beta``). queries: ``(Q, N)`` start states.
        sources: ``(Q,)`` the index of the pattern each query was made from.
        single_threshold, global_fraction: the thresholds of
            :func:`~hopfield_lab.analysis.retrieval.classify_end_states`.
        tol: relative residual tolerance. max_iter: iteration budget.

    Returns:
        ``(stats, fixed points (Q, N), energies (T + 1, Q))``. ``stats`` holds ``frac_global``,
        ``frac_metastable``, ``frac_single``, ``frac_single_own`` (a single pattern, the
        query's own), ``n_eff_median``, ``n_eff_q25``, ``n_eff_q75``,
        ``distinct_fixed_points``, ``mean_steps``, ``not_converged``, ``energy_increases``
        (trajectories with a rise), ``max_rise_over_slack`` and ``min_energy``.
    """
    res = model.retrieve(
        queries, tol=tol, max_iter=max_iter, energy=model.energy, record_residuals=False
    )
    p = model.probabilities(res.x)  # (Q, P)
    n_eff = effective_patterns(p)
    kind = classify_end_states(n_eff, model.patterns.shape[0], single_threshold, global_fraction)
    own = (p.argmax(1) == sources) & (kind == 2)
    e = res.energies  # (T+1, Q)
    if e is None:
        raise RuntimeError("fixed_point returned no energies although an energy was given")
    descent = descent_summary(model, queries, e)
    stats = {
        **{f"frac_{k}": float((kind == i).double().mean()) for i, k in enumerate(_KEYS)},
        "frac_single_own": float(own.double().mean()),
        "n_eff_median": float(n_eff.median()),
        "n_eff_q25": float(n_eff.quantile(0.25)),
        "n_eff_q75": float(n_eff.quantile(0.75)),
        "distinct_fixed_points": count_distinct(res.x),
        "mean_steps": float(res.n_steps.double().mean()),
        "not_converged": int(res.n_not_converged),
        **{k: descent[k] for k in ("energy_increases", "max_rise_over_slack", "min_energy")},
    }
    return stats, res.x, e


def classification_statistics(
    model: ModernHopfield,
    queries: Tensor,
    truth: Tensor,
    labels: Tensor,
    tol: float,
    max_iter: int,
) -> dict[str, Any]:
    """Run every query to its fixed point and classify it by its heaviest pattern's label.

    Args:
        model: the network; its patterns carry ``labels``. queries: ``(Q, N)``.
        truth: ``(Q,)`` the queries' true labels. labels: ``(P,)`` the patterns' labels.
        tol: relative residual tolerance. max_iter: iteration budget.

    Returns:
        ``accuracy`` (fraction with ``labels[argmax p] = truth``), ``mean_effective_patterns``,
        ``frac_in_some_sphere`` (fixed points inside some ``S_i``), ``mean_steps`` and
        ``not_converged``.
    """
    device = model.patterns.device
    res = model.retrieve(queries.to(device), tol=tol, max_iter=max_iter)
    p = model.probabilities(res.x)  # (Q, P)
    hits = labels.to(device)[p.argmax(1)] == truth.to(device)
    return {
        "accuracy": float(hits.double().mean()),
        "mean_effective_patterns": float(effective_patterns(p).mean()),
        "frac_in_some_sphere": float((model.sphere_index(res.x) >= 0).double().mean()),
        "mean_steps": float(res.n_steps.double().mean()),
        "not_converged": int(res.n_not_converged),
    }
