"""Report section on FedTiny: layer densities drawn, gains per hardware, a federated client's
round, and ours beside the paper's claims. Every number comes from
:mod:`prunesim.sim.methods.fedtiny` and the engine, with the presets named.
"""

from __future__ import annotations

from prunesim.models import get_model
from prunesim.report import ReportContext
from prunesim.report.figures import pyplot
from prunesim.sim.methods import fedtiny as method
from prunesim.sim.tables import markdown_table, ratio, si
from prunesim.sim.workload import Infer

__all__ = ["fedtiny"]

#: Targets: the dense and the sparse systolic array, the TPU, a datacenter and an edge GPU.
TARGETS = ("systolic-32", "systolic-32-sparse", "tpu-v1", "a100", "jetson-nano")
#: Models of the federated round table.
ROUND_MODELS = ("resnet18", "resnet56")
STAGE = Infer(1)


def _density_figure(ctx: ReportContext, model: str, curves: dict[str, list[float]]) -> str:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 3.4))
    width = 0.4
    for i, (label, values) in enumerate(curves.items()):
        ax.bar([x + (i - 0.5) * width for x in range(len(values))], values, width, label=label)
    names = get_model(model).layers
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels([layer.name for layer in names], rotation=90, fontsize=6)
    ax.set_ylabel("weight density")
    ax.set_yscale("log")
    ax.set_title(f"FedTiny layer densities, {model}, global density 0.1", fontsize=9)
    ax.legend(fontsize=7)
    return ctx.figure("fedtiny_density", fig, "fedtiny layer densities")


def _pct(x: float) -> str:
    return f"{x:.1%}"


#: Kinds of sparse support, as variants of ``systolic-32-sparse`` (zero-skipping, weight format).
SUPPORT_VARIANTS = (
    ("none", False, "dense"),
    ("zero-skipping only", True, "dense"),
    ("bitmask weights only", False, "bitmask"),
    ("CSR weights only", False, "csr"),
    ("zero-skipping + bitmask", True, "bitmask"),
    ("zero-skipping + CSR", True, "csr"),
)


def _sparse_support(ctx: ReportContext, model: str, data: dict) -> list[str]:
    """What each kind of sparse support buys FedTiny (ERK): the same 32x32 array with its
    zero-skipping and weight format switched."""
    from dataclasses import replace

    from prunesim.sim import evaluate

    base = ctx.runs.hardware("systolic-32-sparse")
    dense_workload = ctx.runs.workload(model, STAGE, "dense")
    ours_workload = ctx.runs.workload(model, STAGE, "fedtiny")
    rows, table = [], {}
    for label, skip, fmt in SUPPORT_VARIANTS:
        ctx.progress(f"fedtiny {model} {label}")
        hw = replace(base, zero_skipping=skip, weight_format=fmt)
        dense, ours = evaluate(dense_workload, hw), evaluate(ours_workload, hw)
        weights = ours.dram_bytes_by_tensor["weights"]
        rows.append(
            [
                label,
                si(ours.seconds, "s"),
                ratio(dense.seconds / ours.seconds),
                si(weights, "B"),
                ratio(dense.dram_bytes_by_tensor["weights"] / weights),
                ratio(dense.dram_bytes / ours.dram_bytes),
                ratio(dense.energy_j / ours.energy_j),
            ]
        )
        table[label] = {
            "seconds": ours.seconds,
            "speedup": dense.seconds / ours.seconds,
            "weight_bytes": weights,
            "dram_cut": dense.dram_bytes / ours.dram_bytes,
            "energy_saving": dense.energy_j / ours.energy_j,
        }
    data["sparse_support"] = table
    return [
        f"### What each kind of sparse support buys ({model}, ERK 0.1, the 32x32 array of "
        "`systolic-32-sparse` with its options switched)",
        "",
        markdown_table(
            [
                "sparse support",
                "time",
                "speedup",
                "weights in DRAM",
                "weight cut",
                "DRAM cut",
                "energy cut",
            ],
            rows,
        ),
        "",
        "Zero-skipping alone saves compute (each fold as long as its densest filter) but still "
        "fetches every weight; a compressed format alone saves weight traffic but multiplies "
        "every zero; CSR's 16-bit column index per non-zero costs more than a 1-bit-per-weight "
        "bitmask at this density, and a layer whose compressed form would be larger than dense "
        "(ERK keeps the stem and the 1x1 downsamples nearly dense) stays dense "
        "(`sim/engine.py`).",
        "",
    ]


def fedtiny(ctx: ReportContext) -> str:
    """FedTiny at its library defaults (density 0.1 of every parameter, ERK) and uniform."""
    model = "resnet18"
    data: dict[str, object] = {}
    lines = _density_lines(ctx, model, data)
    lines += _gains_lines(ctx, model, data)
    lines += _sparse_support(ctx, model, data)
    state_cuts, round_lines = _round_lines(ctx, data)
    lines += round_lines
    lines += _paper_lines(ctx, model, state_cuts[model])
    ctx.data("fedtiny", data)
    return "\n".join(lines)


