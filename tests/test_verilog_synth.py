"""The generated Verilog is synthesizable: Yosys maps it to gates with no latch, no undriven or
multiply driven net and no combinational loop."""

from __future__ import annotations

import pytest

from prunesim.rtl.pq import ProgressiveAttention
from prunesim.rtl.topk import TopK
from prunesim.rtl.verilog import to_verilog
from prunesim.synth.check import synthesize


@pytest.mark.rtl
@pytest.mark.parametrize(("width", "lanes", "max_n"), [(8, 4, 32), (5, 1, 4)])
def test_topk_verilog_synthesizes(tmp_path, width, lanes, max_n):
    path = tmp_path / "topk.v"
    path.write_text(to_verilog(TopK(width, lanes, max_n), "topk"))
    result = synthesize(path, "topk")
    assert result.latches == 0
    # The three row memories (frame buffer, FIFO L, FIFO R) become flip-flops in generic synthesis.
    rows = -(-max_n // lanes)
    assert result.flip_flops >= 3 * rows * lanes * width
    assert result.total > result.flip_flops


@pytest.mark.rtl
def test_pq_verilog_synthesizes(tmp_path):
    path = tmp_path / "pq.v"
    path.write_text(to_verilog(ProgressiveAttention(d=4, msb_bits=4, lsb_bits=4, max_n=16), "pq"))
    result = synthesize(path, "pq")
    assert result.latches == 0
    assert result.flip_flops > 0 and result.total > result.flip_flops
