"""The HR-NAS supernet (SuperTickets' starting point) and cnn.py's ``add_upsampled`` join."""

from __future__ import annotations

import pytest

from prunesim.models.cnn import CNNConfig, Conv2d, Dense, Join
from prunesim.models.hrnas import (
    HRNAS_SUPERNET,
    hrnas_branches,
    hrnas_supernet,
)

# Checked against dingmyu/HR-NAS's HighResolutionNet (cls_imagenet.yml) in PyTorch: forward
# hooks on every Conv2d/Linear for MACs, parameters without the distillation-only ``bns``.
SUPERNET_MACS = 2_422_799_760
SUPERNET_PARAMS = 13_243_868


def _one_line_error(match: str, **kwargs: object) -> str:
    with pytest.raises(ValueError, match=match) as info:
        hrnas_supernet(**kwargs)  # type: ignore[arg-type]
    message = str(info.value)
    assert "\n" not in message
    return message


def _names(config: CNNConfig) -> set[str]:
    return {layer.name for layer in config.layers} | {join.name for join in config.joins}


# --- structure ----------------------------------------------------------------------------


def test_supernet_validates_and_has_hrnet_shape() -> None:
    net = HRNAS_SUPERNET
    assert isinstance(net, CNNConfig)
    assert net == hrnas_supernet()
    assert net.name == "hrnas-supernet"
    assert net.input == (3, 224, 224)
    assert net.shape("stem.conv2") == (24, 56, 56)
    # the last stage's four branches at 1/4 .. 1/32
    for r, (c, side) in enumerate(((18, 56), (36, 28), (72, 14), (144, 7))):
        last = (2, 2, 3, 4)[r] - 1
        assert net.shape(f"stage5.b{r}.block{last}.add") == (c, side, side)
    assert net.shape("head.add2") == (320, 7, 7)
    assert net.shape("head.final") == (1600, 7, 7)
    fc = net.layer("classifier")
    assert isinstance(fc, Dense) and (fc.in_features, fc.out_features) == (1600, 1000)
    assert net.to_dict()["macs"] == net.macs()


def test_branch_count_and_layers() -> None:
    branches = hrnas_branches()
    assert len(branches) == 201
    blocks = {name.rsplit(".", 1)[0] for name in branches}
    assert len(blocks) == 67
    assert "stage2.b0.block1.k5" in branches
    net = HRNAS_SUPERNET
    for name, h in branches.items():
        expand, dw, project = (net.layer(f"{name}.{part}") for part in ("expand", "dw", "project"))
        assert isinstance(expand, Conv2d) and isinstance(dw, Conv2d) and isinstance(project, Conv2d)
        assert expand.kernel == 1 and project.kernel == 1
        assert h == expand.out_channels == round(expand.in_channels * 4)
        assert dw.depthwise and dw.kernel == int(name.rsplit(".k", 1)[1])
        assert project.in_channels == h
    # 603 branch convolutions, 23 residual projections, 2 stem, 1 final: the reference's 629
    assert sum(isinstance(layer, Conv2d) for layer in net.layers) == 629
    residuals = [layer for layer in net.layers if layer.name.endswith(".residual")]
    assert len(residuals) == 23
    extend = net.layer("stage2.fuse1.extend.residual")
    assert isinstance(extend, Conv2d)
    assert (extend.in_channels, extend.out_channels, extend.stride, extend.groups) == (
        18,
        36,
        2,
        18,
    )
    assert not extend.bn


def test_block_joins_and_shared_bn() -> None:
    net = HRNAS_SUPERNET
    joins = {join.name: join for join in net.joins}
    block = joins["stage2.b0.block1.add"]
    assert block.kind == "add"
    assert block.inputs == (
        "stage2.b0.block0.add",
        "stage2.b0.block1.k3.project",
        "stage2.b0.block1.k5.project",
        "stage2.b0.block1.k7.project",
    )
    # one BN after the summed projections, attributed to the first branch's projection
    bns = [net.layer(f"stage2.b0.block1.k{k}.project").bn for k in (3, 5, 7)]
    assert bns == [True, False, False]
    assert net.layer("stage2.b0.block1.k5.expand").bn and net.layer("stage2.b0.block1.k5.dw").bn


