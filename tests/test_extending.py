"""Extending prunesim: a method, a kind of hardware and a model family, each one module (plus a
YAML file for the hardware) in ``tests/extensions/``, registered at import and used by the
unchanged simulator, comparison and listings; and the registries' own contract."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

from prunesim.models import get_model
from prunesim.registry import Registry
from prunesim.sim import make_workload, simulate
from prunesim.sim.compare import compare
from prunesim.sim.costs import KINDS
from prunesim.sim.families import FAMILIES, StageRequest, family_of
from prunesim.sim.hardware import load_hardware
from prunesim.sim.methods import METHODS, get_method
from prunesim.sim.methods.options import describe

EXTENSIONS = Path(__file__).parent / "extensions"
TOY_YAML = EXTENSIONS / "toy-roofline.yaml"


@pytest.fixture(scope="module")
def toys():
    """Import the three toy modules (each registers itself); unregister them afterwards."""
    sys.path.insert(0, str(EXTENSIONS))
    modules = [importlib.import_module(name) for name in ("toy_method", "toy_kind", "toy_family")]
    yield modules
    METHODS.unregister("uniform-keep")
    KINDS.unregister("roofline")
    FAMILIES.unregister("mlp")
    for name in ("toy_method", "toy_kind", "toy_family"):
        sys.modules.pop(name, None)
    sys.path.remove(str(EXTENSIONS))


def test_a_new_method_is_one_module(toys) -> None:
    assert "uniform-keep" in METHODS.names()
    assert METHODS.names()[-1] == "uniform-keep"  # order 90: after the paper methods
    method = get_method("uniform-keep")
    assert describe(method.options) == "keep=0.5"
    half = simulate("gpt2-small", "uniform-keep", "spatten", keep="0.5")
    dense = simulate("gpt2-small", "dense", "spatten")
    assert half.dram_bytes < dense.dram_bytes
    workload = make_workload("gpt2-small", "uniform-keep", keep=0.25)
    assert workload.schedule["token_keep"] == [0.25] * 12
    # The toy prunes LVLMs' LLM part too (its family takes plans) but no CNN, with the reason.
    assert method.unsupported(toys[2].MLPConfig("m", (4, 4))) is not None
    reason = method.unsupported(get_model("resnet18"))
    assert reason.startswith("uniform-keep prunes transformers and multimodal LLMs, not 'resnet18'")
    with pytest.raises(ValueError, match=r"^keep must be in \(0, 1\], not 2\.0$"):
        make_workload("gpt2-small", "uniform-keep", keep="2")


def test_a_new_hardware_kind_is_one_module_and_a_file(toys) -> None:
    hw = load_hardware(TOY_YAML)
    assert hw.kind == "roofline" and hw.name == "toy-roofline"
    assert hw.sources["peak_tops"] == "made up for the test"
    result = simulate("bert-base", "spatten", hw)
    assert result.seconds > 0 and result.energy_j == pytest.approx(result.seconds * 10)
    matrix = compare(["gpt2-small"], ["spatten"], [hw, load_hardware("spatten")])[0]
    assert matrix.baselines == ["toy-roofline"]  # BASELINE = True
    assert set(matrix.hardware) == {"toy-roofline", "spatten"}
    bad = TOY_YAML.read_text().replace("power_w:", "power_watts:")
    path = TOY_YAML.parent / "never-written.yaml"
    from prunesim.sim.hwfile import HardwareError, read_hardware

    with pytest.raises(HardwareError, match=r"^x\.yaml:\d+: power_watts: unknown field"):
        read_hardware("x.yaml", bad, dict(KINDS.items()))
    assert not path.exists()


def test_a_new_model_family_is_one_module(toys) -> None:
    mlp = toys[2].MLPConfig("toy-mlp", (784, 256, 10))
    family = family_of(mlp)
    assert family.name == "mlp" and family.describe(mlp) == "MLP, widths 784-256-10"
    stage = family.stage(mlp, StageRequest(batch=32))
    result = simulate(mlp, "dense", "systolic-32", stage=stage)
    assert result.macs == 32 * (784 * 256 + 256 * 10)
    assert result.mode == "network"  # an inference stage: every layer
    with pytest.raises(ValueError, match="toy-mlp takes --stage infer"):
        family.stage(mlp, StageRequest(stage="generate"))
    with pytest.raises(ValueError, match="spatten prunes transformers"):
        simulate(mlp, "spatten", "systolic-32")


def test_registry_contract() -> None:
    registry: Registry[int] = Registry("prunesim.sim.families", "thing", order=lambda n: -n)
    registry.register("a", 1)
    registry.register("b", 2)
    with pytest.raises(ValueError, match="thing 'a' is registered twice"):
        registry.register("a", 3)
    assert registry.names()[:2] == ["b", "a"]  # by order, descending here
    with pytest.raises(ValueError, match=r"^unknown thing 'z' \(choose from b, a\)$"):
        registry.get("z")
    registry.unregister("a")
    assert "a" not in registry
