"""Compiled sweeps (numba) of :mod:`hopfield_lab.models._sweeps`; imported only when numba is.

Each kernel loops replica by replica (a replica's fields or overlaps stay in cache) and spin by
spin, with the arithmetic of the NumPy reference in the same order, so both give the same
chain from the same random numbers (see :mod:`~hopfield_lab.models._sweeps`). Single-threaded:
the speed per core is what counts on a shared machine; run replicas in separate processes for
more cores.
"""

from __future__ import annotations

import math

import numba
import numpy as np

__all__ = ["permutations", "sweep_fields", "sweep_overlaps"]


@numba.njit(cache=True, nogil=True)
def permutations(u: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    R, N = u.shape
    perm = np.empty((R, N), dtype=np.int64)
    for r in range(R):
        for k in range(N):
            perm[r, k] = k
        for k in range(N - 1, 0, -1):
            j = min(np.int64(u[r, k] * (k + 1)), k)
            a = perm[r, k]
            perm[r, k] = perm[r, j]
            perm[r, j] = a
    return perm


@numba.njit(cache=True, nogil=True)
def _flip(stability: float, T: float, u: float) -> bool:  # pragma: no cover - compiled
    if T == 0.0:
        return stability < 0
    x = min(2.0 * stability / T, 700.0)
    return u < 1.0 / (1.0 + math.exp(x))


@numba.njit(cache=True, nogil=True)
def sweep_fields(S, H, JT, T, sites, u):  # pragma: no cover - compiled
    R, N = S.shape
    K = sites.shape[1]
    for r in range(R):
        for k in range(K):
            i = sites[r, k]
            s = S[r, i]
            stab = np.float64(s * H[r, i])
            if _flip(stab, T, u[k, r] if T != 0.0 else 0.0):
                new = -s
                S[r, i] = new
                step = new + new
                for j in range(N):
                    H[r, j] += step * JT[i, j]


@numba.njit(cache=True, nogil=True)
def sweep_overlaps(S, M, XT, diag, c, h, T, sites, u):  # pragma: no cover - compiled
    R, N = S.shape
    P = M.shape[1]
    K = sites.shape[1]
    for r in range(R):
        for k in range(K):
            i = sites[r, k]
            s = S[r, i]
            spin = 1 if s > 0 else -1
            acc = np.int64(0)
            for mu in range(P):
                acc += np.int64(XT[i, mu]) * np.int64(M[r, mu])
            field = np.float64(acc - diag * spin) * c / N + h[i]
            if _flip(np.float64(s) * field, T, u[k, r] if T != 0.0 else 0.0):
                S[r, i] = -s
                step = np.int32(-2 * spin)
                for mu in range(P):
                    M[r, mu] += step * XT[i, mu]
