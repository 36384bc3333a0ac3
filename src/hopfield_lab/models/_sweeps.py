"""Single-spin sweeps of :class:`~hopfield_lab.models.binary.BinaryHopfield` on CPU arrays.

Two representations of the local fields ``phi = J s + h`` of ``R`` replicas, each with a
NumPy implementation (always available) and a compiled one (numba, the ``fast`` extra; see
:func:`compiled`) that computes the same chain from the same random numbers:

* **fields** (any ``J``): keep ``H = S J^T + h`` ``(R, N)``; a flip of spin ``i`` adds
  ``2 s_i^new J[:, i]`` to its replica's fields (``O(N)`` per flip, ``O(1)`` per update that
  does not flip). The arrays are in ``J``'s dtype; the caller refreshes ``H`` once per sweep.
* **overlaps** (Hebbian ``J = (c / N) (xi^T xi - d I)``, ``d = P`` for a zero diagonal, 0 to
  keep it; Curie-Weiss is ``P = 1``, ``xi = 1``, ``c = J``): keep the integer overlaps
  ``M = S xi^T`` ``(R, P)`` (``m_mu = xi^mu . s``, Mattis magnetisation times ``N``). The field
  of spin ``i`` is ``phi_i = c (sum_mu xi^mu_i m_mu - d s_i) / N + h_i``; the integer
  ``sum_mu xi^mu_i m_mu - d s_i`` is exact (``|.| <= P N``, int32 as long as ``P N < 2^31``;
  float32 would be exact only up to ``P N <= 2^24``, e.g. not for ``N = 4096, P = 4096``), so
  the sign of a field and hence every ``T = 0`` decision and the tie rule are exact, which
  the float fields of ``J`` only approximate (``J_ij = k / N`` is rounded unless ``N`` is a
  power of two). ``O(P)`` per update (one integer dot product) plus ``O(P)`` per flip; no
  ``J`` access, no refresh (integers do not drift).

The heat-bath draw is the same in every implementation: with ``x = min(2 s_i phi_i / T, 700)``
(float64), spin ``i`` flips when ``u < 1 / (1 + exp(x))``. NumPy's and the compiled ``exp``
may differ in the last bit, so the two chains are identical unless a uniform falls within one
rounding error of a flip probability (about ``1e-16`` per update); at ``T = 0`` they are
identical.

Site orders: :func:`permutations` turns ``(R, N)`` uniforms into one random permutation per
replica (Fisher-Yates, ``j = floor(u_k (k + 1))`` for ``k = N - 1, ..., 1``), ``O(N)`` per
replica instead of the ``O(N log N)`` of an argsort.
"""

from __future__ import annotations

import os
from types import ModuleType

import numpy as np

__all__ = [
    "NO_NUMBA_ENV_VAR",
    "compiled",
    "permutations",
    "permutations_numpy",
    "sweep_fields",
    "sweep_fields_numpy",
    "sweep_overlaps",
    "sweep_overlaps_numpy",
]

NO_NUMBA_ENV_VAR = "HOPFIELD_LAB_NO_NUMBA"
"""Set to ``1`` to use the NumPy sweeps even when numba is installed (read at every sweep)."""

_COMPILED: ModuleType | bool | None = False  # False: not tried yet; None: unavailable


def compiled() -> ModuleType | None:
    """The compiled kernels (module ``_sweeps_numba``), or None without numba or when
    ``$HOPFIELD_LAB_NO_NUMBA`` is set. numba is imported on first use only (about a second),
    and each kernel is compiled on its first call per dtype (seconds; cached on disk)."""
    global _COMPILED
    if os.environ.get(NO_NUMBA_ENV_VAR, "").strip().lower() in ("1", "true", "yes", "on"):
        return None
    if _COMPILED is False:
        try:
            from hopfield_lab.models import _sweeps_numba
        except ImportError:  # numba not installed: the NumPy sweeps
            _COMPILED = None
        else:
            _COMPILED = _sweeps_numba
    return _COMPILED if isinstance(_COMPILED, ModuleType) else None


def permutations_numpy(u: np.ndarray) -> np.ndarray:
    """One Fisher-Yates permutation of ``range(N)`` per row of uniforms ``u`` ``(R, N)``.

    Row ``r``: start from the identity and, for ``k = N - 1, ..., 1``, swap positions ``k`` and
    ``j = floor(u[r, k] (k + 1))`` (``u[r, 0]`` is unused). Returns ``(R, N)`` int64.
    """
    R, N = u.shape
    perm = np.tile(np.arange(N, dtype=np.int64), (R, 1))
    rows = np.arange(R)
    for k in range(N - 1, 0, -1):
        j = np.minimum((u[:, k] * (k + 1)).astype(np.int64), k)  # (R,)
        a = perm[:, k].copy()
        perm[:, k] = perm[rows, j]
        perm[rows, j] = a
    return perm


