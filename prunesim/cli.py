"""The ``prunesim`` command line.

``main(argv)`` returns the exit status: 0 on success, 2 for bad input (a one-line
``prunesim: error: ...`` message on stderr, no traceback, no file written), 1 when something the
command needs is missing. Generated files are written whole or not at all (a temporary file in
the same folder, then a rename).
"""

from __future__ import annotations

import argparse
import importlib
import itertools
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from prunesim import __version__
from prunesim.files import write_text_atomic

__all__ = ["BLOCKS", "Block", "IntOption", "main", "port_table", "write_atomic"]

PROG = "prunesim"


class CLIError(Exception):
    """An error reported as one line ``prunesim: error: <message>``, exit status ``status``."""

    def __init__(self, message: str, status: int = 2) -> None:
        super().__init__(message)
        self.status = status


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


# ---------------------------------------------------------------------------------------------
# Blocks that `prunesim verilog` can emit.


@dataclass(frozen=True)
class IntOption:
    """An integer constructor parameter of a block, exposed as a command-line option."""

    param: str  # the constructor's keyword argument, e.g. "max_n"
    default: int
    help: str

    @property
    def flag(self) -> str:
        return "--" + self.param.replace("_", "-")


@dataclass(frozen=True)
class Block:
    """An RTL block: where its component class lives and which parameters the CLI exposes.

    The class is imported only when the block is built, so ``--help`` and ``list`` work without
    loading Amaranth.
    """

    name: str
    summary: str  # one line, for `prunesim list`
    description: str  # for `prunesim verilog <name> --help`
    module: str  # e.g. "prunesim.rtl.topk"
    cls: str  # e.g. "TopK"
    options: tuple[IntOption, ...]

    def defaults(self) -> dict[str, int]:
        return {option.param: option.default for option in self.options}

    def build(self, **params: Any) -> Any:
        """Construct the component; its constructor raises ValueError/TypeError for bad values."""
        component_class = getattr(importlib.import_module(self.module), self.cls)
        return component_class(**params)

    def describe(self, params: dict[str, Any]) -> str:
        return f"{self.name}: " + " ".join(f"{key}={value}" for key, value in params.items())


#: Block name -> how to build it. A new block (e.g. the progressive-quantization datapath as
#: "pq") is one more entry here; `verilog`, `list` and `report` pick it up.
BLOCKS: dict[str, Block] = {
    "topk": Block(
        name="topk",
        summary="SpAtten's top-k engine: keeps the k largest of a frame of scores",
        description=(
            "SpAtten's top-k engine (prunesim.rtl.topk.TopK): takes a frame of up to MAX_N\n"
            "scores, LANES per beat, and emits the k largest with their indices, in index\n"
            "order.\n\n"
            "example:\n"
            "  prunesim verilog topk --width 12 --lanes 8 --max-n 512 --output topk.v"
        ),
        module="prunesim.rtl.topk",
        cls="TopK",
        options=(
            IntOption("width", 16, "bits per score"),
            IntOption("lanes", 16, "scores per beat, a power of two (the engine's parallelism)"),
            IntOption("max_n", 1024, "largest frame, >= LANES (sizes the buffers)"),
        ),
    ),
    "pq": Block(
        name="pq",
        summary="SpAtten's progressive-quantization datapath: Q.K, softmax, LSB decision",
        description=(
            "SpAtten's progressive-quantization datapath (prunesim.rtl.pq.ProgressiveAttention):\n"
            "one query against up to MAX_N keys fetched MSB plane first; fixed-point softmax;\n"
            "asks for the keys' LSB planes when the attention is flat.\n\n"
            "example:\n"
            "  prunesim verilog pq --d 64 --msb-bits 6 --lsb-bits 4 --output pq.v"
        ),
        module="prunesim.rtl.pq",
        cls="ProgressiveAttention",
        options=(
            IntOption("d", 64, "head dimension (multipliers)"),
            IntOption("q_bits", 12, "bits per query element (signed)"),
            IntOption("msb_bits", 8, "bits of a key element's MSB plane (signed)"),
            IntOption("lsb_bits", 4, "bits of a key element's LSB plane (unsigned)"),
            IntOption("prob_bits", 12, "bits per output probability (2..16)"),
            IntOption("max_n", 1024, "most keys per query (sizes the score buffer)"),
            IntOption("scale_shift", 32, "logit = score * scale / 2**SCALE_SHIFT (0..32)"),
        ),
    ),
}

