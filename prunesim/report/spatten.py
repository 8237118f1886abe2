"""Report sections on SpAtten: paper reproduction, ablation, energy, schedule, baselines, roofline.

Every number comes from :mod:`prunesim.sim` on the presets named beside it; each table says the
command that reproduces it.
"""

from __future__ import annotations

from prunesim.report import ReportContext
from prunesim.report.figures import pyplot
from prunesim.sim.paper import BERT, GPT2, Reproduction, released_trace_path, reproductions
from prunesim.sim.tables import markdown_table, ratio, si

__all__ = ["ablation", "baselines", "energy", "paper", "roofline", "schedule"]

#: The techniques of the ablation, each alone, then all of them.
ABLATION = (
    "spatten-token",
    "spatten-head",
    "spatten-vprune",
    "spatten-quant",
    "spatten-pq",
    "spatten",
)
BENCHMARKS = (BERT, GPT2)
BASELINES = (
    "titan-xp",
    "xeon-e5-2640-v4",
    "jetson-nano",
    "raspberry-pi-4",
    "a100",
    "a3",
    "mnnfast",
)


def _stage_flags(stage) -> str:
    if stage.name == "summarize":
        return f"--tokens {stage.tokens}"
    return f"--prompt {stage.prompt} --generate {stage.generate}"


def _label(model: str, stage) -> str:
    return f"{model}, {stage.describe()}"


def _reproductions(ctx: ReportContext) -> tuple[Reproduction, ...]:
    """The paper reproduction, computed once per report with the report's runs."""
    return ctx.memo("spatten.reproductions", lambda: tuple(reproductions(runs=ctx.runs)))


def paper(ctx: ReportContext) -> str:
    """Each published SpAtten figure beside ours, with the difference and what differs."""
    rows = []
    for r in _reproductions(ctx):
        value = f"{r.ours:.3g}" if r.unit != "x" else ratio(r.ours)
        published = f"{r.paper:g}" if r.unit != "x" else f"{r.paper:g}x"
        rows.append(
            [
                r.what,
                published,
                value,
                r.unit if r.unit != "x" else "",
                f"{r.difference:+.0%}",
                r.how,
                r.note,
            ]
        )
    ctx.data("paper", [r.to_dict() for r in _reproductions(ctx)])
    return "\n".join(
        [
            "The SpAtten paper's figures (Wang, Zhang, Han, HPCA 2021) beside the simulator's, "
            "with the difference (ours / paper - 1). Nothing is fitted to these figures; the "
            "notes say where the settings differ and why a gap is expected. "
            "`tests/test_sim_paper.py` checks each row against a tolerance stated there.",
            "",
            markdown_table(
                ["figure", "paper", "ours", "unit", "difference", "ours: how", "note"], rows
            ),
        ]
    )


def ablation(ctx: ReportContext) -> str:
    """Each technique alone against dense, on the SpAtten preset, for BERT and GPT-2."""
    plt = pyplot()
    lines = [
        "Each technique switched on alone (the others off, 32-bit float data) against the dense "
        "model on the `spatten` preset; `spatten` is all of them with the defaults "
        "(`prunesim list methods`). In summarization local V pruning and progressive "
        "quantization are off by default (see `sim/methods/spatten.py`), so `spatten-vprune` "
        "and `spatten-pq` show what they would do there.",
        "",
    ]
    fig, axes = plt.subplots(1, len(BENCHMARKS), figsize=(10, 3.6), sharey=True)
    data = {}
    for ax, (model, stage) in zip(axes, BENCHMARKS, strict=True):
        ctx.progress(f"ablation {model}")
        dense = ctx.runs.run(model, stage, "dense", "spatten")
        rows, bars = [], {"DRAM cut": [], "speedup": [], "energy saving": []}
        for method in ("dense", *ABLATION):
            r = ctx.runs.run(model, stage, method, "spatten")
            cut, speed, saving = (
                dense.dram_bytes / r.dram_bytes,
                dense.seconds / r.seconds,
                dense.energy_j / r.energy_j,
            )
            rows.append(
                [
                    method,
                    si(r.dram_bytes, "B"),
                    ratio(cut),
                    si(r.seconds, "s"),
                    ratio(speed),
                    si(r.energy_j, "J"),
                    ratio(saving),
                ]
            )
            if method != "dense":
                bars["DRAM cut"].append(cut)
                bars["speedup"].append(speed)
                bars["energy saving"].append(saving)
            data[f"{model}/{method}"] = {"dram_cut": cut, "speedup": speed, "energy_saving": saving}
        lines += [
            f"### {_label(model, stage)}",
            "",
            markdown_table(
                ["method", "DRAM", "DRAM cut", "time", "speedup", "energy", "energy saving"], rows
            ),
            "",
            f"`prunesim compare --model {model} {_stage_flags(stage)} --hw spatten`",
            "",
        ]
        width = 0.27
        for i, (name, values) in enumerate(bars.items()):
            xs = [x + (i - 1) * width for x in range(len(ABLATION))]
            ax.bar(xs, values, width, label=name)
        ax.axhline(1, color="black", linewidth=0.6)
        ax.set_yscale("log")
        ax.set_xticks(
            range(len(ABLATION)), [m.replace("spatten-", "") for m in ABLATION], rotation=20
        )
        ax.set_title(_label(model, stage), fontsize=9)
    axes[0].set_ylabel("gain over dense (x)")
    axes[0].legend(fontsize=8)
    ctx.data("ablation", data)
    lines.insert(2, ctx.figure("ablation", fig, "each technique's gain over dense") + "\n")
    return "\n".join(lines)


