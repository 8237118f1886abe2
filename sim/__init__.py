"""The cycle-level analytic simulator (``prunesim.sim``).

Data flow (one direction): a model (:mod:`prunesim.models`, its family
:mod:`prunesim.sim.families`) and a method (:mod:`prunesim.sim.methods`) give a per-layer
:class:`Workload` (:mod:`prunesim.sim.workload`); the target's cost model
(:mod:`prunesim.sim.costs`, one module per kind, asked through :mod:`prunesim.sim.engine`)
prices it on a hardware target described in a data file (:mod:`prunesim.sim.hardware`, presets
in ``sim/hardware/*.yaml``) and returns a :class:`SimResult`. Block latency models
(:mod:`prunesim.sim.blocks`) are checked against the cycles measured on the RTL.
:func:`simulate` is the one-call entry point; :func:`prunesim.sim.compare.compare` runs the
matrix of methods x hardware; :mod:`prunesim.sim.ofa_sweep` prices many Once-for-All sub-nets at
once; :func:`sweep` (:mod:`prunesim.sim.dse`) prices a design space (models x methods x hardware
x a grid of ``hw.``/``stage.``/option values) into a pandas DataFrame.
"""

from prunesim.sim.api import default_stage, make_workload, simulate
from prunesim.sim.dse import sweep
from prunesim.sim.engine import evaluate, unsupported
from prunesim.sim.families import family_of
from prunesim.sim.hardware import HardwareError, hardware_names, load_hardware
from prunesim.sim.methods import get_method, method_names
from prunesim.sim.result import LayerResult, SimResult
from prunesim.sim.workload import Generate, Summarize, Workload

__all__ = [
    "Generate",
    "HardwareError",
    "LayerResult",
    "SimResult",
    "Summarize",
    "Workload",
    "default_stage",
    "evaluate",
    "family_of",
    "get_method",
    "hardware_names",
    "load_hardware",
    "make_workload",
    "method_names",
    "simulate",
    "sweep",
    "unsupported",
]
