"""RTL benchmarks run from the CLI (``prunesim bench ...``)."""