def energy(ctx: ReportContext) -> str:
    """Energy breakdown of dense and SpAtten on the SpAtten preset, and its area and static
    power by unit beside the paper's."""
    plt = pyplot()
    results = {}
    for model, stage in BENCHMARKS:
        for method in ("dense", "spatten"):
            results[(model, method)] = ctx.runs.run(model, stage, method, "spatten")
    components = list(next(iter(results.values())).energy_breakdown_j)
    fig, ax = plt.subplots(figsize=(7, 3.4))
    labels = [f"{m}\n{meth}" for (m, meth) in results]
    bottom = [0.0] * len(results)
    for component in components:
        values = [r.energy_breakdown_j[component] * 1e3 for r in results.values()]
        ax.bar(labels, values, bottom=bottom, label=component)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax.set_ylabel("energy (mJ)")
    ax.set_yscale("log")
    ax.legend(fontsize=7, ncol=2)
    rows = [
        [model, method, si(r.energy_j, "J"), si(r.energy_j / r.seconds, "W")]
        + [f"{r.energy_breakdown_j[c] / r.energy_j:.1%}" for c in components]
        for (model, method), r in results.items()
    ]
    ctx.data("energy", {f"{m}/{meth}": r.energy_breakdown_j for (m, meth), r in results.items()})
    spatten_hw = ctx.runs.run(*GPT2, "spatten", "spatten")
    dram_pj_per_bit = ctx.runs.hardware("spatten").dram_pj_per_bit
    return "\n".join(
        [
            ctx.figure("energy", fig, "energy breakdown"),
            "",
            markdown_table(["model", "method", "energy", "mean power"] + components, rows),
            "",
            "Energy per operation from `sim/hardware/spatten.yaml`: HBM2 "
            f"{dram_pj_per_bit:g} pJ/bit (O'Connor et al., MICRO 2017); SRAM reads and "
            "integer multiply/add by size from Horowitz (ISSCC 2014, 45 nm); static power "
            "(leakage) x time from the file's `static:` figures. The paper reports "
            "8.30 W (logic 1.36, SRAM 1.24, DRAM 5.71 W). GPT-2 on SpAtten: "
            f"{si(spatten_hw.energy_j / spatten_hw.seconds, 'W')} mean.",
            "",
            *_area_tables(ctx, spatten_hw),
        ]
    )


#: SpAtten HPCA 2021's published area and power: (area mm^2, power W) by part; None: not given.
PAPER_AREA_POWER = {
    "topk": ("2.7% of the area", "1.0% of the power"),
    "total": ("18.71 mm^2", "8.30 W (logic 1.36, SRAM 1.24, DRAM 5.71)"),
}


