"""``prunesim verilog <block>``: write the Verilog of one RTL block (:mod:`prunesim.rtl.blocks`)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from prunesim.argtypes import CLIError, one_line
from prunesim.commands import Command, LazySubcommands, register_command

__all__ = ["COMMAND"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from prunesim.rtl.blocks import BLOCKS

    parser.description = (
        "Build one RTL block with the given parameters and write its Verilog module.\n"
        "Each parameter has a range, stated in `prunesim verilog <block> --help` and\n"
        "checked before any Verilog is generated: bad values are reported in one line\n"
        "(exit status 2) and nothing is written. `prunesim list` shows the blocks."
    )
    blocks = parser.add_subparsers(
        dest="block", metavar="block", required=True, action=LazySubcommands
    )
    for block in BLOCKS.values():
        blocks.add_lazy(
            block.name, _block_filler(block), help=block.summary, description=block.description
        )


def _block_filler(block: Any) -> Any:
    def fill(sub: argparse.ArgumentParser) -> None:
        for parameter in block.parameters():
            sub.add_argument(
                parameter.flag,
                dest=parameter.name,
                type=int,
                default=parameter.default,
                metavar=parameter.name.upper(),
                help=parameter.help_text,
            )
        sub.add_argument(
            "-o",
            "--output",
            type=Path,
            default=Path("build/verilog") / f"{block.name}.v",
            metavar="FILE",
            help="Verilog file to write (its folder is created)",
        )
        sub.set_defaults(block_spec=block)

    return fill


def run(args: argparse.Namespace) -> int:
    from prunesim.files import write_text_atomic

    block = args.block_spec
    params = {parameter.name: getattr(args, parameter.name) for parameter in block.parameters()}
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
