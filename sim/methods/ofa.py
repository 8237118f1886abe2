"""Once-for-All (Cai et al., ICLR 2020, arXiv 1908.09791): a sub-net of the MobileNetV3 supernet
as a workload, and a fast sweep that prices thousands of sub-nets at once.

OFA trains one supernet and picks sub-nets from it without retraining: per unit a depth
``d`` in {2, 3, 4} (the first ``d`` blocks), per block a depthwise kernel ``ks`` in {3, 5, 7} and
an expand ratio ``e`` in {3, 4, 6}, and an input resolution. The sub-net is
:class:`~prunesim.models.ofa.OFASpec` (OFA's own arch dict plus resolution and width); its layer
graph is :func:`~prunesim.models.ofa.ofa_subnet`, its MACs :func:`~prunesim.models.ofa.ofa_macs`
(OFA's ``count_net_flops`` convention). Nothing is pruned inside a layer: every kept layer is
dense, so the workload is the sub-net's own (:func:`network_workload`), and the gain over the
largest sub-net (the registry's ``ofa-mbv3-w1.0`` / ``-w1.2``) is what the smaller graph buys.

Published sub-nets (:data:`PUBLISHED`): the 34 MobileNetV3 specialized nets OFA released
(``ofa.model_zoo.ofa_specialized``), each converted from its ``net.config`` (blocks, kernel
sizes, expand ratios; in han-cai/files, ``ofa/ofa_specialized/<id>/net.config``) and
``run.config`` (``image_size``) to an :class:`OFASpec`; the MACs and parameters beside them are
the OFA README's table. Block slots a unit does not use are filled with kernel 3 and expand
ratio 3 (OFA ignores them, and so does :class:`OFASpec`).

Options (:class:`OFAOptions`): a base sub-net, either a published ``net`` (default: the model's
:data:`DEFAULT_NET`) or a ``spec`` file, then ``ks``, ``e``, ``d`` and ``resolution`` override
its fields. A spec file is OFA's arch dict in JSON (``{"ks": [...], "e": [...], "d": [...],
"r": [224]}``, as ``ofa_net.sample_active_subnet()`` and the tutorial's arch encoder write it;
``r`` may be a number, ``wid`` is ignored, ``w`` must match the model) or a released
``net.config`` (its resolution from the ``run.config`` beside it, else 224).

Training (``--stage train``): one step of fine-tuning the sub-net as OFA fine-tunes its
specialized nets (25 or 75 epochs, SGD with momentum): every weight trainable, the memory and
optimizer pass of :func:`~prunesim.sim.methods.network.training_footprint`.

:func:`sweep_workload` puts many sub-nets into one workload: the conv rows of every sub-net are
put together from per-block rows (cached per width and resolution, read-only; blocks repeat
across sub-nets) into one workload whose layer ``i`` is sub-net ``i``, which
:func:`prunesim.sim.ofa_sweep.ofa_sweep` prices once per target. The cost models price each row on
its own, so a sub-net's seconds are the sum of its rows' as in ``evaluate(make_workload(...))``,
up to the order of the float additions.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from prunesim.models.cnn import CNNConfig, Conv2d
from prunesim.models.ofa import (
    OFA_DEPTHS,
    OFA_EXPAND_RATIOS,
    OFA_KERNELS,
    OFA_SLOTS,
    OFA_UNITS,
    OFASpec,
    check_entries,
    check_resolution,
    ofa_macs,
    ofa_subnet,
    ofa_widths,
)
from prunesim.sim.methods import register_method
from prunesim.sim.methods.common import NetworkMethod
from prunesim.sim.methods.network import (
    check_network_stage,
    conv_columns,
    network_workload,
    saved_activation_elements,
    training_footprint,
)
from prunesim.sim.methods.options import TypedOptions
from prunesim.sim.workload import CONV_FIELDS, ConvRows, Infer, Stage, Train, Workload

__all__ = [
    "DEFAULT_NET",
    "BlockRows",
    "DEFAULT_STAGE",
    "PUBLISHED",
    "SUPPORTED",
    "WIDTH",
    "OFAOptions",
    "PublishedSubnet",
    "build",
    "describe_spec",
    "load_spec_file",
    "parse_choices",
    "resolve_spec",
    "spec_from_net_config",
    "spec_options",
    "sweep_workload",
]

#: The supernets the method picks sub-nets from; the model name fixes the width multiplier.
WIDTH: dict[str, float] = {"ofa-mbv3-w1.0": 1.0, "ofa-mbv3-w1.2": 1.2}
SUPPORTED: tuple[str, ...] = tuple(WIDTH)

_SLOTS = OFA_UNITS * OFA_SLOTS


@dataclass(frozen=True)
class PublishedSubnet:
    """One of OFA's released specialized sub-nets: its spec and the README's figures.

    ``macs_m`` and ``params_m`` are the README's (millions, rounded as printed); ``top1`` is the
    ImageNet top-1 in the net's id (%)."""

    net_id: str
    spec: OFASpec
    macs_m: float
    params_m: float

    @property
    def top1(self) -> float:
        return float(self.net_id.split("top1@", 1)[1].split("_", 1)[0])


