"""Verification helpers: cocotb runners, stream drivers and the RTL testbenches.

* :mod:`prunesim.verif.runner` -- builds a component's Verilog on Icarus or Verilator through
  ``cocotb_tools.runner`` (one build folder per parameter set) and turns the cocotb results into
  a :class:`~prunesim.verif.runner.SimRun` or an :class:`AssertionError`.
* :mod:`prunesim.verif.streams` -- cocotb 2 drivers for ``amaranth.lib.stream`` interfaces and
  pack/unpack helpers for ``amaranth.lib.data`` layouts.
* :mod:`prunesim.verif.topk_tb` -- the cocotb test module of :class:`prunesim.rtl.topk.TopK`.
* :mod:`prunesim.verif.sorter_tb` -- the cocotb test module of
  :class:`prunesim.rtl.sorter.BatcherSorter` (the top-k engine's structure and score kinds).

Only :mod:`~prunesim.verif.runner` is imported here; the other modules import ``cocotb`` and are
meant to be loaded inside a simulator.
"""

from .runner import SimRun, TestOutcome, build_and_run, param_tag

__all__ = ["SimRun", "TestOutcome", "build_and_run", "param_tag"]
