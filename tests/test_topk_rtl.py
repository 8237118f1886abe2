"""RTL tests of the top-k engine: the cocotb module :mod:`prunesim.verif.topk_tb` on the generated
Verilog of :class:`prunesim.rtl.topk.TopK`, on Icarus Verilog and Verilator, for several parameter
sets (one build folder each under ``build/cocotb/topk/<sim>/<params>/``).

Every frame is checked against the golden models (outputs, beat structure, ``qs_rounds``, and the
exact latency when the output never stalls). A missing simulator fails these tests (with an
install hint); it never skips them.

Environment knobs: ``PRUNESIM_TB_SEED`` (base seed, default 2024) and ``PRUNESIM_TB_SCALE``
(multiplies the random frame counts, default 1; e.g. 10 for a nightly soak). A failing frame is
written to ``failing_frame_<test>.json`` in the run's build folder, with its seed.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from prunesim.verif.runner import SIMULATORS, build_and_run, param_tag

BUILD_ROOT = Path(__file__).resolve().parents[1] / "build" / "cocotb"
SEED = int(os.environ.get("PRUNESIM_TB_SEED", "2024"))
SCALE = float(os.environ.get("PRUNESIM_TB_SCALE", "1"))

#: (design parameters, testbench settings). The random frame counts add up to 1010 per simulator.
PARAM_SETS = [
    # lanes = 1: one score per beat, the index is the row number.
    ({"width": 8, "lanes": 1, "max_n": 16}, {"random_frames": 300}),
    # 3-bit scores: ties everywhere.
    ({"width": 3, "lanes": 4, "max_n": 64}, {"random_frames": 300}),
    ({"width": 16, "lanes": 4, "max_n": 128}, {"random_frames": 200}),
    # max_n not a multiple of lanes.
    ({"width": 10, "lanes": 8, "max_n": 200}, {"random_frames": 150}),
    # The default engine: fewer frames, n = 1024 comes up in every test.
    (
        {"width": 16, "lanes": 16, "max_n": 1024},
        {"random_frames": 60, "adversarial_max_frames": 120, "back_to_back_frames": 6},
    ),
]


def _config(config: dict) -> dict:
    out = {"seed": SEED, **config}
    for key in ("random_frames", "back_to_back_frames"):
        if key in out:
            out[key] = max(1, round(out[key] * SCALE))
    return out


@pytest.mark.rtl
@pytest.mark.parametrize("sim", SIMULATORS)
@pytest.mark.parametrize(
    "params, config", [pytest.param(p, c, id=param_tag(p)) for p, c in PARAM_SETS]
)
def test_topk_rtl(sim: str, params: dict, config: dict, record_property) -> None:
    from prunesim.rtl.topk import TopK

    run = build_and_run(
        TopK,
        block="topk",
        sim=sim,
        test_module="prunesim.verif.topk_tb",
        params=params,
        config=_config(config),
        build_root=BUILD_ROOT,
    )
    record_property("build_seconds", round(run.build_seconds, 2))
    record_property("run_seconds", round(run.run_seconds, 2))
    for test in run.tests:
        record_property(f"{test.name}_seconds", test.seconds)
    # Everything but the benchmark ran (and passed: build_and_run raises otherwise).
    assert {t.name for t in run.ran} == {
        "random_frames",
        "adversarial",
        "reset_mid_frame",
        "back_to_back",
    }


@pytest.mark.rtl
def test_runner_fails_when_no_test_runs() -> None:
    """A run whose test filter matches nothing must fail, not pass vacuously."""
    from prunesim.rtl.topk import TopK

    with pytest.raises(AssertionError, match="no cocotb test ran"):
        build_and_run(
            TopK,
            block="topk",
            sim="icarus",
            test_module="prunesim.verif.topk_tb",
            params={"width": 8, "lanes": 1, "max_n": 16},
            testcase="no_such_test",
            build_root=BUILD_ROOT,
        )


def test_layout_codec_round_trip() -> None:
    """Pack/unpack follow the layouts' own offsets (first field in the low bits)."""
    from amaranth.hdl import signed
    from amaranth.lib import data

    from prunesim.rtl.topk import scores_layout, topk_layout
    from prunesim.verif.streams import LayoutCodec

    codec = LayoutCodec(scores_layout(4, 2))
    raw = codec.pack({"data": [0x3, 0xA], "count": 2, "last": 1})
    # data[0] in bits 0..3, data[1] in 4..7, count (range(3): 2 bits) in 8..9, last in 10.
    assert raw == 0x3 | 0xA << 4 | 2 << 8 | 1 << 10
    assert codec.unpack(raw) == {"data": [0x3, 0xA], "count": 2, "last": 1}
    assert codec.offset("last") == 10 and codec.offset("data", 1) == 4

    out = LayoutCodec(topk_layout(5, 4, 200))
    value = {"index": [199, 0, 7, 128], "score": [31, 0, 1, 17], "count": 3, "last": 0}
    assert out.unpack(out.pack(value)) == value
    assert out.width == 4 * 8 + 4 * 5 + 3 + 1

    nested = LayoutCodec(data.ArrayLayout(data.StructLayout({"a": signed(3), "b": 2}), 2))
    assert nested.unpack(nested.pack([{"a": -4, "b": 3}, {"a": 3, "b": 0}])) == [
        {"a": -4, "b": 3},
        {"a": 3, "b": 0},
    ]
    with pytest.raises(ValueError):
        codec.pack({"data": [16, 0]})
    with pytest.raises(ValueError):
        codec.pack({"data": [1]})


def test_unspecified_lanes_are_those_at_and_above_count() -> None:
    """The output sink accepts X/Z only in the lanes the contract leaves unspecified: the mask
    covers every index and score bit of lanes >= count and nothing else; X/Z bits read as 0."""
    from cocotb.types import LogicArray

    from prunesim.rtl.topk import topk_layout
    from prunesim.verif.streams import LayoutCodec, _known_bits
    from prunesim.verif.topk_tb import unspecified_lanes

    layout = topk_layout(5, 4, 200)
    codec, mask = LayoutCodec(layout), unspecified_lanes(layout)
    full = {"index": [255] * 4, "score": [31] * 4, "count": 0, "last": 0}
    for count in range(5):
        raw = codec.pack({"index": [0] * 4, "score": [0] * 4, "count": count, "last": 1})
        lanes = [0] * count + [255] * (4 - count), [0] * count + [31] * (4 - count)
        expected = codec.pack({**full, "index": lanes[0], "score": lanes[1]})
        assert mask(raw) == expected
    assert _known_bits(LogicArray("10X1Z0")) == (0b100100, 0b001010)
    assert _known_bits(LogicArray("0110")) == (0b0110, 0)