def _from_groups(ks: str, e: str, r: int, w: float) -> OFASpec:
    """A spec from per-unit digit groups ("353-5535-..."): a group's length is its depth."""
    ks_groups, e_groups = ks.split("-"), e.split("-")
    kernels, expands = [], []
    for kg, eg in zip(ks_groups, e_groups, strict=True):
        kernels += [int(c) for c in kg] + [3] * (OFA_SLOTS - len(kg))
        expands += [int(c) for c in eg] + [3] * (OFA_SLOTS - len(eg))
    return OFASpec(kernels, expands, [len(g) for g in ks_groups], r, w)


# (id, width, resolution, MACs M, params M, kernels, expand ratios (one digit a block, "-" between
# units))
# from han-cai/files ofa/ofa_specialized/<id>/{net,run}.config and the once-for-all README.
_PUBLISHED_TABLE = (
    ("flops@595M_top1@80.0_finetune@75", 1.2, 236, 595, 9.1,
     "353-5535-7535-3573-3353", "343-4463-6634-6664-6663"),
    ("flops@482M_top1@79.6_finetune@75", 1.2, 224, 482, 9.1,
     "533-5353-5533-5735-7333", "333-4443-4633-6664-6663"),
    ("flops@389M_top1@79.1_finetune@75", 1.2, 224, 389, 8.4,
     "33-553-553-5533-3373", "33-363-443-6444-6663"),
    ("pixel1_lat@143ms_top1@80.1_finetune@75", 1.2, 240, 642, 9.2,
     "533-5535-7533-5353-3353", "363-6663-6664-6664-6663"),
    ("pixel1_lat@132ms_top1@79.8_finetune@75", 1.2, 228, 593, 9.2,
     "53-5535-7535-5555-3353", "36-4663-6664-6664-6663"),
    ("pixel1_lat@79ms_top1@78.7_finetune@75", 1.2, 224, 356, 8.2,
     "33-53-753-5333-3333", "33-34-443-6443-6663"),
    ("pixel1_lat@58ms_top1@76.9_finetune@75", 1.0, 220, 230, 5.8,
     "33-753-555-375-5733", "33-433-643-443-6664"),
    ("pixel1_lat@40ms_top1@74.9_finetune@25", 1.0, 172, 162, 6.0,
     "53-537-773-333-3535", "34-444-434-464-6664"),
    ("pixel1_lat@28ms_top1@73.3_finetune@25", 1.0, 160, 109, 5.2,
     "33-733-73-35-3333", "34-364-36-64-6436"),
    ("pixel1_lat@20ms_top1@71.4_finetune@25", 1.0, 152, 77, 4.3,
     "33-55-73-53-37", "33-33-43-34-66"),
    ("pixel2_lat@62ms_top1@75.8_finetune@25", 1.0, 208, 208, 5.8,
     "33-753-555-375-5733", "33-433-643-443-6664"),
    ("pixel2_lat@50ms_top1@74.7_finetune@25", 1.0, 208, 166, 4.7,
     "33-33-35-57-3575", "34-33-36-64-6343"),
    ("pixel2_lat@35ms_top1@73.4_finetune@25", 1.0, 160, 113, 5.1,
     "33-333-77-5337-7775", "33-346-44-4333-4633"),
    ("pixel2_lat@25ms_top1@71.5_finetune@25", 1.0, 144, 79, 4.1,
     "33-55-73-773-53", "33-64-43-434-64"),
    ("note10_lat@64ms_top1@80.2_finetune@75", 1.2, 260, 743, 9.1,
     "333-5335-5537-5333-3353", "363-4633-6644-6664-6663"),
    ("note10_lat@50ms_top1@79.7_finetune@75", 1.2, 220, 554, 9.1,
     "533-5335-7735-7533-333", "366-4663-6644-6666-666"),
    ("note10_lat@41ms_top1@79.3_finetune@75", 1.2, 220, 457, 9.0,
     "33-733-7333-3533-3333", "34-446-6634-6664-6663"),
    ("note10_lat@30ms_top1@78.4_finetune@75", 1.2, 224, 339, 7.5,
     "33-533-553-333-3333", "33-434-443-644-6643"),
    ("note10_lat@22ms_top1@76.6_finetune@25", 1.0, 224, 237, 5.9,
     "33-533-755-533-3333", "33-344-444-464-6663"),
    ("note10_lat@16ms_top1@75.5_finetune@25", 1.0, 192, 163, 4.9,
     "33-5533-553-553-3753", "33-3443-443-443-6443"),
    ("note10_lat@11ms_top1@73.6_finetune@25", 1.0, 176, 110, 4.3,
     "33-53-53-333-355", "33-44-44-433-444"),
    ("note10_lat@8ms_top1@71.4_finetune@25", 1.0, 160, 79, 3.8,
     "33-33-333-33-35", "33-34-433-34-44"),
    ("note8_lat@65ms_top1@76.1_finetune@25", 1.0, 204, 220, 5.3,
     "73-353-733-533-5553", "33-443-664-664-6443"),
    ("note8_lat@49ms_top1@74.9_finetune@25", 1.0, 176, 164, 6.0,
     "53-537-773-333-3535", "34-444-434-464-6664"),
    ("note8_lat@31ms_top1@72.8_finetune@25", 1.0, 152, 101, 4.6,
     "53-55-335-357-3355", "33-43-444-434-6333"),
    ("note8_lat@22ms_top1@70.4_finetune@25", 1.0, 140, 67, 4.3,
     "33-55-73-53-37", "33-33-43-34-66"),
    ("s7edge_lat@88ms_top1@76.3_finetune@25", 1.0, 192, 219, 6.4,
     "53-533-755-5535-3733", "34-664-463-6644-6664"),
    ("s7edge_lat@58ms_top1@74.7_finetune@25", 1.0, 192, 145, 4.6,
     "33-53-7533-333-355", "33-34-4343-443-644"),
    ("s7edge_lat@41ms_top1@73.1_finetune@25", 1.0, 160, 96, 4.7,
     "33-53-75-333-3533", "33-34-44-443-6433"),
    ("s7edge_lat@29ms_top1@70.5_finetune@25", 1.0, 144, 66, 3.8,
     "33-53-53-55-35", "33-34-44-44-63"),
    ("LG-G8_lat@24ms_top1@76.4_finetune@25", 1.0, 220, 230, 5.8,
     "33-753-555-375-5733", "33-433-643-443-6664"),
    ("LG-G8_lat@16ms_top1@74.7_finetune@25", 1.0, 176, 151, 5.8,
     "33-753-555-375-5733", "33-433-643-443-6664"),
    ("LG-G8_lat@11ms_top1@73.0_finetune@25", 1.0, 156, 103, 5.0,
     "33-537-53-535-575", "33-344-43-443-664"),
    ("LG-G8_lat@8ms_top1@71.1_finetune@25", 1.0, 144, 74, 4.1,
     "33-55-533-37-37", "33-43-333-64-64"),
)  # fmt: skip

