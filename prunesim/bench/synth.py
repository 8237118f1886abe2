"""``prunesim bench synth``: area, Fmax, power and time per frame of the RTL blocks, synthesized.

Every configuration of the grid goes through two steps:

1. Cycles and switching activity: the block's cocotb ``bench`` test on Verilator, ``--frames``
   frames of ``n = max_n`` uniform random scores (top-k engine and sorter: ``k = n / 2``; PQ
   datapath: one case without and one with the LSB pass), no input gaps, the output always
   ready, every frame checked against the golden model; Verilator dumps the waveform (VCD),
   whose per-net toggle rates (:func:`prunesim.synth.activity.activity_from_vcd`) drive the ASIC
   target's power analysis.
2. Synthesis on each of ``--targets`` (:func:`prunesim.synth.synthesize_block`, cached under
   ``<build_dir>/synth``): FPGA resources and Fmax; ASIC area (standard cells, memories as
   macros), Fmax from static timing, power with the bench's activity and energy per frame.

Cycles per frame: top-k engine and sorter: ``ceil(n / lanes)`` input beats (one per cycle) plus
the mean latency from the last input beat to the last output beat; PQ datapath: from the query
to the last probability, without the LSB pass (``cycles, LSB``: with it). Time per frame is
cycles / Fmax. Results also go to ``<build_dir>/synth_bench.json``.

The grid: the top-k engine (width 16) at lanes 4, 8, 16 x max_n 64, 256, 1024; the PQ
datapath at d 16 and 64 (its other parameters default); the Batcher sorter at the top-k
engine's default (16 lanes, 1024), SpAtten's baseline. The sorter's FPGA place and route takes
hours at that size, so it runs on the ASIC target only unless ``--blocks`` names it
explicitly. ``--quick``: one small configuration per block.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO

from prunesim.bench import Bench, register_bench

__all__ = [
    "BLOCK_BENCHES",
    "BlockBench",
    "Config",
    "Row",
    "format_table",
    "grid",
    "main",
    "run_configs",
]

#: The blocks of the grid, in order.
BLOCKS = ("topk", "pq", "sorter")
#: The targets measured by default.
TARGETS = ("fpga-ecp5", "asic")


@dataclass(frozen=True)
class Config:
    """One block and its parameters (the others at their defaults); ``targets`` it runs on."""

    block: str
    params: dict[str, int]
    targets: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"{self.block} " + " ".join(f"{k}={v}" for k, v in self.params.items())


def grid(
    blocks: tuple[str, ...] = BLOCKS,
    targets: tuple[str, ...] = TARGETS,
    quick: bool = False,
    sorter_fpga: bool = False,
) -> list[Config]:
    """The configurations of the module docstring, for ``blocks`` on ``targets``; the sorter's
    FPGA targets only with ``sorter_fpga``."""
    configs: list[Config] = []
    sorter_targets = targets if sorter_fpga else tuple(t for t in targets if t == "asic")
    if "topk" in blocks:
        shapes = [(4, 64)] if quick else [(p, n) for p in (4, 8, 16) for n in (64, 256, 1024)]
        configs += [
            Config("topk", {"width": 16, "lanes": p, "max_n": n}, targets) for p, n in shapes
        ]
    if "pq" in blocks:
        sets = (
            [{"d": 4, "msb_bits": 4, "lsb_bits": 4, "max_n": 16, "scale_shift": 8}]
            if quick
            else [{"d": 16}, {"d": 64}]
        )
        configs += [Config("pq", params, targets) for params in sets]
    if "sorter" in blocks and sorter_targets:
        params = {"width": 8, "lanes": 4, "max_n": 32} if quick else {}
        configs.append(Config("sorter", params, sorter_targets))
    return configs


@dataclass
class Row:
    """One configuration on one target: the synthesis report's headline figures and the
    bench's cycles."""

    block: str
    params: dict[str, Any]
    target: str
    cycles: float
    cycles_lsb: float | None
    fmax_mhz: float | None
    luts: int | None = None
    ffs: int | None = None
    brams: int | None = None
    dsps: int | None = None
    area_um2: float | None = None
    memory_um2: float | None = None
    power_w: float | None = None
    energy_per_frame_j: float | None = None
    report: dict[str, Any] = field(default_factory=dict)

    @property
    def frame_us(self) -> float | None:
        """Time per frame, cycles / Fmax, in microseconds."""
        return None if not self.fmax_mhz else self.cycles / self.fmax_mhz

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "frame_us": self.frame_us}


@dataclass(frozen=True)
class BlockBench:
    """How ``prunesim bench synth`` runs one block's cocotb bench: its testbench module (which
    defines ``BENCH_ENV`` and ``BENCH_OUT_ENV``), the bench's cases for the block's parameters,
    what one operation is, and the mean operations per frame over those cases."""

    test_module: str
    cases: Callable[[Mapping[str, Any]], list[list[Any]]]
    operation: str
    operations_per_frame: Callable[[Mapping[str, Any]], float]
    #: True: the cases are (without, with) the LSB pass, reported as two cycle counts.
    lsb_pair: bool = False


