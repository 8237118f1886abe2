"""``compare``: every method on every hardware target, against dense and against the baselines.

Each (method, hardware) pair is simulated once; the dense workload on each target is the
reference for that target's speedup, DRAM reduction and energy saving, and dense on each baseline
(a GPU, CPU or published accelerator) is the reference of the "vs baseline" ratios, the way the
SpAtten paper compares its pruned accelerator with the original model on a TITAN Xp.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from os import PathLike
from typing import Any

from prunesim.models import Model
from prunesim.sim.api import make_workload, model_of, one_or_many
from prunesim.sim.engine import SimResult, evaluate
from prunesim.sim.families import family_of
from prunesim.sim.hardware import Hardware, load_targets
from prunesim.sim.methods import get_method
from prunesim.sim.workload import Stage, Workload

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
    skipped: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "stage": self.stage,
            "mode": self.mode,
            "methods": self.methods,
            "hardware": self.hardware,
            "baselines": self.baselines,
            "entries": [entry.to_dict() for entry in self.entries.values()],
            "skipped": list(self.skipped),
        }


def _workloads(
    config: Model,
    methods: list[str],
    stage: Stage,
    mode: str,
    weight_bits: int | None,
    options: dict[str, Any],
    per_method: Mapping[str, Mapping[str, Any]],
) -> dict[str, Workload]:
    """Each method's workload of ``config`` (``options`` apply to every method but dense,
    ``per_method[m]`` to method ``m`` only)."""
    return {
        method: make_workload(
            config,
            method,
            stage=stage,
            mode=mode,
            weight_bits=weight_bits,
            **(options if method != DENSE else {}),
            **per_method.get(method, {}),
        )
        for method in methods
    }


def _simulate(
    config: Model,
    workloads: dict[str, Workload],
    targets: list[Hardware],
    skipped: list[str],
    progress: Callable[[str], None] | None,
) -> tuple[dict[tuple[str, str], SimResult], list[Hardware]]:
    """Every workload on every target that can run them all: the results by (method, target
    name) and those targets; a target that cannot run one of them is appended to ``skipped``
    with its reason and runs none."""
    sims: dict[tuple[str, str], SimResult] = {}
    runnable = []
    for target in targets:
        reason = next(
            (r for m in workloads if (r := target.unsupported(workloads[m])) is not None),
            None,
        )
        if reason is not None:  # the target cannot run this kind of workload
            skipped.append(f"{target.name}: {reason}")
            continue
        for method in workloads:
            if progress is not None:
                progress(f"{config.name} {method} on {target.name}")
            sims[(method, target.name)] = evaluate(workloads[method], target)
        runnable.append(target)
    return sims, runnable


def _entries(
    sims: dict[tuple[str, str], SimResult],
    methods: list[str],
    runnable: list[Hardware],
    baselines: list[Hardware],
) -> dict[tuple[str, str], CompareEntry]:
    """One :class:`CompareEntry` per (method, target): its ratios against dense on the same
    target and against dense on each baseline."""
    entries = {}
    for target in runnable:
        dense = sims[(DENSE, target.name)]
        for method in methods:
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
    return entries


def _compare_model(
    config: Model,
    methods: list[str],
    targets: list[Hardware],
    *,
    stage: Stage | None,
    mode: str | None,
    weight_bits: int | None,
    progress: Callable[[str], None] | None,
    options: dict[str, Any],
    per_method: Mapping[str, Mapping[str, Any]],
) -> CompareResult:
    """The matrix of one model (:func:`compare`), at its family's stage and mode by default."""
    family = family_of(config)
    model_stage = stage or family.default_stage(config)
    model_mode = mode or family.default_mode(config)
    usable = [m for m in methods if get_method(m).can_prune(config)]
    skipped = [f"{m}: cannot prune {config.name}" for m in methods if m not in usable]
    run_methods = list(dict.fromkeys([DENSE, *usable]))
    workloads = _workloads(
        config, run_methods, model_stage, model_mode, weight_bits, options, per_method
    )
    sims, runnable = _simulate(config, workloads, targets, skipped, progress)
    baselines = [t for t in runnable if t.BASELINE]
    return CompareResult(
        model=config.name,
        stage=model_stage.describe(),
        mode=model_mode,
        methods=usable,
        hardware=[t.name for t in runnable],
        baselines=[b.name for b in baselines],
        entries=_entries(sims, usable, runnable, baselines),
        skipped=skipped,
    )


def compare(
    models: Iterable[str | Model],
    methods: Iterable[str],
    hardware: Iterable[str | PathLike[str] | Hardware],
    *,
    stage: Stage | None = None,
    mode: str | None = None,
    weight_bits: int | None = None,
    progress: Callable[[str], None] | None = None,
    method_options: Mapping[str, Mapping[str, Any]] | None = None,
    **options: Any,
) -> list[CompareResult]:
    """One :class:`CompareResult` per model: every method (plus ``dense``) on every target.

    Accelerators are the targets the methods are designed for; a target whose kind is a baseline
    (``BASELINE``: GPUs, CPUs, accelerators known by their published figures) is also a
    *baseline*: dense on it is the reference of ``vs_baselines``. A method that cannot prune a
    model (``catp`` on GPT-2) is left out of that model's matrix, and so is a target that cannot
    run a workload (a published attention-only accelerator in end-to-end mode, SpAtten on a
    CNN); ``skipped`` says which (each method's and target's ``unsupported`` reason). ``options``
    override every method's options (each must exist for every method but dense);
    ``method_options[m]`` override method ``m``'s only (``--set spatten.token_keep=0.4``;
    dense's too). ``progress`` is called
    with a label before each simulation. Each of ``models``, ``methods``, ``hardware`` may be
    one name (or object) instead of a list.

    ``hardware``: preset names, YAML paths (strings or :class:`os.PathLike`) or loaded targets
    (:func:`~prunesim.sim.hardware.load_targets`: the same file twice counts once; two targets
    of one ``name`` from different files raise :class:`~prunesim.sim.hardware.HardwareError`
    naming both, as results are keyed by name).
    """
    models, methods, hardware = (
        one_or_many(value, argument)
        for value, argument in ((models, "models"), (methods, "methods"), (hardware, "hardware"))
    )
    targets = load_targets(hardware)
    method_list = list(dict.fromkeys(methods))
    for name in method_list:
        get_method(name)  # unknown names fail here, whatever the models
    return [
        _compare_model(
            model_of(model),
            method_list,
            targets,
            stage=stage,
            mode=mode,
            weight_bits=weight_bits,
            progress=progress,
            options=options,
            per_method=method_options or {},
        )
        for model in models
    ]