#: OFA's released MobileNetV3 specialized sub-nets by id (``ofa_specialized(net_id)``).
PUBLISHED: dict[str, PublishedSubnet] = {
    net_id: PublishedSubnet(net_id, _from_groups(ks, e, r, w), macs, params)
    for net_id, w, r, macs, params, ks, e in _PUBLISHED_TABLE
}

#: The sub-net a model runs by default: the README's 80.0% top-1 at 595M MACs (w1.2, the paper's
#: headline) and, for w1.0, the Pixel1 58 ms net (76.9% top-1, 230M MACs).
DEFAULT_NET: dict[str, str] = {
    "ofa-mbv3-w1.0": "pixel1_lat@58ms_top1@76.9_finetune@75",
    "ofa-mbv3-w1.2": "flops@595M_top1@80.0_finetune@75",
}


def parse_choices(
    field: str, values: Sequence[int], length: int, choices: tuple[int, ...]
) -> tuple:
    """``values`` (one value broadcast to ``length`` entries) as a tuple of ``length`` entries
    checked against ``choices``. Raises ValueError naming the field and entry:
    ``OFASpec ks[3] must be one of 3, 5, 7, not 4``."""
    entries = tuple(values)
    if len(entries) == 1:
        entries = entries * length
    if len(entries) != length:
        raise ValueError(f"OFASpec {field} must have {length} entries (or 1), not {len(entries)}")
    return check_entries(field, entries, choices)


