"""Report section: the Verilog of the default RTL blocks and their ports."""

from __future__ import annotations

from prunesim.report import ReportContext

__all__ = ["blocks", "synthesis"]


def blocks(ctx: ReportContext) -> str:
    """Write ``<build>/verilog/<block>.v`` for every report block; tabulate their ports."""
    from prunesim.rtl.blocks import REPORT_BLOCKS, get_block, port_table
    from prunesim.sim.tables import markdown_table

    lines = [
        "Each block's Verilog with its default parameters (`prunesim verilog <block>` writes "
        "any other set). Cycle-level behaviour is checked against the golden models on Icarus "
        "Verilog and Verilator (`./run.sh test`); `prunesim bench topk|pq` measures it.",
        "",
    ]
    for name in REPORT_BLOCKS:
        block = get_block(name)
        params = block.defaults()
        component, verilog = block.to_verilog(params)
        path = ctx.build / "verilog" / f"{name}.v"
        ctx.write(path, verilog)
        ports = port_table(component, verilog)
        lines += [
            f"### `{name}`: {block.summary}",
            "",
            f"`{path}`, {len(verilog.splitlines())} lines; {block.describe(params)}",
            "",
            markdown_table(
                ["port", "direction", "width"],
                [[f"`{p.name}`", p.direction, str(p.width)] for p in ports],
            ),
            "",
        ]
    return "\n".join(lines)


#: SpAtten HPCA 2021: the top-k engine's published shares, and its claim against a sorter.
PAPER_TOPK_AREA_SHARE = 0.027
PAPER_TOPK_POWER_SHARE = 0.010
PAPER_AREA_MM2 = 18.71
PAPER_SORTER_THROUGHPUT = 1.4  # the top-k engine's throughput / the Batcher sorter's, n = 1024
PAPER_SORTER_POWER = 3.5  # the sorter's power / the top-k engine's
#: The calibrated comparator lane the spatten file used before (2.7% of 18.71 mm^2 over 64
#: lanes) and the softmax lane it assumed (5 Aladdin 40 nm 12-bit multiply-adds).
CALIBRATED_COMPARATOR_UM2 = PAPER_TOPK_AREA_SHARE * PAPER_AREA_MM2 * 1e6 / 64
ASSUMED_SOFTMAX_LANE_UM2 = 5507  # the file's former value, 5 x 1101.5 rounded


def _through(report) -> str:
    path = report.critical_path
    if path is None:
        return "-"
    via = ", ".join(path.through) if path.through else "top level"
    return f"{path.delay_ns:.2f} ns via {via}"


