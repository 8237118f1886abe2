"""``compare``: every method on every hardware target, against dense and against the baselines.

Each (method, hardware) pair is simulated once; the dense workload on each target is the
reference for that target's speedup, DRAM reduction and energy saving, and dense on each baseline
(a GPU, CPU or published accelerator) is the reference of the "vs baseline" ratios, the way the
SpAtten paper compares its pruned accelerator with the original model on a TITAN Xp.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from prunesim.models import TransformerConfig, get_model
from prunesim.sim.api import default_stage, make_workload
from prunesim.sim.engine import SimResult, evaluate
from prunesim.sim.hardware import Accelerator, Hardware, load_hardware
from prunesim.sim.workload import Stage

__all__ = ["CompareEntry", "CompareResult", "compare"]

DENSE = "dense"


def _ratio(reference: float | None, value: float | None) -> float | None:
    if reference is None or value is None or value <= 0:
        return None
    return reference / value


@dataclass
class CompareEntry:
    """One (method, hardware) result with its ratios (None where not defined)."""

    result: SimResult
    speedup: float | None  # dense time / this time, on the same hardware
    dram_reduction: float | None
    energy_saving: float | None
    vs_baselines: dict[str, dict[str, float | None]] = field(default_factory=dict)
    # baseline name -> {"speedup": ..., "energy_saving": ...} against dense on that baseline

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.result.method,
            "hardware": self.result.hardware,
            "seconds": self.result.seconds,
            "dram_bytes": self.result.dram_bytes,
            "energy_j": self.result.energy_j,
            "speedup": self.speedup,
            "dram_reduction": self.dram_reduction,
            "energy_saving": self.energy_saving,
            "vs_baselines": self.vs_baselines,
        }


@dataclass
class CompareResult:
    """The matrix for one model and stage: ``entries[(method, hardware)]``."""

    model: str
    stage: str
    mode: str
    methods: list[str]
    hardware: list[str]
    baselines: list[str]
    entries: dict[tuple[str, str], CompareEntry]

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "stage": self.stage,
            "mode": self.mode,
            "methods": self.methods,
            "hardware": self.hardware,
            "baselines": self.baselines,
            "entries": [entry.to_dict() for entry in self.entries.values()],
        }


def compare(
    models: Iterable[str | TransformerConfig],
    methods: Iterable[str],
    hardware: Iterable[str | Hardware],
    *,
    stage: Stage | None = None,
    mode: str = "attention",
    weight_bits: int = 8,
    progress: Callable[[str], None] | None = None,
    **options: Any,
) -> list[CompareResult]:
    """One :class:`CompareResult` per model: every method (plus ``dense``) on every target.

    Accelerators (kind ``accelerator``) are the targets the methods are designed for; every other
    target is also a *baseline*: dense on it is the reference of ``vs_baselines``. ``options``
    override every method's options (each must exist for every method). ``progress`` is called
    with a label before each simulation.
    """
    targets = [load_hardware(h) if isinstance(h, str) else h for h in hardware]
    method_list = list(dict.fromkeys(methods))
    run_methods = list(dict.fromkeys([DENSE, *method_list]))
    baselines = [t for t in targets if not isinstance(t, Accelerator)]
    results = []
    for model in models:
        config = model if isinstance(model, TransformerConfig) else get_model(model)
        model_stage = stage or default_stage(config)
        workloads = {
            method: make_workload(
                config,
                method,
                stage=model_stage,
                mode=mode,
                weight_bits=weight_bits,
                **(options if method != DENSE else {}),
            )
            for method in run_methods
        }
        sims: dict[tuple[str, str], SimResult] = {}
        for target in targets:
            for method in run_methods:
                if progress is not None:
                    progress(f"{config.name} {method} on {target.name}")
                sims[(method, target.name)] = evaluate(workloads[method], target)
        entries = {}
        for target in targets:
            dense = sims[(DENSE, target.name)]
            for method in method_list:
                result = sims[(method, target.name)]
                vs = {}
                for base in baselines:
                    reference = sims[(DENSE, base.name)]
                    vs[base.name] = {
                        "speedup": _ratio(reference.seconds, result.seconds),
                        "energy_saving": _ratio(reference.energy_j, result.energy_j),
                    }
                entries[(method, target.name)] = CompareEntry(
                    result=result,
                    speedup=_ratio(dense.seconds, result.seconds),
                    dram_reduction=_ratio(dense.dram_bytes, result.dram_bytes),
                    energy_saving=_ratio(dense.energy_j, result.energy_j),
                    vs_baselines=vs,
                )
        results.append(
            CompareResult(
                model=config.name,
                stage=model_stage.describe(),
                mode=mode,
                methods=method_list,
                hardware=[t.name for t in targets],
                baselines=[b.name for b in baselines],
                entries=entries,
            )
        )
    return results
