"""Pricing many accelerators at once (``Accelerator.price_many``, what a sweep's batches use):
every target's figures equal ``price``'s exactly (the same functions on a batch of one), whatever
the batch, on summarization, generation, end-to-end (linear rows) and trace workloads."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from prunesim.models import get_model
from prunesim.sim.api import make_workload, trace_workload
from prunesim.sim.costs import accelerator
from prunesim.sim.costs.accelerator import Accelerator
from prunesim.sim.hardware import load_hardware, variant
from prunesim.sim.result import PointCost
from prunesim.sim.workload import Generate, Summarize

DATA = Path(__file__).parent / "data" / "spatten"
#: The figures a sweep row takes from a result (PointCost's fields and its bound).
FIGURES = (
    "cycles",
    "seconds",
    "dram_bytes",
    "macs",
    "energy_j",
    "area_mm2",
    "static_w",
    "time_by_unit",
    "bound",
)

WORKLOADS = {
    "bert-base summarize": lambda: make_workload("bert-base", "spatten"),
    "bert-base summarize dense": lambda: make_workload("bert-base", "dense"),
    "bert-base e2e": lambda: make_workload("bert-base", "spatten", mode="e2e", token_keep=0.4),
    "gpt2-small generate": lambda: make_workload(
        "gpt2-small", "spatten", stage=Generate(prompt=300, generate=6)
    ),
    "gpt2-small generate e2e": lambda: make_workload(
        "gpt2-small", "spatten", stage=Generate(prompt=60, generate=4), mode="e2e"
    ),
    "gpt2-small summarize": lambda: make_workload(
        "gpt2-small", "spatten", stage=Summarize(tokens=1000)
    ),
    "trace": lambda: trace_workload(
        get_model("gpt2-small"), DATA / "gpt2-small-wikitext2-per8-step1+dedic.csv"
    ),
}


def _targets(count: int = 24, seed: int = 13) -> list[Accelerator]:
    """spatten and spatten-eighth, the corners (a serial softmax, 1 and 1024 comparators, a K
    SRAM too small to reuse anything), and random variants of both."""
    bases = [load_hardware("spatten"), load_hardware("spatten-eighth")]
    targets = [
        *bases,
        variant(bases[0], {"softmax.pipelined": False}),
        variant(bases[1], {"softmax.pipelined": False, "multipliers.qk": 4096}),
        variant(bases[0], {"topk.comparators": 1}),
        variant(bases[1], {"topk.comparators": 1024}),
        variant(bases[0], {"sram.k_kb": 0.5}),
    ]
    rng = np.random.default_rng(seed)

    def pick(values: list) -> object:
        return values[int(rng.integers(len(values)))]

    for i in range(count):
        values = {
            "multipliers.qk": pick([1, 16, 64, 100, 512, 4096]),
            "multipliers.pv": pick([1, 32, 64, 300, 1024]),
            "multipliers.bits": pick([4, 8, 12, 16]),
            "softmax.lanes": pick([1, 3, 8, 64]),
            "softmax.pipelined": pick([True, False]),
            "topk.comparators": pick([1, 2, 5, 16, 100, 1024]),
            "sram.k_kb": pick([0.5, 4.0, 24.5, 196.0, 4096.0]),
            "sram.v_kb": pick([1.0, 49.0, 196.0]),
            "dram.channels": pick([1, 4, 16, 64]),
            "clock_ghz": pick([0.5, 1.0, 2.25]),
        }
        targets.append(variant(bases[i % 2], values))
    return targets


def _check_same(workload, targets: list[Accelerator], costs: list[PointCost]) -> None:
    assert len(costs) == len(targets)
    for target, cost in zip(targets, costs, strict=True):
        assert isinstance(cost, PointCost)
        result = target.price(workload)
        for name in FIGURES:
            assert getattr(cost, name) == getattr(result, name), (target.name, name)


@pytest.mark.parametrize("which", sorted(WORKLOADS))
def test_price_many_equals_price_field_by_field(which: str) -> None:
    workload = WORKLOADS[which]()
    targets = [t for t in _targets() if t.unsupported(workload) is None]
    assert len(targets) == 31
    costs = Accelerator.price_many(workload, targets)
    _check_same(workload, targets, costs)
    # the variants differ: the batch is not one target's numbers repeated
    assert len({c.cycles for c in costs}) > len(targets) // 2
    assert len({c.energy_j for c in costs}) > len(targets) // 2


def test_the_corners_take_their_branches() -> None:
    """The corner variants change what they should (so the equality above covers them)."""
    corners = _targets(count=0)
    names = ["spatten", "eighth", "serial", "eighth serial", "one", "eighth 1024", "small"]

    def priced(which: str) -> dict[str, PointCost]:
        costs = Accelerator.price_many(WORKLOADS[which](), corners)
        return dict(zip(names, costs, strict=True))

    summarize = priced("bert-base summarize")
    assert summarize["spatten"].bound == "qk" and summarize["serial"].bound == "qk_softmax"
    assert summarize["small"].bound == "dram"  # no K/V reuse from SRAM
    assert summarize["small"].dram_bytes > summarize["spatten"].dram_bytes
    generate = priced("gpt2-small generate")
    assert generate["one"].bound == "topk" == generate["eighth"].bound  # local V pruning
    assert generate["one"].cycles > generate["spatten"].cycles
    assert generate["eighth 1024"].cycles < generate["eighth"].cycles


def test_a_target_is_priced_alike_in_any_batch(monkeypatch) -> None:
    """Order and batch size do not change a target's numbers (batches of one included)."""
    workload = WORKLOADS["gpt2-small generate e2e"]()
    targets = _targets(count=8)
    whole = Accelerator.price_many(workload, targets)
    assert Accelerator.price_many(workload, targets[::-1]) == whole[::-1]
    monkeypatch.setattr(accelerator, "BATCH_ENTRIES", 1)
    assert Accelerator.price_many(workload, targets) == whole
    assert Accelerator.price_many(workload, []) == []


def test_price_many_refuses_other_kinds() -> None:
    workload = WORKLOADS["bert-base summarize"]()
    with pytest.raises(TypeError, match="targets must be accelerators .* not Processor"):
        Accelerator.price_many(workload, [load_hardware("spatten"), load_hardware("a100")])
