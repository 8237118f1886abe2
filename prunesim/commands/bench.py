"""``prunesim bench <name>``: the benchmarks of :mod:`prunesim.bench`, one sub-command each."""

from __future__ import annotations

import argparse

from prunesim.commands import Command, Formatter, register_command

__all__ = ["COMMAND"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from prunesim.bench import BENCHES

    parser.description = (
        "Run a block's generated Verilog on Icarus Verilog and/or Verilator with cocotb,\n"
        "check every output against the golden model and measure cycles (topk, pq); or\n"
        "time the analytic simulator (sim)."
    )
    benches = parser.add_subparsers(dest="block", metavar="block", required=True)
    for name, bench in BENCHES.items():
        sub = benches.add_parser(
            name, help=bench.help, description=bench.description, formatter_class=Formatter
        )
        bench.add_arguments(sub)
        sub.set_defaults(bench=bench)


def run(args: argparse.Namespace) -> int:
    return int(args.bench.main(args) or 0)


COMMAND = register_command(
    Command(
        name="bench",
        help="benchmark an RTL block on HDL simulators, or the analytic simulator's speed",
        order=30,
        add_arguments=add_arguments,
        run=run,
    )
)