def synthesis(ctx: ReportContext) -> str:
    """The committed synthesis records (:mod:`prunesim.synth.records`): both blocks on both
    targets, the SpAtten file's unit figures derived from them beside the paper's shares, and
    the Batcher sorter against the top-k engine at n = 1024."""
    from prunesim.sim.paper import GPT2
    from prunesim.sim.tables import markdown_table
    from prunesim.synth.records import SKY130_TO_40NM, load_record, record_names, unit_figures

    names = record_names()
    records = {name: load_record(*name) for name in names}
    rows = []
    for (block, target), rec in records.items():
        r = rec.report
        if target == "asic":
            size = f"{r.area_um2 / 1e6:.3f} mm^2 cells"
            memory = r.memory_area_um2
            size += f" + {memory / 1e6:.3f} mm^2 memories" if memory else ""
            power = f"{r.power.total_w * 1e3:.1f} mW at {r.clock_mhz:g} MHz"
            energy = f"{r.energy_per_frame_j * 1e9:.1f} nJ"
        else:
            res = r.resources
            size = f"{res.get('LUT4')} LUT4, {res.get('FF')} FF, {res.get('BRAM')} BRAM"
            size += f", {res.get('DSP')} DSP"
            power = energy = "not estimated by the tools"
        cycles = rec.bench["cycles"]
        frame = f"{cycles / r.fmax_mhz:.2f}" if r.fmax_mhz else "-"
        lsb = rec.bench.get("cycles_lsb")
        rows.append(
            [
                f"`{block}`",
                target,
                size,
                f"{r.fmax_mhz:.1f}" if r.fmax_mhz else "-",
                _through(r),
                power,
                energy,
                f"{cycles:.1f}" + (f" / {lsb:.1f} LSB" if lsb else ""),
                frame,
            ]
        )
    lines = [
        "Our blocks at their defaults (top-k engine 16 lanes x 1024 scores of 16 bits; PQ "
        "datapath d = 64; Batcher sorter 16 lanes x 1024), synthesized by `prunesim synth` and "
        "committed as records (`prunesim/synth/records/`, made by `python -m "
        "prunesim.bench.synth_records`; a test checks they are of today's Verilog). Cycles per "
        "frame from each block's cocotb bench on Verilator (n = 1024, k = 512; PQ without / with "
        "the LSB pass), whose switching activity also drives the ASIC power. ECP5: YoWASP Yosys "
        "+ nextpnr-ecp5 out of context (Fmax after routing; the FPGA tools estimate no power). "
        "ASIC: sky130_fd_sc_hd (our Liberty, tt corner), Yosys + OpenSTA, no wires, memories as "
        "macros of an assumed density whose power is left out: an estimate.",
        "",
        markdown_table(
            [
                "block",
                "target",
                "resources / area",
                "Fmax MHz",
                "critical path",
                "power",
                "energy/frame",
                "cycles/frame",
                "time/frame us",
            ],
            rows,
        ),
        "",
    ]
    if ("topk", "asic") in records and ("pq", "asic") in records:
        hw = ctx.runs.hardware("spatten")
        units = unit_figures(
            records["topk", "asic"], records["pq", "asic"], hw.area_sram_mm2_per_kb
        )
        gpt2 = ctx.runs.run(*GPT2, "spatten", "spatten")
        topk_energy = gpt2.energy_breakdown_j.get("compute_topk")
        topk_power = "-" if topk_energy is None else f"{topk_energy / gpt2.energy_j:.2%}"
        lines += [
            f"At SpAtten's 40 nm ({SKY130_TO_40NM.source}; the buffers at the file's SRAM "
            "density), the spatten hardware file takes its top-k and softmax figures from these "
            "records (`prunesim.synth.records.unit_figures`; a test checks the file against it):",
            "",
            markdown_table(
                ["figure", "from our synthesis", "before", "paper"],
                [
                    [
                        "comparator lane (um^2)",
                        f"{units.comparator_um2:,.0f}",
                        f"{CALIBRATED_COMPARATOR_UM2:,.0f} (calibrated on the paper's 2.7%)",
                        "-",
                    ],
                    [
                        "top-k engines' share of 18.71 mm^2",
                        f"{64 * units.comparator_um2 / (PAPER_AREA_MM2 * 1e6):.2%}",
                        f"{PAPER_TOPK_AREA_SHARE:.1%}",
                        f"{PAPER_TOPK_AREA_SHARE:.1%}",
                    ],
                    [
                        "softmax lane (um^2)",
                        f"{units.softmax_lane_um2:,.0f}",
                        f"{ASSUMED_SOFTMAX_LANE_UM2:,.0f} (5 Aladdin multiply-adds)",
                        "-",
                    ],
                    [
                        "top-k energy per key (pJ)",
                        f"{units.topk_pj_per_key:.3f}",
                        "0 (unpriced)",
                        "-",
                    ],
                    [
                        "softmax energy per score (pJ)",
                        f"{units.softmax_pj_per_score:.3f}",
                        "5 multiply-adds",
                        "-",
                    ],
                    [
                        "top-k share of GPT-2's energy on spatten",
                        topk_power,
                        "0",
                        f"{PAPER_TOPK_POWER_SHARE:.1%} of the power",
                    ],
                ],
            ),
            "",
        ]
    if ("topk", "asic") in records and ("sorter", "asic") in records:
        t, s = records["topk", "asic"], records["sorter", "asic"]
        tr, sr = t.report, s.report

        def rate(rec) -> float:  # frames per second at the record's own Fmax
            return rec.report.fmax_mhz * 1e6 / rec.bench["cycles"]

        throughput = rate(t) / rate(s)
        power = sr.power.total_w / tr.power.total_w
        lines += [
            "SpAtten's claim: its top-k engine gives "
            f"{PAPER_SORTER_THROUGHPUT}x the throughput of a Batcher odd-even merge sorter at "
            f"{PAPER_SORTER_POWER}x less power (n = 1024). Ours, both with 16 lanes, n = 1024, "
            "k = 512, ASIC:",
            "",
            markdown_table(
                ["", "top-k engine", "Batcher sorter", "top-k / sorter", "paper"],
                [
                    [
                        "cycles per frame",
                        f"{t.bench['cycles']:.1f}",
                        f"{s.bench['cycles']:.1f}",
                        f"{t.bench['cycles'] / s.bench['cycles']:.2f}",
                        "-",
                    ],
                    [
                        "Fmax (MHz)",
                        f"{tr.fmax_mhz:.0f}",
                        f"{sr.fmax_mhz:.0f}",
                        f"{tr.fmax_mhz / sr.fmax_mhz:.2f}",
                        "-",
                    ],
                    [
                        "throughput at one clock (1 / cycles)",
                        "",
                        "",
                        f"{s.bench['cycles'] / t.bench['cycles']:.2f}x",
                        f"{PAPER_SORTER_THROUGHPUT}x",
                    ],
                    [
                        "throughput (frames/s at own Fmax)",
                        f"{rate(t) / 1e6:.3f} M",
                        f"{rate(s) / 1e6:.3f} M",
                        f"{throughput:.2f}x",
                        "-",
                    ],
                    [
                        f"power at {tr.clock_mhz:g} MHz (mW)",
                        f"{tr.power.total_w * 1e3:.1f}",
                        f"{sr.power.total_w * 1e3:.1f}",
                        f"{power:.2f}x less" if power >= 1 else f"{1 / power:.2f}x more",
                        f"{PAPER_SORTER_POWER}x less",
                    ],
                    [
                        "energy per frame (nJ)",
                        f"{tr.energy_per_frame_j * 1e9:.1f}",
                        f"{sr.energy_per_frame_j * 1e9:.1f}",
                        f"{tr.energy_per_frame_j / sr.energy_per_frame_j:.2f}",
                        "-",
                    ],
                    [
                        "area (mm^2, cells + memories)",
                        f"{(tr.area_um2 + tr.memory_area_um2) / 1e6:.3f}",
                        f"{(sr.area_um2 + sr.memory_area_um2) / 1e6:.3f}",
                        "-",
                        "-",
                    ],
                ],
            ),
            "",
        ]
    ctx.data("synthesis", {f"{b}/{t}": rec.to_dict()["report"] for (b, t), rec in records.items()})
    return "\n".join(lines)