@dataclass(frozen=True)
class OFAOptions(TypedOptions):
    """Once-for-All's knobs: the sub-net to run.

    ``net``: a published sub-net id (:data:`PUBLISHED`; None: the model's :data:`DEFAULT_NET`);
    ``spec``: a JSON file instead (see the module docstring; not both). Then ``ks`` (20 kernel
    sizes), ``e`` (20 expand ratios), ``d`` (5 depths), each all its entries or one value for
    all (as text, comma-separated: ``"3,5,7,..."``, ``"5"``), and ``resolution`` override the
    base sub-net's (None: keep its own)."""

    net: str | None = None
    spec: str | None = None
    ks: tuple[int, ...] | None = None
    e: tuple[int, ...] | None = None
    d: tuple[int, ...] | None = None
    resolution: int | None = None

    def validate(self) -> OFAOptions:
        """Raise ValueError naming the first bad option (or file field); return self."""
        if self.net is not None and self.spec is not None:
            raise ValueError("give a published net or a spec file, not both")
        if self.net is not None and self.net not in PUBLISHED:
            raise ValueError(
                f"unknown OFA sub-net {self.net!r} (choose from {', '.join(PUBLISHED)})"
            )
        if self.spec is not None:
            load_spec_file(self.spec)
        self._overrides()
        return self

    def _overrides(self) -> dict[str, Any]:
        overrides: dict[str, Any] = {}
        if self.ks is not None:
            overrides["ks"] = parse_choices("ks", self.ks, _SLOTS, OFA_KERNELS)
        if self.e is not None:
            overrides["e"] = parse_choices("e", self.e, _SLOTS, OFA_EXPAND_RATIOS)
        if self.d is not None:
            overrides["d"] = parse_choices("d", self.d, OFA_UNITS, OFA_DEPTHS)
        if self.resolution is not None:
            overrides["r"] = check_resolution("resolution", self.resolution)
        return overrides


def _file_error(path: str | Path, message: str) -> ValueError:
    return ValueError(f"{Path(path).name}: {message}")


_ARCH_KEYS = ("ks", "e", "d", "r", "w", "wid")


