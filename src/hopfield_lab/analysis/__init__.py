"""Diagnostics of Hopfield-type dynamics that take trajectories or models.

Everything works on any model of the contract (:mod:`hopfield_lab.core.dynamics`): a map
``update(x)`` ``(B, N) -> (B, N)``, ``energy(x) -> (B,)`` and ``jacobian(x)``
``(B, N) -> (B, N, N)`` (``d update / dx``), each used only where the model declares it: a
capability the model lacks raises its ``CapabilityError`` (e.g. ``jacobian_norms`` on ±1 spins,
or any diagnostic on an input-driven model that was not bound), never a silent zero. Plain
callables (a map, an energy, a Jacobian function) work too; autograd replaces a missing
closed-form Jacobian at about ``N`` times the cost.
The finite-step paper's diagnostics (Secs. 3, 5.2 and App. B):

* trajectories: :func:`rollout`, :func:`energy_along`, :func:`energy_bands`,
  :func:`energy_increase_rate`, :func:`is_monotone` (Eq. 5);
* perturbations: :func:`distance_ratio` (Eq. 10), :func:`product_bound` and
  :func:`check_product_bound` (App. B.1);
* Jacobian statistics: :func:`jacobian_norms`, :func:`quantiles` (Eq. 9),
  :func:`smoothness_constants` and :func:`descent_violations` (Eq. 8, App. B.2);
* spectra: :func:`jacobian_spectrum`, :func:`spectral_radius`, :func:`top_singular_value`;
* landscapes: :func:`pca_plane`, a PCA slice of the state space with a grid (App. A, Fig. 2).

The ODE paper's diagnostics (Secs. 3.1, 3.3), for trajectories, states and models of every
family:

* geometry: :func:`length_ratio`, :func:`curvature`, :func:`speeds`, :func:`compactness`;
* intrinsic dimension: :func:`twonn`, :func:`twonn_by_class` (Facco et al. 2017);
* attractor clusters and pictures: :func:`cluster_counts` (HDBSCAN), :func:`embed` (UMAP
  when installed, else PCA);
* adversarial basins: :func:`pgd_attack` (Eq. 3), :func:`success_rate`, :func:`basin_graph`,
  :func:`draw_basin_graph`.

The one rule for "the energy rose" (a rise beyond the rounding of the energy's cancelling
terms): :func:`energy_rises`, :func:`rounding_slack`, used by :func:`energy_increase_rate`;
:func:`rise_over_slack` says how far a trajectory is from a rise.

Modern Hopfield retrieval (notes ch. 3-4): where it ends (:func:`effective_patterns`,
:func:`classify_end_states`, :func:`count_distinct`), Prop. 3.4 on the spheres
(:func:`sphere_check`), the energy's rounding scale (:func:`modern_energy_scale`); attractors of
noisy chains (:func:`quench`, :func:`cluster_fixed_points`, :func:`label_runs`,
:func:`dwell_statistics`, :func:`chain_attractors`); statistics of a batch of retrievals
(:func:`end_state_statistics`, :func:`classification_statistics`).

Finite-size estimates of a transition from a grid (the capacity alpha_c(N)):
:func:`level_crossing`, :func:`drop_bracket`, :func:`fit_inverse_sqrt` (``a + b / sqrt(N)``),
:func:`bootstrap_crossings`.

Iterations to convergence as the DEQ paper's code counts them (first crossing of the relative
residual of successive map outputs, and its density per iteration), computed while the solver
runs: :func:`successive_residuals`.

Binary networks (notes ch. 2.1), exact chains on ``2^N`` states: :func:`transition_matrix`
(Lemma 2.1.3), :func:`stationary_law`, :func:`detailed_balance_residual`, :func:`g_test`,
:func:`total_variation`, :func:`sampling_noise_floor`, :func:`exact_burn_in`,
:func:`all_states`, :func:`state_codes`; and :func:`binary_energy_scale`,
:func:`two_step_energy` (parallel dynamics' Lyapunov function), :func:`single_spin_energies`,
:func:`glauber_samples` (an observable along Glauber chains). Simulation protocols that record
overlaps and states: :func:`hebbian_retrieval`, :func:`glauber_retention`,
:func:`overlap_checkpoints` (with :func:`keeps_mixture`), :func:`random_couplings`,
:func:`glauber_state_counts`, :func:`magnetization_samples`; parallel dynamics' outcomes and
2-cycles (:func:`parallel_outcomes`, :func:`find_two_cycle`).
"""

