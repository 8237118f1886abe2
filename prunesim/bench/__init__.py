"""Benchmarks run from the CLI (``prunesim bench <name>``), one module each.

A bench module registers a :class:`Bench` (name, help, description, its options and its
``main(args) -> exit status``); ``prunesim bench`` lists every bench found in this package.
Bench modules keep their module-level imports light: listing them imports every one. Today:
:mod:`~.topk` and :mod:`~.pq` (cycles of the RTL blocks on Icarus and Verilator),
:mod:`~.sim` (the analytic simulator's speed), :mod:`~.ofa` (Once-for-All sweeps),
:mod:`~.scalesim` (SCALE-Sim beside the systolic-array model).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass

from prunesim.argtypes import positive_int
from prunesim.registry import Registry

__all__ = ["BENCHES", "SIMULATORS", "Bench", "add_rtl_arguments", "register_bench"]

#: The HDL simulators an RTL bench runs on.
SIMULATORS = ("icarus", "verilator")


@dataclass(frozen=True)
class Bench:
    """A ``prunesim bench`` entry; ``order`` sorts them in help."""

    name: str
    help: str
    description: str
    order: float
    add_arguments: Callable[[argparse.ArgumentParser], None]
    main: Callable[[argparse.Namespace], int]


def _bench_order(bench: Bench) -> float:
    return bench.order


#: Every bench by name, in ``order``.
BENCHES: Registry[Bench] = Registry("prunesim.bench", "bench", _bench_order)


def register_bench(bench: Bench) -> Bench:
    """Add ``bench`` to :data:`BENCHES`; returns it."""
    return BENCHES.register(bench.name, bench)


def simulator_list(text: str) -> str:
    """An argparse type: a comma-separated list of :data:`SIMULATORS`, returned normalised (no
    blanks, no repeats)."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise argparse.ArgumentTypeError(f"no simulator named in {text!r}")
    for name in names:
        if name not in SIMULATORS:
            raise argparse.ArgumentTypeError(
                f"unknown simulator {name!r} (choose from {', '.join(SIMULATORS)})"
            )
    return ",".join(dict.fromkeys(names))


def add_rtl_arguments(parser: argparse.ArgumentParser, frames: int) -> None:
    """The options every RTL bench takes: ``--sims``, ``--frames`` (default ``frames``),
    ``--seed``, ``--quick``, ``--build-dir``, ``--waves``."""
    parser.add_argument(
        "--sims",
        type=simulator_list,
        default="icarus,verilator",
        metavar="LIST",
        help="comma-separated simulators to run on (icarus, verilator)",
    )
    parser.add_argument(
        "--frames",
        type=positive_int,
        default=frames,
        metavar="F",
        help="random frames per configuration",
    )
    parser.add_argument("--seed", type=int, default=1, metavar="S", help="random seed")
    parser.add_argument("--quick", action="store_true", help="a reduced grid, for smoke tests")
    parser.add_argument(
        "--build-dir",
        default="build/bench",
        metavar="DIR",
        help="folder for the generated Verilog and simulator builds",
    )
    parser.add_argument(
        "--waves",
        action="store_true",
        help=(
            "dump a VCD waveform of the Verilator runs (Verilator --trace; needs verilator in "
            "--sims) into the build folder; the results JSON gives each run's file "
            "(prunesim.synth.activity reads it)"
        ),
    )
