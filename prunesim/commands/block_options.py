"""The per-block sub-commands that ``prunesim verilog`` and ``prunesim synth`` share: one
sub-command per block of :mod:`prunesim.rtl.blocks` with an option per exposed parameter
(``--width W`` ...; its help states the range, which the block's constructor checks)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from prunesim.commands import LazySubcommands

__all__ = ["add_block_subcommands", "block_params"]


def add_block_subcommands(
    parser: argparse.ArgumentParser, add_more: Callable[[argparse.ArgumentParser, Any], None]
) -> None:
    """Give ``parser`` a required sub-command per registered block (filled only when chosen):
    the block's parameter options, then ``add_more(sub_parser, block)``; the chosen block is
    ``args.block_spec``."""
    from prunesim.rtl.blocks import BLOCKS

    blocks = parser.add_subparsers(
        dest="block", metavar="block", required=True, action=LazySubcommands
    )
    for block in BLOCKS.values():
        blocks.add_lazy(
            block.name,
            _block_filler(block, add_more),
            help=block.summary,
            description=block.description,
        )


def _block_filler(block: Any, add_more: Callable[[argparse.ArgumentParser, Any], None]) -> Any:
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
        add_more(sub, block)
        sub.set_defaults(block_spec=block)

    return fill


def block_params(args: argparse.Namespace) -> dict[str, int]:
    """The chosen block's parameters as parsed, by name, in the block's order."""
    block = args.block_spec
    return {parameter.name: getattr(args, parameter.name) for parameter in block.parameters()}
