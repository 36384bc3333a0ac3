"""Model families, one file each. Every model speaks the contract of :mod:`hopfield_lab.core`
(energy / update / vector_field / jacobian, each where its mathematics defines it; checked for
every family by ``tests/test_model_contract.py``).

* :mod:`~hopfield_lab.models.binary`: binary (+-1) Hopfield networks, Hebbian storage,
  parallel / sequential / Glauber dynamics over replicas (notes ch. 2);
* :mod:`~hopfield_lab.models.modern`: the modern continuous Hopfield network, its energy
  bounds, Jacobian and the beta selection rule (notes ch. 3);
* :mod:`~hopfield_lab.models.layers`: trainable DeepHNN, ConvHNN2d and VHNN layers
  (notes ch. 4): network layers, not models; ``as_hopfield(...)`` gives the
  :class:`ModernHopfield` each one iterates;
* :mod:`~hopfield_lab.models.networks`: the notes' chapter-4 networks built from those layers
  (prototype DeepHNN, CNN + DeepHNN + convex reducer, ConvHNN2d denoiser);
* :mod:`~hopfield_lab.models.beta_rule`: Prop. 3.4's beta from ``(P, M, Delta_min)`` and the
  notes' truncated iteration;
* :mod:`~hopfield_lab.models.finite_step`: K-step residual Hopfield layers (finite-step paper);
* :mod:`~hopfield_lab.models.layered`: layered HAM and CHN networks as DEQs, synchronous and
  even-odd schemes (DEQ paper); input-driven: ``model.bind(x, scheme)`` is the dynamical
  system;
* :mod:`~hopfield_lab.models.idp`: input-driven-plasticity networks and two-timescale
  sequential retrieval (IDP papers); input-driven: ``model.bind(u)``;
* :mod:`~hopfield_lab.models.ode`: modern Hopfield networks as ODEs trained through the flow
  (ODE paper); :mod:`~hopfield_lab.models.classifiers`: its baseline MLP and saving / loading
  of trained classifiers.
"""

from hopfield_lab.models.binary import BinaryHopfield, BinaryRun
from hopfield_lab.models.classifiers import MLP, load_trained, save_trained, trained_models
from hopfield_lab.models.finite_step import FiniteStepHopfield
from hopfield_lab.models.idp import ClassicInputHopfield, IDPHopfield, SequentialIDP
from hopfield_lab.models.layered import DEQSettings, LayeredHopfield, LayeredView
from hopfield_lab.models.layers import VHNN, ConvexReducer, ConvHNN2d, ConvOptions, DeepHNN
from hopfield_lab.models.modern import BetaSelection, EnergyBounds, ModernHopfield, select_beta
from hopfield_lab.models.networks import CNNDeepHNN, HopfieldDenoiser, PrototypeDeepHNN
from hopfield_lab.models.ode import FlowOptions, HopfieldODE

__all__ = [
    "MLP",
    "VHNN",
    "BetaSelection",
    "BinaryHopfield",
    "BinaryRun",
    "CNNDeepHNN",
    "ClassicInputHopfield",
    "ConvHNN2d",
    "ConvOptions",
    "ConvexReducer",
    "DEQSettings",
    "DeepHNN",
    "EnergyBounds",
    "FiniteStepHopfield",
    "FlowOptions",
    "HopfieldDenoiser",
    "HopfieldODE",
    "IDPHopfield",
    "LayeredHopfield",
    "LayeredView",
    "ModernHopfield",
    "PrototypeDeepHNN",
    "SequentialIDP",
    "load_trained",
    "save_trained",
    "select_beta",
    "trained_models",
]
