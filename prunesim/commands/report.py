"""``prunesim report``: the main job, the report's tables and figures (:mod:`prunesim.report`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from prunesim.argtypes import CLIError, one_line
from prunesim.commands import Command, register_command

__all__ = ["COMMAND"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Write OUT/report.md with its figures (OUT/figures/*.png) and data\n"
        "(OUT/data/*.json): SpAtten's published figures beside the simulator's, each\n"
        "technique's own gain on BERT and GPT-2, the energy breakdown, the per-layer\n"
        "schedule, the comparison with GPUs, CPUs and other accelerators, a roofline;\n"
        "and the Verilog of the default blocks into BUILD/verilog/ with a port summary.\n"
        "All or nothing: the new report.md, figures/ and data/ (replaced whole) and the\n"
        "Verilog go into place only once every section succeeds; a failure or an interrupt\n"
        "leaves the previous ones as they were. Other files in OUT and BUILD are left alone.\n\n"
        "example:\n"
        "  prunesim report --out reports --sections paper,ablation"
    )
    parser.add_argument(
        "--out", type=Path, default=Path("reports"), metavar="OUT", help="report folder"
    )
    parser.add_argument(
        "--build",
        type=Path,
        default=Path("build"),
        metavar="BUILD",
        help="folder for generated sources (Verilog)",
    )
    parser.add_argument(
        "--sections",
        default=None,
        metavar="LIST",
        help="comma-separated sections to build, each once (default: all; see below)",
    )


class ProgressBar:
    """A progress bar on stderr (tqdm): one tick per report section, steps shown beside it."""

    def __init__(self, total: int) -> None:
        from tqdm import tqdm

        self._bar = tqdm(
            total=total,
            unit="section",
            file=sys.stderr,
            leave=False,
            disable=None,  # shown on a terminal only, not in logs
        )
        self._started = False

    def section(self, title: str) -> None:
        if self._started:
            self._bar.update(1)
        self._started = True
        self._bar.set_description(title)

    def step(self, label: str) -> None:
        self._bar.set_postfix_str(label)

    def close(self) -> None:
        if self._started:
            self._bar.update(1)
        self._bar.close()


def run(args: argparse.Namespace) -> int:
    from prunesim.report import check_sections, write_report

    sections = None
    if args.sections is not None:
        sections = [name.strip() for name in args.sections.split(",")] if args.sections else []
    try:
        chosen = check_sections(sections)
    except ValueError as exc:
        raise CLIError(one_line(exc)) from None
    progress = ProgressBar(len(chosen))
    try:
        written = write_report(
            args.out, args.build, sections, on_section=progress.section, on_step=progress.step
        )
    except ValueError as exc:
        raise CLIError(one_line(exc)) from None
    except OSError as exc:
        raise CLIError(f"cannot write the report: {exc.strerror or exc}") from None
    finally:
        progress.close()
    for path in written:
        if path.suffix in (".md", ".v"):
            print(path)
    print(f"{len(written)} files written; open {args.out / 'report.md'}")
    return 0


COMMAND = register_command(
    Command(
        name="report",
        help="write the report: tables and figures of the simulator, Verilog of the blocks "
        "(the main job)",
        order=20,
        add_arguments=add_arguments,
        run=run,
    )
)