def _keys(params: Mapping[str, Any]) -> list[list[Any]]:
    return [[params["max_n"], params["max_n"] // 2]]  # n = max_n, k = n / 2


#: Each benched block (a block of :mod:`prunesim.rtl.blocks`) and its bench; a new block adds
#: an entry here.
BLOCK_BENCHES: dict[str, BlockBench] = {
    "topk": BlockBench("prunesim.verif.topk_tb", _keys, "key", lambda p: float(p["max_n"])),
    "sorter": BlockBench("prunesim.verif.sorter_tb", _keys, "key", lambda p: float(p["max_n"])),
    # as many frames without the LSB pass (n scores) as with it (2 n: the scores again)
    "pq": BlockBench(
        "prunesim.verif.pq_tb",
        lambda p: [[p["max_n"], False], [p["max_n"], True]],
        "score",
        lambda p: 1.5 * p["max_n"],
        lsb_pair=True,
    ),
}


def _bench_cycles(config: Config, frames: int, seed: int, build_dir: Path) -> tuple[Any, ...]:
    """``(cycles per frame, cycles with the LSB pass or None, activity)`` of ``config``'s bench
    on Verilator (module docstring)."""
    import importlib

    from prunesim.bench.common import run_bench_testcase
    from prunesim.rtl.blocks import get_block
    from prunesim.synth.activity import activity_from_vcd
    from prunesim.verif.runner import param_tag

    spec = get_block(config.block)
    params = {**spec.defaults(), **config.params}
    bench = BLOCK_BENCHES[config.block]
    tb = importlib.import_module(bench.test_module)
    cases = bench.cases(params)
    run, record = run_bench_testcase(
        spec.component_class(),
        block=config.block,
        sim="verilator",
        test_module=bench.test_module,
        params=params,
        settings={"cases": cases, "frames": frames, "seed": seed},
        bench_env=tb.BENCH_ENV,
        out_env=tb.BENCH_OUT_ENV,
        build_dir=build_dir / "bench",
        out_name=f"synth-bench-{param_tag(params)}.json",
        waves=True,
    )
    means = [sum(case["cycles"]) / len(case["cycles"]) for case in record["cases"]]
    if bench.lsb_pair:
        cycles, cycles_lsb = means[0], means[1]
    else:
        cycles, cycles_lsb = math.ceil(params["max_n"] / params["lanes"]) + means[0], None
    activity = activity_from_vcd(run.waves, frames=frames * len(cases))
    return cycles, cycles_lsb, activity


def _row(config: Config, target: str, report: Any, cycles: float, cycles_lsb: Any) -> Row:
    res = report.resources
    return Row(
        block=config.block,
        params=dict(report.params),
        target=target,
        cycles=cycles,
        cycles_lsb=cycles_lsb,
        fmax_mhz=report.fmax_mhz,
        luts=res.get("LUT4"),
        ffs=res.get("FF", res.get("flip_flops")),
        brams=res.get("BRAM"),
        dsps=res.get("DSP"),
        area_um2=report.area_um2,
        memory_um2=report.memory_area_um2 or None,
        power_w=None if report.power is None else report.power.total_w,
        energy_per_frame_j=report.energy_per_frame_j,
        report=report.to_dict(),
    )


def run_configs(
    configs: list[Config],
    frames: int,
    seed: int,
    build_dir: str | Path,
    progress: TextIO | None = sys.stderr,
) -> list[Row]:
    """Bench and synthesize every configuration; one :class:`Row` per (configuration, target).
    Raises what :func:`prunesim.synth.synthesize_block` and the bench raise."""
    from prunesim.synth import synthesize_block

    build = Path(build_dir)
    rows: list[Row] = []
    for i, config in enumerate(configs, 1):
        label = f"[{i}/{len(configs)}] {config.label}"

        def say(step: str, label: str = label) -> None:
            if progress is not None:
                print(f"{label}: {step}", file=progress)

        say("cocotb bench on verilator (waveform) ...")
        cycles, cycles_lsb, activity = _bench_cycles(config, frames, seed, build)
        for target in config.targets:
            report = synthesize_block(
                config.block,
                config.params,
                target=target,
                build_dir=build,
                activity=activity if target == "asic" else None,
                activity_source=activity.source if target == "asic" else None,
                progress=lambda step, t=target: say(f"{t}: {step}"),
            )
            rows.append(_row(config, target, report, cycles, cycles_lsb))
    return rows


def _fmt(value: Any, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def format_table(rows: list[Row]) -> str:
    """The bench's table: one line per (configuration, target)."""
    from prunesim.sim.tables import markdown_table

    body = []
    for row in rows:
        params = " ".join(f"{k}={v}" for k, v in row.params.items() if k in ("lanes", "max_n", "d"))
        size = (
            f"{row.luts} LUT4, {row.ffs} FF, {row.brams} BRAM, {row.dsps} DSP"
            if row.target.startswith("fpga")
            else f"{_fmt(row.area_um2 and row.area_um2 / 1e6, '.4f')} mm^2 + "
            f"{_fmt(row.memory_um2 and row.memory_um2 / 1e6, '.4f')} mm^2 memories"
        )
        body.append(
            [
                row.block,
                params,
                row.target,
                size,
                _fmt(row.fmax_mhz, ".1f"),
                _fmt(row.power_w and row.power_w * 1e3, ".2f"),
                _fmt(row.energy_per_frame_j and row.energy_per_frame_j * 1e9, ".2f"),
                _fmt(row.cycles, ".1f"),
                _fmt(row.cycles_lsb, ".1f"),
                _fmt(row.frame_us, ".2f"),
            ]
        )
    return markdown_table(
        [
            "block",
            "parameters",
            "target",
            "resources / area",
            "Fmax MHz",
            "power mW",
            "energy/frame nJ",
            "cycles",
            "cycles, LSB",
            "time/frame us",
        ],
        body,
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from prunesim.argtypes import positive_int

    parser.add_argument(
        "--blocks",
        default=",".join(BLOCKS),
        metavar="LIST",
        help="comma-separated blocks of the grid (topk, pq, sorter); naming the sorter here "
        "also runs it on the FPGA targets (hours of place and route at its default size)",
    )
    parser.add_argument(
        "--targets",
        default=",".join(TARGETS),
        metavar="LIST",
        help="comma-separated synthesis targets (fpga-ecp5, fpga-ice40, asic)",
    )
    parser.add_argument(
        "--frames", type=positive_int, default=4, metavar="F", help="bench frames per case"
    )
    parser.add_argument("--seed", type=int, default=1, metavar="S", help="random seed")
    parser.add_argument(
        "--quick", action="store_true", help="one small configuration per block (smoke test)"
    )
    parser.add_argument(
        "--build-dir",
        default="build",
        metavar="DIR",
        help="folder for the benches, the synthesis runs (DIR/synth, cached) and the results",
    )


def _names(text: str, choices: tuple[str, ...], what: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    bad = [n for n in names if n not in choices]
    if not names or bad:
        raise ValueError(
            f"unknown {what} {(bad or [text])[0]!r} (choose from {', '.join(choices)})"
        )
    return names


def main(args: argparse.Namespace) -> int:
    """Run ``prunesim bench synth``; print the table; 0 on success, 1 when a tool is missing or
    fails, 2 for bad options (one line each)."""
    from prunesim.files import write_text_atomic
    from prunesim.provenance import bench_inputs
    from prunesim.synth.targets import SynthToolError, target_names
    from prunesim.toolchain import ToolchainError

    try:
        blocks = _names(str(args.blocks), BLOCKS, "block")
        targets = _names(str(args.targets), tuple(target_names()), "synthesis target")
    except ValueError as exc:
        print(f"prunesim: error: {exc}", file=sys.stderr)
        return 2
    explicit_sorter = "sorter" in blocks and str(args.blocks) != ",".join(BLOCKS)
    configs = grid(blocks, targets, bool(args.quick), sorter_fpga=explicit_sorter)
    try:
        rows = run_configs(configs, int(args.frames), int(args.seed), args.build_dir)
    except (ToolchainError, SynthToolError) as exc:
        print(f"prunesim: error: {exc}", file=sys.stderr)
        return 1
    print(format_table(rows))
    out = Path(args.build_dir) / "synth_bench.json"
    document = {"inputs": bench_inputs(BENCH, args), "rows": [row.to_dict() for row in rows]}
    import json

    write_text_atomic(out, json.dumps(document, indent=2) + "\n")
    print(f"\nresults: {out}")
    return 0


BENCH = register_bench(
    Bench(
        name="synth",
        help="area, Fmax, power and time per frame of the RTL blocks, synthesized",
        description=(
            "Synthesize the RTL blocks over a grid (top-k engine: lanes 4/8/16 x max_n\n"
            "64/256/1024; PQ datapath: d 16/64; the Batcher sorter at 16/1024) on the FPGA\n"
            "and ASIC targets, with the cycles and switching activity of each block's cocotb\n"
            "bench on Verilator: resources or area, Fmax, power, energy per frame and time\n"
            "per frame (cycles / Fmax) in one table. Synthesis runs are cached under\n"
            "BUILD_DIR/synth; the full grid takes hours on a laptop the first time.\n\n"
            "example:\n"
            "  prunesim bench synth --quick --targets asic"
        ),
        order=35,
        add_arguments=add_arguments,
        main=main,
    )
)