def test_fusion_upsamples_the_lower_resolution_neighbour() -> None:
    joins = {join.name: join for join in HRNAS_SUPERNET.joins}
    top = joins["stage5.fuse0.add"]
    assert top.kind == "add_upsampled"
    assert top.inputs == ("stage5.fuse0.from0.add", "stage5.fuse0.from1.add")
    assert HRNAS_SUPERNET.shape("stage5.fuse0.from1.add") == (18, 28, 28)
    middle = joins["stage5.fuse1.add"]
    assert middle.inputs[0] == "stage5.fuse1.from0.add"  # the stride-2 block comes first
    assert len(middle.inputs) == 3
    assert joins["stage5.fuse3.add"].kind == "add"  # no lower branch below 1/32
    # a stage that adds a branch has no fuse{new}.add: one stride-2 block builds it
    assert "stage2.fuse1.add" not in joins
    assert HRNAS_SUPERNET.input_of("stage2.fuse1.extend.k3.expand") == "stage2.fuse0.from0.add"


# --- MACs and parameters ------------------------------------------------------------------


def test_macs_and_params() -> None:
    net = HRNAS_SUPERNET
    assert net.macs() == sum(layer.macs for layer in net.layers) == SUPERNET_MACS
    assert net.params() == SUPERNET_PARAMS


def test_other_settings_match_reference() -> None:
    # Reference (the released HighResolutionNet) at 200x200, expand 2, kernels 3/5, 10 classes.
    net = hrnas_supernet(resolution=200, expand=2, kernels=(3, 5), num_classes=10)
    assert (net.macs(), net.params()) == (649_983_684, 4_085_054)
    assert net.shape("stage5.b2.block2.add") == (72, 13, 13)
    assert net.shape("stage5.b3.block3.add") == (144, 7, 7)
    assert len(hrnas_branches(net)) == 134


def test_removing_a_branch_removes_exactly_its_macs() -> None:
    name = "stage2.b0.block1.k5"  # 18 channels at 56x56, hidden 72, 5x5 depthwise
    macs = 56 * 56 * (18 * 72 + 72 * 5 * 5 + 72 * 18)
    assert macs == 13_773_312
    weights = 18 * 72 + 72 * 25 + 72 * 18
    slim = hrnas_supernet(hidden={name: 0})
    assert HRNAS_SUPERNET.macs() - slim.macs() == macs
    assert HRNAS_SUPERNET.params() - slim.params() == weights + 2 * 72 + 2 * 72
    assert not any(layer.name.startswith(name + ".") for layer in slim.layers)
    assert slim.name == "hrnas-supernet-slim"
    assert name not in hrnas_branches(slim)
    # removing the first branch moves the shared BN to the next one, parameters still exact
    first = "stage2.b0.block1.k3"
    slim3 = hrnas_supernet(hidden={first: 0})
    assert HRNAS_SUPERNET.macs() - slim3.macs() == 56 * 56 * (18 * 72 + 72 * 9 + 72 * 18)
    assert HRNAS_SUPERNET.params() - slim3.params() == 18 * 72 * 2 + 72 * 9 + 4 * 72
    assert slim3.layer("stage2.b0.block1.k5.project").bn


def test_shrinking_a_branch() -> None:
    name = "stage4.b3.block2.k7"  # 144 channels at 7x7, hidden 576
    slim = hrnas_supernet(hidden={name: 100})
    assert slim.layer(f"{name}.expand").out_channels == 100
    dw = slim.layer(f"{name}.dw")
    assert isinstance(dw, Conv2d) and dw.groups == 100 and dw.depthwise
    assert slim.layer(f"{name}.project").in_channels == 100
    assert HRNAS_SUPERNET.macs() - slim.macs() == 7 * 7 * 476 * (144 + 49 + 144)
    assert hrnas_branches(slim)[name] == 100
    # naming every branch at full width is the supernet
    assert hrnas_supernet(hidden=hrnas_branches()) == HRNAS_SUPERNET


def test_block_with_every_branch_removed_keeps_its_residual() -> None:
    block = "stage2.b0.block1"  # identity residual
    gone = {f"{block}.k{k}": 0 for k in (3, 5, 7)}
    slim = hrnas_supernet(hidden=gone)
    names = _names(slim)
    assert not any(n.startswith(block + ".") for n in names)
    assert slim.input_of("stage3.fuse0.from0.k3.expand") == "stage2.b0.block0.add"
    branch_macs = sum(
        HRNAS_SUPERNET.layer(f"{block}.k{k}.{part}").macs
        for k in (3, 5, 7)
        for part in ("expand", "dw", "project")
    )
    assert HRNAS_SUPERNET.macs() - slim.macs() == branch_macs

    # a stride-2 block keeps its 1x1 grouped projection, which becomes the block's output
    extend = "stage2.fuse1.extend"
    slim = hrnas_supernet(hidden={f"{extend}.k{k}": 0 for k in (3, 5, 7)})
    assert f"{extend}.add" not in _names(slim)
    assert slim.input_of("stage2.b1.block0.k3.expand") == f"{extend}.residual"
    assert slim.shape(f"{extend}.residual") == (36, 28, 28)


