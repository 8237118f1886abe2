"""Report section on Once-for-All: OFA's published sub-nets beside our MAC counts, their latency
on several targets against the largest sub-net, and 1,000 random sub-nets' MACs against their
latency (:func:`prunesim.sim.ofa_sweep.ofa_sweep`).

Every number comes from :mod:`prunesim.sim` with the presets named; the published MACs and
parameters are the once-for-all README's, the sub-nets its released ``net.config`` files
(:data:`prunesim.sim.methods.ofa.PUBLISHED`).
"""

from __future__ import annotations

import random

import numpy as np

from prunesim.models import get_model
from prunesim.models.ofa import (
    OFA_MAX_RESOLUTION,
    OFASpec,
    ofa_macs,
    ofa_subnet,
    sample_ofa_spec,
)
from prunesim.report import ReportContext
from prunesim.report.figures import pyplot
from prunesim.sim.tables import markdown_table, ratio
from prunesim.sim.workload import Infer

__all__ = ["SCATTER_TARGETS", "SWEEP_SIZE", "TARGETS", "ofa"]

#: Targets of the latency table: two systolic arrays, a datacenter GPU, two edge GPUs, a CPU.
TARGETS = ("systolic-32", "tpu-v1", "a100", "jetson-nano", "jetson-agx-orin", "raspberry-pi-4")
#: The two targets of the scatter figure: a large systolic array, where depthwise convolutions
#: use one column, and a GPU, where each layer's kernels cost a launch whatever their size.
SCATTER_TARGETS = ("tpu-v1", "a100")
#: Random sub-nets of the sweep (w1.0, resolutions 128..224; seed 0).
SWEEP_SIZE = 1000
_STAGE = Infer(1)


def _model(w: float) -> str:
    return f"ofa-mbv3-w{w:.1f}"


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.3g} ms"


def _published_table(ctx: ReportContext) -> tuple[list[str], dict]:
    from prunesim.sim.methods.ofa import PUBLISHED, describe_spec

    rows, data, gaps = [], {}, []
    for net_id, net in PUBLISHED.items():
        spec = net.spec
        macs = ofa_macs(spec) / 1e6
        params = ofa_subnet(spec).params() / 1e6
        macs_gap, params_gap = macs / net.macs_m - 1, params / net.params_m - 1
        gaps.append((abs(macs_gap), net_id, macs, net.macs_m))
        rows.append(
            [
                f"`{net_id}`",
                f"`{describe_spec(spec)}`",
                f"{net.top1:.1f}",
                f"{net.macs_m:g}M",
                f"{macs:.1f}M",
                f"{macs_gap:+.1%}",
                f"{net.params_m:g}M",
                f"{params:.2f}M",
                f"{params_gap:+.1%}",
            ]
        )
        data[net_id] = {
            "spec": spec.to_dict(),
            "published_macs_m": net.macs_m,
            "macs_m": macs,
            "published_params_m": net.params_m,
            "params_m": params,
            "top1": net.top1,
        }
    gaps.sort(reverse=True)
    within = [gap for gap in gaps if gap[0] <= 0.01]
    _, worst_id, worst_ours, worst_pub = gaps[0]
    worst = PUBLISHED[worst_id].spec
    next_r = min(worst.r + 4, OFA_MAX_RESOLUTION)
    at_next = ofa_macs(OFASpec(worst.ks, worst.e, worst.d, next_r, worst.w)) / 1e6
    lines = [
        f"OFA released {len(PUBLISHED)} MobileNetV3 sub-nets specialised for a MAC budget or a "
        "device's latency (`ofa_specialized(net_id)`). Each spec below is read from the net's "
        "`net.config` and `run.config` (han-cai/files, `ofa/ofa_specialized/`); published MACs "
        "and parameters are the once-for-all README's (rounded to 1M MACs and 0.1M parameters). "
        "Spec: width, resolution, depths per unit, then each kept block's kernel and expand "
        "ratio, one digit a block, `-` between units.",
        "",
        f"{len(within)} of {len(gaps)} within 1% of the published MACs (the README rounds to "
        f"1M). Largest gap: `{worst_id}`, ours {worst_ours:.1f}M against {worst_pub:g}M "
        f"({worst_ours / worst_pub - 1:+.1%}) at its run.config's resolution {worst.r} "
        f"({at_next:.1f}M at {next_r}); we report the gap as it is.",
        "",
        markdown_table(
            [
                "sub-net",
                "spec",
                "top-1 %",
                "MACs (paper)",
                "MACs (ours)",
                "diff",
                "params (paper)",
                "params (ours)",
                "diff",
            ],
            rows,
        ),
        "",
    ]
    return lines, data