def _area_tables(ctx: ReportContext, gpt2) -> list[str]:
    """Our area and static power by unit for the spatten preset beside the paper's, the mean
    power of GPT-2 by part beside the paper's, and SpAtten-1/8's area."""
    hw = ctx.runs.hardware("spatten")
    units = hw.units()
    area_total = sum(u.count * u.area_mm2 for u in units)
    static_total = sum(u.count * u.static_w for u in units)
    rows = [
        [
            u.name,
            f"{u.count * u.area_mm2:.3g} mm^2 ({u.count * u.area_mm2 / area_total:.1%})",
            si(u.count * u.static_w, "W"),
            PAPER_AREA_POWER.get(u.name, ("n/a", "n/a"))[0],
        ]
        for u in units
    ]
    rows.append(["total", f"{area_total:.4g} mm^2", si(static_total, "W")])
    rows[-1].append(PAPER_AREA_POWER["total"][0])
    b, seconds = gpt2.energy_breakdown_j, gpt2.seconds
    sram_static = next(u for u in units if u.name == "sram")
    sram_static_w = sram_static.count * sram_static.static_w
    logic_j = sum(v for k, v in b.items() if k.startswith("compute")) + (
        b.get("static", 0.0) - sram_static_w * seconds
    )
    sram_j = b["sram"] + sram_static_w * seconds
    power_rows = [
        ["logic (compute + static)", si(logic_j / seconds, "W"), "1.36 W"],
        ["SRAM (reads, writes + static)", si(sram_j / seconds, "W"), "1.24 W"],
        ["DRAM", si(b["dram"] / seconds, "W"), "5.71 W"],
        ["total", si(gpt2.energy_j / seconds, "W"), "8.30 W"],
    ]
    eighth = ctx.runs.hardware("spatten-eighth")
    eighth_area = sum(u.count * u.area_mm2 for u in eighth.units())
    return [
        "Area and static power by unit, `sim/hardware/spatten.yaml` (the per-unit figures from "
        "Aladdin's TSMC 40 nm units and a CACTI rule of thumb for SRAM; the comparator and the "
        "fixed part calibrated on the paper's top-k share and total: see the file's sources):",
        "",
        markdown_table(["unit", "area (share)", "static power", "paper"], rows),
        "",
        f"Mean power of GPT-2 ({GPT2[0]}) on the spatten preset by part, beside the paper's "
        "(top-k: 1.0% of the power in the paper; its dynamic energy is not modelled here):",
        "",
        markdown_table(["part", "ours", "paper"], power_rows),
        "",
        f"SpAtten-1/8 (`spatten-eighth`): {eighth_area:.3g} mm^2 here (its fixed part "
        "calibrated on the paper's total), 1.55 mm^2 in the paper.",
    ]


def schedule(ctx: ReportContext) -> str:
    """Per-layer token and head keep ratios of the defaults, and the released trace's keys."""
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
    rows = []
    for model, stage in BENCHMARKS:
        w = ctx.runs.workload(model, stage, "spatten")
        layers = range(w.layers)
        axes[0].plot(layers, w.schedule["token_keep"], marker="o", label=f"{model} tokens")
        axes[0].plot(
            layers, w.schedule["head_keep"], marker="s", linestyle="--", label=f"{model} heads"
        )
        rows.append([model, "tokens"] + [f"{v:.2f}" for v in w.schedule["token_keep"]])
        rows.append([model, "heads"] + [f"{v:.2f}" for v in w.schedule["head_keep"]])
    axes[0].set_xlabel("layer")
    axes[0].set_ylabel("keep ratio")
    axes[0].set_title("SpAtten defaults: token keep 0.28, head keep 0.9", fontsize=9)
    axes[0].legend(fontsize=7)
    trace_text = "The released trace is not in this installation (it ships with the tests)."
    path = released_trace_path()
    if path is not None:
        from prunesim.sim.trace import load_trace

        t = load_trace(path)
        steps = sorted(set(t.rows.step.tolist()))
        for step in (steps[0], steps[1], steps[-1]):
            mask = t.rows.step == step
            per_layer = [
                float(t.rows.keys[mask & (t.rows.layer == layer)].mean() / t.lengths[mask].max())
                for layer in range(t.layers)
            ]
            axes[1].plot(range(t.layers), per_layer, marker="o", label=f"step {step} keys")
        mean_v = float(t.rows.values.sum() / t.rows.keys.sum())
        axes[1].set_title(f"released GPT-2-small trace (V kept {mean_v:.0%} of keys)", fontsize=9)
        axes[1].set_xlabel("layer")
        axes[1].set_ylabel("keys fetched / sequence length")
        axes[1].legend(fontsize=7)
        trace_text = (
            f"Right: the authors' released GPT-2-small trace ({len(t.rows)} queries): its cascade "
            "token top-k keeps "
            + ", ".join(f"{v} after layer {k}" for k, v in sorted(t.topk.items()))
            + " (the top-k after the last layer applies to the next step's first layer); step 0 "
            "prunes nothing."
        )
    header = ["model", "kept"] + [str(i) for i in range(max(len(r) - 2 for r in rows))]
    rows = [r + [""] * (len(header) - len(r)) for r in rows]
    return "\n".join(
        [
            ctx.figure("schedule", fig, "per-layer schedule"),
            "",
            "Left: the paper's schedule (no token pruning in the first 15% of layers, no head "
            "pruning in the first 30%, then a linear ramp with r_start + r_end = 2 r_avg) at the "
            "default mean keep ratios. " + trace_text,
            "",
            markdown_table(header, rows),
        ]
    )


