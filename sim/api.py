"""``simulate``: a model, a method and a hardware target in, a :class:`SimResult` out."""

from __future__ import annotations

from collections.abc import Iterable
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

from prunesim.models import Model, TransformerConfig, get_model
from prunesim.sim.engine import SimResult, evaluate
from prunesim.sim.families import family_of
from prunesim.sim.families.network import DEFAULT_BATCH
from prunesim.sim.families.transformer import DEFAULT_GENERATION, DEFAULT_SUMMARIZATION_TOKENS
from prunesim.sim.hardware import Hardware, as_target
from prunesim.sim.methods import get_method
from prunesim.sim.methods.base import Bits
from prunesim.sim.methods.options import check
from prunesim.sim.trace import Trace
from prunesim.sim.workload import Stage, Workload

__all__ = [
    "DEFAULT_BATCH",
    "DEFAULT_GENERATION",
    "DEFAULT_SUMMARIZATION_TOKENS",
    "default_mode",
    "default_weight_bits",
    "default_stage",
    "make_workload",
    "model_of",
    "one_or_many",
    "simulate",
    "trace_rows_workload",
    "trace_workload",
]


def default_stage(model: Model) -> Stage:
    """The stage a run of ``model`` takes when none is given (its family's): generation
    (992 + 32) for decoders, summarization of 128 tokens for encoders; an LVLM's prefill of its
    default images and text tokens; inference of one input for a network."""
    return family_of(model).default_stage(model)


def default_mode(model: Model) -> str:
    """``"e2e"`` for LVLMs (their papers time the whole model), ``"network"`` for CNNs and the
    UNet (every layer, always), ``"attention"`` otherwise (SpAtten's setting)."""
    return family_of(model).default_mode(model)


def default_weight_bits(model: Model) -> int:
    """Weight bits in DRAM in end-to-end mode: 16 for LVLMs (served in half precision), 8 for
    BERT/GPT-2 (SpAtten's end-to-end setting). Networks: their methods' own (8-bit CNN
    inference, 16-bit UNet)."""
    return family_of(model).default_weight_bits(model)


def model_of(model: str | Model) -> Model:
    """The model a name (:func:`prunesim.models.model_names`) names, or ``model`` itself when it
    is a model object of a known family; ValueError for an unknown name, TypeError for anything
    else (``model must be a model name or a Model, not int``)."""
    if isinstance(model, str):
        return get_model(model)
    try:
        family_of(model)
    except ValueError:
        raise TypeError(
            f"model must be a model name or a Model, not {type(model).__name__}"
        ) from None
    return model


def one_or_many(value: Any, argument: str) -> list[Any]:
    """A list argument as a list: a text (a name) or any other single object that is not
    iterable (a model, a hardware target) is a list of one; an iterable is listed. ``argument``
    names it in the TypeError for an iterable of something else than text and objects (bytes)."""
    if isinstance(value, str) or not isinstance(value, Iterable):
        return [value]
    if isinstance(value, bytes | bytearray):
        raise TypeError(f"{argument} must be a name or a list of names, not {type(value).__name__}")
    return list(value)


def _check_arguments(method: Any, stage: Any, weight_bits: Any) -> None:
    """TypeError/ValueError naming ``method``, ``stage`` or ``weight_bits`` when one is not
    what :func:`simulate` takes."""
    if not isinstance(method, str):
        raise TypeError(f"method must be a method name, not {type(method).__name__}")
    if stage is not None and not isinstance(stage, Stage):
        raise TypeError(
            "stage must be a Summarize, Generate, Prefill, Decode, Infer or Train stage, "
            f"not {type(stage).__name__}"
        )
    if weight_bits is not None:
        check("weight_bits", weight_bits, Bits)


def trace_workload(model: TransformerConfig, path: str | PathLike[str]) -> Workload:
    """The exact per-query work of a SpAtten trace file, checked against ``model``'s shape."""
    from prunesim.sim.trace import load_trace

    return trace_rows_workload(model, load_trace(path))


