"""PyTorch golden models (``prunesim.golden``): bit-exact models of the RTL blocks and models of
the pruning algorithms.

* :mod:`prunesim.golden.topk` -- the top-k engine's contract and its quick-select rounds.
* :mod:`prunesim.golden.pivot` -- the top-k engine's pseudo-random pivot draw (pure Python, no
  PyTorch: the RTL imports it).
* :mod:`prunesim.golden.sorter` -- the Batcher odd-even merge sorter (the top-k engine's
  baseline): its result (the top-k contract) and exact cycle formula.
* :mod:`prunesim.golden.pq` -- the progressive-quantization datapath, bit-exact, and the float
  reference of progressive quantization.
"""
