"""Report sections on token pruning for multimodal LLMs: CATP, VFlowOpt, AIM (and SpAtten).

One section per method: its schedule drawn per LLM layer, its gains on each hardware target for
prefill and for decoding 32 tokens (ratio to dense on the same target), and its published
figures beside ours. Every number comes from :mod:`prunesim.sim` with the presets named.
"""

from __future__ import annotations

from typing import Any

from prunesim.models import get_model
from prunesim.report import ReportContext
from prunesim.report.figures import pyplot
from prunesim.sim.tables import markdown_table, ratio, si
from prunesim.sim.workload import Decode, Prefill

__all__ = ["aim", "catp", "vflowopt"]

#: Targets of the LVLM sections: the GPUs the papers measured on, an edge GPU, SpAtten-e2e.
TARGETS = ("a100", "h100", "h200", "jetson-agx-orin", "spatten-e2e")
DECODE_TOKENS = 32


def _stages(model: str) -> tuple[Prefill, Decode]:
    config = get_model(model)
    prefill = Prefill(config.default_images, config.default_text_tokens)
    return prefill, Decode(prefill.images, prefill.text_tokens, DECODE_TOKENS)


def _schedule_figure(ctx: ReportContext, name: str, curves: dict[str, list[float]], title: str):
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.4))
    for label, values in curves.items():
        ax.step(range(len(values)), values, where="post", label=label)
    ax.set_xlabel("LLM layer")
    ax.set_ylabel("visual tokens")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    return ctx.figure(name, fig, f"{name} schedule")


def _gains(ctx: ReportContext, method: str, models: tuple[str, ...], data_name: str) -> list[str]:
    """The gains table of ``method`` on every target, for each model (prefill and decode)."""
    lines = []
    data = {}
    for model in models:
        lines += _model_gains(ctx, method, model, data)
    ctx.data(data_name, data)
    return lines


def _model_gains(ctx: ReportContext, method: str, model: str, data: dict) -> list[str]:
    """One model's gains table: ``method`` and dense on every target, prefill and decode (the
    compare matrix of each stage); each cell's figures go to ``data`` too."""
    prefill, decode = _stages(model)
    ctx.progress(f"{method} {model}")
    matrices = {
        stage: ctx.runs.compare([model], ["dense", method], TARGETS, stage=stage)[0]
        for stage in (prefill, decode)
    }
    rows = []
    for hw in TARGETS:
        cells = [hw]
        for stage in (prefill, decode):
            entries = matrices[stage].entries
            dense, ours = entries[("dense", hw)].result, entries[(method, hw)]
            cells += [si(ours.result.seconds, "s"), ratio(ours.speedup)]
            data[f"{model}/{hw}/{stage.name}"] = {
                "seconds": ours.result.seconds,
                "dense_seconds": dense.seconds,
                "dram_bytes": ours.result.dram_bytes,
                "energy_j": ours.result.energy_j,
                "macs": ours.result.macs,
            }
        ours = matrices[prefill].entries[(method, hw)]
        cells += [ratio(ours.energy_saving), ratio(ours.dram_reduction)]
        rows.append(cells)
    w = ctx.runs.workload(model, prefill, method)
    dense_w = ctx.runs.workload(model, prefill, "dense")
    return [
        f"### {model}: {prefill.describe()}; decode {DECODE_TOKENS} tokens",
        "",
        f"MACs (prefill, 2 ops per MAC): {si(w.macs)} vs dense {si(dense_w.macs)} "
        f"({ratio(dense_w.macs / w.macs)}); KV cache after prefill: "
        f"{si(w.kv_cache_bytes, 'B')} vs dense {si(dense_w.kv_cache_bytes, 'B')}.",
        "",
        markdown_table(
            [
                "hardware",
                "prefill",
                "speedup",
                "decode",
                "speedup",
                "prefill energy cut",
                "prefill DRAM cut",
            ],
            rows,
        ),
        "",
        f"`prunesim compare --model {model} --method {method} --hw {','.join(TARGETS)}`; "
        f"decode: add `--stage decode --generate {DECODE_TOKENS}`",
        "",
    ]


def _visual(ctx: ReportContext, model: str, method: str, **options: Any) -> list[float]:
    """Visual tokens per LLM layer of ``model``'s prefill under ``method`` with ``options``."""
    w = ctx.runs.workload(model, _stages(model)[0], method, **options)
    names = w.layer_names or []
    return [
        v for name, v in zip(names, w.schedule["visual"], strict=False) if name.startswith("llm.")
    ]


