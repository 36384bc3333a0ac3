"""Experiments of the IDP papers: input-driven Hopfield networks (Betteti et al., Sci. Adv.
2025) and two-timescale sequential retrieval (Betteti, Baggio, Zampieri, arXiv 2603.03201).

The spec they follow is ``shared/papers/sequential-retrieval-idp-spec.md`` (experiments
E1-E8); every module in this package is imported (and so registered) automatically:

* ``idp-classification`` (E1), ``idp-glitch`` (E2), ``idp-noise`` (E3): Model 1 against the
  classic network under mixed inputs;
* ``idp-landscape`` (E4): the energy landscape between two memories;
* ``idp-sequence`` (E5), ``idp-bifurcation`` (E6), ``idp-escape`` (E7), ``idp-phase`` (E8):
  Model 2 against the saliency map.
"""

from hopfield_lab._discovery import import_submodules

__all__ = sorted(import_submodules(__name__))
