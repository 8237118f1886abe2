"""Design-space sweeps: :func:`sweep` prices the product of models x methods x hardware x a grid
of named values and returns one row per point as a pandas DataFrame.

Names (:mod:`prunesim.sim.names`): ``hw.<path>`` (a value of the hardware file: each target
becomes a variant named after its values, :func:`prunesim.sim.hardware.variant`),
``stage.<field>`` (a field of the stage: the ``stage`` given, or each model's family's default),
``<method>.<option>`` (that method's option) and ``<option>`` (every method's that has it but
dense's).

Which points there are. The product of models x methods x hardware (each in the order given)
x the values of the grid's names (in the grid's order, the last varying fastest), where a name
that does not apply to a point is left out of it, not an error: an option its method lacks (an
unprefixed ``token_keep`` on dense, ``spatten.token_keep`` on ``catp``), a hardware path its
target's kind lacks (``hw.topk.comparators`` on a GPU), a stage field its stage lacks
(``stage.tokens`` on a generation). Such a point is one point (not one per value) and its column
of that name is None. A name that applies to no point at all is an error (a typo).
``samples=N`` draws N distinct points of that product at random (``numpy.random.default_rng
(seed)``), kept in product order. At most :data:`MAX_POINTS` (a million) points run at once.

What is an error, before any work (:func:`check`; one-line ValueError or TypeError naming the
bad name or value): an unknown model, method or hardware; a name of no namespace, of a method
not swept, of an option or stage field no point has, of a hardware path no target has; a grid
entry that is not a non-empty list; each hardware value checked alone on every target whose
kind has its path (as the file's value would be); and at every point that runs (all of them, or
the drawn ones): the hardware variant (rules across fields), the stage (the family's
``check_stage``), the options (resolved and validated) and the workload each distinct
(model, method, stage, options) gives (built once here, kept for pricing: a method refuses some
values only when it builds, e.g. a keep ratio its schedule cannot reach; the message names the
point). What is a row with a reason (column
``skipped``, outputs None): a method that cannot prune a model (``lapp`` on ``bert-base``) and a
target that cannot run a workload (a systolic array and attention): ``compare`` leaves those
out and says so; a sweep keeps the point and says why.

Columns, in this order (:func:`columns`): ``model``, ``method``, ``hardware`` (the target's
name: a variant's ``spatten[multipliers.qk=256]``), ``hardware_file`` (the preset name or the
path given; None for a loaded target), ``hardware_sha256`` (of that file's bytes), ``kind``,
``stage`` (its ``describe()``, after the stage names), ``mode``; then each grid name (its value
at the point as the run holds it: an int for a count, a float for a number; None where it does
not apply); ``options`` (every option of the method in effect, ``name=value`` as ``prunesim list
methods`` shows them); then the outputs of :class:`~prunesim.sim.result.SimResult`:
``cycles``, ``seconds``, ``dram_bytes``, ``macs``, ``energy_j``, ``area_mm2``, ``static_w``,
``bound``; ``skipped`` (the reason a point was not priced, else None) and ``prunesim_version``.

Batching. Points that share model, method, stage and options share one workload: it is built
once (by :func:`evaluate_chunk`, kept in a small per-process cache) and every hardware variant
is priced against it: all the variants of a kind with ``price_many`` (the accelerators) in one
call, the hardware's numbers as arrays over the variants; the others one by one. :func:`check`
returns a :class:`Plan` whose :meth:`Plan.chunks` are plain picklable data (names, stages,
option values, loaded frozen targets, the rows' inputs), at most ``CHUNK_POINTS`` points each;
:func:`evaluate_chunk` prices one, anywhere: :func:`run` maps it over the chunks in this
process, on local worker processes or on a Dask cluster
(:func:`prunesim.sim.distribute.map_chunks`).
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from prunesim.models import Model
from prunesim.sim.api import make_workload, model_of, one_or_many
from prunesim.sim.engine import unsupported
from prunesim.sim.families import family_of
from prunesim.sim.hardware import (
    Hardware,
    field_paths,
    field_spec,
    load_sources,
    unknown_field,
    variant,
)
from prunesim.sim.methods import get_method
from prunesim.sim.methods.options import describe
from prunesim.sim.names import (
    HW,
    OPTION,
    STAGE,
    Name,
    check_methods,
    method_options,
    parse_name,
    with_stage,
)
from prunesim.sim.workload import Stage

if TYPE_CHECKING:
    import pandas

__all__ = [
    "CHUNK_POINTS",
    "MAX_POINTS",
    "INPUT_COLUMNS",
    "OUTPUT_COLUMNS",
    "Plan",
    "check",
    "columns",
    "evaluate_chunk",
    "gather",
    "run",
    "sweep",
]

#: The input columns before the grid's names.
INPUT_COLUMNS = (
    "model",
    "method",
    "hardware",
    "hardware_file",
    "hardware_sha256",
    "kind",
    "stage",
    "mode",
)
#: The columns after the grid's names.
OUTPUT_COLUMNS = (
    "options",
    "cycles",
    "seconds",
    "dram_bytes",
    "macs",
    "energy_j",
    "area_mm2",
    "static_w",
    "bound",
    "skipped",
    "prunesim_version",
)
#: The most points of one chunk (one workload priced on up to this many targets).
CHUNK_POINTS = 1024
#: The most points one sweep prices (all of the product, or ``samples``): a million rows take
#: about 10 minutes on one core and about a GB of memory while gathered; a larger space is
#: sampled (``samples``) or split.
MAX_POINTS = 1_000_000
#: Workloads kept per process (least recently used dropped first): :func:`check` builds each
#: distinct workload of a plan once (a method refuses some option values only when it builds,
#: e.g. a keep ratio its schedule cannot reach) and :func:`evaluate_chunk` reuses them.
WORKLOAD_CACHE = 64

_RESULTS = ("cycles", "seconds", "dram_bytes", "macs", "energy_j", "area_mm2", "static_w")


def columns(grid_names: Sequence[str]) -> list[str]:
    """The columns of a sweep over ``grid_names``, in order (the module docstring's)."""
    return [*INPUT_COLUMNS, *grid_names, *OUTPUT_COLUMNS]


@dataclass
class _Segment:
    """One (model, method, target) of the product: the grid's names that apply to it (indexes
    into the grid) and its number of points."""

    model: int
    method: str
    target: int
    names: tuple[int, ...]
    size: int
    reason: str | None  # the method cannot prune the model


@dataclass
class Plan:
    """A checked sweep: what :func:`check` returns and :func:`run` prices.

    ``columns``: the frame's columns; ``points``: how many; :meth:`chunks`: the work, as plain
    picklable dicts for :func:`evaluate_chunk`, with ``order``: the point index of each row the
    chunks give, in chunk order (:func:`run` puts the rows back in product order)."""

    columns: list[str]
    points: int
    _chunks: list[dict[str, Any]] = field(default_factory=list, repr=False)

    def chunks(self) -> list[dict[str, Any]]:
        """The chunks of work (each: ``model``, ``method``, ``stage``, ``options``, ``reason``,
        ``targets``, ``rows``, ``index``: see :func:`evaluate_chunk`)."""
        return list(self._chunks)


def _grid(grid: Mapping[str, Any] | None) -> tuple[list[Name], list[list[Any]]]:
    if grid is None:
        return [], []
    if not isinstance(grid, Mapping):
        raise TypeError(f"grid must be a mapping of names to lists of values, not {grid!r}")
    names, values = [], []
    for text, items in grid.items():
        name = parse_name(text)
        if isinstance(items, str | bytes) or not isinstance(items, Sequence | np.ndarray):
            raise TypeError(f"grid {text!r} must be a list of values, not {items!r}")
        items = [item.item() if isinstance(item, np.generic) else item for item in items]
        if not items:
            raise ValueError(f"grid {text!r} has no values")
        names.append(name)
        values.append(items)
    return names, values


def _sources(hardware: Any) -> list[tuple[Any, Hardware, str | None, str | None]]:
    """Each target with its file's label and sha256 (None for a loaded target)."""
    from prunesim.provenance import hardware_record

    found = []
    for item, target in load_sources(one_or_many(hardware, "hardware")):
        if isinstance(item, str | os.PathLike):
            record = hardware_record(item, target.name)
            found.append((item, target, os.fspath(item), record["sha256"]))
        else:
            found.append((item, target, None, None))
    return found


def _unique(items: list[Any], what: str) -> None:
    seen = set()
    for item in items:
        key = getattr(item, "name", item)
        if key in seen:
            raise ValueError(f"{what} {key!r} is given twice")
        seen.add(key)


def check(
    model: Any,
    method: Any,
    hardware: Any,
    *,
    stage: Stage | None = None,
    grid: Mapping[str, Sequence[Any]] | None = None,
    samples: int | None = None,
    seed: int = 0,
    build_workloads: bool = True,
) -> Plan:
    """Check a sweep (the arguments of :func:`sweep`) and plan it, before any work: every
    problem the module docstring lists raises ValueError or TypeError (one line, naming the
    bad name or value). Returns the :class:`Plan` that :func:`run` prices.

    ``build_workloads=False`` leaves out the one check that builds each distinct workload (kept
    in this process for pricing): a sweep that runs on other processes would build them twice
    (measured: no speed-up at all on 2 workers). A value a method refuses only while it builds
    is then the same one-line ValueError, naming the point, raised by :func:`run` from the
    worker that met it (before any output is written)."""
    models = [model_of(m) for m in one_or_many(model, "model")]
    methods = one_or_many(method, "method")
    for name in methods:
        if not isinstance(name, str):
            raise TypeError(f"method must be a method name, not {type(name).__name__}")
        get_method(name)
    _unique(models, "model")
    _unique(methods, "method")
    sources = _sources(hardware)
    names, values = _grid(grid)
    if samples is not None and (isinstance(samples, bool) or not isinstance(samples, int)):
        raise TypeError(f"samples must be an integer, not {type(samples).__name__}")
    if stage is not None and not isinstance(stage, Stage):
        raise TypeError(f"stage must be a stage (Summarize, Generate ...), not {stage!r}")
    check_methods([n for n in names if n.space == OPTION], methods)
    bases = []
    for config in models:
        family = family_of(config)
        base = stage if stage is not None else family.default_stage(config)
        family.check_stage(config, base)
        bases.append(base)
    paths = [set(field_paths(target)) for _, target, _, _ in sources]
    stage_fields = [{f.name for f in dataclasses.fields(base)} for base in bases]

    def applies(name: Name, m: int, method_name: str, t: int) -> bool:
        if name.space == HW:
            return name.key in paths[t]
        if name.space == STAGE:
            return name.key in stage_fields[m]
        return name.applies_to_method(method_name)

    for name in names:
        if name.space == HW and not any(name.key in p for p in paths):
            raise ValueError(_unknown_path(name, sources))
        if name.space == STAGE and not any(name.key in f for f in stage_fields):
            kinds = ", ".join(dict.fromkeys(b.name for b in bases))
            raise ValueError(f"{name.text!r}: no stage of this sweep has {name.key} ({kinds})")
    # each hardware value alone, on every target whose kind has its path
    for name, items in zip(names, values, strict=True):
        if name.space == HW:
            for (_, target, _, _), target_paths in zip(sources, paths, strict=True):
                if name.key in target_paths:
                    for item in items:
                        variant(target, {name.key: item})
    segments = []
    for m, config in enumerate(models):
        for method_name in methods:
            reason = get_method(method_name).unsupported(config)
            for t in range(len(sources)):
                own = tuple(i for i, n in enumerate(names) if applies(n, m, method_name, t))
                size = math.prod(len(values[i]) for i in own)
                segments.append(_Segment(m, method_name, t, own, size, reason))
    total = sum(s.size for s in segments)
    if samples is None:
        if total > MAX_POINTS:
            raise ValueError(
                f"the sweep has {total:,} points, more than {MAX_POINTS:,} at once: draw some "
                "(samples) or narrow the grid"
            )
        indices: Any = range(total)
    else:
        if not 1 <= samples <= min(total, MAX_POINTS):
            raise ValueError(
                f"samples must be 1..{min(total, MAX_POINTS)} (the sweep has {total:,} points; "
                f"at most {MAX_POINTS:,} at once), not {samples}"
            )
        if total >= 2**63:
            raise ValueError(f"the sweep has {total:,} points, too many to draw from")
        rng = np.random.default_rng(seed)
        indices = np.sort(rng.choice(total, size=samples, replace=False)).tolist()
    builder = _Builder(models, sources, bases, names, values, build_workloads)
    starts = np.cumsum([0] + [s.size for s in segments])
    for index in indices:
        k = int(np.searchsorted(starts, index, side="right")) - 1
        builder.add(index, segments[k], index - int(starts[k]))
    plan_columns = columns([n.text for n in names])
    return Plan(plan_columns, len(builder.rows), builder.chunks())


def _unknown_path(name: Name, sources: list[tuple[Any, Hardware, Any, Any]]) -> str:
    targets = [target for _, target, _, _ in sources]
    return (
        f"{name.text!r}: "
        + "; ".join(unknown_field(t, name.key) for t in targets[:1])
        + (
            f" (and no other target of the sweep: {', '.join(t.name for t in targets[1:])})"
            if len(targets) > 1
            else ""
        )
    )


class _Builder:
    """Turns points (segment, offset) into rows' inputs and groups them by workload, building
    each distinct variant, stage and options once (and so checking them)."""

    def __init__(
        self,
        models: list[Model],
        sources: list[tuple[Any, Hardware, str | None, str | None]],
        bases: list[Stage],
        names: list[Name],
        values: list[list[Any]],
        build: bool = True,
    ) -> None:
        from prunesim import __version__

        self.build = build
        self.models, self.sources, self.bases = models, sources, bases
        self.names, self.values = names, values
        self.version = __version__
        self.variants: dict[tuple[Any, ...], Hardware] = {}
        self.stages: dict[tuple[Any, ...], Stage] = {}
        self.options: dict[tuple[Any, ...], tuple[Any, str]] = {}  # options, described
        self.groups: dict[tuple[Any, ...], dict[str, Any]] = {}
        self.rows: list[int] = []

    def add(self, index: int, segment: _Segment, offset: int) -> None:
        choice: dict[int, int] = {}  # grid index -> value index
        for i in reversed(segment.names):
            offset, choice[i] = divmod(offset, len(self.values[i]))
        m, t, method_name = segment.model, segment.target, segment.method
        config = self.models[m]
        hw_key = (t, *((i, v) for i, v in choice.items() if self.names[i].space == HW))
        target = self.variants.get(hw_key)
        if target is None:
            target = variant(
                self.sources[t][1],
                {self.names[i].key: self.values[i][v] for i, v in sorted(hw_key[1:])},
            )
            self.variants[hw_key] = target
        stage_key = (m, *((i, v) for i, v in choice.items() if self.names[i].space == STAGE))
        stage = self.stages.get(stage_key)
        if stage is None:
            fields = {self.names[i].key: self.values[i][v] for i, v in sorted(stage_key[1:])}
            stage = with_stage(self.bases[m], fields)
            family_of(config).check_stage(config, stage)
            self.stages[stage_key] = stage
        option_key = (
            method_name,
            *((i, v) for i, v in choice.items() if self.names[i].space == OPTION),
        )
        overrides = method_options(
            {self.names[i]: self.values[i][v] for i, v in sorted(option_key[1:])}, method_name
        )
        options, described = self.options.get(option_key, (None, None))
        if options is None:
            options = get_method(method_name).with_options(overrides)
            described = describe(options)
            self.options[option_key] = options, described
        row: dict[str, Any] = {
            "model": config.name,
            "method": method_name,
            "hardware": target.name,
            "hardware_file": self.sources[t][2],
            "hardware_sha256": self.sources[t][3],
            "kind": target.kind,
            "stage": stage.describe(),
            "mode": family_of(config).default_mode(config),
        }
        for i, name in enumerate(self.names):
            row[name.text] = None if i not in choice else self._value(name, target, stage, options)
        row["options"] = described
        row["prunesim_version"] = self.version
        key = (m, method_name, stage_key, option_key)
        group = self.groups.get(key)
        if group is None:
            group = {
                "model": config.name if self._named(config) else config,
                "method": method_name,
                "stage": stage,
                "options": {k: getattr(options, k) for k in overrides},
                "reason": segment.reason,
                "targets": [],
                "rows": [],
                "index": [],
            }
            if segment.reason is None and self.build:
                _named_workload(group)
            self.groups[key] = group
        group["targets"].append(target)
        group["rows"].append(row)
        group["index"].append(index)
        self.rows.append(index)

    @staticmethod
    def _named(config: Model) -> bool:
        from prunesim.models import MODELS

        return MODELS.get(config.name) is config

    @staticmethod
    def _value(name: Name, target: Hardware, stage: Stage, options: Any) -> Any:
        """A grid name's value at a point as the run holds it."""
        if name.space == HW:
            return _path_value(target, name.key)
        if name.space == STAGE:
            return getattr(stage, name.key)
        return getattr(options, name.key)

    def chunks(self) -> list[dict[str, Any]]:
        chunks = []
        for group in self.groups.values():
            for start in range(0, len(group["rows"]), CHUNK_POINTS):
                part = slice(start, start + CHUNK_POINTS)
                chunks.append(
                    {
                        **group,
                        "targets": group["targets"][part],
                        "rows": group["rows"][part],
                        "index": group["index"][part],
                    }
                )
        return chunks


def _path_value(target: Hardware, path: str) -> Any:
    spec = field_spec(target, path)
    if isinstance(spec, tuple):
        mapping, key = spec
        return getattr(target, mapping.attr).get(key)
    return getattr(target, spec.attr)


_WORKLOADS: OrderedDict[tuple[Any, ...], Any] = OrderedDict()


def _workload(chunk: Mapping[str, Any]) -> Any:
    """The chunk's workload, from the per-process cache when the same was built last."""
    try:
        key = (
            chunk["model"],
            chunk["method"],
            chunk["stage"],
            tuple(sorted(chunk["options"].items())),
        )
        hash(key)
    except TypeError:  # an unhashable model object or option value: no caching
        key = None
    if key is not None and key in _WORKLOADS:
        _WORKLOADS.move_to_end(key)
        return _WORKLOADS[key]
    workload = make_workload(
        chunk["model"], chunk["method"], stage=chunk["stage"], **chunk["options"]
    )
    if key is not None:
        _WORKLOADS[key] = workload
        while len(_WORKLOADS) > WORKLOAD_CACHE:
            _WORKLOADS.popitem(last=False)
    return workload


def _named_workload(chunk: Mapping[str, Any]) -> Any:
    """:func:`_workload`, its ValueError naming the point: ``bert-base spatten (summarize 128
    tokens, token_keep=0.1): ...``."""
    try:
        return _workload(chunk)
    except ValueError as exc:
        shown = " ".join(f"{k}={v}" for k, v in chunk["options"].items())
        model = chunk["model"] if isinstance(chunk["model"], str) else chunk["model"].name
        where = f"{model} {chunk['method']} ({chunk['stage'].describe()}{', ' * bool(shown)}"
        raise ValueError(f"{where}{shown}): {exc}") from None


def evaluate_chunk(chunk: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Price one chunk of a :class:`Plan`: its workload (``model``: a zoo name or a model
    object, ``method``, ``stage``, ``options``: the overrides, values) built once, priced on each
    of ``targets``; returns one row per target, its ``rows`` entry (the inputs) with the
    outputs filled in: :data:`OUTPUT_COLUMNS` from the :class:`~prunesim.sim.result.SimResult`,
    or None and ``skipped`` the reason when the method cannot prune the model (``reason``) or
    the target cannot run the workload. The same arithmetic as
    :func:`prunesim.sim.simulate` of each point (the same functions): the targets of a kind
    that can price many at once (``price_many``, e.g. the accelerators) in one call, the others
    one by one."""
    reason = chunk["reason"]
    workload = None if reason is not None else _named_workload(chunk)
    targets = chunk["targets"]
    whys = [reason if workload is None else unsupported(workload, t) for t in targets]
    runs = [i for i, why in enumerate(whys) if why is None]
    costs = dict(zip(runs, _prices(workload, [targets[i] for i in runs]), strict=True))
    rows = []
    for i, (inputs, why) in enumerate(zip(chunk["rows"], whys, strict=True)):
        row = dict(inputs)
        if why is not None:
            row.update(dict.fromkeys(_RESULTS), bound=None, skipped=why)
        else:
            cost = costs[i]
            for key in _RESULTS:
                row[key] = getattr(cost, key)
            row["bound"] = cost.bound
            row["skipped"] = None
        rows.append(row)
    return rows


def _prices(workload: Any, targets: list[Hardware]) -> list[Any]:
    """The cost of ``workload`` on each of ``targets`` (all can run it), in order: the targets
    of a kind with the optional ``price_many`` (:class:`~prunesim.sim.costs.Hardware`) in one
    call (a :class:`~prunesim.sim.result.PointCost` each), the others one by one (``price``,
    a :class:`~prunesim.sim.result.SimResult`); both have the figures of a row."""
    by_kind: dict[type, list[int]] = {}
    for i, target in enumerate(targets):
        by_kind.setdefault(type(target), []).append(i)
    costs: list[Any] = [None] * len(targets)
    for kind, indexes in by_kind.items():
        many = getattr(kind, "price_many", None)
        if many is None:
            for i in indexes:
                costs[i] = targets[i].price(workload)
        else:
            priced = many(workload, [targets[i] for i in indexes])
            for i, cost in zip(indexes, priced, strict=True):
                costs[i] = cost
    return costs


def run(
    plan: Plan,
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> pandas.DataFrame:
    """Price a :class:`Plan`'s chunks and gather the rows (in product order) into a DataFrame
    of the plan's columns. ``progress`` is called with the number of points of each chunk just
    priced. ``scheduler``/``workers``: where the chunks run (:func:`prunesim.sim.distribute.
    map_chunks`: None or ``"local"`` in this process, ``"processes"`` on ``workers`` local
    processes, an address such as ``tcp://HOST:8786`` on an existing Dask cluster); the rows
    are the same wherever they run."""
    from prunesim.sim.distribute import check_scheduler, map_chunks

    check_scheduler(scheduler, workers)
    chunks = plan.chunks()

    def done(index: int, rows: list[dict[str, Any]]) -> None:
        if progress is not None:
            progress(len(rows))

    results = map_chunks(evaluate_chunk, chunks, scheduler=scheduler, workers=workers, on_done=done)
    return gather(plan, chunks, results)


def gather(
    plan: Plan, chunks: Sequence[Mapping[str, Any]], results: Sequence[list[dict[str, Any]]]
) -> pandas.DataFrame:
    """The rows of priced chunks of ``plan`` (``results[i]`` is :func:`evaluate_chunk` of
    ``chunks[i]``; all the plan's chunks, or those finished before a run stopped) in product
    order, as a DataFrame of the plan's columns."""
    import pandas

    rows: list[dict[str, Any]] = [row for part in results for row in part]
    order: list[int] = [index for chunk in chunks[: len(results)] for index in chunk["index"]]
    rank = np.argsort(np.asarray(order, dtype=np.int64), kind="stable")
    return pandas.DataFrame.from_records([rows[i] for i in rank], columns=plan.columns)


def sweep(
    model: Any,
    method: Any,
    hardware: Any,
    *,
    stage: Stage | None = None,
    grid: Mapping[str, Sequence[Any]] | None = None,
    samples: int | None = None,
    seed: int = 0,
    scheduler: str | None = None,
    workers: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> pandas.DataFrame:
    """Price every point of models x methods x hardware x ``grid`` (the module docstring says
    which points, which columns, what is an error and what a row with a reason).

    ``model``, ``method``: a name or a list of names (a model may be a model object);
    ``hardware``: a preset name, a path to a YAML file, a loaded target, or a list of them;
    ``stage``: the stage of every model (default: each model's family's); ``grid``: name ->
    list of values (:mod:`prunesim.sim.names`; values may be text); ``samples``: draw that many
    distinct points at random (``seed``) instead of all; ``progress``: called with the number
    of points just priced; ``scheduler``/``workers``: where the points are priced (None or
    ``"local"``: this process; ``"processes"``: ``workers`` local processes; ``"tcp://HOST:PORT"``:
    a running Dask cluster; :mod:`prunesim.sim.distribute`). Everything is checked before any
    work (:func:`check`; with another scheduler than this process, a value a method refuses
    only while building its workload is raised by the worker that builds it), then priced
    (:func:`run`). Returns a pandas DataFrame, one row per point, columns in the documented
    order, the same wherever it was priced."""
    from prunesim.sim.distribute import check_scheduler

    local = check_scheduler(scheduler, workers) in (None, "local")
    plan = check(
        model,
        method,
        hardware,
        stage=stage,
        grid=grid,
        samples=samples,
        seed=seed,
        build_workloads=local,
    )
    return run(plan, scheduler=scheduler, workers=workers, progress=progress)