def _density_lines(ctx: ReportContext, model: str, data: dict) -> list[str]:
    """The figure and table of ERK and uniform layer densities, and the share of MACs each leaves
    on non-zero weights."""
    net = get_model(model)
    options = {k: method.FedTinyOptions(distribution=k) for k in method.DISTRIBUTIONS}
    densities = {k: method.layer_densities(net, o) for k, o in options.items()}
    curves = {k: [d[layer.name] for layer in net.layers] for k, d in densities.items()}
    ctx.progress("fedtiny densities")
    figure = _density_figure(ctx, model, curves)
    layer_rows = [
        [
            layer.name,
            f"{layer.weight_elements:,}",
            f"{densities['erk'][layer.name]:.4f}",
            f"{densities['uniform'][layer.name]:.4f}",
            f"{layer.macs / net.macs():.1%}",
        ]
        for layer in net.layers
    ]
    works = {k: ctx.runs.workload(model, STAGE, "fedtiny", distribution=k) for k in options}
    data["densities"] = densities
    data["nonzero_mac_fraction"] = {k: w.extras["nonzero_mac_fraction"] for k, w in works.items()}
    return [
        figure,
        "",
        "FedTiny prunes weights without structure. The authors' library (FedPruning) defaults to "
        "a global density of 0.1 counted over every parameter (biases and batch norm kept dense "
        "but inside the budget) with Erdos-Renyi-kernel layer densities: a layer's density is "
        "proportional to (c_out + c_in + k + k) / (c_out c_in k k), so small layers (the stem, "
        "the 1x1 downsamples, early 64-channel convolutions) stay denser and the big 512-channel "
        "layers go sparser; uniform gives every layer the same density. The prunable weights "
        f"of {model} end at {_pct(works['erk'].extras['weight_density'])} density either way; "
        "the share of MACs left on non-zero weights differs: "
        f"ERK {_pct(works['erk'].extras['nonzero_mac_fraction'])}, uniform "
        f"{_pct(works['uniform'].extras['nonzero_mac_fraction'])} (ERK keeps the early, "
        "MAC-heavy layers denser).",
        "",
        markdown_table(["layer", "weights", "ERK", "uniform", "share of MACs"], layer_rows),
        "",
    ]


def _gains_lines(ctx: ReportContext, model: str, data: dict) -> list[str]:
    """ERK and uniform against dense on every target (the compare matrix of each)."""
    matrices = {}
    for k in method.DISTRIBUTIONS:
        ctx.progress(f"fedtiny {model} {k}")
        [matrix] = ctx.runs.compare(
            [model], ["dense", "fedtiny"], TARGETS, stage=STAGE, distribution=k
        )
        matrices[k] = matrix.entries
    rows = []
    gains: dict[str, dict[str, float]] = {}
    for hw in TARGETS:
        dense = matrices[method.DISTRIBUTIONS[0]][("dense", hw)].result
        cells = [hw, si(dense.seconds, "s")]
        for k, entries in matrices.items():
            entry = entries[("fedtiny", hw)]
            ours = entry.result
            dram = ratio(entry.dram_reduction) if dense.dram_bytes and ours.dram_bytes else "n/a"
            cells += [ratio(entry.speedup), dram, ratio(entry.energy_saving)]
            gains[f"{hw}/{k}"] = {
                "speedup": entry.speedup,
                "dram_cut": entry.dram_reduction if ours.dram_bytes else 0.0,
                "energy_saving": entry.energy_saving,
            }
        rows.append(cells)
    data["gains"] = gains
    return [
        f"### Gains per hardware ({model}, {STAGE.describe()}, ratio to dense on the same target)",
        "",
        markdown_table(
            [
                "hardware",
                "dense",
                "ERK speedup",
                "ERK DRAM cut",
                "ERK energy",
                "uniform speedup",
                "uniform DRAM cut",
                "uniform energy",
            ],
            rows,
        ),
        "",
        "Hardware without sparse support (the dense systolic array, the TPU, GPUs in eager "
        "PyTorch) multiplies the zeros like any weight and stores them: FedTiny buys nothing "
        "there (1x). `systolic-32-sparse` skips zero weights (a fold runs as long as its "
        "densest filter) and keeps weights as values + bitmask, which cuts compute and weight "
        "traffic; input and output feature maps are untouched, so the DRAM cut stays well "
        "below the weight cut.",
        "",
        f"`prunesim compare --model {model} --method dense,fedtiny --hw {','.join(TARGETS)}`",
        "",
    ]


