"""Pruning methods: each turns a model and a stage into a workload, never seeing hardware.

A method (:class:`Method`) has a name, a one-line summary, its options (a frozen dataclass whose
typed fields are the knobs, the paper's values as defaults: :mod:`~prunesim.sim.methods.options`),
says which models it cannot prune and why (``unsupported``, asked before running) and builds the
workload (``workload``). Each method's module registers it (:func:`register_method`);
:data:`METHODS` finds the modules of this package on first use, so a new method is one new
module here. The shapes most methods take are in :mod:`~prunesim.sim.methods.common`: a
transformer planner (SpAtten's techniques, :mod:`~prunesim.sim.methods.spatten`), an LVLM visual
token schedule (``catp``, ``vflowopt``, ``aim``), a network builder (``lapp``, ``fedtiny``,
``supertickets``, ``ofa``, ``sara``). ``dense`` (:mod:`~prunesim.sim.methods.dense`) runs any
model as it is. Helpers the methods share: :mod:`~prunesim.sim.methods.base` (transformer
plans to workloads), :mod:`~prunesim.sim.methods.multimodal` and
:mod:`~prunesim.sim.methods.lvlm` (LVLMs), :mod:`~prunesim.sim.methods.network` (CNNs, the UNet).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from prunesim.registry import Registry

if TYPE_CHECKING:
    from prunesim.sim.workload import Stage, Workload

__all__ = ["METHODS", "Method", "get_method", "method_names", "register_method"]


class Method(Protocol):
    """A pruning method.

    ``options`` holds the defaults (a frozen dataclass instance); ``supports`` the names of the
    models it is made for (None: every model its kind of pruning applies to); ``order`` sorts
    the methods in listings. :meth:`build` is given options already resolved and a model that
    :meth:`unsupported` accepted; :meth:`workload` (from the shared base,
    :class:`~prunesim.sim.methods.common.MethodBase`) does both steps from overrides.
    """

    name: str
    summary: str
    options: Any
    supports: tuple[str, ...] | None
    order: float

    def unsupported(self, model: Any) -> str | None:
        """Why this method cannot prune ``model`` (one line naming the models it supports), or
        None."""
        ...

    def build(
        self, model: Any, stage: Stage, options: Any, *, mode: str, weight_bits: int
    ) -> Workload:
        """The workload of ``model`` in ``stage`` under ``options``."""
        ...

    def workload(
        self,
        model: Any,
        stage: Stage,
        *,
        mode: str = "attention",
        weight_bits: int = 8,
        **overrides: Any,
    ) -> Workload:
        """Check ``model``, resolve ``overrides`` against the defaults, build."""
        ...


def _method_order(method: Method) -> float:
    return method.order


#: Every method by name, in ``order``.
METHODS: Registry[Method] = Registry("prunesim.sim.methods", "method", _method_order)


def register_method(method: Method) -> Method:
    """Add ``method`` to :data:`METHODS` under its name; returns it."""
    return METHODS.register(method.name, method)


def method_names() -> list[str]:
    """Every method's name, in listing order."""
    return METHODS.names()


def get_method(name: str) -> Method:
    """The method called ``name``; ValueError lists the valid names."""
    return METHODS.get(name)
