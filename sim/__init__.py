"""The cycle-level analytic simulator (``prunesim.sim``).

It will hold the hardware descriptions (data files), the per-layer cost model (cycles, DRAM bytes,
MACs, energy), one module per pruning method and the GPU/CPU roofline baselines. It arrives with a
later issue; nothing is implemented here yet.
"""
