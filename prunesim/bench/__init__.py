"""RTL benchmarks run from the CLI (``prunesim bench ...``).

* :mod:`prunesim.bench.topk` -- cycles per frame of the top-k engine on Icarus and Verilator.
"""