def load_spec_file(path: str | Path, w: float | None = None) -> OFASpec:
    """The sub-net in the JSON file ``path``: OFA's arch dict or a released ``net.config``
    (module docstring). ``w`` (the model's width) is the default width and must match a ``w``
    in the file. Raises ValueError naming the file and the field: ``spec.json: OFASpec ks[3]
    must be one of 3, 5, 7, not 4``."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ValueError(f"cannot read spec file {str(path)!r}: {exc.strerror}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _file_error(path, f"not JSON (line {exc.lineno}: {exc.msg})") from None
    if not isinstance(data, dict):
        raise _file_error(path, f"must hold a JSON object, not {type(data).__name__}")
    if "blocks" in data:
        return spec_from_net_config(data, _run_config_size(path), w, where=path.name)
    unknown = sorted(set(data) - set(_ARCH_KEYS))
    if unknown:
        raise _file_error(path, f"unknown field {unknown[0]!r} (expected ks, e, d, r, w)")
    for key in ("ks", "e", "d"):
        if key not in data:
            raise _file_error(path, f"missing field {key!r}")
    r = data.get("r", 224)
    if isinstance(r, list):
        if len(r) != 1:
            raise _file_error(path, f"r must be one resolution, not {r!r}")
        r = r[0]
    file_w = data.get("w", w if w is not None else 1.0)
    if w is not None and file_w != w:
        raise _file_error(path, f"w is {file_w!r} but the model is the w{w:.1f} supernet")
    try:
        return OFASpec(data["ks"], data["e"], data["d"], r, file_w)
    except ValueError as exc:
        raise _file_error(path, str(exc)) from None


def _run_config_size(path: Path) -> int:
    """``image_size`` of the ``run.config`` beside a ``net.config`` (224 without one)."""
    run = path.with_name("run.config")
    try:
        size = json.loads(run.read_text())["image_size"]
    except (OSError, ValueError, KeyError, TypeError):
        return 224
    return size[0] if isinstance(size, list) and size else size


def spec_from_net_config(
    config: Mapping[str, Any], resolution: int = 224, w: float | None = None, where: str = ""
) -> OFASpec:
    """The :class:`OFASpec` of an OFA MobileNetV3 ``net.config`` (``MobileNetV3.config``, as
    ``ofa_specialized`` downloads it): the width from the stem, each block after the first
    assigned to its unit by its output width, its kernel and expand ratio into the next slot.
    Raises ValueError (prefixed with ``where``) for a config that is not a sub-net of a
    supernet."""
    prefix = f"{where}: " if where else ""
    try:
        stem = config["first_conv"]["out_channels"]
        blocks = [block["mobile_inverted_conv"] for block in config["blocks"]]
    except (KeyError, TypeError):
        raise ValueError(f"{prefix}not an OFA MobileNetV3 net.config") from None
    widths = {ofa_widths(x).stem: x for x in WIDTH.values()}
    if stem not in widths:
        raise ValueError(f"{prefix}first_conv has {stem!r} channels, not 16 (w1.0) or 24 (w1.2)")
    file_w = widths[stem]
    if w is not None and file_w != w:
        raise ValueError(f"{prefix}a w{file_w:.1f} sub-net, but the model is the w{w:.1f} supernet")
    units = ofa_widths(file_w).units
    ks, e, depth = [3] * _SLOTS, [3] * _SLOTS, [0] * OFA_UNITS
    last = -1
    for i, block in enumerate(blocks[1:], start=1):
        out = block.get("out_channels")
        if out not in units or units.index(out) < last:
            raise ValueError(f"{prefix}blocks[{i}] out_channels {out!r} is not a unit's width")
        u = last = units.index(out)
        if depth[u] == OFA_SLOTS:
            raise ValueError(f"{prefix}unit {u} has more than {OFA_SLOTS} blocks")
        ks[OFA_SLOTS * u + depth[u]] = block.get("kernel_size")
        e[OFA_SLOTS * u + depth[u]] = block.get("expand_ratio")
        depth[u] += 1
    try:
        return OFASpec(ks, e, depth, resolution, file_w)
    except ValueError as exc:
        raise ValueError(f"{prefix}{exc}") from None


def resolve_spec(model_name: str, options: OFAOptions) -> tuple[OFASpec, str]:
    """The sub-net ``options`` pick on the supernet ``model_name``, and where it came from
    (the net id, the spec file, plus the fields overridden)."""
    w = WIDTH[model_name]
    options.validate()
    if options.spec is not None:
        base, origin = load_spec_file(options.spec, w), Path(options.spec).name
    else:
        net_id = options.net or DEFAULT_NET[model_name]
        base, origin = PUBLISHED[net_id].spec, net_id
        if base.w != w:
            model = next(name for name, x in WIDTH.items() if x == base.w)
            raise ValueError(f"{net_id} is a w{base.w:.1f} sub-net: use --model {model}")
    overrides = options._overrides()
    if not overrides:
        return base, origin
    fields = {**base.to_dict(), **overrides}
    spec = OFASpec(fields["ks"], fields["e"], fields["d"], fields["r"], w)
    return spec, f"{origin} with {', '.join(overrides)} set"


def describe_spec(spec: OFASpec) -> str:
    """One line: width, resolution, and the active blocks' kernels and expand ratios per unit
    (``ks 353-5535-...``: one digit a block, ``-`` between units, so a group's length is the
    unit's depth)."""

    def groups(values: tuple[int, ...]) -> str:
        return "-".join(
            "".join(str(values[OFA_SLOTS * u + j]) for j in range(spec.d[u]))
            for u in range(OFA_UNITS)
        )

    return (
        f"w{spec.w:.1f} r{spec.r} d {''.join(map(str, spec.d))} ks {groups(spec.ks)} "
        f"e {groups(spec.e)}"
    )


def _block_schedule(network: CNNConfig, spec: OFASpec) -> dict[str, list[float]]:
    """Per-layer kernel size and expand ratio (NaN outside the elastic blocks)."""
    kernel, expand = [], []
    for layer in network.layers:
        kernel.append(float(layer.kernel) if isinstance(layer, Conv2d) else 1.0)
        parts = layer.name.split(".")
        if parts[0] == "blocks" and parts[1] != "0":
            expand.append(float(spec.e[int(parts[1]) - 1]))
        else:
            expand.append(float("nan"))
    return {"kernel": kernel, "expand_ratio": expand}


def build(model: Any, stage: Stage, options: OFAOptions) -> Workload:
    """The workload of the sub-net ``options`` pick on the supernet ``model``, in ``stage``."""
    check_network_stage(model.name, stage)
    spec, origin = resolve_spec(model.name, options)
    subnet = ofa_subnet(spec)
    macs, largest = ofa_macs(spec), ofa_macs(OFASpec.uniform(7, 6, 4, 224, spec.w))
    notes = [
        f"OFA sub-net {origin}: {describe_spec(spec)}",
        f"{macs / 1e6:.1f}M MACs (OFA's count_net_flops), {subnet.params() / 1e6:.2f}M "
        f"parameters; the largest sub-net (k7 e6 d4 @224): {largest / 1e6:.1f}M MACs",
    ]
    workload = network_workload(
        subnet,
        stage,
        model=model.name,
        method="ofa",
        schedule=_block_schedule(subnet, spec),
        notes=notes,
    )
    if isinstance(stage, Train):
        params = float(subnet.params())
        workload.memory_bytes, workload.streams = training_footprint(
            params=params,
            trainable=params,
            activation_elements=saved_activation_elements(workload),
            optimizer="sgd",
        )
        workload.notes.append("fine-tuning the sub-net: every weight trainable, sgd")
    return workload


# ---------------------------------------------------------------------------------------------
# The sweep.


_FIELDS = tuple(CONV_FIELDS)
#: The stage a sweep prices by default: the latency of one image.
DEFAULT_STAGE = Infer(1)


@dataclass(frozen=True)
class _Parts:
    """Conv-row matrices (one matrix row per workload row, :data:`CONV_FIELDS` order, batch 1)
    of the stem (``first_conv``, ``blocks.0``), the head, and every block ``(slot, kernel,
    expand)`` of a supernet at one resolution. The matrices are read-only."""

    stem: np.ndarray
    head: np.ndarray
    blocks: dict[tuple[int, int, int], np.ndarray]

    def rows(self, spec: OFASpec) -> list[np.ndarray]:
        """The sub-net ``spec``'s rows, in its layers' order, as a list of parts."""
        blocks = self.blocks
        return [self.stem, *(blocks[key[1:]] for key in spec.blocks()), self.head]


def _parts(w: float, r: int) -> _Parts:
    """The rows of every part at width ``w`` and resolution ``r``, taken from the 9 uniform
    depth-4 sub-nets (together they hold every block). A block's rows do not depend on the
    rest of the sub-net: its input is the previous unit's width (a unit's first block) or its
    own, at the unit's input size."""
    blocks: dict[tuple[int, int, int], np.ndarray] = {}
    for k in OFA_KERNELS:
        for e in OFA_EXPAND_RATIOS:
            net = ofa_subnet(OFASpec.uniform(k, e, 4, r, w))
            columns = conv_columns(net.layers, 1)
            matrix = np.column_stack([columns[name].astype(np.float64) for name in _FIELDS])
            part = np.asarray([_part_of(layer.name) for layer in net.layers])
            for slot in range(_SLOTS):
                blocks[(slot, k, e)] = matrix[part == slot]
            stem, head = matrix[part == -1], matrix[part == -2]
    for array in (stem, head, *blocks.values()):
        array.setflags(write=False)
    return _Parts(stem, head, blocks)


class BlockRows:
    """The cache of a sweep: each supernet's block rows by (width, resolution), built on first
    use. One instance per sweep (or per caller that sweeps again and again); nothing is cached
    at module level."""

    def __init__(self) -> None:
        self._parts: dict[tuple[float, int], _Parts] = {}

    def rows(self, spec: OFASpec) -> list[np.ndarray]:
        """The sub-net ``spec``'s rows, in its layers' order, as a list of read-only parts."""
        key = (spec.w, spec.r)
        if key not in self._parts:
            self._parts[key] = _parts(*key)
        return self._parts[key].rows(spec)


def _part_of(name: str) -> int:
    """-1 for the stem, -2 for the head, else the elastic block slot of layer ``name``."""
    if name == "first_conv" or name.startswith("blocks.0."):
        return -1
    if name.startswith("blocks."):
        return int(name.split(".")[1]) - 1
    return -2


def sweep_workload(
    specs: Sequence[OFASpec], stage: Stage = DEFAULT_STAGE, cache: BlockRows | None = None
) -> Workload:
    """One inference workload holding every sub-net of ``specs``: layer ``i`` is sub-net ``i``
    (all its rows), the rows in each sub-net's own order. ``cache`` keeps the block rows for
    another call (None: a fresh one)."""
    cache = cache or BlockRows()
    if not isinstance(stage, Infer):
        raise ValueError(f"a sweep workload is an inference stage, not {stage.describe()}")
    parts: list[np.ndarray] = []
    counts = np.zeros(len(specs), np.int64)
    for i, spec in enumerate(specs):
        if not isinstance(spec, OFASpec):
            raise ValueError(f"sweep specs[{i}] must be an OFASpec, not {spec!r}")
        mine = cache.rows(spec)
        counts[i] = sum(len(part) for part in mine)
        parts += mine
    matrix = np.concatenate(parts) if parts else np.zeros((0, len(_FIELDS)))
    columns = {name: matrix[:, i] for i, name in enumerate(_FIELDS)}
    columns["layer"] = np.repeat(np.arange(len(specs)), counts)
    columns["batch"] = np.full(len(matrix), stage.batch)
    return Workload(
        model=f"{len(specs)} OFA sub-nets",
        method="ofa",
        stage=stage,
        layers=len(specs),
        conv=ConvRows(**columns),
    )


def spec_options(spec: OFASpec) -> dict[str, Any]:
    """The :class:`OFAOptions` fields (as keyword arguments of ``make_workload``) that run
    ``spec`` on its supernet."""
    return {"ks": tuple(spec.ks), "e": tuple(spec.e), "d": tuple(spec.d), "resolution": spec.r}


register_method(
    NetworkMethod(
        "ofa",
        "Once-for-All: a sub-net (kernels, expand ratios, depths, resolution) of the "
        "MobileNetV3 supernet",
        OFAOptions(),
        order=33,
        supports=SUPPORTED,
        builder=build,
    )
)
