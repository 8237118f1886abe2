"""Report section on SuperTickets: the HR-NAS supernet slimmed and pruned.

The slimmed widths drawn per block and the modelled per-layer densities, aggregated per stage;
the gains of slimming alone and of slimming plus unstructured sparsity on each target (ratio to
the dense supernet on the same target); a sweep over the released configs' sparsities. Every
number comes from :mod:`prunesim.sim` (:mod:`prunesim.sim.methods.supertickets` states the
model); the paper publishes no per-layer figures to set beside them.
"""

from __future__ import annotations

from prunesim.models.hrnas import hrnas_branches
from prunesim.report import ReportContext
from prunesim.report.figures import pyplot
from prunesim.sim.tables import markdown_table, ratio, si
from prunesim.sim.workload import Infer

__all__ = ["TARGETS", "supertickets"]

#: Targets of the section: the dense and sparse systolic arrays, the TPU, a datacenter GPU and
#: an edge GPU (eager PyTorch on the GPUs: zeros buy nothing there).
TARGETS = ("systolic-32", "systolic-32-sparse", "tpu-v1", "a100", "jetson-agx-orin")
MODEL = "hrnas-supernet"
STAGE = Infer(1)
#: Stages of the per-stage tables, by layer-name prefix.
PARTS = ("stem", "stage1", "stage2", "stage3", "stage4", "stage5", "head", "classifier")


def _part(name: str) -> str:
    return name.split(".", 1)[0]


def _block(branch: str) -> str:
    return branch.rsplit(".", 1)[0]


def _figure(ctx: ReportContext, method, density: dict[str, float], network) -> str:
    """Hidden channels per block (supernet, released, uniform 0.5) and per-layer densities."""
    full = hrnas_branches()
    curves = {
        "supernet": full,
        "released (default)": method.released_hidden(),
        "uniform 0.5": method.slimmed_hidden(method.SuperTicketsOptions(channel_keep=0.5)),
    }
    blocks = list(dict.fromkeys(_block(b) for b in full))
    plt = pyplot()
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 6))
    for label, hidden in curves.items():
        per_block = {block: 0 for block in blocks}
        for branch, width in hidden.items():
            per_block[_block(branch)] += width
        top.step(range(len(blocks)), list(per_block.values()), where="mid", label=label)
    top.set_xlabel("block (execution order)")
    top.set_ylabel("hidden channels (k3+k5+k7)")
    top.set_yscale("symlog", linthresh=1)  # removed blocks (0 channels) stay visible
    top.legend(fontsize=7)
    top.set_title("SuperTickets on HR-NAS: hidden channels per block", fontsize=9)
    kinds = ("expand", "dw", "project", "residual")
    names = [layer.name for layer in network.layers]

    def kind_of(name: str) -> str:
        last = name.rsplit(".", 1)[-1]
        return last if last in kinds else "other"

    for kind in (*kinds, "other"):
        xs = [i for i, name in enumerate(names) if kind_of(name) == kind]
        bottom.scatter(xs, [density.get(names[i], 1.0) for i in xs], s=6, label=kind)
    bottom.set_yscale("log")
    bottom.set_xlabel("layer of the released sub-net (execution order)")
    bottom.set_ylabel("non-zero weight fraction")
    bottom.set_title(
        "modelled densities at sparsity 0.9 (global magnitude, mnas-init scales)", fontsize=9
    )
    bottom.legend(fontsize=7, ncol=5)
    fig.tight_layout()
    return ctx.figure("supertickets", fig, "SuperTickets widths and densities")


def _macs(layers) -> int:
    return sum(layer.macs for layer in layers)


