"""Amaranth HDL of SpAtten's hardware blocks (``prunesim.rtl``).

Each block is a :class:`amaranth.lib.wiring.Component` whose docstring states its contract:

* :mod:`prunesim.rtl.topk` -- the top-k engine (quick-select + order-preserving filter).
* :mod:`prunesim.rtl.prefix_sum`, :mod:`prunesim.rtl.zero_eliminator`,
  :mod:`prunesim.rtl.repacker` -- the reusable pieces it is built from.
* :mod:`prunesim.rtl.verilog` -- Verilog generation.
"""
