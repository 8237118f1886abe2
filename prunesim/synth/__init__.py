"""Synthesis of prunesim's RTL blocks: what they cost in silicon and how fast they clock.

- :mod:`prunesim.synth.check`: generic gate-level synthesis with Debian's Yosys, the
  synthesizability check (:func:`synthesize`, :class:`SynthesisResult`).
- :mod:`prunesim.synth.report`: what a synthesis run reports (:class:`SynthReport`).
- :mod:`prunesim.synth.flow`: :func:`synthesize_block`, one block through one target, cached
  under ``build/synth/``.
- :mod:`prunesim.synth.fpga`: the FPGA targets ``fpga-ecp5`` and ``fpga-ice40``.
- :mod:`prunesim.synth.records`: the committed records of the default blocks' runs and the
  SpAtten hardware files' unit figures derived from them (:func:`unit_figures`).
- :mod:`prunesim.synth.targets`: the registry of targets (``fpga-ecp5``, ``fpga-ice40``,
  ``asic``), each a module that registers a :class:`~prunesim.synth.targets.Target`.
"""

from prunesim.synth.check import SynthesisResult, synthesize
from prunesim.synth.flow import synthesize_block
from prunesim.synth.report import SynthReport
from prunesim.synth.targets import SynthToolError

__all__ = ["SynthReport", "SynthToolError", "SynthesisResult", "synthesize", "synthesize_block"]