def permutations(u: np.ndarray) -> np.ndarray:
    """:func:`permutations_numpy`, compiled when available (same result)."""
    kernels = compiled()
    if kernels is None:
        return permutations_numpy(u)
    return kernels.permutations(np.ascontiguousarray(u, dtype=np.float64))


def _flips(stability: np.ndarray, T: float, u: np.ndarray | None) -> np.ndarray:
    """Bool flips from ``s_i phi_i`` ``(R,)``: ``< 0`` at ``T = 0``, else the heat bath."""
    if u is None:
        return stability < 0
    x = np.minimum(2.0 * stability.astype(np.float64) / T, 700.0)
    return u < 1.0 / (1.0 + np.exp(x))


def sweep_fields_numpy(
    S: np.ndarray,
    H: np.ndarray,
    JT: np.ndarray,
    T: float,
    sites: np.ndarray,
    u: np.ndarray | None,
) -> None:
    """One sweep in the fields representation, vectorised over replicas (in place).

    Args:
        S: ±1 states ``(R, N)``. H: their fields ``(R, N)`` (same dtype).
        JT: ``J^T`` ``(N, N)`` (row ``i`` = ``J[:, i]``).
        T: temperature (0: deterministic). sites: ``(R, K)`` site of each update.
        u: ``(K, R)`` float64 uniforms (None at ``T = 0``).
    """
    R = S.shape[0]
    rows = np.arange(R)
    for k in range(sites.shape[1]):
        i = sites[:, k]  # (R,)
        s_i = S[rows, i]  # (R,)
        flip = _flips(s_i * H[rows, i], T, None if u is None else u[k])
        r = np.flatnonzero(flip)
        if r.size == 0:
            continue
        ir = i[r]
        new = -s_i[r]  # (F,)
        S[r, ir] = new
        H[r] += (new + new)[:, None] * JT[ir]  # (F, N): phi += (new - old) J[:, i], rows distinct


def sweep_overlaps_numpy(
    S: np.ndarray,
    M: np.ndarray,
    XT: np.ndarray,
    diag: int,
    c: float,
    h: np.ndarray,
    T: float,
    sites: np.ndarray,
    u: np.ndarray | None,
) -> None:
    """One sweep in the overlap representation, vectorised over replicas (in place).

    Args:
        S: ±1 states ``(R, N)`` (float). M: int32 overlaps ``S xi^T`` ``(R, P)``.
        XT: int32 patterns transposed ``(N, P)``. diag: ``d`` (``P`` for a zero diagonal).
        c: coupling scale (1 for Hebb's rule). h: thresholds ``(N,)`` float64.
        T, sites, u: as in :func:`sweep_fields_numpy`.
    """
    R, N = S.shape
    rows = np.arange(R)
    for k in range(sites.shape[1]):
        i = sites[:, k]  # (R,)
        s_i = S[rows, i]  # (R,)
        spin = np.where(s_i > 0, 1, -1).astype(np.int64)  # (R,)
        acc = (XT[i].astype(np.int64) * M).sum(1)  # (R,) sum_mu xi^mu_i m_mu, exact
        field = (acc - diag * spin).astype(np.float64) * c / N + h[i]  # (R,)
        flip = _flips(s_i * field, T, None if u is None else u[k])
        r = np.flatnonzero(flip)
        if r.size == 0:
            continue
        ir = i[r]
        S[r, ir] = -s_i[r]
        M[r] -= (2 * spin[r]).astype(np.int32)[:, None] * XT[ir]  # (F, P): m += 2 s_new xi_i


def sweep_fields(
    S: np.ndarray,
    H: np.ndarray,
    JT: np.ndarray,
    T: float,
    sites: np.ndarray,
    u: np.ndarray | None,
) -> None:
    """:func:`sweep_fields_numpy`, compiled when available (same chain, see the module doc)."""
    kernels = compiled()
    if kernels is None:
        sweep_fields_numpy(S, H, JT, T, sites, u)
        return
    kernels.sweep_fields(S, H, JT, float(T), sites, _uniforms(u))


def sweep_overlaps(
    S: np.ndarray,
    M: np.ndarray,
    XT: np.ndarray,
    diag: int,
    c: float,
    h: np.ndarray,
    T: float,
    sites: np.ndarray,
    u: np.ndarray | None,
) -> None:
    """:func:`sweep_overlaps_numpy`, compiled when available (same chain)."""
    kernels = compiled()
    if kernels is None:
        sweep_overlaps_numpy(S, M, XT, diag, c, h, T, sites, u)
        return
    kernels.sweep_overlaps(S, M, XT, int(diag), float(c), h, float(T), sites, _uniforms(u))


def _uniforms(u: np.ndarray | None) -> np.ndarray:
    """The kernels take a ``(K, R)`` float64 array; an empty one at ``T = 0``."""
    return np.empty((0, 0), dtype=np.float64) if u is None else u
