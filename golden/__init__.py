"""PyTorch golden models (``prunesim.golden``): bit-exact models of the RTL blocks and models of
the pruning algorithms.

* :mod:`prunesim.golden.topk` -- the top-k engine's contract and its quick-select rounds.
"""
