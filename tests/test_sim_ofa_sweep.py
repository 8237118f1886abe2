"""The Once-for-All sweep (``prunesim.sim.ofa_sweep``): the batched sweep against the
one-at-a-time path, its other stages, loaded targets and refusals."""

from __future__ import annotations

import random

import pytest

from prunesim.models.ofa import OFASpec, ofa_macs, sample_ofa_spec
from prunesim.sim import evaluate, load_hardware, make_workload
from prunesim.sim.hardware import hardware_names
from prunesim.sim.methods.ofa import DEFAULT_NET, PUBLISHED, BlockRows, spec_options, sweep_workload
from prunesim.sim.ofa_sweep import ofa_sweep
from prunesim.sim.workload import Infer, Train

W10, W12 = "ofa-mbv3-w1.0", "ofa-mbv3-w1.2"
CONV_TARGETS = [
    name
    for name in hardware_names()
    if load_hardware(name).unsupported(sweep_workload([OFASpec.uniform(3, 3, 2)])) is None
]


def _model_of(spec: OFASpec) -> str:
    return W10 if spec.w == 1.0 else W12


def _random_specs(count: int, seed: int) -> list[OFASpec]:
    rng = random.Random(seed)
    return [sample_ofa_spec(rng, rng.choice((1.0, 1.2))) for _ in range(count)]


def test_conv_targets_are_the_systolic_arrays_gpus_and_cpus() -> None:
    kinds = {load_hardware(name).kind for name in CONV_TARGETS}
    assert kinds == {"systolic", "processor"}
    assert len(CONV_TARGETS) == 11


def test_sweep_equals_the_one_at_a_time_path() -> None:
    specs = _random_specs(6, 8) + [PUBLISHED[DEFAULT_NET[W12]].spec]
    stage = Infer(2)
    points = ofa_sweep(specs, CONV_TARGETS, stage)
    assert [p.spec for p in points] == specs
    for point in points:
        w = make_workload(_model_of(point.spec), "ofa", stage=stage, **spec_options(point.spec))
        assert point.macs == ofa_macs(point.spec) == w.macs // 2
        assert sorted(point.seconds) == sorted(CONV_TARGETS)
        for name in CONV_TARGETS:
            # The same rows, priced by the same engine; only the order in which a sub-net's
            # row times are added differs (one batched evaluation sums them per sub-net with
            # bincount): observed differences are a few ulps (< 1e-15).
            expected = evaluate(w, load_hardware(name)).seconds
            assert point.seconds[name] == pytest.approx(expected, rel=1e-12, abs=0), name


def test_sweep_of_a_training_step_prices_each_subnet() -> None:
    specs = _random_specs(2, 9)
    stage = Train(2)
    points = ofa_sweep(specs, ["systolic-32", "a100"], stage)
    for point in points:
        w = make_workload(_model_of(point.spec), "ofa", stage=stage, **spec_options(point.spec))
        for name in ("systolic-32", "a100"):
            assert point.seconds[name] == evaluate(w, load_hardware(name)).seconds


def test_sweep_refuses_attention_only_targets_and_non_specs() -> None:
    with pytest.raises(ValueError, match="spatten prices attention and linear layers"):
        ofa_sweep([OFASpec.uniform(3, 3, 2)], ["spatten"])
    with pytest.raises(ValueError, match=r"sweep specs\[1\] must be an OFASpec"):
        ofa_sweep([OFASpec.uniform(3, 3, 2), "k3"], ["a100"])


def test_sweep_accepts_loaded_hardware_and_empty_lists() -> None:
    (point,) = ofa_sweep([OFASpec.uniform(5, 4, 3)], [load_hardware("tpu-v1")])
    assert list(point.seconds) == ["tpu-v1"] and point.seconds["tpu-v1"] > 0
    assert ofa_sweep([], CONV_TARGETS) == []


def test_a_cache_given_by_the_caller_is_reused() -> None:
    specs = _random_specs(3, 10)
    cache = BlockRows()
    first = ofa_sweep(specs, ["systolic-32"], cache=cache)
    assert ofa_sweep(specs, ["systolic-32"], cache=cache) == first
