"""``prunesim verilog <block>``: write the Verilog of one RTL block (:mod:`prunesim.rtl.blocks`)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from prunesim.argtypes import CLIError, one_line
from prunesim.commands import Command, register_command
from prunesim.commands.block_options import add_block_subcommands, block_params

__all__ = ["COMMAND"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Build one RTL block with the given parameters and write its Verilog module.\n"
        "Each parameter has a range, stated in `prunesim verilog <block> --help` and\n"
        "checked before any Verilog is generated: bad values are reported in one line\n"
        "(exit status 2) and nothing is written. `prunesim list` shows the blocks."
    )
    add_block_subcommands(parser, _add_output)


def _add_output(sub: argparse.ArgumentParser, block: Any) -> None:
    sub.add_argument(
        "-o",
        "--output",
        type=Path,
        default=Path("build/verilog") / f"{block.name}.v",
        metavar="FILE",
        help="Verilog file to write (its folder is created)",
    )


def run(args: argparse.Namespace) -> int:
    from prunesim.files import write_text_atomic

    block = args.block_spec
    params = block_params(args)
    try:
        _, verilog = block.to_verilog(params)
    except (ValueError, TypeError) as exc:
        raise CLIError(one_line(exc)) from None
    try:
        write_text_atomic(args.output, verilog)
    except OSError as exc:
        raise CLIError(f"cannot write {args.output}: {exc.strerror or exc}") from None
    print(f"wrote {args.output} ({block.describe(params)})")
    return 0


COMMAND = register_command(
    Command(
        name="verilog",
        help="write the Verilog of one RTL block",
        order=10,
        add_arguments=add_arguments,
        run=run,
    )
)
