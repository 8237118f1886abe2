"""``prunesim bench synth``: the grid, one-line errors, and a real run of the smallest sorter on
the ASIC target whose table and JSON agree with the synthesis report and the golden cycles."""

from __future__ import annotations

import json
import math

import pytest
from cli_helpers import assert_one_line_error, run_cli

from prunesim.bench import synth as bench_synth
from prunesim.golden.sorter import sorter_cycles


def test_grid_is_the_documented_one():
    configs = bench_synth.grid()
    topk = [(c.params["lanes"], c.params["max_n"]) for c in configs if c.block == "topk"]
    assert topk == [(p, n) for p in (4, 8, 16) for n in (64, 256, 1024)]
    assert [c.params for c in configs if c.block == "pq"] == [{"d": 16}, {"d": 64}]
    (sorter,) = [c for c in configs if c.block == "sorter"]
    assert sorter.params == {} and sorter.targets == ("asic",)  # no hours-long FPGA run
    assert all(c.targets == ("fpga-ecp5", "asic") for c in configs if c.block != "sorter")
    explicit = bench_synth.grid(("sorter",), sorter_fpga=True)
    assert explicit[0].targets == ("fpga-ecp5", "asic")
    assert len(bench_synth.grid(quick=True)) == 3


def test_every_block_of_the_grid_has_a_bench():
    benches = bench_synth.BLOCK_BENCHES
    assert set(benches) == set(bench_synth.BLOCKS)
    # top-k engine and sorter: one case of n = max_n keys, k = n / 2; n keys a frame
    assert benches["topk"].cases({"max_n": 256}) == [[256, 128]]
    assert benches["sorter"].operations_per_frame({"max_n": 256}) == 256
    # PQ: as many frames without as with the LSB pass: n and 2 n scores, 1.5 n on average
    assert benches["pq"].cases({"max_n": 64}) == [[64, False], [64, True]]
    assert benches["pq"].operations_per_frame({"max_n": 64}) == 96
    assert benches["pq"].lsb_pair and not benches["topk"].lsb_pair


@pytest.mark.parametrize(
    ("args", "pattern"),
    [
        (["--blocks", "topk,nope"], r"unknown block 'nope' \(choose from topk, pq, sorter\)"),
        (["--targets", "fpga-xyz"], r"unknown synthesis target 'fpga-xyz'"),
        (["--blocks", ","], r"unknown block ','"),
    ],
)
def test_bad_options_are_one_line_errors(tmp_path, args, pattern):
    result = run_cli("bench", "synth", *args, "--build-dir", tmp_path / "b", cwd=tmp_path)
    assert_one_line_error(result, pattern)
    assert not (tmp_path / "b").exists()


@pytest.mark.rtl
def test_quick_sorter_on_the_asic_target(tmp_path):
    build = tmp_path / "b"
    result = run_cli(
        "bench", "synth", "--quick", "--blocks", "sorter", "--targets", "asic",
        "--frames", "2", "--build-dir", build, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    document = json.loads((build / "synth_bench.json").read_text())
    assert document["inputs"]["bench"] == "synth"
    (row,) = document["rows"]
    params = row["params"]
    assert (row["block"], row["target"]) == ("sorter", "asic")
    # Cycles: the input beats plus the golden model's latency (the bench checked every frame).
    n, lanes = params["max_n"], params["lanes"]
    assert row["cycles"] == math.ceil(n / lanes) + sorter_cycles(n, lanes)
    # The figures are the cached synthesis report's, read here from its own file.
    (report_file,) = build.glob("synth/sorter-asic-*/report.json")
    report = json.loads(report_file.read_text())["report"]
    assert row["fmax_mhz"] == report["fmax_mhz"] > 0
    assert row["area_um2"] == report["area_um2"] > 0
    assert row["power_w"] == pytest.approx(report["power"]["total_w"])
    assert report["power"]["activity"].startswith("vcd: ")
    assert row["energy_per_frame_j"] == report["energy_per_frame_j"] > 0
    assert row["frame_us"] == pytest.approx(row["cycles"] / row["fmax_mhz"])
    table = result.stdout
    assert f"| sorter | lanes={lanes} max_n={n} | asic |" in table
    assert f"{row['fmax_mhz']:.1f}" in table