def _per_stage(method, network, density: dict[str, float], fan_in: dict[str, float]) -> str:
    from prunesim.models.hrnas import HRNAS_SUPERNET

    rows = []
    for part in PARTS:
        sup = [layer for layer in HRNAS_SUPERNET.layers if _part(layer.name) == part]
        ours = [layer for layer in network.layers if _part(layer.name) == part]
        weights = sum(layer.weight_elements for layer in ours)
        hidden_sup = sum(layer.out_channels for layer in sup if layer.name.endswith(".expand"))
        hidden = sum(layer.out_channels for layer in ours if layer.name.endswith(".expand"))

        def nonzero(d: dict[str, float], layers=ours) -> float:
            return sum(layer.weight_elements * d.get(layer.name, 1.0) for layer in layers)

        rows.append(
            [
                part,
                f"{hidden_sup:,} -> {hidden:,}" if hidden_sup else "-",
                f"{si(_macs(sup))} -> {si(_macs(ours))}",
                f"{weights:,}",
                f"{nonzero(density) / weights:.4f}",
                f"{nonzero(fan_in) / weights:.4f}",
                f"{si(sum(layer.macs * density.get(layer.name, 1.0) for layer in ours))}",
            ]
        )
    return markdown_table(
        [
            "part",
            "hidden channels (supernet -> released)",
            "MACs (supernet -> slimmed)",
            "weights",
            "density, mnas init",
            "density, Kaiming fan-in",
            "MACs on non-zero weights",
        ],
        rows,
    )


def supertickets(ctx: ReportContext) -> str:
    """SuperTickets on the HR-NAS supernet at 224x224, batch 1."""
    from prunesim.sim.methods import supertickets as method

    options = method.SuperTicketsOptions()
    lines, collapsed = _slimming_lines(ctx, method, options)
    gains, gain_lines = _gains_lines(ctx, options.sparsity)
    sweep, sweep_lines = _sweep_lines(ctx, method)
    ctx.data(
        "supertickets",
        {
            "gains": gains,
            "sweep": sweep,
            "extras": dict(ctx.runs.workload(MODEL, STAGE, "supertickets").extras),
            "collapsed": collapsed,
        },
    )
    return "\n".join(lines + gain_lines + sweep_lines)


def _slimming_lines(ctx: ReportContext, method, options) -> tuple[list[str], list[str]]:
    """The figure, what slimming and the default sparsity leave, and the per-part table; also
    the layers the threshold empties."""
    network = method.slim_network(options)
    density, collapsed = method.layer_densities(network, options.sparsity)
    fan_in, _ = method.layer_densities(network, options.sparsity, weight_init="kaiming-fan-in")
    extras = ctx.runs.workload(MODEL, STAGE, "supertickets").extras
    return [
        _figure(ctx, method, density, network),
        "",
        "SuperTickets slims the kernel branches' hidden channels of the HR-NAS supernet "
        "(network slimming on the expansion batch norms; a branch slimmed to nothing is removed) "
        "and prunes the remaining weights by global magnitude, 10% more every 25 epochs up to "
        "the target. No SuperTickets mask is released: the default widths are HR-NAS's released "
        "searched classification network (`checkpoint.json`, shipped unchanged in SuperTickets' "
        "repository), and the per-layer densities of the global threshold are modelled on the "
        "weights' scale at initialisation (`reset_param_method: mnas`; `sim/methods/"
        "supertickets.py` states the model). The paper publishes no per-layer widths, "
        "densities or MAC counts in a form we could read, so nothing here is set beside a "
        "published figure.",
        "",
        f"Slimmed: {int(extras['live_branches'])} of {len(hrnas_branches())} kernel branches, "
        f"{si(extras['slim_macs'])}MACs vs the supernet's {si(extras['supernet_macs'])}MACs "
        f"({ratio(extras['supernet_macs'] / extras['slim_macs'])} fewer). At sparsity "
        f"{options.sparsity:g}: {extras['prunable_density']:.4f} of the prunable weights "
        f"non-zero ({extras['weight_density']:.4f} of all: the 1.6M-weight classifier stays "
        f"dense), {si(extras['nonzero_macs'])}MACs on non-zero weights; the threshold "
        f"empties {len(collapsed)} layer(s) ({', '.join(collapsed) or 'none'}), kept at one "
        "weight. Per part of the network (densities of the prunable weights):",
        "",
        _per_stage(method, network, density, fan_in),
        "",
    ], collapsed