def _round_lines(ctx: ReportContext, data: dict) -> tuple[dict[str, float], list[str]]:
    """A federated client's round (traffic, MACs) and its training memory, for each of
    :data:`ROUND_MODELS`; also each model's cut of the model state a client keeps."""
    round_rows, mem_rows, state_cuts = _client_rows(ctx, data)
    defaults = method.FedTinyOptions()
    return state_cuts, [
        "### A federated client's round",
        "",
        f"Library defaults: {defaults.clients} clients per round, batch {defaults.batch}, "
        f"{defaults.local_steps} local steps (5 epochs of 5,000 images), SGD with momentum, "
        f"fp32 values ({defaults.value_bits} bits) with a bitmask index in both directions; "
        "the download of the global sparse model is the same size as the upload. An "
        "adjustment round adds the top-K gradients of pruned weights (K = 0.2 x each layer's "
        "non-zeros, value + 32-bit position). MACs per round count the three passes of every "
        f"local step; only zero-skipping hardware gains the difference. {ROUND_MODELS[0]} runs "
        "at 224x224 (ImageNet), resnet56 at 32x32 (CIFAR-10).",
        "",
        markdown_table(
            [
                "model",
                "upload (= download)",
                "dense",
                "cut",
                "adjustment extra",
                "MACs per round",
                "dense MACs",
            ],
            round_rows,
        ),
        "",
        "Training memory of one step (fp32): the sparse client stores non-zeros + a 1-bit mask, "
        "gradients and momentum for non-zeros only; activations are those of the dense "
        "network (unstructured sparsity does not shrink feature maps):",
        "",
        markdown_table(
            [
                "model",
                "weights+grads+optimizer+mask",
                "dense",
                "cut",
                "activations (both)",
                "total",
                "dense total",
                "total cut",
            ],
            mem_rows,
        ),
        "",
    ]


def _client_rows(
    ctx: ReportContext, data: dict
) -> tuple[list[list[str]], list[list[str]], dict[str, float]]:
    """Rows of the round and memory tables, and each model's cut of the model state."""
    round_rows = []
    mem_rows = []
    state_cuts: dict[str, float] = {}
    rounds: dict[str, object] = {}
    for name in ROUND_MODELS:
        ctx.progress(f"fedtiny round {name}")
        client = method.client_round(get_model(name), method.FedTinyOptions())
        rounds[name] = client.to_dict()
        round_rows.append(
            [
                name,
                si(client.upload_bytes, "B"),
                si(client.dense_bytes, "B"),
                ratio(client.dense_bytes / client.upload_bytes),
                si(client.adjustment_upload_bytes, "B"),
                si(client.macs, "MAC"),
                si(client.dense_macs, "MAC"),
            ]
        )
        parts = client.memory_bytes
        dense_parts = client.dense_memory_bytes
        state = sum(v for k, v in parts.items() if k != "activations")
        dense_state = sum(v for k, v in dense_parts.items() if k != "activations")
        state_cuts[name] = 1 - state / dense_state
        mem_rows.append(
            [
                name,
                si(state, "B"),
                si(dense_state, "B"),
                _pct(state_cuts[name]),
                si(parts["activations"], "B"),
                si(client.memory, "B"),
                si(client.dense_memory, "B"),
                _pct(1 - client.memory / client.dense_memory),
            ]
        )
    data["rounds"] = rounds
    return round_rows, mem_rows, state_cuts


def _paper_lines(ctx: ReportContext, model: str, state_cut: float) -> list[str]:
    """The paper's compute and memory cuts beside ours (``model``, ERK; ``state_cut``: the
    model state's cut from :func:`_round_lines`)."""
    erk = ctx.runs.workload(model, STAGE, "fedtiny", distribution="erk")
    compute_cut = 1 - erk.extras["nonzero_mac_fraction"]
    client = method.client_round(get_model(model), method.FedTinyOptions())
    total_cut = 1 - client.memory / client.dense_memory
    claims = method.PAPER_CLAIMS
    return [
        "### Ours beside the paper",
        "",
        markdown_table(
            ["figure", "paper", f"ours ({model}, ERK 0.1, vs dense)", "difference"],
            [
                [
                    "compute cut",
                    _pct(claims["compute_reduction"]),
                    f"{_pct(compute_cut)} (non-zero MACs)",
                    f"{(compute_cut - claims['compute_reduction']) * 100:+.1f} points",
                ],
                [
                    "memory cut",
                    _pct(claims["memory_reduction"]),
                    f"{_pct(state_cut)} model state; {_pct(total_cut)} with activations",
                    f"{(state_cut - claims['memory_reduction']) * 100:+.1f} / "
                    f"{(total_cut - claims['memory_reduction']) * 100:+.1f} points",
                ],
            ],
        ),
        "",
        "The comparison is qualitative only: the paper's -95.91% compute and -94.01% memory "
        "are relative to other federated pruning methods (their pruning and search costs on "
        "the clients), not to the dense model, and its setting (CIFAR-size inputs, its own "
        "budgets) is not ours. What carries over: at density 0.1 the model state a client "
        "stores and sends shrinks by about an order of magnitude, ERK keeps about a quarter "
        "of the MACs (the early layers stay dense), and at a training batch of 64 the "
        "activations dominate a step's memory, so the total hardly moves unless activations "
        "are also reduced.",
        "",
    ]