def catp(ctx: ReportContext) -> str:
    """CATP on LLaVA-NeXT 4-shot ICL (5 images x 576 tokens)."""
    from prunesim.sim.methods import catp as method

    curves = {"dense": _visual(ctx, "llava-next-7b", "dense")}
    rows = []
    for r in method.PAPER_RATIOS:
        curves[f"R = {r:.1%}"] = _visual(ctx, "llava-next-7b", "catp", ratio=r)
        for model in ("llava-next-7b", "llava-next-13b"):
            visual = _visual(ctx, model, "catp", ratio=r)
            k = method.DEFAULT_LAYER[model]
            stage1, stage2 = int(576 * (1 - r / 2) + 1e-9), int(576 * (1 - r) + 1e-9)
            rows.append(
                [
                    model,
                    f"{r:.1%}",
                    str(k),
                    f"{stage1} / {stage2}",
                    f"{visual[0] // 5:.0f} / {visual[-1] // 5:.0f}",
                    f"{visual[k]:.0f}, {visual[k + 1]:.0f}, {visual[k + 2]:.0f}",
                ]
            )
    lines = [
        _schedule_figure(ctx, "catp", curves, "CATP, llava-next-7b (K = 6), 5 images x 576"),
        "",
        "CATP prunes image tokens in two halves: before the decoder each image keeps "
        "floor(576 (1 - R/2)); the demonstrations are pruned at layer K, the query image at "
        "K + 1, and from K + 2 on 1 - R of each image's tokens remain (`sim/methods/catp.py` "
        "states the reading). Ours beside the paper's rule, per image, and the LLM's visual "
        "tokens at layers K, K + 1, K + 2:",
        "",
        markdown_table(
            ["model", "R", "K", "paper: stage 1 / final per image", "ours", "ours at K, K+1, K+2"],
            rows,
        ),
        "",
        "The paper reports a 10.78% lower latency on average; it does not say which part of "
        "inference, on which GPU, or with how many generated tokens, so the tables below give "
        "prefill and decoding separately.",
        "",
    ]
    lines += _gains(ctx, "catp", ("llava-next-7b", "llava-next-13b"), "catp")
    return "\n".join(lines)


def vflowopt(ctx: ReportContext) -> str:
    """VFlowOpt's released schedules on LLaVA-OneVision-7B (and LLaVA-NeXT-7B)."""
    from prunesim.sim.methods import vflowopt as method
    from prunesim.sim.methods.lvlm import mean_retention

    config = get_model("llava-onevision-7b")
    curves = {"dense": _visual(ctx, "llava-onevision-7b", "dense")}
    rows = []
    for target, paper in ((0.5, 0.501), (0.25, 0.251), (0.1, 0.100)):
        r1, r2, r3, _ = method.SCHEDULES[target]
        formula = method.mean_schedule_retention(r1, r2, r3, config.layers, 9, 18)
        curves[f"keep {target:.0%}"] = _visual(ctx, "llava-onevision-7b", "vflowopt", target=target)
        opts = method.VFlowOptOptions(target=target, tokens_per_image=729)
        crop = method.schedule(config, 1, config.default_text_tokens, opts)
        counted = mean_retention(crop)
        rows.append(
            [
                f"{target:.0%}",
                f"({r1:.4f}, {r2:.4f}, {r3:.4f})",
                f"{paper:.3f}",
                f"{formula:.4f}",
                f"{formula - paper:+.4f}",
                f"{counted:.4f}",
                f"{crop.visual_per_layer[0]}, {crop.visual_per_layer[9]}, "
                f"{crop.visual_per_layer[18]}",
            ]
        )
    lines = [
        _schedule_figure(
            ctx, "vflowopt", curves, "VFlowOpt, llava-onevision-7b, 32 frames x 196 tokens"
        ),
        "",
        "VFlowOpt keeps R1 of the visual tokens before the LLM (merging the pruned ones into one "
        "recycled token per grid cell), R1 R2 from layer 9 and R1 R2 R3 from layer 18 (10 and "
        "20 for NeXT). Mean retention over the 28 layers of the released LLaVA-OneVision "
        "schedules, the paper's figure beside ours (from the ratios, and counted in whole "
        "tokens on one 729-token crop with recycling):",
        "",
        markdown_table(
            [
                "keep",
                "(R1, R2, R3)",
                "paper",
                "ours (ratios)",
                "difference",
                "ours (tokens, recycled)",
                "tokens at layers 0, 9, 18",
            ],
            rows,
        ),
        "",
    ]
    lines += _gains(ctx, "vflowopt", ("llava-onevision-7b", "llava-next-7b"), "vflowopt")
    return "\n".join(lines)


def aim(ctx: ReportContext) -> str:
    """AIM on LLaVA-OneVision-7B video and LLaVA-1.5-7B images."""
    from prunesim.sim.methods import aim as method

    rows = []
    curves = {}
    for model, start, merged in (("llava-onevision-7b", 14, 49), ("llava-1.5-7b", 13, 72)):
        config = get_model(model)
        visual = _visual(ctx, model, "aim")
        curves[model] = [v / visual[0] for v in visual]
        paper = [
            max(0.0, 1 - (layer - start + 1) * 0.125) if layer >= start else 1.0
            for layer in range(config.layers)
        ]
        ours = [v / visual[0] for v in visual]
        worst = max(abs(a - b) for a, b in zip(paper, ours, strict=True))
        shown = range(start - 1, min(config.layers, start + 8))
        rows.append(
            [
                model,
                f"{config.visual_tokens_per_image} -> {merged}",
                str(start),
                ", ".join(f"{paper[layer]:.3f}" for layer in shown),
                ", ".join(f"{ours[layer]:.3f}" for layer in shown),
                f"{worst:.3f}",
            ]
        )
    del method
    lines = [
        _schedule_figure(ctx, "aim", curves, "AIM: share of the merged visual tokens kept"),
        "",
        "AIM merges visual tokens before the LLM, then keeps max(0, 1 - (l - 13) x 0.125) of "
        "them from layer 14 (Qwen2; from layer 13 for Vicuna); text is never pruned; merging "
        "and the PageRank scoring are counted as overheads. Keep ratio at layers start-1 .. "
        "start+7, the paper's formula beside ours (whole tokens, rounded down):",
        "",
        markdown_table(
            ["model", "merge per image", "start", "paper", "ours", "largest difference"], rows
        ),
        "",
    ]
    lines += _gains(ctx, "aim", ("llava-onevision-7b", "llava-1.5-7b"), "aim")
    return "\n".join(lines)