def test_width_multiplier_scales_branch_widths() -> None:
    half = hrnas_supernet(width=0.5)
    assert half.name == "hrnas-supernet-w0.5"
    branches = hrnas_branches(half)
    assert branches.keys() == hrnas_branches().keys()
    assert branches["stage2.b0.block1.k5"] == 36  # 9 channels x 4
    assert branches["stage5.b3.block3.k3"] == 288  # 72 x 4
    assert branches["head.incre3.k7"] == 288
    assert half.shape("head.final") == (800, 7, 7)
    double = hrnas_branches(hrnas_supernet(width=2.0))
    assert all(double[name] == 2 * h for name, h in hrnas_branches().items())
    assert half.macs() < HRNAS_SUPERNET.macs() / 3


# --- validation ---------------------------------------------------------------------------


def test_bad_hidden_names_and_values() -> None:
    message = _one_line_error("stage9.b0.block0.k3", hidden={"stage9.b0.block0.k3": 4})
    assert "unknown branch" in message
    _one_line_error("stage2.b0.block1.k4", hidden={"stage2.b0.block1.k4": 4})
    message = _one_line_error("stage2.b0.block1.k5", hidden={"stage2.b0.block1.k5": -1})
    assert "non-negative" in message and "-1" in message
    _one_line_error("stage2.b0.block1.k5", hidden={"stage2.b0.block1.k5": 3.5})
    _one_line_error("stage2.b0.block1.k5", hidden={"stage2.b0.block1.k5": True})
    message = _one_line_error("stage2.b0.block1.k5", hidden={"stage2.b0.block1.k5": 73})
    assert "exceeds" in message and "72" in message
    _one_line_error("hidden must be a mapping", hidden=[("stage2.b0.block1.k5", 1)])
    # a removed branch of another kernel set is unknown
    _one_line_error("stage2.b0.block1.k7", kernels=(3, 5), hidden={"stage2.b0.block1.k7": 0})


def test_bad_arguments() -> None:
    _one_line_error("width", width=0)
    _one_line_error("width", width=True)
    _one_line_error("kernels", kernels=(3, 4))
    _one_line_error("kernels", kernels=(3, 3))
    _one_line_error("kernels", kernels=())
    _one_line_error("kernels", kernels=[3, 5])
    _one_line_error("expand", expand=0)
    _one_line_error("resolution", resolution=0)
    _one_line_error("num_classes", num_classes=-1)
    with pytest.raises(ValueError, match="CNNConfig or None"):
        hrnas_branches("hrnas")  # type: ignore[arg-type]


# --- cnn.py: the add_upsampled join -------------------------------------------------------


def _pair(kind: str, main: str, other: str, other_channels: int = 8) -> CNNConfig:
    a = Conv2d(name="a", in_channels=3, out_channels=8, kernel=3, in_height=8, in_width=8)
    b = Conv2d(
        name="b", in_channels=8, out_channels=other_channels, kernel=3, stride=2, in_height=8,
        in_width=8, input_from="a",
    )  # fmt: skip
    return CNNConfig(
        name="pair",
        input=(3, 8, 8),
        layers=(a, b),
        joins=(Join(name="j", kind=kind, inputs=(main, other)),),  # type: ignore[arg-type]
    )


def test_add_upsampled_join() -> None:
    net = _pair("add_upsampled", "a", "b")  # b (4x4) upsampled into a (8x8)
    assert net.shape("j") == (8, 8, 8)
    assert net.width_groups() == (("a", "b"),)  # tied like a residual add
    wider = net.with_out_channels({"b": 16})
    assert wider.layer("a").out_channels == 16  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="must have the channels and at most the spatial size"):
        _pair("add_upsampled", "b", "a")  # the larger operand cannot be upsampled
    with pytest.raises(ValueError, match="must have the channels and at most the spatial size"):
        _pair("add_upsampled", "a", "b", other_channels=4)
    with pytest.raises(ValueError, match="must have the channels and at least the spatial size"):
        _pair("add", "a", "b")  # a plain add still refuses a smaller operand
    assert _pair("add_upsampled", "a", "a").shape("j") == (8, 8, 8)