def _latency_table(ctx: ReportContext) -> tuple[list[str], dict]:
    from prunesim.sim.methods.ofa import PUBLISHED

    rows, data = [], {}
    largest = {
        w: {hw: ctx.runs.run(_model(w), _STAGE, "dense", hw).seconds for hw in TARGETS}
        for w in (1.0, 1.2)
    }
    for w in (1.0, 1.2):
        spec = OFASpec.uniform(7, 6, 4, 224, w)
        rows.append(
            [f"largest w{w:.1f} (k7 e6 d4 @224)", f"{ofa_macs(spec) / 1e6:.0f}M"]
            + [_ms(largest[w][hw]) for hw in TARGETS]
        )
    for net_id, net in PUBLISHED.items():
        ctx.progress(f"ofa {net_id}")
        model = _model(net.spec.w)
        cells = [f"`{net_id}`", f"{ofa_macs(net.spec) / 1e6:.0f}M"]
        [matrix] = ctx.runs.compare([model], ["ofa"], TARGETS, stage=_STAGE, net=net_id)
        data[net_id] = {}
        for hw in TARGETS:
            entry = matrix.entries[("ofa", hw)]
            seconds = entry.result.seconds
            cells.append(f"{_ms(seconds)} ({ratio(entry.speedup)})")
            data[net_id][hw] = {"seconds": seconds, "largest_seconds": largest[net.spec.w][hw]}
        rows.append(cells)
    lines = [
        "Latency of one image (batch 1) on each target; in brackets the speedup over the "
        "largest sub-net of the same supernet (the registry's `ofa-mbv3-w1.0` / `-w1.2`, run "
        "with `--method dense`). Accelerators run int8, GPUs and CPUs eager PyTorch at their "
        "default precision (`sim/methods/network.py`).",
        "",
        markdown_table(["sub-net", "MACs", *TARGETS], rows),
        "",
        "`prunesim simulate --model ofa-mbv3-w1.2 --method ofa --set "
        "net=flops@595M_top1@80.0_finetune@75 --hw tpu-v1`",
        "",
    ]
    return lines, data


def _depthwise_share(ctx: ReportContext, hw: str) -> tuple[float, float]:
    """Share of MACs and of time in the depthwise convolutions of the largest w1.0 sub-net."""
    result = ctx.runs.run(_model(1.0), _STAGE, "dense", hw)
    dw = [layer for layer in result.layers if layer.name.endswith(".dw")]
    return (
        sum(layer.macs for layer in dw) / result.macs,
        sum(layer.seconds for layer in dw) / result.seconds,
    )


def _ranks(values: np.ndarray) -> np.ndarray:
    return np.argsort(np.argsort(values, kind="stable"), kind="stable").astype(np.float64)


def _sweep_section(ctx: ReportContext) -> tuple[list[str], dict]:
    from prunesim.sim.ofa_sweep import ofa_sweep

    ctx.progress(f"ofa sweep of {SWEEP_SIZE} sub-nets")
    rng = random.Random(0)
    specs = [sample_ofa_spec(rng, 1.0) for _ in range(SWEEP_SIZE)]
    points = ofa_sweep(specs, [ctx.runs.hardware(hw) for hw in TARGETS], _STAGE)
    macs = np.array([p.macs for p in points], np.float64)
    seconds = {hw: np.array([p.seconds[hw] for p in points]) for hw in TARGETS}
    depth = np.array([sum(p.spec.d) for p in points])
    band = np.abs(macs / np.median(macs) - 1) <= 0.05
    rows, data = [], {"macs": macs.tolist(), "blocks": depth.tolist()}
    for hw in TARGETS:
        s = seconds[hw]
        rho = float(np.corrcoef(_ranks(macs), _ranks(s))[0, 1])
        spread = float(s[band].max() / s[band].min())
        dw_macs, dw_time = _depthwise_share(ctx, hw)
        rows.append([hw, f"{rho:.2f}", f"{spread:.2f}x", f"{dw_macs:.1%}", f"{dw_time:.1%}"])
        data[hw] = {
            "seconds": s.tolist(),
            "spearman": rho,
            "spread_at_median_macs": spread,
            "depthwise_macs_share": dw_macs,
            "depthwise_time_share": dw_time,
        }

    plt = pyplot()
    fig, axes = plt.subplots(1, len(SCATTER_TARGETS), figsize=(9, 3.6))
    for ax, hw in zip(axes, SCATTER_TARGETS, strict=True):
        dots = ax.scatter(macs / 1e6, seconds[hw] * 1e3, c=depth, s=5, cmap="viridis")
        ax.set_xlabel("MACs (M)")
        ax.set_ylabel(f"latency on {hw} (ms)")
        ax.set_title(f"{hw}: rank correlation {data[hw]['spearman']:.2f}", fontsize=9)
    fig.colorbar(dots, ax=axes, label="blocks (sum of depths)")
    figure = ctx.figure(
        "ofa_sweep", fig, f"MACs against latency of {SWEEP_SIZE} random OFA sub-nets"
    )
    lines = [
        f"{SWEEP_SIZE:,} random sub-nets of the w1.0 supernet (every kernel, expand ratio and "
        "depth drawn uniformly, resolution from 128..224 step 4; seed 0), priced with "
        "`prunesim.sim.ofa_sweep.ofa_sweep`. MACs do not order them by latency everywhere: on "
        "a systolic array a depthwise convolution is one filter per group, so it fills one "
        "column of the array (one of 256 on the TPU) while holding the array for every output "
        "pixel; on a GPU at batch 1 most layers are too small to leave the kernel-launch "
        "overhead, so latency follows the number of layers (the colour) more than their MACs.",
        "",
        figure,
        "",
        markdown_table(
            [
                "target",
                "rank corr. MACs vs latency",
                "latency spread at the median MACs (±5%)",
                "depthwise share of MACs (largest w1.0)",
                "depthwise share of time",
            ],
            rows,
        ),
        "",
    ]
    return lines, data


def ofa(ctx: ReportContext) -> str:
    """Once-for-All: published sub-nets (MACs, latency) and a 1,000 sub-net sweep."""
    get_model("ofa-mbv3-w1.0")  # the registry has the supernets
    published, published_data = _published_table(ctx)
    latency, latency_data = _latency_table(ctx)
    sweep_lines, sweep_data = _sweep_section(ctx)
    ctx.data("ofa", {"published": published_data, "latency": latency_data, "sweep": sweep_data})
    return "\n".join(
        [
            "### OFA's published sub-nets: MACs and parameters",
            "",
            *published,
            "### Latency of the published sub-nets",
            "",
            *latency,
            "### MACs are not latency",
            "",
            *sweep_lines,
        ]
    )