#: Blocks (with their default parameters) whose Verilog `prunesim report` writes.
REPORT_BLOCKS: tuple[str, ...] = ("topk", "pq")


# ---------------------------------------------------------------------------------------------
# Helpers.


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` whole or not at all (:func:`prunesim.files.write_text_atomic`).

    Raises :class:`CLIError` if the file cannot be written.
    """
    try:
        write_text_atomic(path, text)
    except OSError as exc:
        raise CLIError(f"cannot write {path}: {exc.strerror or exc}") from None


@dataclass(frozen=True)
class Port:
    """A port of a generated Verilog module."""

    name: str
    direction: str  # "input" or "output"
    width: int


def port_table(component: Any, verilog: str | None = None) -> list[Port]:
    """The ports of ``component`` as Verilog names them, from its signature.

    Stream members flatten to ``<port>__payload``/``__valid``/``__ready``; arrays to
    ``<port>__0``, ... . If ``verilog`` is given, the ``clk`` and ``rst`` inputs of the ``sync``
    domain that it declares come first.
    """
    from amaranth.hdl import Shape
    from amaranth.lib.wiring import In

    ports: list[Port] = []
    if verilog is not None:
        for name in ("clk", "rst"):
            if re.search(rf"^\s*input\s+(?:wire\s+)?{name}\s*;", verilog, re.MULTILINE):
                ports.append(Port(name, "input", 1))
    for path, member in component.signature.members.flatten():
        if not member.is_port:
            continue
        direction = "input" if member.flow == In else "output"
        width = Shape.cast(member.shape).width
        base = "__".join(str(part) for part in path)
        for index in itertools.product(*(range(n) for n in member.dimensions)):
            name = "__".join([base, *(str(i) for i in index)])
            ports.append(Port(name, direction, width))
    return ports


def _to_verilog(block: Block, params: dict[str, Any]) -> tuple[Any, str]:
    """Build ``block`` and convert it; bad parameters become a :class:`CLIError`."""
    try:
        component = block.build(**params)
        from prunesim.rtl.verilog import to_verilog

        verilog = to_verilog(component, name=block.name)
    except (ValueError, TypeError) as exc:
        raise CLIError(_one_line(exc)) from None
    return component, verilog


# ---------------------------------------------------------------------------------------------
# Argument parsing.


class _Formatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Raw descriptions, and each option's default after its help unless it is None (then the
    help says what happens, e.g. "default: the model's")."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None:
            return action.help
        return super()._get_help_string(action)


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line: ``prunesim: error: ...``."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{PROG}: error: {_one_line(message)} (see `{self.prog} --help`)\n")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer, not {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, not {text!r}")
    return value


_BENCH_SIMULATORS = ("icarus", "verilator")


def _simulator_list(text: str) -> str:
    """Validate a comma-separated list of simulators; return it normalised (no blanks/repeats)."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise argparse.ArgumentTypeError(f"no simulator named in {text!r}")
    for name in names:
        if name not in _BENCH_SIMULATORS:
            raise argparse.ArgumentTypeError(
                f"unknown simulator {name!r} (choose from {', '.join(_BENCH_SIMULATORS)})"
            )
    return ",".join(dict.fromkeys(names))


def _add_bench(benches, name: str, *, help: str, description: str, frames: int) -> None:
    """Add ``prunesim bench <name>``, run by ``prunesim.bench.<name>.main(args)``."""
    sub = benches.add_parser(name, help=help, formatter_class=_Formatter, description=description)
    sub.add_argument(
        "--sims",
        type=_simulator_list,
        default="icarus,verilator",
        metavar="LIST",
        help="comma-separated simulators to run on (icarus, verilator)",
    )
    sub.add_argument(
        "--frames",
        type=_positive_int,
        default=frames,
        metavar="F",
        help="random frames per configuration",
    )
    sub.add_argument("--seed", type=int, default=1, metavar="S", help="random seed")
    sub.add_argument("--quick", action="store_true", help="a reduced grid, for smoke tests")
    sub.add_argument(
        "--build-dir",
        default="build/bench",
        metavar="DIR",
        help="folder for the generated Verilog and simulator builds",
    )
    sub.set_defaults(handler=_cmd_bench, bench_module=f"prunesim.bench.{name}")


def _build_parser() -> _Parser:
    parser = _Parser(
        prog=PROG,
        formatter_class=_Formatter,
        description=(
            "Co-design toolkit for accelerators of pruned neural networks: generates the\n"
            "Verilog of the RTL blocks, benchmarks them on HDL simulators, estimates the\n"
            "latency, DRAM traffic and energy each pruning method buys on accelerators,\n"
            "GPUs and CPUs (analytic simulator), writes reports."
        ),
        epilog="Run `prunesim <command> --help` for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="command", required=True)

    # prunesim verilog <block>
    verilog = commands.add_parser(
        "verilog",
        help="write the Verilog of one RTL block",
        formatter_class=_Formatter,
        description=(
            "Build one RTL block with the given parameters and write its Verilog module.\n"
            "Bad parameter values are reported in one line (exit status 2) and nothing\n"
            "is written. `prunesim list` shows the blocks."
        ),
    )
    blocks = verilog.add_subparsers(dest="block", metavar="block", required=True)
    for block in BLOCKS.values():
        sub = blocks.add_parser(
            block.name,
            help=block.summary,
            description=block.description,
            formatter_class=_Formatter,
        )
        for option in block.options:
            sub.add_argument(
                option.flag,
                dest=option.param,
                type=int,
                default=option.default,
                metavar=option.param.upper(),
                help=option.help,
            )
        sub.add_argument(
            "-o",
            "--output",
            type=Path,
            default=Path("build/verilog") / f"{block.name}.v",
            metavar="FILE",
            help="Verilog file to write (its folder is created)",
        )
        sub.set_defaults(handler=_cmd_verilog, block_spec=block)

    # prunesim report
    report = commands.add_parser(
        "report",
        help="write the report: tables and figures of the simulator, Verilog of the blocks "
        "(the main job)",
        formatter_class=_Formatter,
        description=(
            "Write OUT/report.md with its figures (OUT/figures/*.png) and data\n"
            "(OUT/data/*.json): SpAtten's published figures beside the simulator's, each\n"
            "technique's own gain on BERT and GPT-2, the energy breakdown, the per-layer\n"
            "schedule, the comparison with GPUs, CPUs and other accelerators, a roofline;\n"
            "and the Verilog of the default blocks into BUILD/verilog/ with a port summary.\n"
            "Nothing is written unless every section succeeds.\n\n"
            "example:\n"
            "  prunesim report --out reports --sections paper,ablation"
        ),
    )
    report.add_argument(
        "--out", type=Path, default=Path("reports"), metavar="OUT", help="report folder"
    )
    report.add_argument(
        "--build",
        type=Path,
        default=Path("build"),
        metavar="BUILD",
        help="folder for generated sources (Verilog)",
    )
    report.add_argument(
        "--sections",
        default=None,
        metavar="LIST",
        help="comma-separated sections to build (default: all; see below)",
    )
    report.set_defaults(handler=_cmd_report)

    # prunesim bench <block>
    bench = commands.add_parser(
        "bench",
        help="benchmark an RTL block on HDL simulators, or the analytic simulator's speed",
        formatter_class=_Formatter,
        description=(
            "Run a block's generated Verilog on Icarus Verilog and/or Verilator with cocotb,\n"
            "check every output against the golden model and measure cycles (topk, pq); or\n"
            "time the analytic simulator (sim)."
        ),
    )
    benches = bench.add_subparsers(dest="block", metavar="block", required=True)
    _add_bench(
        benches,
        "topk",
        help="benchmark the top-k engine",
        description=(
            "Benchmark the top-k engine: for a grid of parameter sets, build the Verilog,\n"
            "stream random frames through it on each simulator, compare each result with\n"
            "the golden model and report the cycles per frame.\n\n"
            "example:\n"
            "  prunesim bench topk --sims icarus --frames 8 --quick"
        ),
        frames=32,
    )
    _add_bench(
        benches,
        "pq",
        help="benchmark the progressive-quantization datapath",
        description=(
            "Benchmark the progressive-quantization datapath (d = 64): cycles per frame for\n"
            "n in {64, 256, 1024}, with and without the LSB pass, on each simulator, every\n"
            "result checked against the golden model, and the block's cycle formula.\n\n"
            "example:\n"
            "  prunesim bench pq --sims verilator --frames 2 --quick"
        ),
        frames=3,
    )
    sim_bench = benches.add_parser(
        "sim",
        help="time the analytic simulator (a GPT-2-medium trace, the compare matrix)",
        formatter_class=_Formatter,
        description=(
            "Time the analytic simulator: parsing and evaluating a GPT-2-medium generation\n"
            "trace in the SpAtten authors' format (12,288 query rows; target under 1 s) and\n"
            "the whole default `prunesim compare` matrix (target under 5 s). Prints best and\n"
            "median of REPEAT runs; exit status 1 if a median misses its target.\n\n"
            "example:\n"
            "  prunesim bench sim --repeat 3"
        ),
    )
    sim_bench.add_argument(
        "--repeat", type=_positive_int, default=5, metavar="N", help="runs of each measurement"
    )
    sim_bench.set_defaults(handler=_cmd_bench, bench_module="prunesim.bench.sim")
    from prunesim.bench import ofa as ofa_bench_module
    from prunesim.bench import scalesim as scalesim_bench_module

    ofa_bench = benches.add_parser(
        "ofa",
        help="time sweeping random Once-for-All sub-nets for MACs and latency",
        formatter_class=_Formatter,
        description=(
            "Time the Once-for-All sweep: MACs of COUNT random MobileNetV3 sub-nets, then\n"
            "their MACs and latency on systolic-32 and on every target that runs CNNs\n"
            "(target under 5 s for 1,000 sub-nets). Prints best and median of REPEAT runs;\n"
            "exit status 1 if a median misses its target.\n\n"
            "example:\n"
            "  prunesim bench ofa --repeat 3"
        ),
    )
    ofa_bench_module.add_arguments(ofa_bench)
    ofa_bench.set_defaults(handler=_cmd_bench, bench_module="prunesim.bench.ofa")
    scalesim_bench = benches.add_parser(
        "scalesim",
        help="cross-check the systolic-array model against SCALE-Sim v3",
        formatter_class=_Formatter,
        description=(
            "Run SCALE-Sim v3 (installed on first use into its own virtual environment with\n"
            "numpy < 2, from PyPI) and prunesim's analytic systolic-array model side by side\n"
            "on ResNet layers; print both cycle counts, their difference and the wall time.\n\n"
            "examples:\n"
            "  prunesim bench scalesim\n"
            "  prunesim bench scalesim --dataflow ws --layers resnet18:layer1.0.conv1"
        ),
    )
    scalesim_bench_module.add_arguments(scalesim_bench)
    scalesim_bench.set_defaults(handler=_cmd_bench, bench_module="prunesim.bench.scalesim")

    # prunesim simulate, prunesim compare
    from prunesim.simcli import add_commands

    add_commands(commands, _Formatter)

    # prunesim list
    listing = commands.add_parser(
        "list",
        help="list the blocks, models, methods (with their options) and hardware",
        formatter_class=_Formatter,
        description=(
            "List what the commands accept: the RTL blocks of `prunesim verilog`, and the\n"
            "models, methods (with every option and its default) and hardware presets of\n"
            "`prunesim simulate` and `prunesim compare`."
        ),
    )
    listing.add_argument(
        "what",
        nargs="?",
        choices=LIST_SECTIONS,
        default=None,
        help="one section only (default: all)",
    )
    listing.set_defaults(handler=_cmd_list)
    return parser


# ---------------------------------------------------------------------------------------------
# Commands.


def _cmd_verilog(args: argparse.Namespace) -> int:
    block: Block = args.block_spec
    params = {option.param: getattr(args, option.param) for option in block.options}
    _, verilog = _to_verilog(block, params)
    write_atomic(args.output, verilog)
    print(f"wrote {args.output} ({block.describe(params)})")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from prunesim.report import check_sections, write_report

    sections = None
    if args.sections is not None:
        sections = [name.strip() for name in args.sections.split(",") if name.strip()]
        try:
            check_sections(sections)
        except ValueError as exc:
            raise CLIError(_one_line(exc)) from None
    progress = _ProgressBar(len(sections) if sections else None)
    try:
        written = write_report(
            args.out, args.build, sections, on_section=progress.section, on_step=progress.step
        )
    except ValueError as exc:
        raise CLIError(_one_line(exc)) from None
    except OSError as exc:
        raise CLIError(f"cannot write the report: {exc.strerror or exc}") from None
    finally:
        progress.close()
    for path in written:
        if path.suffix in (".md", ".v"):
            print(path)
    print(f"{len(written)} files written; open {args.out / 'report.md'}")
    return 0


class _ProgressBar:
    """A progress bar on stderr (tqdm): one tick per report section, steps shown beside it."""

    def __init__(self, total: int | None) -> None:
        from tqdm import tqdm

        from prunesim.report import SECTIONS

        self._bar = tqdm(
            total=total or len(SECTIONS),
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


def _cmd_bench(args: argparse.Namespace) -> int:
    try:
        module = importlib.import_module(args.bench_module)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if args.bench_module == missing or args.bench_module.startswith(missing + "."):
            raise CLIError(f"{args.bench_module} is not installed", status=1) from None
        raise
    result = module.main(args)
    return int(result or 0)


LIST_SECTIONS = ("blocks", "models", "methods", "hardware")


def _list_blocks() -> list[str]:
    lines = []
    width = max(len(name) for name in BLOCKS)
    for block in BLOCKS.values():
        lines.append(f"{block.name:<{width}}  {block.summary}")
        defaults = " ".join(f"{option.flag} {option.default}" for option in block.options)
        lines.append(f"{'':<{width}}  defaults: {defaults}")
    return lines


def _list_models() -> list[str]:
    from prunesim.models import MODELS

    width = max(len(name) for name in MODELS)
    lines = []
    for name, model in MODELS.items():
        if hasattr(model, "vision"):  # an LVLM
            lines.append(
                f"{name:<{width}}  multimodal: {model.vision.name} ({model.vision.tokens} tokens "
                f"per image) + {model.llm.name} ({model.llm.layers} layers, {model.llm.heads} "
                f"heads, {model.llm.kv_heads} KV heads); {model.visual_tokens_per_image} visual "
                f"tokens per image; default {model.default_images} images + "
                f"{model.default_text_tokens} text; {model.params() / 1e9:.2f}B params"
            )
            continue
        if hasattr(model, "joins"):  # a convolutional network (CNNConfig)
            c, h, w = model.input
            lines.append(
                f"{name:<{width}}  CNN, {len(model.layers)} weight layers, {c}x{h}x{w} input, "
                f"{model.macs() / 1e6:,.1f}M MACs, {model.params() / 1e6:.2f}M params"
            )
            continue
        if hasattr(model, "latent"):  # the SD UNet
            lines.append(
                f"{name:<{width}}  UNet, {model.latent}x{model.latent} latent, "
                f"{model.text_tokens} text tokens, {model.macs() / 1e9:,.1f}G MACs per "
                f"evaluation, {model.params() / 1e6:.1f}M params"
            )
            continue
        kind = "decoder" if model.decoder else "encoder"
        lines.append(
            f"{name:<{width}}  {kind}, {model.layers} layers, hidden {model.hidden}, "
            f"{model.heads} heads (d {model.d}), FFN {model.ffn}, "
            f"{model.params() / 1e6:.1f}M params"
        )
    return lines


def _list_methods() -> list[str]:
    from prunesim.sim.methods import METHODS

    width = max(len(name) for name in METHODS)
    lines = []
    for name, method in METHODS.items():
        lines.append(f"{name:<{width}}  {method.summary}")
        options = " ".join(
            f"{field}={getattr(method.options, field)}" for field in method.option_fields()
        )
        lines.append(f"{'':<{width}}  options: {options}")
    return lines


def _list_hardware() -> list[str]:
    from prunesim.sim.hardware import hardware_names, load_hardware

    names = hardware_names()
    width = max(len(name) for name in names)
    lines = []
    for name in names:
        hw = load_hardware(name)
        lines.append(f"{name:<{width}}  {hw.kind}: {_one_line(hw.description)}")
    return lines


def _cmd_list(args: argparse.Namespace) -> int:
    sections = {
        "blocks": ("RTL blocks (prunesim verilog, bench)", _list_blocks),
        "models": ("models (--model)", _list_models),
        "methods": ("methods (--method) and their options (--set NAME=VALUE)", _list_methods),
        "hardware": ("hardware presets (--hw; or a path to a .yaml file)", _list_hardware),
    }
    chosen = [args.what] if args.what else list(sections)
    out = []
    for key in chosen:
        title, lines = sections[key]
        if len(chosen) > 1:
            out.append(f"{title}:")
            out += ["  " + line for line in lines()]
            out.append("")
        else:
            out += lines()
    print("\n".join(out).rstrip())
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``prunesim`` command line; return the exit status."""
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors
        return exc.code if isinstance(exc.code, int) else 2
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except CLIError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return exc.status
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `prunesim simulate --json | head`: the reader has gone
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