def _gains_lines(ctx: ReportContext, sparsity: float) -> tuple[dict, list[str]]:
    """Slimming alone and slimming + ``sparsity`` (the default) against the dense supernet on
    every target (the compare matrices)."""
    ctx.progress("supertickets gains")
    [full] = ctx.runs.compare([MODEL], ["dense", "supertickets"], TARGETS, stage=STAGE)
    [slim] = ctx.runs.compare([MODEL], ["supertickets"], TARGETS, stage=STAGE, sparsity=0.0)
    rows = []
    data: dict[str, dict[str, float]] = {}
    for hw in TARGETS:
        base = full.entries[("dense", hw)].result
        ours, slimmed = full.entries[("supertickets", hw)], slim.entries[("supertickets", hw)]
        rows.append(
            [
                hw,
                si(base.seconds, "s"),
                si(slimmed.result.seconds, "s"),
                ratio(slimmed.speedup),
                si(ours.result.seconds, "s"),
                ratio(ours.speedup),
                ratio(ours.energy_saving),
                ratio(ours.dram_reduction) if base.dram_bytes else "n/a",
            ]
        )
        data[hw] = {
            "dense_seconds": base.seconds,
            "slim_seconds": slimmed.result.seconds,
            "seconds": ours.result.seconds,
            "dense_energy_j": base.energy_j,
            "energy_j": ours.result.energy_j,
        }
    return data, [
        f"### Gains: {STAGE.describe()}, int8 on the accelerators",
        "",
        markdown_table(
            [
                "hardware",
                "dense supernet",
                "slimmed (sparsity 0)",
                "speedup",
                f"slimmed + sparsity {sparsity:g}",
                "speedup",
                "energy cut",
                "DRAM cut",
            ],
            rows,
        ),
        "",
        "Only the zero-skipping array (`systolic-32-sparse`) turns the unstructured zeros into "
        "time; the others gain from slimming alone.",
        "",
        f"`prunesim compare --model {MODEL} --method dense,supertickets --hw {','.join(TARGETS)}`",
        "",
    ]


def _sweep_lines(ctx: ReportContext, method) -> tuple[dict, list[str]]:
    """The released configs' sparsities on the sparse array and the A100, and what weight zeros
    cannot cut at the highest."""
    sweep_rows = []
    sweep = {}
    for sparsity in method.PAPER_SPARSITIES:
        ctx.progress(f"supertickets sparsity {sparsity}")
        w = ctx.runs.workload(MODEL, STAGE, "supertickets", sparsity=sparsity)
        sparse = ctx.runs.run(MODEL, STAGE, "supertickets", "systolic-32-sparse", sparsity=sparsity)
        gpu = ctx.runs.run(MODEL, STAGE, "supertickets", "a100", sparsity=sparsity)
        sweep_rows.append(
            [
                f"{sparsity:g}",
                si(w.extras["nonzero_macs"]),
                str(int(w.extras["collapsed_layers"])),
                si(sparse.seconds, "s"),
                si(sparse.dram_bytes, "B"),
                si(gpu.seconds, "s"),
            ]
        )
        sweep[f"{sparsity:g}"] = {
            "nonzero_macs": w.extras["nonzero_macs"],
            "systolic_32_sparse_seconds": sparse.seconds,
            "systolic_32_sparse_dram_bytes": sparse.dram_bytes,
            "a100_seconds": gpu.seconds,
        }
    top = method.PAPER_SPARSITIES[-1]
    last = ctx.runs.run(MODEL, STAGE, "supertickets", "systolic-32-sparse", sparsity=top)
    dw_seconds = sum(layer.seconds for layer in last.layers if layer.name.endswith(".dw"))
    by_tensor = last.dram_bytes_by_tensor or {}
    activations = by_tensor.get("inputs", 0.0) + by_tensor.get("outputs", 0.0)
    dense = ctx.runs.workload(MODEL, STAGE, "dense")
    return sweep, [
        f"### Sparsity sweep (the released configs' targets), released widths, {STAGE.describe()}",
        "",
        markdown_table(
            [
                "sparsity",
                "MACs on non-zero weights",
                "collapsed layers",
                "systolic-32-sparse",
                "its DRAM",
                "a100",
            ],
            sweep_rows,
        ),
        "",
        f"Dense supernet: {si(dense.macs)}MACs. On the sparse array at sparsity "
        f"{top:g}, the depthwise convolutions take {si(dw_seconds, 's')} of "
        f"{si(last.seconds, 's')} (one filter per group leaves most of the array idle, "
        f"zeros or not) and activations move {si(activations, 'B')} of its "
        f"{si(last.dram_bytes, 'B')} of DRAM traffic: what weight zeros cannot cut.",
        "",
        f"`prunesim simulate --model {MODEL} --method supertickets --hw systolic-32-sparse "
        "--set sparsity=0.98`",
    ]
