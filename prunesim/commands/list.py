"""``prunesim list``: what the other commands accept (blocks, models, methods, hardware)."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from prunesim.argtypes import one_line
from prunesim.commands import Command, register_command

__all__ = ["COMMAND", "SECTIONS"]


def _aligned(rows: list[tuple[str, list[str]]]) -> list[str]:
    """Each name in a column as wide as the longest, its first line beside it and the others
    under that."""
    width = max(len(name) for name, _ in rows)
    lines = []
    for name, texts in rows:
        lines.append(f"{name:<{width}}  {texts[0]}")
        lines += [f"{'':<{width}}  {text}" for text in texts[1:]]
    return lines


def list_blocks() -> list[str]:
    from prunesim.rtl.blocks import BLOCKS

    return _aligned(
        [
            (
                block.name,
                [
                    block.summary,
                    "defaults: " + " ".join(f"{p.flag} {p.default}" for p in block.parameters()),
                ],
            )
            for block in BLOCKS.values()
        ]
    )


def list_models() -> list[str]:
    from prunesim.models import MODELS
    from prunesim.sim.families import family_of

    return _aligned([(name, [family_of(model).describe(model)]) for name, model in MODELS.items()])


def list_methods() -> list[str]:
    from prunesim.sim.methods import METHODS
    from prunesim.sim.methods.options import describe

    return _aligned(
        [
            (name, [method.summary, f"options: {describe(method.options)}"])
            for name, method in METHODS.items()
        ]
    )


def list_hardware() -> list[str]:
    from prunesim.sim.hardware import hardware_names, load_hardware

    rows = []
    for name in hardware_names():
        hw = load_hardware(name)
        rows.append((name, [f"{hw.kind}: {one_line(hw.description)}"]))
    return _aligned(rows)


#: Section -> (its title, what lists it).
SECTIONS: dict[str, tuple[str, Callable[[], list[str]]]] = {
    "blocks": ("RTL blocks (prunesim verilog, bench)", list_blocks),
    "models": ("models (--model)", list_models),
    "methods": ("methods (--method) and their options (--set NAME=VALUE)", list_methods),
    "hardware": ("hardware presets (--hw; or a path to a .yaml file)", list_hardware),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "List what the commands accept: the RTL blocks of `prunesim verilog`, and the\n"
        "models, methods (with every option and its default) and hardware presets of\n"
        "`prunesim simulate` and `prunesim compare`."
    )
    parser.add_argument(
        "what",
        nargs="?",
        choices=tuple(SECTIONS),
        default=None,
        help="one section only (default: all)",
    )


def run(args: argparse.Namespace) -> int:
    chosen = [args.what] if args.what else list(SECTIONS)
    out = []
    for key in chosen:
        title, lines = SECTIONS[key]
        if len(chosen) > 1:
            out.append(f"{title}:")
            out += ["  " + line for line in lines()]
            out.append("")
        else:
            out += lines()
    print("\n".join(out).rstrip())
    return 0


COMMAND = register_command(
    Command(
        name="list",
        help="list the blocks, models, methods (with their options) and hardware",
        order=60,
        add_arguments=add_arguments,
        run=run,
    )
)
