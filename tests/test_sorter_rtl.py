"""RTL tests of the Batcher odd-even merge sorter: the cocotb module :mod:`prunesim.verif.sorter_tb`
on the generated Verilog of :class:`prunesim.rtl.sorter.BatcherSorter`, on Icarus Verilog and
Verilator, one small parameter set each (the Amaranth-simulator tests in
``test_sorter_amaranth.py`` cover more sets quickly). Build folders:
``build/cocotb/sorter/<sim>/<params>/``.

Every frame is checked against the golden models (outputs, beat structure, and the exact latency
when the output never stalls). A missing simulator fails these tests; it never skips them.
``PRUNESIM_TB_SEED`` sets the base seed (default 2024).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from prunesim.verif.runner import build_and_run, param_tag

BUILD_ROOT = Path(__file__).resolve().parents[1] / "build" / "cocotb"
SEED = int(os.environ.get("PRUNESIM_TB_SEED", "2024"))

#: One small set per simulator: 10 and 9 rows (merge runs of odd length, max_n not a power of
#: two), a partial last beat; Verilator with 8 lanes and 10-bit scores.
CASES = [
    ("icarus", {"width": 5, "lanes": 4, "max_n": 40}),
    ("verilator", {"width": 10, "lanes": 8, "max_n": 72}),
]


@pytest.mark.rtl
@pytest.mark.parametrize(
    "sim, params", [pytest.param(s, p, id=f"{s}-{param_tag(p)}") for s, p in CASES]
)
def test_sorter_rtl(sim: str, params: dict, record_property) -> None:
    from prunesim.rtl.sorter import BatcherSorter

    run = build_and_run(
        BatcherSorter,
        block="sorter",
        sim=sim,
        test_module="prunesim.verif.sorter_tb",
        params=params,
        config={"seed": SEED, "random_frames": 60, "adversarial_max_frames": 80},
        build_root=BUILD_ROOT,
    )
    record_property("run_seconds", round(run.run_seconds, 2))
    assert {t.name for t in run.ran} == {
        "random_frames",
        "adversarial",
        "back_to_back",
        "reset_mid_frame",
    }
