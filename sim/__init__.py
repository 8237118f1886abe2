"""The cycle-level analytic simulator (``prunesim.sim``).

Data flow (one direction): a model (:mod:`prunesim.models`) and a method
(:mod:`prunesim.sim.methods`) give a per-layer :class:`Workload` (:mod:`prunesim.sim.workload`);
the cost model (:mod:`prunesim.sim.engine`) prices it on a hardware target described in a data
file (:mod:`prunesim.sim.hardware`, presets in ``sim/hardware/*.yaml``) and returns a
:class:`SimResult`. Block latency models (:mod:`prunesim.sim.blocks`) are checked against the
cycles measured on the RTL. :func:`simulate` is the one-call entry point; :func:`compare` runs the
matrix of methods x hardware.
"""

from prunesim.sim.api import default_stage, make_workload, simulate
from prunesim.sim.engine import LayerResult, SimResult, evaluate
from prunesim.sim.hardware import HardwareError, hardware_names, load_hardware
from prunesim.sim.methods import get_method, method_names
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
    "get_method",
    "hardware_names",
    "load_hardware",
    "make_workload",
    "method_names",
    "simulate",
]
