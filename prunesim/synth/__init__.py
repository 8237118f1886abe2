"""Synthesis of prunesim's RTL blocks: what they cost in silicon and how fast they clock.

- :mod:`prunesim.synth.check`: generic gate-level synthesis with Debian's Yosys, the
  synthesizability check (:func:`synthesize`, :class:`SynthesisResult`).
- :mod:`prunesim.synth.report`: what a synthesis run reports (:class:`SynthReport`).
- :mod:`prunesim.synth.targets`: the registry of targets (``fpga-ecp5``, ``fpga-ice40``,
  ``asic``), each a module that registers a :class:`~prunesim.synth.targets.Target`.
"""

from prunesim.synth.check import SynthesisResult, synthesize

__all__ = ["SynthesisResult", "synthesize"]
