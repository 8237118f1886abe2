"""Hardware cost models, one module per kind of hardware (``prunesim.sim.costs``).

A *kind* is a frozen dataclass that is at once the description a hardware file fills and the cost
model that prices a :class:`~prunesim.sim.workload.Workload` on it (:class:`Hardware`). Its module
registers the class with :func:`register_kind`; :data:`KINDS` finds the modules of this package
on first use, so a new kind of hardware is one new module here (and its presets in
``sim/hardware/*.yaml``): :mod:`prunesim.sim.hardware` reads the files of every registered kind,
:func:`prunesim.sim.engine.evaluate` prices on any of them.

Kinds today: ``accelerator`` (:mod:`~prunesim.sim.costs.accelerator`, SpAtten-class attention
accelerators), ``processor`` (:mod:`~prunesim.sim.costs.processor`, GPUs and CPUs running eager
PyTorch), ``published`` (:mod:`~prunesim.sim.costs.published`, accelerators known by their
published throughput and efficiency), ``systolic`` (:mod:`~prunesim.sim.costs.systolic`,
systolic-array CNN accelerators). Shared pieces of the cost models (the result builder, DRAM
transactions, per-layer sums, the layouts of DRAM and energy) are in
:mod:`~prunesim.sim.costs.common`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from prunesim.registry import Registry

if TYPE_CHECKING:
    from prunesim.sim.hwfile import Layout
    from prunesim.sim.result import SimResult
    from prunesim.sim.workload import Workload

__all__ = ["KINDS", "Hardware", "register_kind"]


class Hardware(Protocol):
    """A hardware target: its description (from a file) and its cost model.

    Class attributes: ``LAYOUT``, the YAML layout of its files (:mod:`prunesim.sim.hwfile`);
    ``BASELINE``, true for a target that a pruning accelerator is compared against (a GPU, a
    CPU, an accelerator known by its published figures): ``compare`` takes dense on it as the
    reference of its "vs baselines" ratios. Fields every kind has: ``name``, ``description``,
    ``kind`` (the file's ``kind``), ``clock_ghz`` (cycles are reported in its clock) and
    ``sources`` (field -> the source of its value).

    Optional: a kind may also price many targets of its own at once (a sweep's hardware
    variants against one workload), the class method ``price_many(workload, targets) ->
    list[PointCost]``: for each target, in order, the figures of :meth:`price`'s
    :class:`~prunesim.sim.result.SimResult` that a sweep row needs
    (:class:`~prunesim.sim.result.PointCost`: the same numbers, computed by the same
    functions, so that a sweep never drifts from ``simulate``), without the per-layer table;
    every target must be able to run the workload (:meth:`unsupported` None).
    :func:`prunesim.sim.dse.evaluate_chunk` uses it where a kind has it and calls
    :meth:`price` per target where not. Today the ``accelerator`` kind has it.
    """

    LAYOUT: ClassVar[Layout]
    BASELINE: ClassVar[bool]
    name: str
    description: str
    kind: str
    clock_ghz: float
    sources: dict[str, str]

    @property
    def peak_ops_per_s(self) -> float:
        """The compute roof, operations (2 per MAC) per second."""
        ...

    def unsupported(self, workload: Workload) -> str | None:
        """Why this target cannot price ``workload`` (one line naming both), or None."""
        ...

    def price(self, workload: Workload) -> SimResult:
        """The cost of ``workload`` here; call only when :meth:`unsupported` is None."""
        ...


#: Every kind by its ``kind`` name, in alphabetical order of their modules.
KINDS: Registry[Any] = Registry("prunesim.sim.costs", "hardware kind")


def register_kind(cls: type) -> type:
    """Class decorator: register a hardware kind under its ``kind`` field's default."""
    KINDS.register(cls.kind, cls)
    return cls