def baselines(ctx: ReportContext) -> str:
    """SpAtten (full and 1/8) against dense on every baseline, for BERT and GPT-2."""
    lines = [
        "Speedup / energy saving of `spatten` on each SpAtten preset over the dense model on each "
        "baseline (attention only). GPUs and CPUs are eager-PyTorch rooflines with a per-kernel "
        "overhead and datasheet power (`sim/hardware/*.yaml` cites each figure); A3 and MNNFast "
        "run at their published GOP/s and GOP/J (whether those include DRAM is not in the "
        "figures we have; SpAtten's modelled energy includes its HBM2 traffic).",
        "",
    ]
    data = {}
    for model, stage in BENCHMARKS:
        ctx.progress(f"baselines {model}")
        targets = ["spatten", "spatten-eighth", *BASELINES]
        [cr] = ctx.runs.compare([model], ["spatten"], targets, stage=stage)
        rows = []
        for hw in ("spatten", "spatten-eighth"):
            entry = cr.entries[("spatten", hw)]
            rows.append([hw] + [_pair(entry.vs_baselines[b]) for b in cr.baselines])
            data[f"{model}/{hw}"] = entry.vs_baselines
        dense_rows = [
            [b, si(ctx.runs.run(model, stage, "dense", b).seconds, "s")] for b in cr.baselines
        ]
        lines += [
            f"### {_label(model, stage)}",
            "",
            markdown_table(["SpAtten", *[f"vs {b}" for b in cr.baselines]], rows),
            "",
            "Dense time on each baseline: " + ", ".join(f"{b} {t}" for b, t in dense_rows) + ".",
            "",
            f"`prunesim compare --model {model} {_stage_flags(stage)} --method spatten "
            f"--hw spatten,spatten-eighth,{','.join(BASELINES)}`",
            "",
        ]
    ctx.data("baselines", data)
    return "\n".join(lines)


def _pair(vs: dict) -> str:
    return f"{ratio(vs['speedup'])} / {ratio(vs['energy_saving'])}"


def roofline(ctx: ReportContext) -> str:
    """Every (model, method) on the rooflines of SpAtten and the TITAN Xp."""
    import numpy as np

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.2))
    intensity = np.logspace(-2, 3, 200)
    rows = []
    for hw_name, color in (("spatten", "tab:blue"), ("titan-xp", "tab:red")):
        hw = ctx.runs.hardware(hw_name)
        roof = np.minimum(hw.peak_ops_per_s, intensity * hw.dram_bytes_per_s)
        ax.plot(intensity, roof, color=color, label=f"{hw_name} roof")
        for model, stage in BENCHMARKS:
            for method, marker in (("dense", "o"), ("spatten", "*")):
                r = ctx.runs.run(model, stage, method, hw_name)
                oi = r.ops / r.dram_bytes
                ax.scatter([oi], [r.ops_per_s], color=color, marker=marker, s=50)
                ax.annotate(
                    f"{model.split('-')[0]} {method}",
                    (oi, r.ops_per_s),
                    fontsize=7,
                    xytext=(4, -8),
                    textcoords="offset points",
                )
                rows.append(
                    [
                        hw_name,
                        model,
                        method,
                        f"{oi:.3g}",
                        si(r.ops_per_s, "op/s"),
                        f"{r.ops_per_s / min(hw.peak_ops_per_s, oi * hw.dram_bytes_per_s):.0%}",
                    ]
                )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("operational intensity (ops per DRAM byte)")
    ax.set_ylabel("throughput (ops/s, executed)")
    ax.legend(fontsize=8)
    return "\n".join(
        [
            ctx.figure("roofline", fig, "roofline"),
            "",
            "Roofs from the hardware files (SpAtten: 1024 multipliers x 2 ops x 1 GHz, 512 GB/s; "
            "TITAN Xp: 12.15 TFLOPS fp32, 547.7 GB/s). Executed ops (2 per MAC) over DRAM bytes "
            "moved; GPUs read every tensor at fp32.",
            "",
            markdown_table(
                ["hardware", "model", "method", "ops/byte", "throughput", "of roof"], rows
            ),
        ]
    )
