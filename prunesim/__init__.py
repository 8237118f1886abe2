"""prunesim: co-design and simulation of accelerators for pruned neural networks."""

__version__ = "0.1.0"
