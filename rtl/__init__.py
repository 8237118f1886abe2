"""Amaranth HDL of SpAtten's hardware blocks (``prunesim.rtl``).

Each block is a :class:`amaranth.lib.wiring.Component` whose docstring states its contract:

* :mod:`prunesim.rtl.topk` -- the top-k engine (quick-select + order-preserving filter).
* :mod:`prunesim.rtl.prefix_sum`, :mod:`prunesim.rtl.zero_eliminator`,
  :mod:`prunesim.rtl.repacker` -- the reusable pieces it is built from.
* :mod:`prunesim.rtl.pq` -- the progressive-quantization datapath (Q.K, fixed-point softmax, LSB
  decision), built from :mod:`prunesim.rtl.dot_product`, :mod:`prunesim.rtl.fixed_exp` and
  :mod:`prunesim.rtl.reciprocal`.
* :mod:`prunesim.rtl.verilog` -- Verilog generation.
* :mod:`prunesim.rtl.blocks` -- the registry of the blocks that the CLI and the report build
  (standard library only until a block is built).
"""
