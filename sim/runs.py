"""A memo of simulations held by whoever needs it (a report): :class:`Runs`.

The report and the paper reproduction price the same (model, stage, method, hardware, options)
many times; a :class:`Runs` prices each once *for its holder*. Nothing is cached at module level:
two reports never share a result, and a holder that drops its :class:`Runs` drops the memo.
Results handed out are shared within the holder: read them, do not modify them.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Any

from prunesim.sim.api import make_workload
from prunesim.sim.compare import CompareResult, compare
from prunesim.sim.engine import evaluate
from prunesim.sim.hardware import Hardware, load_hardware
from prunesim.sim.result import SimResult
from prunesim.sim.workload import Stage, Workload

__all__ = ["Runs"]


def _key(*parts: Any, **options: Any) -> tuple[Hashable, ...]:
    return (*parts, tuple(sorted(options.items())))


class Runs:
    """Workloads, hardware and results priced once each; see the module docstring."""

    def __init__(self) -> None:
        self._hardware: dict[str, Hardware] = {}
        self._workloads: dict[tuple[Hashable, ...], Workload] = {}
        self._results: dict[tuple[Hashable, ...], SimResult] = {}
        self._compares: dict[tuple[Hashable, ...], list[CompareResult]] = {}

    def hardware(self, name: str) -> Hardware:
        """The preset (or file) ``name``, loaded once."""
        if name not in self._hardware:
            self._hardware[name] = load_hardware(name)
        return self._hardware[name]

    def workload(
        self, model: str, stage: Stage, method: str, mode: str | None = None, **options: Any
    ) -> Workload:
        """``make_workload(model, method, stage=stage, mode=mode, **options)``, built once."""
        key = _key(model, stage, method, mode, **options)
        if key not in self._workloads:
            self._workloads[key] = make_workload(model, method, stage=stage, mode=mode, **options)
        return self._workloads[key]

    def run(
        self,
        model: str,
        stage: Stage,
        method: str,
        hardware: str,
        mode: str | None = None,
        **options: Any,
    ) -> SimResult:
        """``simulate`` of ``model`` in ``stage`` under ``method`` on ``hardware``, priced once."""
        key = _key(model, stage, method, hardware, mode, **options)
        if key not in self._results:
            workload = self.workload(model, stage, method, mode, **options)
            self._results[key] = evaluate(workload, self.hardware(hardware))
        return self._results[key]

    def compare(
        self,
        models: Iterable[str],
        methods: Iterable[str],
        hardware: Iterable[str],
        *,
        stage: Stage | None = None,
        mode: str | None = None,
        **options: Any,
    ) -> list[CompareResult]:
        """:func:`prunesim.sim.compare.compare` of names, computed once per argument set."""
        models, methods, hardware = tuple(models), tuple(methods), tuple(hardware)
        key = _key(models, methods, hardware, stage, mode, **options)
        if key not in self._compares:
            targets = [self.hardware(name) for name in hardware]
            self._compares[key] = compare(
                models, methods, targets, stage=stage, mode=mode, **options
            )
        return self._compares[key]