from hopfield_lab.analysis.adversarial import (
    BasinGraph,
    PGDResult,
    basin_graph,
    draw_basin_graph,
    pgd_attack,
    success_rate,
)
from hopfield_lab.analysis.attractors import (
    ChainAttractors,
    chain_attractors,
    cluster_fixed_points,
    dwell_statistics,
    label_runs,
    quench,
)
from hopfield_lab.analysis.binary_chains import (
    COUPLING_KINDS,
    glauber_retention,
    glauber_state_counts,
    hebbian_retrieval,
    keeps_mixture,
    magnetization_samples,
    overlap_checkpoints,
    random_couplings,
)
from hopfield_lab.analysis.clusters import (
    ClusterCounts,
    Embedding,
    cluster_counts,
    embed,
    hdbscan_labels,
    umap_available,
)
from hopfield_lab.analysis.convergence import (
    LOG_RESIDUAL_BINS,
    ResidualCounts,
    successive_residuals,
)
from hopfield_lab.analysis.energy_rise import (
    ROUNDING_ULPS,
    energy_rises,
    rise_over_slack,
    rounding_slack,
)
from hopfield_lab.analysis.finite_size import (
    bootstrap_crossings,
    drop_bracket,
    fit_inverse_sqrt,
    level_crossing,
)
from hopfield_lab.analysis.geometry import compactness, curvature, length_ratio, speeds
from hopfield_lab.analysis.glauber import (
    all_states,
    binary_energy_scale,
    detailed_balance_residual,
    exact_burn_in,
    g_test,
    glauber_samples,
    sampling_noise_floor,
    single_spin_energies,
    state_codes,
    stationary_law,
    total_variation,
    transition_matrix,
    two_step_energy,
)
from hopfield_lab.analysis.intrinsic_dim import TwoNNResult, twonn, twonn_by_class
from hopfield_lab.analysis.jacobian_stats import (
    NORM_KINDS,
    DescentViolations,
    JacobianFn,
    autograd_jacobian,
    batch_jacobian,
    descent_violations,
    jacobian_norms,
    quantiles,
    resolve_jacobian,
    smoothness_constants,
    undamped,
)
from hopfield_lab.analysis.landscape import PCAPlane, pca_plane
from hopfield_lab.analysis.parallel_dynamics import TwoCycle, find_two_cycle, parallel_outcomes
from hopfield_lab.analysis.perturbation import (
    ProductBoundCheck,
    check_product_bound,
    distance_ratio,
    product_bound,
)
from hopfield_lab.analysis.retrieval import (
    END_STATE_KINDS,
    classify_end_states,
    count_distinct,
    descent_summary,
    effective_patterns,
    modern_energy_scale,
    retrieval_scores,
    sphere_check,
)
from hopfield_lab.analysis.retrieval_stats import classification_statistics, end_state_statistics
from hopfield_lab.analysis.spectra import (
    is_symmetric,
    jacobian_spectrum,
    spectral_radius,
    top_singular_value,
)
from hopfield_lab.analysis.trajectories import (
    EnergyIncreaseRate,
    energy_along,
    energy_bands,
    energy_increase_rate,
    is_monotone,
    rollout,
)

__all__ = [
    "COUPLING_KINDS",
    "END_STATE_KINDS",
    "LOG_RESIDUAL_BINS",
    "NORM_KINDS",
    "ROUNDING_ULPS",
    "BasinGraph",
    "ChainAttractors",
    "ClusterCounts",
    "DescentViolations",
    "Embedding",
    "EnergyIncreaseRate",
    "JacobianFn",
    "PCAPlane",
    "PGDResult",
    "ProductBoundCheck",
    "ResidualCounts",
    "TwoCycle",
    "TwoNNResult",
    "all_states",
    "autograd_jacobian",
    "basin_graph",
    "batch_jacobian",
    "binary_energy_scale",
    "bootstrap_crossings",
    "chain_attractors",
    "check_product_bound",
    "classification_statistics",
    "classify_end_states",
    "cluster_counts",
    "cluster_fixed_points",
    "compactness",
    "count_distinct",
    "curvature",
    "descent_summary",
    "descent_violations",
    "detailed_balance_residual",
    "distance_ratio",
    "draw_basin_graph",
    "drop_bracket",
    "dwell_statistics",
    "effective_patterns",
    "embed",
    "end_state_statistics",
    "energy_along",
    "energy_bands",
    "energy_increase_rate",
    "energy_rises",
    "exact_burn_in",
    "find_two_cycle",
    "fit_inverse_sqrt",
    "g_test",
    "glauber_retention",
    "glauber_samples",
    "glauber_state_counts",
    "hdbscan_labels",
    "hebbian_retrieval",
    "is_monotone",
    "is_symmetric",
    "jacobian_norms",
    "jacobian_spectrum",
    "keeps_mixture",
    "label_runs",
    "length_ratio",
    "level_crossing",
    "magnetization_samples",
    "modern_energy_scale",
    "overlap_checkpoints",
    "parallel_outcomes",
    "pca_plane",
    "pgd_attack",
    "product_bound",
    "quantiles",
    "quench",
    "random_couplings",
    "resolve_jacobian",
    "retrieval_scores",
    "rise_over_slack",
    "rollout",
    "rounding_slack",
    "sampling_noise_floor",
    "single_spin_energies",
    "smoothness_constants",
    "spectral_radius",
    "speeds",
    "sphere_check",
    "state_codes",
    "stationary_law",
    "success_rate",
    "successive_residuals",
    "top_singular_value",
    "total_variation",
    "transition_matrix",
    "two_step_energy",
    "twonn",
    "twonn_by_class",
    "umap_available",
    "undamped",
]