def trace_rows_workload(model: TransformerConfig, trace: Trace) -> Workload:
    """The workload of a loaded trace; TraceError (a ValueError) if it does not fit ``model``
    (:meth:`Trace.check_model`). The trace's notes become the workload's."""
    trace.check_model(model)
    rows = trace.rows
    name = Path(trace.path).name
    layers = model.layers
    count = np.bincount(rows.layer, minlength=layers)[:layers].astype(float)
    steps = len(np.unique(rows.step))
    keys = np.bincount(rows.layer, weights=rows.keys, minlength=layers)[:layers]
    values = np.bincount(rows.layer, weights=rows.values, minlength=layers)[:layers]
    safe = np.maximum(count, 1)
    schedule = {
        "tokens": (keys / safe).tolist(),
        "values": (values / safe).tolist(),
        "heads": (count / max(steps, 1)).tolist(),
    }
    return Workload(
        model=model.name,
        method="spatten (trace)",
        stage=trace.stage,
        layers=layers,
        attention=rows,
        schedule=schedule,
        notes=[f"per-query work from the trace {name}", *trace.notes],
    )


def make_workload(
    model: str | TransformerConfig,
    method: str = "spatten",
    *,
    stage: Stage | None = None,
    mode: str | None = None,
    weight_bits: int | None = None,
    trace: str | PathLike[str] | None = None,
    **options: Any,
) -> Workload:
    """The workload of ``model`` under ``method`` (see :func:`simulate` for the arguments)."""
    config = model_of(model)
    family = family_of(config)
    _check_arguments(method, stage, weight_bits)
    mode = mode or family.default_mode(config)
    weight_bits = family.default_weight_bits(config) if weight_bits is None else weight_bits
    if trace is not None:
        if family.name != "transformer":
            raise ValueError(f"a SpAtten trace describes a text transformer, not {config.name}")
        if method != "spatten":
            raise ValueError(
                "a trace gives SpAtten's own per-query work; method must be spatten, "
                f"not {method!r}"
            )
        if options:
            raise ValueError(f"a trace fixes every option; drop {', '.join(sorted(options))}")
        if mode != "attention":
            raise ValueError("a trace holds attention only; use mode 'attention'")
        return trace_workload(config, trace)
    stage = stage or family.default_stage(config)
    family.check_stage(config, stage)
    return get_method(method).workload(config, stage, mode=mode, weight_bits=weight_bits, **options)


def simulate(
    model: str | TransformerConfig,
    method: str = "spatten",
    hardware: str | PathLike[str] | Hardware = "spatten",
    *,
    stage: Stage | None = None,
    mode: str | None = None,
    weight_bits: int | None = None,
    trace: str | PathLike[str] | None = None,
    **options: Any,
) -> SimResult:
    """Simulate ``model`` pruned by ``method`` on ``hardware``.

    ``model``: a name of :func:`prunesim.models.model_names` or a config; ``method``: a name of
    :func:`prunesim.sim.methods.method_names`; ``hardware``: a preset name, a YAML path or a
    loaded target. ``stage``: :class:`Summarize` or :class:`Generate` (an LVLM:
    :class:`Prefill` or :class:`Decode`; a CNN or the UNet: :class:`Infer` or :class:`Train`;
    default :func:`default_stage`), within the model's limits (a transformer's positions, an
    LVLM's context length: :meth:`Family.check_stage
    <prunesim.sim.families.Family.check_stage>`, checked before any work); ``mode``:
    ``"attention"`` or ``"e2e"`` (QKV/projection/FFN/LM head too, weights at ``weight_bits``,
    an integer 1..32, :data:`~prunesim.sim.methods.base.BITS`; defaults :func:`default_mode`,
    :func:`default_weight_bits`); ``trace``: a SpAtten trace CSV giving the exact per-query work
    (method ``spatten`` only); other keyword arguments override the method's options (e.g.
    ``token_keep=0.4``; ``token-keep`` spells the same option, and both in one call are
    refused). Raises TypeError for an argument of the wrong type (``model must be a model name
    or a Model, not int``), ValueError (or HardwareError, TraceError) for a bad value; each
    message names the argument.
    """
    target = as_target(hardware)
    workload = make_workload(
        model, method, stage=stage, mode=mode, weight_bits=weight_bits, trace=trace, **options
    )
    return evaluate(workload, target)
