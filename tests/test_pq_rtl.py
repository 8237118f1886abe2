"""RTL tests of the progressive-quantization datapath: the cocotb module :mod:`prunesim.verif.pq_tb`
on the generated Verilog of :class:`prunesim.rtl.pq.ProgressiveAttention`, on Icarus Verilog and
Verilator, for several parameter sets (one build folder each under
``build/cocotb/pq/<sim>/<params>/``).

Every frame is checked against the bit-exact golden model :func:`prunesim.golden.pq.attend`
(decision, every probability, beat structure) and, when nothing stalls, its cycles against
``ProgressiveAttention.frame_cycles``. A missing simulator fails these tests (with an install
hint); it never skips them.

Environment knobs: ``PRUNESIM_TB_SEED`` (base seed, default 2024) and ``PRUNESIM_TB_SCALE``
(multiplies the random and back-to-back frame counts, default 1; e.g. 10 for a nightly soak). A
failing frame is written to ``failing_frame_<test>.json`` in the run's build folder, with its seed.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from prunesim.verif.runner import SIMULATORS, build_and_run, param_tag

BUILD_ROOT = Path(__file__).resolve().parents[1] / "build" / "cocotb"
SEED = int(os.environ.get("PRUNESIM_TB_SEED", "2024"))
SCALE = float(os.environ.get("PRUNESIM_TB_SCALE", "1"))

#: (design parameters, testbench settings, per-simulator overrides of the settings). Icarus runs
#: the default-width block at about half Verilator's speed, so it gets fewer frames there.
PARAM_SETS = [
    # 4-bit MSB and LSB planes, tiny d: saturated exponentials everywhere.
    (
        {"d": 4, "msb_bits": 4, "lsb_bits": 4, "max_n": 16, "scale_shift": 8},
        {"random_frames": 400, "back_to_back_frames": 10},
        {},
    ),
    (
        {"d": 16, "msb_bits": 6, "lsb_bits": 4, "max_n": 64, "scale_shift": 12},
        {"random_frames": 200, "back_to_back_frames": 8},
        {},
    ),
    # prob_bits 8; d and max_n not powers of two (an odd adder tree, LOGN rounded up); the
    # largest scale_shift.
    (
        {"d": 12, "msb_bits": 8, "lsb_bits": 4, "prob_bits": 8, "max_n": 48, "scale_shift": 32},
        {"random_frames": 200, "back_to_back_frames": 8},
        {},
    ),
    # The narrowest block: d 1, 2-bit query and MSB plane, 1-bit LSB plane, 2-bit probabilities,
    # scale_shift 0.
    (
        {
            "d": 1,
            "q_bits": 2,
            "msb_bits": 2,
            "lsb_bits": 1,
            "prob_bits": 2,
            "max_n": 4,
            "scale_shift": 0,
        },
        {"random_frames": 200, "back_to_back_frames": 8},
        {},
    ),
    # The default widths (d 64, 8 + 4 bits, max_n 1024): n = 1024 in every test, fewer frames.
    (
        {"d": 64, "msb_bits": 8, "lsb_bits": 4, "max_n": 1024, "scale_shift": 20},
        {"random_frames": 30, "max_n_prob": 0.2, "back_to_back_frames": 4},
        {"icarus": {"random_frames": 16, "back_to_back_frames": 3}},
    ),
]


def _config(config: dict, overrides: dict, sim: str) -> dict:
    out = {"seed": SEED, **config, **overrides.get(sim, {})}
    for key in ("random_frames", "back_to_back_frames"):
        if key in out:
            out[key] = max(1, round(out[key] * SCALE))
    return out


@pytest.mark.rtl
@pytest.mark.parametrize("sim", SIMULATORS)
@pytest.mark.parametrize(
    "params, config, overrides",
    [pytest.param(p, c, o, id=param_tag(p)) for p, c, o in PARAM_SETS],
)
def test_pq_rtl(sim: str, params: dict, config: dict, overrides: dict, record_property) -> None:
    from prunesim.rtl.pq import ProgressiveAttention

    run = build_and_run(
        ProgressiveAttention,
        block="pq",
        sim=sim,
        test_module="prunesim.verif.pq_tb",
        params=params,
        config=_config(config, overrides, sim),
        build_root=BUILD_ROOT,
    )
    record_property("build_seconds", round(run.build_seconds, 2))
    record_property("run_seconds", round(run.run_seconds, 2))
    for test in run.tests:
        record_property(f"{test.name}_seconds", test.seconds)
    # Everything but the benchmark ran (and passed: build_and_run raises otherwise).
    assert {t.name for t in run.ran} == {
        "random_frames",
        "edges",
        "back_to_back",
        "reset_mid_frame",
    }


def test_pq_layouts_match_the_ports() -> None:
    """The testbench's codecs follow the component's own layouts (first field in the low bits)."""
    from amaranth.hdl import signed
    from amaranth.lib import data

    from prunesim.rtl.pq import ProgressiveAttention, key_lsb_layout, key_msb_layout, prob_layout
    from prunesim.verif.streams import LayoutCodec

    dut = ProgressiveAttention(d=4, msb_bits=4, lsb_bits=4, max_n=16, scale_shift=8)
    sig = dut.signature.members
    assert sig["i_query"].signature.members["payload"].shape == data.ArrayLayout(signed(12), 4)
    assert sig["i_key_msb"].signature.members["payload"].shape == key_msb_layout(4, 4)
    assert sig["i_key_lsb"].signature.members["payload"].shape == key_lsb_layout(4, 4)
    assert sig["o_prob"].signature.members["payload"].shape == prob_layout(12)

    msb = LayoutCodec(key_msb_layout(4, 4))
    raw = msb.pack({"data": [-8, 7, -1, 0], "last": 1})
    assert raw == 0x8 | 0x7 << 4 | 0xF << 8 | 0x0 << 12 | 1 << 16
    assert msb.unpack(raw) == {"data": [-8, 7, -1, 0], "last": 1}
    prob = LayoutCodec(prob_layout(8))
    assert prob.offset("last") == 8 and prob.unpack(0x1FF) == {"prob": 255, "last": 1}


def test_pq_frame_generators() -> None:
    """The edge cases are what they say, and the boundary thresholds sit on the boundary."""
    import random

    import torch

    from prunesim.golden.pq import PQParams, attend
    from prunesim.verif.pq_tb import KINDS, boundary_threshold, gen_frame

    rng = random.Random(5)
    p = PQParams(d=4, msb_bits=4, lsb_bits=4, max_n=16, scale_shift=8)
    top = (1 << p.prob_bits) - 1
    for kind in KINDS:
        q, msb, lsb = gen_frame(rng, p, 16, kind)
        attend(torch.tensor(q), torch.tensor(msb), torch.tensor(lsb), 0, 1, p)  # in range
    q, msb, lsb = gen_frame(rng, p, 16, "flat")
    assert bool(attend(torch.tensor(q), torch.tensor(msb), torch.tensor(lsb), top, 9, p).need_lsb)
    q, msb, lsb = gen_frame(rng, p, 16, "peaked")
    assert not attend(torch.tensor(q), torch.tensor(msb), torch.tensor(lsb), top, 65535, p).need_lsb
    for _ in range(20):
        q, msb, lsb = gen_frame(rng, p, rng.randint(2, 16), "near")
        scale = rng.randint(1, 300)
        below = boundary_threshold(p, q, msb, scale, above=False)
        above = boundary_threshold(p, q, msb, scale, above=True)
        need = [
            bool(
                attend(torch.tensor(q), torch.tensor(msb), torch.tensor(lsb), t, scale, p).need_lsb
            )
            for t in (below, above)
        ]
        if below < above <= top:
            assert need == [False, True]


def test_pq_bench_fit_and_grid() -> None:
    """The benchmark's least-squares fit recovers the cycle formula; its grids are as documented."""
    from prunesim.bench.pq import bench_grid, fit_line
    from prunesim.rtl.pq import ProgressiveAttention

    dut = ProgressiveAttention()
    for need, (a, b) in ((False, (3, 69)), (True, (5, 90))):
        points = [(n, dut.frame_cycles(n, need)) for n in (64, 256, 1024)]
        fitted = fit_line(points)
        assert fitted == pytest.approx((a, b))
    assert fit_line([(8, 10), (8, 12)]) == (0.0, 11.0)
    params, cases = bench_grid()
    assert params == {} and {n for n, _ in cases} == {64, 256, 1024} and len(cases) == 6
    params, cases = bench_grid(quick=True)
    assert params["d"] == 4 and {n for n, _ in cases} == {8, 16}
